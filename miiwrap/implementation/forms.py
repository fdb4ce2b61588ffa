from django import forms

from miiwrap import text
from miiwrap.forms import UsableModelChoiceField, UsableModelMultipleChoiceField
from miiwrap.implementation.models import ActionItem
from miiwrap.once.forms import OnceForm
from miiwrap.parsing import SaneDateField
from miiwrap.people.models import Person, Role
from observations.forms import ItemScores

NOTE_PREFIX = "note__"


def participants(organization):
    """Who may be named as taking part: the organization's current leaders and admins."""
    people = Person.objects.filter(organization=organization, leave_date=None)
    leading = people.with_role(Role.LEADER) | people.with_role(Role.ORG_ADMIN)
    return leading.order_by("last_name", "first_name")


class ReadinessForm(ItemScores, OnceForm):
    """An assessment of an organization: the day, who took part, each item's rating and a
    note, on the readiness instrument's item widgets (the observation form's)."""

    assessed_on = SaneDateField(label="Assessed on", widget=forms.DateInput(attrs={"type": "date"}))
    leaders = UsableModelMultipleChoiceField(
        queryset=Person.objects.none(),
        required=False,
        label="Leaders who took part",
        widget=forms.CheckboxSelectMultiple,
    )
    summary = text.prose(text.NOTE, required=False, label="Summary", rows=3)

    def __init__(self, *args, version, organization, scores, notes, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.fields["leaders"].queryset = participants(organization)
        self.add_items(scores)
        for item in self.definition.items:
            self.fields[NOTE_PREFIX + item.code] = text.prose(
                text.NOTE, rows=2, required=False, label=f"Note: {item.label}"
            )
            self.initial.setdefault(NOTE_PREFIX + item.code, notes.get(item.code, ""))

    def notes(self):
        found = {}
        for item in self.definition.items:
            note = self.cleaned_data.get(NOTE_PREFIX + item.code, "").strip()
            if note:
                found[item.code] = note
        return found

    def groups(self, item_groups):
        """observations.display.item_groups' rows, each with its note field."""
        for group in item_groups:
            for row in group.rows:
                row.note = self[NOTE_PREFIX + row.item.code]
        return item_groups


class ActionItemForm(OnceForm, forms.ModelForm):
    item_codes = forms.MultipleChoiceField(
        required=False,
        label="Readiness items it addresses",
        widget=forms.CheckboxSelectMultiple,
    )
    owner = UsableModelChoiceField(queryset=Person.objects.none(), required=False)
    due_on = SaneDateField(
        label="Due on", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = ActionItem
        fields = ["what", "why", "item_codes", "owner", "due_on", "status", "notes"]
        widgets = {
            "why": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, organization, definition, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item_codes"].choices = [(i.code, i.label) for i in definition.items]
        owners = participants(organization) | Person.objects.with_role(Role.PURVEYOR_ADMIN)
        self.fields["owner"].queryset = owners.filter(leave_date=None).order_by(
            "last_name", "first_name"
        )

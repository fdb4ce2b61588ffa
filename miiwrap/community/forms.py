from django import forms

from miiwrap.community.models import Attendance, Event, people_to_mark, people_to_register
from miiwrap.forms import UsableModelChoiceField, UsableModelMultipleChoiceField
from miiwrap.once.forms import OnceForm
from miiwrap.parsing import SaneDateField
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Organization, Person, Role


class EventListForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", choices=[("", "Every kind"), *Event.Kind.choices], required=False
    )


class EventForm(OnceForm, forms.ModelForm):
    held_on = SaneDateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    capacity = forms.IntegerField(
        min_value=1,
        max_value=100_000,
        required=False,
        help_text="How many may register; empty for no limit.",
    )

    class Meta:
        model = Event
        fields = [
            "title",
            "held_on",
            "kind",
            "format",
            "topic",
            "description",
            "facilitator",
            "organizations",
            "capacity",
        ]
        field_classes = {
            "facilitator": UsableModelChoiceField,
            "organizations": UsableModelMultipleChoiceField,
        }
        widgets = {
            "format": forms.RadioSelect,
            "organizations": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        viewer = viewer_for(user)
        # The purveyor invites any organizations; a leader or admin only their own.
        self.fields["organizations"].queryset = Organization.objects.visible_to(user)
        facilitators = Person.objects.visible_to(user)
        if viewer.sees_everything:  # the purveyor's staff and the organizations' coaches
            facilitators = facilitators.filter(
                roles__role__in=[Role.PURVEYOR_ADMIN, Role.COACH, Role.LEADER]
            ).distinct()
        self.fields["facilitator"].queryset = facilitators.select_related("organization")
        self.fields["facilitator"].label_from_instance = lambda p: f"{p} ({p.organization})"
        self.fields["format"].choices = Event.Format.choices
        if not viewer.sees_everything and self.instance.pk is None:
            self.initial["organizations"] = [viewer.organization_id]


class RegisterForm(forms.Form):
    person = UsableModelChoiceField(queryset=Person.objects.none(), label="Register")

    def __init__(self, *args, event, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people_to_register(event, user)


class AttendanceForm(forms.Form):
    """One status a registrant the recorder may mark, and someone to add who came without
    registering."""

    add = UsableModelChoiceField(
        queryset=Person.objects.none(),
        required=False,
        label="Add someone who attended without registering",
    )

    def __init__(self, *args, event, user, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.markable = people_to_mark(event, user)
        self.rows = rows
        for row in rows:
            self.fields[self.field_name(row.person_id)] = forms.ChoiceField(
                label=row.person.full_name,
                choices=Attendance.Status.choices,
                initial=row.status,
                widget=forms.RadioSelect,
            )
        listed = [row.person_id for row in rows]
        self.fields["add"].queryset = self.markable.exclude(pk__in=listed)

    @staticmethod
    def field_name(person_id):
        return f"person_{person_id}"

    def status_fields(self):
        return [self[self.field_name(row.person_id)] for row in self.rows]

    def marks(self):
        """{person: status} as posted."""
        found = {row.person: self.cleaned_data[self.field_name(row.person_id)] for row in self.rows}
        if added := self.cleaned_data.get("add"):
            found[added] = Attendance.Status.ATTENDED
        return found


class AttendanceImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="UTF-8; its columns and rules are described above."
    )
    dry_run = forms.BooleanField(
        required=False, label="Only check the file", help_text="Nothing is saved."
    )

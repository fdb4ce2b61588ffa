import datetime as dt

from django import forms

from certification.models import Program
from miiwrap.parsing import SaneDateField, date_range_problems
from miiwrap.people.models import Organization, Team
from miiwrap.widgets import QuickDateInput, QuickSelect
from observations.models import Rubric

ALL = "all"
# The longest range the monthly tables and charts draw.
MOST_MONTHS = 36


def months_back(day, months):
    """The first day of the month `months` before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


class NamedChoices(forms.models.ModelChoiceIterator):
    """A model's choices as (pk, name) read as plain values: comparing every organization,
    the team field lists thousands, and a model row each cost more than the query."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from self.queryset.values_list("pk", "name")

    def __len__(self):
        return self.queryset.count() + (self.field.empty_label is not None)


class LeaderFilterForm(forms.Form):
    """The leader dashboard's filters; every one optional, defaults the last 12 months."""

    organization = forms.ChoiceField(required=False, widget=QuickSelect)
    start = SaneDateField(required=False, label="From", widget=QuickDateInput)
    end = SaneDateField(required=False, label="To", widget=QuickDateInput)
    team = forms.ModelChoiceField(
        Team.objects.none(), required=False, empty_label="All teams", widget=QuickSelect
    )
    program = forms.ModelChoiceField(
        Program.objects.all(), required=False, empty_label="All programs", widget=QuickSelect
    )
    rubric = forms.ModelChoiceField(
        Rubric.objects.for_dashboards(), required=False, empty_label=None, widget=QuickSelect
    )

    def __init__(self, data, *, organizations, today, default_rubric):
        if not data.get("start") and not data.get("end"):
            # Show the range the page covers, so the fields say what the numbers are of.
            data = data.copy()
            data["start"], data["end"] = months_back(today, 11).isoformat(), today.isoformat()
        super().__init__(data)
        self.today = today
        self.organizations = list(organizations)
        self.fields["rubric"].initial = default_rubric
        self.default_rubric = default_rubric
        if len(self.organizations) > 1:
            choices = [(ALL, "All organizations (compare)")]
            choices += [(str(org.pk), org.name) for org in self.organizations]
            self.fields["organization"].choices = choices
        else:
            del self.fields["organization"]
        # The iterator first: setting the queryset hands the widget its choices.
        self.fields["team"].iterator = NamedChoices
        self.fields["team"].queryset = Team.objects.filter(organization__in=self.organizations)
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select" if is_select else "form-control"

    def clean_organization(self):
        chosen = self.cleaned_data["organization"] or ALL
        if chosen == ALL:
            return None
        return Organization.objects.get(pk=chosen)  # a choice, so it exists

    def clean(self):
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or months_back(end, 11)
        if self.errors:
            # A refused date stays refused; the range is only checked between good ones.
            return data
        for name, problem in date_range_problems(start, end, most_months=MOST_MONTHS):
            self.add_error(name, problem)
        data["start"], data["end"] = start, end
        data["rubric"] = data.get("rubric") or self.default_rubric
        org = data.get("organization") if "organization" in self.fields else None
        if org is None and "organization" not in self.fields and self.organizations:
            org = self.organizations[0]
        data["organization"] = org
        team = data.get("team")
        if team and (org is None or team.organization_id != org.pk):
            self.add_error("team", "Choose an organization first: this team is not in it.")
        return data

import datetime as dt
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from certification import dates
from certification.roster import STATES
from miiwrap import text
from miiwrap.once.forms import OnceForm
from miiwrap.parsing import EARLIEST, LATEST, SaneDateField, date_problem
from miiwrap.people.filters import PeopleFilterSet
from miiwrap.people.models import Organization
from miiwrap.widgets import QuickSelect

MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")


class MonthField(forms.CharField):
    """A calendar month as YYYY-MM (what <input type=month> sends); cleans to (year, month)."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        match = MONTH.match(value.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise ValidationError(f"“{value}” is not a month such as 2027-05.")
        if not EARLIEST.year <= int(match[1]) <= LATEST.year:
            raise ValidationError(date_problem(dt.date.min))
        return int(match[1]), int(match[2])


class MonthFilter(django_filters.Filter):
    field_class = MonthField


class RosterFilter(PeopleFilterSet):
    """The roster's filters. Search, organization and team narrow the people; state and
    expiry month are derived, so certification.roster.matching applies them afterwards."""

    state = django_filters.ChoiceFilter(
        choices=[(state.value, dates.LABELS[state]) for state in STATES],
        label="State",
        empty_label="Any",
        method="derived",
        widget=QuickSelect,
    )
    expires = MonthFilter(method="derived", label="Expires in")

    def derived(self, queryset, name, value):
        return queryset


class DecisionForm(OnceForm):
    decided_on = SaneDateField(
        label="Decision date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Today (if left empty), unless the decision was made earlier; then say why.",
    )
    override_reason = text.prose(
        text.NOTE,
        label="Reason to decide against the rule",
        required=False,
        help_text="Needed only when the evidence does not meet the rule.",
    )
    backdate_reason = text.prose(
        text.NOTE, rows=2, label="Why the decision is dated before today", required=False
    )


class RevokeForm(OnceForm):
    reason = text.prose(
        text.NOTE,
        label="Why is this certification revoked?",
        help_text="The person and their organization will see this reason.",
    )


class QueueFilter(forms.Form):
    program = forms.ChoiceField(label="Program", required=False, widget=QuickSelect)
    organization = forms.ModelChoiceField(
        Organization.objects.none(),
        label="Organization",
        required=False,
        empty_label="Any",
        widget=QuickSelect,
    )

    def __init__(self, data=None, *, programs, purveyor):
        super().__init__(data)
        self.fields["program"].choices = [(p.code, p.name) for p in programs]
        if purveyor:
            self.fields["organization"].queryset = Organization.objects.all()
        else:
            del self.fields["organization"]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select"

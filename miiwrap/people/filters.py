import django_filters
from django import forms
from django.utils import timezone

from miiwrap.parsing import as_id
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Organization, Person, Role, Team
from miiwrap.widgets import QuickSelect, QuickTextInput


class PeopleFilterSet(django_filters.FilterSet):
    """Search, organization (for the purveyor) and team, for any list of people; every
    choice is something the viewer may see."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    organization = django_filters.ModelChoiceFilter(
        queryset=Organization.objects.none(),
        label="Organization",
        empty_label="Any",
        widget=QuickSelect,
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.none(), label="Team", empty_label="Any", widget=QuickSelect
    )

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, **kwargs)
        teams = Team.objects.visible_to(user).select_related("organization")
        if viewer_for(user).sees_everything:
            self.filters["organization"].queryset = self.organizations()
            # Team names repeat across organizations: a purveyor picks the organization first.
            chosen = as_id((data or {}).get("organization"))
            teams = teams.filter(organization_id=chosen) if chosen else teams.none()
            self.filters["team"].label = "Team (of the organization)"
        else:
            del self.filters["organization"]
        self.filters["team"].queryset = teams
        self.form.fields["q"].widget = QuickTextInput(
            attrs={"placeholder": "Name, email or staff ID", "type": "search"}
        )
        for field in self.form.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select" if is_select else "form-control"

    def organizations(self):
        """The organizations a purveyor may pick."""
        return Organization.objects.all()

    def filter_search(self, queryset, name, value):
        return queryset.search(value)


class DirectoryFilter(PeopleFilterSet):
    """Search and filters for the people directory."""

    role = django_filters.ChoiceFilter(
        choices=Role.choices, method="filter_role", label="Role", empty_label="Any"
    )
    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[("active", "Working here"), ("left", "Left"), ("all", "Everyone")],
        method="filter_status",
        empty_label=None,
        null_value=None,
    )

    class Meta:
        model = Person
        fields = ["q", "organization", "team", "role", "status"]

    def __init__(self, data=None, *args, user, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("status", "active")
        super().__init__(data, *args, user=user, **kwargs)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if "status" in self.form.errors:
            # The form says what was wrong; the list keeps its default meanwhile.
            queryset = self.filter_status(queryset, "status", "active")
        return queryset

    def filter_role(self, queryset, name, value):
        return queryset.with_role(value)

    def filter_status(self, queryset, name, value):
        today = timezone.localdate()
        if value == "active":
            return queryset.exclude(leave_date__lt=today)
        if value == "left":
            return queryset.filter(leave_date__lt=today)
        return queryset

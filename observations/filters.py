import django_filters
from django import forms

from miiwrap.parsing import SaneDateFilter, as_id, date_range_problems
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person, Team
from miiwrap.widgets import QuickDateInput, QuickSelect, QuickTextInput
from observations.models import Observation, Rubric, RubricVersion


def band_choices():
    """Every band named by a version in use (published or retired), best first, once each."""
    bands = {}
    versions = RubricVersion.objects.of_people().exclude(status=RubricVersion.Status.DRAFT)
    for names in versions.order_by("rubric__name", "number").values_list("bands", flat=True):
        bands.update(dict.fromkeys(names))
    return [(band, band.capitalize()) for band in bands]


class ObservationFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        problems = date_range_problems(data.get("date_from"), data.get("date_to"))
        for end, problem in problems:
            self.add_error({"start": "date_from", "end": "date_to"}[end], problem)
        return data


class ObservationFilter(django_filters.FilterSet):
    """Filters for the observation list; every choice is something the viewer may see."""

    team = django_filters.ModelChoiceFilter(
        field_name="practitioner__team",
        queryset=Team.objects.none(),
        label="Team",
        empty_label="Any",
        widget=QuickSelect,
    )
    # Text, not a list of everyone: a purveyor sees tens of thousands of people.
    practitioner = django_filters.CharFilter(
        method="filter_person", label="Practitioner", widget=QuickTextInput
    )
    coach = django_filters.CharFilter(method="filter_person", label="Coach", widget=QuickTextInput)
    rubric = django_filters.ModelChoiceFilter(
        field_name="rubric_version__rubric",
        queryset=Rubric.objects.of_people(),
        label="Rubric",
        empty_label="Any",
        widget=QuickSelect,
    )
    date_from = SaneDateFilter(
        field_name="observed_on",
        lookup_expr="gte",
        label="From",
        widget=QuickDateInput,
    )
    date_to = SaneDateFilter(
        field_name="observed_on",
        lookup_expr="lte",
        label="To",
        widget=QuickDateInput,
    )
    band = django_filters.ChoiceFilter(choices=[], empty_label="Any", widget=QuickSelect)
    status = django_filters.ChoiceFilter(
        choices=Observation.Status.choices, empty_label="Any", widget=QuickSelect
    )

    class Meta:
        model = Observation
        form = ObservationFilterForm
        fields = [
            "team",
            "practitioner",
            "coach",
            "rubric",
            "date_from",
            "date_to",
            "band",
            "status",
        ]

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, **kwargs)
        if viewer_for(user).uses_directory:
            self.filters["team"].queryset = Team.objects.visible_to(user)
        else:
            # A practitioner only ever sees their own observations: nobody else to pick.
            del self.filters["team"], self.filters["practitioner"]
        # Read when drawn or checked, not when made: a kept list draws none.
        self.filters["band"].extra["choices"] = band_choices
        for name in ("practitioner", "coach"):
            if name in self.form.fields:
                self.form.fields[name].widget.attrs["placeholder"] = "Name, email or staff ID"
        for field in self.form.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select" if is_select else "form-control"

    def filter_person(self, queryset, name, value):
        """A person by id (links from a person's page) or by name, email or staff ID."""
        value = value.strip()
        if (pk := as_id(value)) is not None:
            return queryset.filter(**{f"{name}_id": pk})
        return queryset.filter(**{f"{name}__in": Person.objects.search(value).values("pk")})

    def single_rubric(self):
        """The rubric filtered on, when the list is limited to one (valid filters only)."""
        return self.form.cleaned_data.get("rubric") if self.is_valid() else None

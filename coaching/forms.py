import django_filters
from django import forms

from coaching.models import DriftAlert
from miiwrap import text
from observations.models import Rubric


class AlertFilter(django_filters.FilterSet):
    """The alert list's filters: status (not closed unless another is chosen), scope,
    rubric."""

    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[
            ("active", "Not closed"),
            *DriftAlert.Status.choices,
            ("all", "All"),
        ],
        method="filter_status",
        empty_label=None,
        null_value=None,
    )
    scope = django_filters.ChoiceFilter(
        label="About", choices=DriftAlert.Scope.choices, empty_label="Anything"
    )
    rubric = django_filters.ModelChoiceFilter(
        queryset=Rubric.objects.all(), label="Rubric", empty_label="Any"
    )

    class Meta:
        model = DriftAlert
        fields = ["status", "scope", "rubric"]

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("status", "active")
        super().__init__(data, *args, **kwargs)
        for field in self.form.fields.values():
            field.widget.attrs["class"] = "form-select"

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if "status" in self.form.errors:
            # The form says what was wrong; the list keeps its default meanwhile.
            queryset = self.filter_status(queryset, "status", "active")
        return queryset

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.active()
        if value == "all":
            return queryset
        return queryset.filter(status=value)


class AcknowledgeForm(forms.Form):
    said = "note"
    note = text.prose(
        text.NOTE,
        label="What you will do",
        error_messages={
            "required": "Write a short note on what you will do about it; the note is what "
            "acknowledging records.",
            "max_length": "Keep the note to %(limit_value)d characters (it has %(show_value)d).",
        },
        help_text="Say what you have seen and what you will do, e.g. a coaching session.",
    )


class AddressForm(forms.Form):
    said = "note"
    note = text.prose(
        text.NOTE,
        rows=2,
        label="What is being done",
        error_messages={
            "required": "Say what is being done about it, e.g. the coaching sessions "
            "planned; the note is what marking it records.",
            "max_length": "Keep the note to %(limit_value)d characters (it has %(show_value)d).",
        },
        help_text="The alert stays until the scores are back in control; the drift job "
        "closes it then.",
    )


class DismissForm(forms.Form):
    said = "reason"
    reason = text.prose(
        text.NOTE,
        rows=2,
        label="Why it is a false alarm",
        error_messages={
            "required": "Say why it is a false alarm, e.g. the observations were of "
            "unusual sessions; dismissing needs a reason.",
            "max_length": "Keep the reason to %(limit_value)d characters (it has %(show_value)d).",
        },
        help_text="Nobody is told of it again; it stays in the list and the drift job "
        "closes it once the scores are back in control.",
    )

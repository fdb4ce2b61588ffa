"""Admin forms: rubric lists edited as plain text, the two upload forms, and the
calibration cases and rounds."""

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.validators import validate_slug
from django.db import models
from django.db.models import Q
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html

from miiwrap.forms import UsableModelMultipleChoiceField
from miiwrap.once.forms import OnceForm
from miiwrap.people.models import Organization, Person, Role
from observations.models import (
    CalibrationCase,
    CalibrationRound,
    Metric,
    RubricVersion,
)


class CodeListField(forms.CharField):
    """Item codes typed as "sr, cr"; stored as a list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        codes = [code for code in re.split(r"[,\s]+", value or "") if code]
        for code in codes:
            try:
                validate_slug(code)
            except forms.ValidationError:
                raise forms.ValidationError(
                    f"“{code}” is not an item code: use letters, digits, - or _, "
                    "separated by commas."
                ) from None
        return codes


class ThresholdsField(forms.CharField):
    """Thresholds typed one a line as "band minimum", best first; stored as JSON."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 24})

    def prepare_value(self, value):
        if not isinstance(value, list):
            return value
        return "\n".join(f"{t['band']} {t['minimum']}" for t in value)

    def to_python(self, value):
        lines = [line.strip() for line in (value or "").splitlines()]
        return [_threshold(number, line) for number, line in enumerate(lines, 1) if line]


def _threshold(number, line):
    band, _, minimum = line.rpartition(" ")
    if not band.strip():
        raise forms.ValidationError(
            f"Line {number}: “{line}” needs a band and a minimum, such as “adequate 75”."
        )
    try:
        value = Decimal(minimum)
    except InvalidOperation:
        raise forms.ValidationError(
            f"Line {number}: “{minimum}” is not a number; write the minimum last, such as "
            f"“{band.strip()} 75”."
        ) from None
    if not value.is_finite():
        raise forms.ValidationError(f"Line {number}: the minimum must be a finite number.")
    return {
        "band": band.strip(),
        "minimum": int(value) if value == value.to_integral() else float(value),
    }


class LinesField(forms.CharField):
    """Names typed one a line; stored as a list."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 24})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        names = [line.strip() for line in (value or "").splitlines() if line.strip()]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise forms.ValidationError(f"Each name once: {', '.join(twice)} appears twice.")
        return names


class RubricVersionForm(forms.ModelForm):
    bands = LinesField(required=False, help_text="One band a line, best first, e.g. high.")

    class Meta:
        model = RubricVersion
        fields = ["rubric", "number", "bands", "notes"]


class MetricForm(forms.ModelForm):
    numerator = CodeListField(help_text="Item codes, separated by commas.")
    denominator = CodeListField(
        required=False, help_text="Item codes; for ratios and percentages only."
    )
    thresholds = ThresholdsField(
        required=False, help_text="One a line, best first: the band, then its minimum."
    )

    class Meta:
        model = Metric
        fields = [
            "code",
            "label",
            "kind",
            "numerator",
            "denominator",
            "thresholds",
            "is_overall",
            "position",
        ]


class ObservationImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="UTF-8; its columns and rules are described above."
    )
    dry_run = forms.BooleanField(
        required=False, label="Only check the file", help_text="Nothing is saved."
    )


class RubricImportForm(OnceForm):
    file = forms.FileField(label="JSON file", help_text="A rubric version exported from here.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            data = json.loads(upload.read().decode("utf-8-sig"), parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
        except ValueError as error:
            raise forms.ValidationError(f"The file is not valid JSON: {error}.") from None
        return data


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


# Calibration --------------------------------------------------------------------------------

# A stored name is "calibration/<32 hex>/<file name>" in a FileField of 300 characters, and
# most file systems refuse a name over 255 bytes: room for the name, with some to spare.
TRANSCRIPT_NAME_MOST = 150


class TranscriptInput(forms.ClearableFileInput):
    """The admin's file input without its link to the stored file, which would be a link
    into MEDIA_ROOT: uploads are never served as media, only by the page that checks who
    asks. It names the file kept, offers to clear it, and takes a new one."""

    def is_initial(self, value):
        return bool(value and getattr(value, "name", None))

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        upload = format_html('<input type="file" name="{}"{}>', name, flatatt(widget["attrs"]))
        if not widget["is_initial"]:
            return upload
        clear = ""
        if not widget["required"]:
            clear = format_html(
                ' <span class="clearable-file-input"><input type="checkbox" name="{}" id="{}">'
                ' <label for="{}">{}</label></span>',
                widget["checkbox_name"],
                widget["checkbox_id"],
                widget["checkbox_id"],
                widget["clear_checkbox_label"],
            )
        return format_html(
            '<p class="file-upload">{}: {}{}<br>{}: {}</p>',
            widget["initial_text"],
            Path(value.name).name,
            clear,
            widget["input_text"],
            upload,
        )


def _https_links(field, **kwargs):
    # A link typed without its scheme is read as https, as Django 6 will.
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class CalibrationCaseForm(forms.ModelForm):
    class Meta:
        model = CalibrationCase
        formfield_callback = _https_links
        fields = [
            "title",
            "description",
            "rubric_version",
            "recording_url",
            "transcript",
            "consent_on",
            "consent_note",
            "retain_until",
            "is_active",
        ]
        widgets = {"transcript": TranscriptInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "rubric_version" in self.fields:
            # Published versions; a case already on a version since retired keeps it.
            versions = Q(status=RubricVersion.Status.PUBLISHED)
            if self.instance.rubric_version_id:
                versions |= Q(pk=self.instance.rubric_version_id)
            queryset = RubricVersion.objects.of_people().filter(versions).select_related("rubric")
            self.fields["rubric_version"].queryset = queryset

    def clean_transcript(self):
        upload = self.cleaned_data.get("transcript")
        if upload and len(Path(upload.name).name) > TRANSCRIPT_NAME_MOST:
            raise forms.ValidationError(
                f"Shorten the file's name to {TRANSCRIPT_NAME_MOST} characters or fewer."
            )
        return upload


class CoachChoiceField(UsableModelMultipleChoiceField):
    def label_from_instance(self, person):
        return f"{person} ({person.organization})"


class CalibrationRoundForm(forms.ModelForm):
    """A round's days and cases, and whom to assign: coaches by name, or every current
    coach of some organizations. Assigning is never undone here; it adds to those shown."""

    coaches = CoachChoiceField(
        queryset=Person.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("coaches", is_stacked=False),
        help_text="Assign these coaches, besides those already assigned.",
    )
    organizations = UsableModelMultipleChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("organizations", is_stacked=False),
        help_text="Assign every current coach of these organizations.",
    )

    class Meta:
        model = CalibrationRound
        fields = ["name", "opens_on", "due_on", "cases"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coaches"].queryset = current_coaches()
        self.fields["organizations"].queryset = Organization.objects.all()
        if "cases" in self.fields:
            # Active cases join a round; those already in it stay, retired since or not.
            active = Q(is_active=True)
            if self.instance.pk:
                active |= Q(pk__in=self.instance.cases.values("pk"))
            self.fields["cases"].queryset = CalibrationCase.objects.filter(active)

    def coaches_to_assign(self):
        """The coaches chosen, and the current coaches of the organizations chosen."""
        chosen = {person.pk: person for person in self.cleaned_data.get("coaches", [])}
        organizations = self.cleaned_data.get("organizations")
        if organizations:
            for person in current_coaches().filter(organization__in=organizations):
                chosen.setdefault(person.pk, person)
        return [chosen[pk] for pk in sorted(chosen)]


def current_coaches():
    """People holding the coach role who have not left, with what the assigning reads."""
    today = timezone.localdate()
    coaches = Person.objects.with_role(Role.COACH).exclude(leave_date__lt=today)
    return coaches.select_related("organization").prefetch_related("roles")

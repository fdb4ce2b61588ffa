"""Admin forms: rubric lists edited as plain text, and the two upload forms."""

import json
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.validators import validate_slug

from miiwrap.once.forms import OnceForm
from observations.models import Metric, RubricVersion


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

"""What people may type: the limits on free text and the characters a field accepts.

Every limit is here, so the form, the model and the importer state the same numbers.

- A single-line field (a name, a label, a subject) refuses every control character: a
  line break in a name would break every email whose subject holds it, and a NUL byte is
  refused by PostgreSQL. `install_validators()` gives every editable CharField of our
  models this check when the apps are ready, so a new field has it without asking.
- A multi-line field (feedback, a reason, a note) keeps line breaks and tabs and refuses
  the other control characters. Each is a `ProseField` with one of the limits below; the
  system check `miiwrap.E001` names a TextField that was declared without one.
"""

import unicodedata

from django import forms
from django.apps import apps
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models

# A reason or a note: a paragraph or two.
NOTE = 2_000
# Feedback on an observation and the practitioner's reply: a page.
FEEDBACK = 4_000
# What admins write once for many readers: rubric guidance, reminder email bodies.
DOCUMENT = 20_000

# Minutes an observation lasted. Observations run from a 20-minute coded segment to a
# team meeting of two or three hours; 12 hours (a whole shadowed working day) is the
# longest that is more likely true than a typo, and 0 minutes is not an observation.
DURATION_MIN = 1
DURATION_MAX = 720

# The apps whose models' CharFields get the single-line check (auth: the User's names).
OUR_APPS = {
    "people",
    "coaching",
    "observations",
    "certification",
    "notifications",
    "auth",
    "community",
    "implementation",
}
ALLOWED_IN_PROSE = {"\n", "\r", "\t"}
# Line and paragraph separators break a line as surely as \n does.
LINE_BREAKING = {"Cc", "Zl", "Zp"}


def _describe(char):
    return {"\n": "a line break", "\r": "a line break", "\t": "a tab", "\x00": "a NUL byte"}.get(
        char, f"the control character U+{ord(char):04X}"
    )


def validate_one_line(value):
    for char in str(value):
        if unicodedata.category(char) in LINE_BREAKING:
            raise ValidationError(
                f"Remove {_describe(char)}: this field holds a single line of text.",
                code="control_character",
            )


def validate_prose(value):
    for char in str(value):
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_IN_PROSE:
            raise ValidationError(
                f"Remove {_describe(char)}: it cannot be stored or shown.",
                code="control_character",
            )


def one_line(text):
    """`text` on one line: runs of whitespace (line breaks too) made one space, other
    control characters dropped. For email subjects, whose headers refuse line breaks."""
    words = str(text).split()
    return " ".join(
        "".join(c for c in word if unicodedata.category(c) not in LINE_BREAKING) for word in words
    )


def limit_help(limit, help_text=""):
    """A field's help text with its limit stated, e.g. "… Up to 4,000 characters."."""
    return f"{help_text} Up to {limit:,} characters.".strip()


class ProseField(models.TextField):
    """Multi-line text with a limit (one of those above) that forms state and enforce."""

    def __init__(self, *args, max_length, **kwargs):
        super().__init__(*args, max_length=max_length, **kwargs)

    @property
    def validators(self):
        return [*super().validators, MaxLengthValidator(self.max_length), validate_prose]

    def formfield(self, **kwargs):
        field = super().formfield(**kwargs)
        field.help_text = limit_help(self.max_length, field.help_text)
        return field


def prose(limit, *, rows=3, help_text="", **kwargs):
    """A form field for multi-line text outside a model form, with the same checks."""
    return forms.CharField(
        max_length=limit,
        widget=forms.Textarea(attrs={"rows": rows}),
        validators=[validate_prose],
        help_text=limit_help(limit, help_text),
        **kwargs,
    )


def _our_fields():
    for model in apps.get_models():
        if model._meta.app_label in OUR_APPS:
            for field in model._meta.local_fields:
                yield model, field


def install_validators():
    """Give every editable CharField of our models the single-line check."""
    for _, field in _our_fields():
        typed = isinstance(field, models.CharField) and field.editable and not field.choices
        if typed and validate_one_line not in field.validators:
            # Field.validators is a list cached on first use: extending it is seen by
            # every later full_clean (and so by every model form and the admin).
            field.validators.append(validate_one_line)


@checks.register()
def check_text_fields(app_configs=None, **kwargs):
    """Every TextField people fill is a ProseField, so it has a limit and the checks."""
    return [
        checks.Error(
            f"{model._meta.label}.{field.name} is a TextField without a limit.",
            hint="Declare it as miiwrap.text.ProseField(max_length=NOTE, FEEDBACK or DOCUMENT).",
            obj=field,
            id="miiwrap.E001",
        )
        for model, field in _our_fields()
        if isinstance(field, models.TextField)
        and not isinstance(field, ProseField)
        and field.editable
        and model._meta.app_label != "notifications"  # written by the app, not typed
    ]

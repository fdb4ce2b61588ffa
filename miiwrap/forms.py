"""Form helpers every app's views share."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from miiwrap.parsing import as_id


def add_service_errors(forms, error):
    """Put a service's ValidationError on the fields it names; anything else on the first form."""
    named = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for field, texts in named.items():
        form = next((f for f in forms if field in f.fields), forms[0])
        form.add_error(field if field in form.fields else None, texts)


def usable_key(field, value):
    """Whether `value` can be looked up in `field` (a primary or to-field key) at all."""
    if value in field.empty_values:
        return True
    if isinstance(field, models.IntegerField | models.AutoField):
        return as_id(value) is not None
    try:
        field.to_python(value)
    except ValidationError:
        return False
    return True


class UsableModelChoiceField(forms.ModelChoiceField):
    """Refuses, as an invalid choice, an id too big for the database (SQLite raised)."""

    def to_python(self, value):
        opts = self.queryset.model._meta
        key = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
        if not usable_key(key, value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class UsableModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses, as an invalid choice, an id too big for the database (SQLite raised)."""

    def _check_values(self, value):
        opts = self.queryset.model._meta
        key = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
        for pk in value or []:
            if not usable_key(key, pk):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)

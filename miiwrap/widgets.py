"""Form widgets written in Python. Django renders each widget (and each option of a
select) through a template; on pages a crowd reloads (dashboards, the observation list),
that cost more than some of their queries. These write the same HTML directly."""

from html import escape

from django import forms
from django.utils.safestring import mark_safe


def _attributes(attrs):
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value not in (None, False)
    )


class QuickSelect(forms.Select):
    """A <select> written in Python. Django renders each option through a template, and
    on a leader's page (a team per option) that cost more than some of its queries."""

    def use_required_attribute(self, initial):
        # Django reads the first choice to decide, a query for a model's choices: a field
        # that is not required needs no `required` whatever its choices.
        return self.is_required and super().use_required_attribute(initial)

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value])}
        options = "".join(
            f'<option value="{escape(str(key))}"'
            f"{' selected' if str(key) in chosen else ''}>{escape(str(label))}</option>"
            for key, label in self.choices
        )
        spelled = _attributes(self.build_attrs(self.attrs, attrs))
        return mark_safe(f'<select name="{escape(name)}"{spelled}>{options}</select>')


class QuickDateInput(forms.DateInput):
    """A date field written in Python, like QuickSelect."""

    input_type = "date"

    def render(self, name, value, attrs=None, renderer=None):
        shown = self.format_value(value)
        spelled = _attributes({**self.build_attrs(self.attrs, attrs), "value": shown})
        return mark_safe(f'<input type="date" name="{escape(name)}"{spelled}>')


class QuickTextInput(forms.TextInput):
    """A text field written in Python, like QuickSelect."""

    def render(self, name, value, attrs=None, renderer=None):
        shown = self.format_value(value)
        attrs = {"type": self.input_type, **self.build_attrs(self.attrs, attrs), "value": shown}
        return mark_safe(f'<input name="{escape(name)}"{_attributes(attrs)}>')

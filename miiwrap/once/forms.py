"""The token a creating form carries, so that the same form sent twice creates one record.

A form that creates something inherits OnceForm (before its own base: `class F(OnceForm,
forms.ModelForm)`), its template draws `form_token` (crispy does on its own), and the view
hands `form.token()` to services.form_token_once; see README, “Every create is idempotent”.
"""

import re
import secrets

from django import forms

TOKEN_FIELD = "form_token"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
OUT_OF_DATE = "This form is out of date: reload the page and enter it again."


def new_token():
    return secrets.token_hex(16)


def is_token(text):
    return bool(TOKEN_SHAPE.fullmatch(text or ""))


class OnceForm(forms.Form):
    """Issues a fresh token each time the form is drawn empty; a form drawn again with its
    errors keeps the token it was sent with, so the corrected post still counts as the same."""

    form_token = forms.CharField(widget=forms.HiddenInput, required=False, initial=new_token)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        name = self.add_prefix(TOKEN_FIELD)
        if self.is_bound and not self.data.get(name):
            # A post without a token (an old page, a script) still gets one, so that the
            # form drawn again with its errors is protected from here on.
            self.data = self.data.copy()
            self.data[name] = new_token()

    def clean_form_token(self):
        token = self.cleaned_data[TOKEN_FIELD]
        if not is_token(token):
            raise forms.ValidationError(OUT_OF_DATE)
        return token

    def initial_token(self):
        """The token the form is drawn with."""
        return self[TOKEN_FIELD].value()

    def token(self):
        """The token this post was sent with (call after is_valid())."""
        return self.cleaned_data.get(TOKEN_FIELD) or self.data.get(self.add_prefix(TOKEN_FIELD))


def with_token(form_class):
    """`form_class` carrying the token too, for forms built elsewhere (the admin's)."""
    return type(form_class.__name__, (OnceForm, form_class), {})


def posted_token(request, prefix=None):
    """The token in a POST, when it has the shape of one; "" otherwise."""
    name = f"{prefix}-{TOKEN_FIELD}" if prefix else TOKEN_FIELD
    token = request.POST.get(name, "")
    return token if is_token(token) else ""

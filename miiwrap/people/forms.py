from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    """Django's sign-in form, labelled for what people type: usually their email."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email or username"
        self.fields["username"].widget.attrs["autocomplete"] = "username"


class CodeForm(forms.Form):
    """A six-digit code from the authenticator app, checked against `device`."""

    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, device, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isdigit() and len(code) == self.device.digits):
            raise forms.ValidationError(f"Type the {self.device.digits} digits the app shows.")
        allowed, _ = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError("Too many wrong codes: wait a minute, then try again.")
        if not self.device.verify_token(code):
            raise forms.ValidationError(
                "That code is not the current one: check the app's clock, or wait for the "
                "next code."
            )
        return code

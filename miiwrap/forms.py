"""Form helpers every app's views share."""


def add_service_errors(forms, error):
    """Put a service's ValidationError on the fields it names; anything else on the first form."""
    named = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for field, texts in named.items():
        form = next((f for f in forms if field in f.fields), forms[0])
        form.add_error(field if field in form.fields else None, texts)

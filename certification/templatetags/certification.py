from django import template

register = template.Library()

STATE_CLASSES = {
    "not_certified": "text-bg-light border",
    "in_progress": "text-bg-info",
    "not_yet": "text-bg-light border",
    "certified": "text-bg-success",
    "window_open": "text-bg-warning",
    "grace": "text-bg-danger",
    "lapsed": "text-bg-secondary",
    "revoked": "text-bg-dark",
}


@register.filter
def state_class(state):
    """The badge colours for a certification state."""
    return STATE_CLASSES.get(str(state), "text-bg-light border")

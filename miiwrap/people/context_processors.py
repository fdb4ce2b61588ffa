from django.utils.functional import SimpleLazyObject

from miiwrap.people.access import viewer_for


def viewer(request):
    """`viewer` in every template, for navigation by role; read only when used."""
    return {"viewer": SimpleLazyObject(lambda: viewer_for(getattr(request, "user", None)))}

from django.utils.functional import SimpleLazyObject

from miiwrap.navigation import menus
from miiwrap.people.access import viewer_for


def viewer(request):
    """`viewer` in every template, for navigation by role; read only when used."""
    return {"viewer": SimpleLazyObject(lambda: viewer_for(getattr(request, "user", None)))}


def navigation(request):
    """`menus` for the navigation bar, built only when a template draws it."""

    def build():
        return menus(viewer_for(getattr(request, "user", None)), request.resolver_match)

    return {"menus": SimpleLazyObject(build)}

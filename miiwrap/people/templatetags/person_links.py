"""`{% person_link person %}`: a person's name, linked where miiwrap.people.links says."""

from django import template
from django.utils.html import format_html

from miiwrap.people.links import GONE, reach_for

register = template.Library()


@register.simple_tag(takes_context=True)
def person_link(context, person, prefer=None, gone=GONE):
    """The person's name, linked to the most useful page about them for the viewer, or
    plain when no page about them opens for the viewer. A person who is gone (None, or a
    deleted row the template could not read) reads `gone`, unlinked."""
    if not getattr(person, "pk", None):
        return format_html("{}", gone)
    request = context.get("request")
    reach = reach_for(getattr(request, "user", None))
    return reach.link(person.pk, person.full_name, prefer or None)

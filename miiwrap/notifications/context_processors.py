from django.utils.functional import SimpleLazyObject

from miiwrap.notifications.models import Notification
from miiwrap.people.access import viewer_for


def unread_notifications(request):
    """`unread_notifications` for the navigation badge: one count, read only when a template
    uses it, and only for a signed-in person, so other pages pay nothing."""
    return {"unread_notifications": SimpleLazyObject(lambda: _unread(request))}


def _unread(request):
    person_id = viewer_for(getattr(request, "user", None)).person_id
    if person_id is None:
        return 0
    return Notification.objects.for_person(person_id).filter(read_at=None).count()

"""Each person's own notifications: the list, opening one, and marking them read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from miiwrap.notifications.models import Notification
from miiwrap.parsing import reads
from miiwrap.people.access import viewer_for

Status = Notification.Status


def _person_id(request):
    """Notifications belong to a staff record; a login without one has none to show."""
    person_id = viewer_for(request.user).person_id
    if person_id is None:
        raise Http404("This login has no staff record, so it receives no notifications.")
    return person_id


def status_words(notification):
    """Where a notification's email stands, in plain words."""
    status = notification.status
    if status == Status.SENT:
        return f"Emailed {timezone.localtime(notification.sent_at):%Y-%m-%d %H:%M}"
    if status == Status.FAILED:
        return f"Email failed: {notification.last_error or 'no reason recorded'}"
    if status == Status.SENDING:
        return "Sending"
    if status == Status.IN_DIGEST:
        return "In your daily digest"
    if notification.attempts:
        retry_at = timezone.localtime(notification.next_attempt_at)
        return f"Waiting to send (trying again at {retry_at:%Y-%m-%d %H:%M})"
    return "Waiting to send"


@reads("page")
@login_required
def notification_list(request):
    """The signed-in person's notifications, newest first; a digest lists its items."""
    person_id = _person_id(request)
    items = Prefetch("items", queryset=Notification.objects.order_by("created_at", "pk"))
    notifications = Notification.objects.for_person(person_id).prefetch_related(items)
    page = Paginator(notifications, 25).get_page(request.GET.get("page"))
    page.object_list = [(note, status_words(note)) for note in page.object_list]
    return render(request, "notifications/list.html", {"page": page, "query": ""})


@login_required
def open_notification(request, pk):
    """Mark one of the person's own notifications read and go where it points."""
    person_id = _person_id(request)
    notification = get_object_or_404(Notification.objects.filter(recipient_id=person_id), pk=pk)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk, read_at=None).update(read_at=timezone.now())
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, {request.get_host()}, request.is_secure()):
        return redirect(link)
    return redirect("notifications:list")


@login_required
@require_POST
def mark_all_read(request):
    """Mark every unread notification of the signed-in person read."""
    person_id = _person_id(request)
    unread = Notification.objects.filter(recipient_id=person_id, read_at=None)
    count = unread.update(read_at=timezone.now())
    if count:
        noun = "notification" if count == 1 else "notifications"
        messages.success(request, f"Marked {count} {noun} as read.")
    return redirect("notifications:list")

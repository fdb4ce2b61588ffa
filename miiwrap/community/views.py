from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from miiwrap import audit
from miiwrap.community import services
from miiwrap.community.forms import AttendanceForm, EventForm, EventListForm, RegisterForm
from miiwrap.community.models import Attendance, Event, people_to_mark
from miiwrap.forms import add_service_errors
from miiwrap.once.services import AlreadySent, form_token_once
from miiwrap.once.shortcuts import repeated, shown_again
from miiwrap.parsing import as_id, reads
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person


def _events_for_user(user):
    """The events the user sees; 404 for a login that is nobody's (nothing to see)."""
    viewer = viewer_for(user)
    if viewer.person_id is None and not viewer.sees_everything:
        raise Http404("Events are for the staff of invited organizations.")
    return Event.objects.visible_to(user)


def _event_for_user(user, pk):
    """The event, if the user may see it; 404 otherwise, so nothing leaks."""
    events = _events_for_user(user).select_related("facilitator__organization")
    return get_object_or_404(events, pk=as_id(pk) or 0)


def may_create_events(user):
    viewer = viewer_for(user)
    return viewer.sees_everything or viewer.sees_organization


def _signed_in(user):
    return Person.objects.filter(pk=viewer_for(user).person_id).first()


@reads("kind", "page", forms=[EventListForm])
@login_required
def event_list(request):
    """Upcoming events, then past ones, of those the viewer sees; by kind if asked."""
    events = _events_for_user(request.user).for_list()
    form = EventListForm(request.GET)
    if form.is_valid() and form.cleaned_data["kind"]:
        events = events.filter(kind=form.cleaned_data["kind"])
    today = timezone.localdate()
    past = Paginator(events.past(today), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"form": form, "upcoming": list(events.upcoming(today)), "past": past}
    ctx["query"] = query.urlencode()
    ctx["may_create"] = may_create_events(request.user)
    ctx["may_import"] = viewer_for(request.user).uses_admin
    return render(request, "community/event_list.html", ctx)


@login_required
def event_detail(request, pk):
    """The event, its counts by organization, and the names the viewer may read."""
    event = _event_for_user(request.user, pk)
    names = Attendance.objects.visible_to(request.user).filter(event=event)
    today = timezone.localdate()
    ctx = {
        "event": event,
        "counts": Attendance.objects.counts_by_organization(event),
        "names": names.select_related("person__organization").order_by(
            "person__last_name", "person__first_name"
        ),
        "organizations": event.organizations.all(),
        "open": event.held_on >= today,
        "editable": Event.objects.editable_by(request.user).filter(pk=event.pk).exists(),
        "may_mark": people_to_mark(event, request.user).exists(),
    }
    ctx["taken"] = sum(row["registered"] + row["attended"] for row in ctx["counts"])
    if ctx["open"]:
        ctx["register_form"] = RegisterForm(event=event, user=request.user)
    return render(request, "community/event_detail.html", ctx)


@login_required
def event_new(request):
    if not may_create_events(request.user):
        raise Http404("Leaders, organization admins and the purveyor create events.")
    return _event_form(request, Event())


@login_required
def event_edit(request, pk):
    events = Event.objects.editable_by(request.user)
    return _event_form(request, get_object_or_404(events, pk=as_id(pk) or 0))


def _event_form(request, event):
    # A repeat is answered before validating: the first post's event now clashes with it.
    if again := repeated(request, _event_page, "community:list"):
        return again
    data = request.POST if request.method == "POST" else None
    form = EventForm(data, instance=event, user=request.user)
    if form.is_valid():
        saved = _save_once(request, form)
        if saved is not None:
            return saved
    ctx = {"form": form, "event": event}
    return render(request, "community/event_form.html", ctx, status=400 if form.errors else 200)


def _save_once(request, form):
    """Save the event once for the form's token; a redirect, or None with form errors."""

    def save():
        organizations = form.cleaned_data["organizations"]
        by = _signed_in(request.user)
        return services.event_save(event=form.instance, organizations=organizations, by=by)

    try:
        event = form_token_once(token=form.token(), user=request.user, create=save)
    except AlreadySent as sent:
        return shown_again(request, sent, _event_page, "community:list")
    except ValidationError as error:
        add_service_errors([form], error)
        return None
    messages.success(request, "Event saved.")
    return redirect(event)


def _event_page(event):
    return event.get_absolute_url()


@require_POST
@login_required
def event_register(request, pk):
    """Register someone the viewer may register (themselves at least); once only."""
    event = _event_for_user(request.user, pk)
    form = RegisterForm(request.POST, event=event, user=request.user)
    if not form.is_valid():
        messages.error(request, "Choose someone you may register for this event.")
        return redirect(event)
    person = form.cleaned_data["person"]
    try:
        services.attendance_register(
            event=event, person=person, by=_signed_in(request.user), today=timezone.localdate()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{person} is registered.")
    return redirect(event)


@login_required
def event_attendance(request, pk):
    """The checklist of registrants the viewer may mark, and someone to add."""
    event = _event_for_user(request.user, pk)
    markable = people_to_mark(event, request.user)
    if not markable.exists():
        raise Http404("The facilitator, the purveyor and leaders record attendance.")
    rows = Attendance.objects.filter(event=event, person__in=markable).select_related("person")
    rows = list(rows.order_by("person__last_name", "person__first_name"))
    data = request.POST if request.method == "POST" else None
    form = AttendanceForm(data, event=event, user=request.user, rows=rows)
    if form.is_valid():
        changed = services.attendance_record(
            event=event, marks=form.marks(), by=_signed_in(request.user)
        )
        messages.success(request, f"Attendance saved ({changed} changed).")
        return redirect(event)
    ctx = {"event": event, "form": form, "history": _attendance_history(event, markable)}
    ctx["heading"] = "Who changed the attendance"
    return render(request, "community/attendance.html", ctx, status=400 if form.errors else 200)


def _attendance_history(event, markable):
    """Each change to the registrations the viewer records: who made it, when, old → new."""
    rows = audit.history_of(Attendance, event_id=event.pk).filter(person__in=markable)
    rows = rows.select_related("person")
    return audit.trail(rows, subject=lambda row: row.person.full_name, hide={"recorded_by"})

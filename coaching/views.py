from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from coaching import services
from coaching.forms import AcknowledgeForm, AlertFilter, ResolveForm
from coaching.models import DriftAlert
from miiwrap import audit
from miiwrap.parsing import reads
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person
from observations import display
from observations.models import Observation


def _alerts_for(user):
    """The alerts the user manages; 404 for anyone who only practises, so they have none."""
    if not viewer_for(user).uses_directory:
        raise Http404("Drift alerts are for coaches, leaders and admins.")
    return DriftAlert.objects.visible_to(user).for_list()


def _get_alert_for_user(user, pk):
    """An alert the user may see; 404 otherwise, never one about themselves."""
    return get_object_or_404(_alerts_for(user).select_related("resolved_by"), pk=pk)


def _acting_person(user):
    return Person.objects.filter(pk=viewer_for(user).person_id).first()


@reads("page", forms=[AlertFilter])
@login_required
def alert_list(request):
    """Drift alerts the viewer may act on, newest raised first; active ones unless chosen."""
    alerts = _alerts_for(request.user).order_by("-raised_on", "-pk")
    filterset = AlertFilter(request.GET, queryset=alerts)
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"filter": filterset, "page": page, "query": query.urlencode()}
    return render(request, "coaching/alert_list.html", ctx)


@login_required
def alert_detail(request, pk):
    return _detail_page(request, _get_alert_for_user(request.user, pk))


def _detail_page(request, alert, acknowledge_form=None, resolve_form=None, status=200):
    """The alert, why it was raised, and (while active) the forms to act on it; a form
    that came back with errors is shown as it was posted (400, as elsewhere)."""
    ctx = {
        "alert": alert,
        "observations": _observations_since(request.user, alert),
        "acknowledge_form": acknowledge_form
        or AcknowledgeForm(prefix="acknowledge", initial={"note": alert.note}),
        "resolve_form": resolve_form or ResolveForm(prefix="resolve"),
        # The job's lists of rules and moved items are summed up on the page already.
        "history": audit.trail(audit.history_of(DriftAlert, id=alert.pk), hide={"rules", "moved"}),
    }
    return render(request, "coaching/alert_detail.html", ctx, status=status)


def _observations_since(user, alert):
    """The practitioner's submitted observations on the rubric since the episode began."""
    if alert.practitioner_id is None:
        return []
    found = list(
        Observation.objects.visible_to(user)
        .submitted()
        .filter(
            practitioner_id=alert.practitioner_id,
            rubric_version__rubric_id=alert.rubric_id,
            observed_on__gte=alert.began_on,
        )
        .select_related("rubric_version")
        .order_by("observed_on", "pk")
    )
    for observation in found:
        bands = observation.rubric_version.bands
        observation.band_class = display.band_class(bands, observation.band)
    return found


@login_required
@require_POST
def alert_acknowledge(request, pk):
    """Say the alert is read and what will be done; it stays until resolved."""
    alert = _get_alert_for_user(request.user, pk)
    if not alert.is_active:
        return _unchanged(
            request, alert, "This alert is already resolved; nothing was acknowledged."
        )
    form = AcknowledgeForm(request.POST, prefix="acknowledge")
    if not form.is_valid():
        return _detail_page(request, alert, acknowledge_form=form, status=400)
    by = _acting_person(request.user)
    if not services.alert_acknowledge(alert=alert, by=by, note=form.cleaned_data["note"]):
        return _unchanged(
            request, alert, "This alert was resolved meanwhile; nothing was acknowledged."
        )
    messages.success(request, "Acknowledged: your note is kept with the alert.")
    return redirect(alert)


@login_required
@require_POST
def alert_resolve(request, pk):
    """Close the episode by hand; the drift job will not raise it again."""
    alert = _get_alert_for_user(request.user, pk)
    if not alert.is_active:
        return _unchanged(request, alert, "This alert is already resolved; nothing changed.")
    form = ResolveForm(request.POST, prefix="resolve")
    if not form.is_valid():
        return _detail_page(request, alert, resolve_form=form, status=400)
    today = alert.organization.local_today()
    by = _acting_person(request.user)
    note = form.cleaned_data["note"]
    if not services.alert_resolve(alert=alert, by=by, today=today, note=note):
        return _unchanged(request, alert, "This alert was resolved meanwhile; nothing changed.")
    messages.success(request, "Resolved. This episode will not be raised again.")
    return redirect(alert)


def _unchanged(request, alert, text):
    messages.info(request, text)
    return redirect(alert)

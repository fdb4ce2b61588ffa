from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from coaching import services
from coaching.forms import AcknowledgeForm, AddressForm, AlertFilter, DismissForm
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


def _detail_page(request, alert, posted=None, status=200):
    """The alert, why it was raised, and (while not closed) the forms to act on it; a
    form that came back with errors (`posted`) is shown as it was posted (400, as
    elsewhere)."""
    forms = {action.name: action.blank(alert) for action in ACTIONS.values()}
    if posted is not None:
        forms[posted.prefix] = posted
    ctx = {
        "alert": alert,
        "observations": _observations_since(request.user, alert),
        **{f"{name}_form": form for name, form in forms.items()},
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


@dataclass(frozen=True)
class Action:
    """Something people do to an alert: the status it moves to, the form that says what
    they wrote (and which field of the alert keeps it), and the words for what happened."""

    name: str
    status: str
    form: type
    field: str
    service: object
    done: str
    verb: str

    def blank(self, alert):
        return self.form(prefix=self.name, initial={self.form.said: getattr(alert, self.field)})


ACTIONS = {
    action.name: action
    for action in [
        Action(
            "acknowledge",
            DriftAlert.Status.ACKNOWLEDGED,
            AcknowledgeForm,
            "note",
            services.alert_acknowledge,
            "Acknowledged: your note is kept with the alert.",
            "acknowledged",
        ),
        Action(
            "address",
            DriftAlert.Status.ADDRESSING,
            AddressForm,
            "addressing_note",
            services.alert_address,
            "Marked as being addressed: your note is kept with the alert. It stays until "
            "the scores are back in control.",
            "marked as being addressed",
        ),
        Action(
            "dismiss",
            DriftAlert.Status.DISMISSED,
            DismissForm,
            "dismissal_reason",
            services.alert_dismiss,
            "Dismissed as a false alarm: nobody is told of it again. It stays in the list "
            "until the scores are back in control.",
            "dismissed",
        ),
    ]
}


@login_required
@require_POST
def alert_act(request, pk, action):
    """Acknowledge the alert, say how it is being addressed, or dismiss it as a false
    alarm. None closes it; a repeated post changes nothing and says so."""
    alert, action = _get_alert_for_user(request.user, pk), ACTIONS[action]
    if action.status not in alert.next_statuses():
        return _unchanged(
            request, alert, f"This alert is {_now_is(alert)}; nothing was {action.verb}."
        )
    form = action.form(request.POST, prefix=action.name)
    if not form.is_valid():
        return _detail_page(request, alert, posted=form, status=400)
    said = form.cleaned_data[action.form.said]
    if alert.status == action.status and getattr(alert, action.field) == said:
        return _unchanged(
            request, alert, f"It was {action.verb} already, with these words; nothing changed."
        )
    kwargs = {"alert": alert, "by": _acting_person(request.user), action.form.said: said}
    if not action.service(**kwargs):
        return _unchanged(
            request,
            alert,
            f"This alert changed meanwhile; nothing was {action.verb}. Read it again.",
        )
    messages.success(request, action.done)
    return redirect(alert)


def _now_is(alert):
    if not alert.is_active:
        return "closed"
    return f"already {alert.status_label().lower()}"


def _unchanged(request, alert, text):
    messages.info(request, text)
    return redirect(alert)

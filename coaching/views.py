from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from coaching import goals, levels, progress, services
from coaching.forms import (
    AcknowledgeForm,
    AddressForm,
    AddressPlanForm,
    AlertFilter,
    CommentForm,
    DismissForm,
    GoalAddForm,
    GoalEditForm,
    GoalFormSet,
    PlanEditForm,
    PlanFilter,
    PlanStartForm,
    SessionForm,
    practitioner_choices,
)
from coaching.models import (
    CoachAssignment,
    CoachingPlan,
    CoachingSession,
    DriftAlert,
    Goal,
    current_versions,
)
from miiwrap import audit
from miiwrap.forms import add_service_errors
from miiwrap.once.services import AlreadySent, form_token_once
from miiwrap.once.shortcuts import shown_again
from miiwrap.parsing import as_id, reads
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
    alerts = _alerts_for(user).select_related("resolved_by", "plan__organization")
    return get_object_or_404(alerts, pk=pk)


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
        "may_start_plan": alert.is_active and _coaches(request.user, alert.practitioner_id),
        "plan_progress": _plan_progress(alert.plan),
        **{f"{name}_form": form for name, form in forms.items()},
        # The job's lists of rules and moved items are summed up on the page already.
        "history": audit.trail(audit.history_of(DriftAlert, id=alert.pk), hide={"rules", "moved"}),
    }
    return render(request, "coaching/alert_detail.html", ctx, status=status)


def _plan_progress(plan):
    """The progress of the goals of the plan answering an alert (none without a plan), in
    the same few queries for any number of goals."""
    if plan is None:
        return []
    plan_goals = list(plan.goals.all())
    return progress.of_goals(plan_goals, plan.organization.local_today())


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
        initial = {self.form.said: getattr(alert, self.field)}
        if alert.practitioner_id and self.name == "address":
            initial["plan"] = alert.plan_id or next(
                (plan.pk for plan in _plans_answering(alert) if plan.is_active), None
            )
        return self.bound(alert, None, initial=initial)

    def bound(self, alert, data, **kwargs):
        """The form for this alert: saying how it is addressed also names the plan, when
        the alert is about a practitioner."""
        if alert.practitioner_id and self.name == "address":
            return AddressPlanForm(data, prefix=self.name, plans=_plans_answering(alert), **kwargs)
        return self.form(data, prefix=self.name, **kwargs)


def _plans_answering(alert):
    """The plans that may answer an alert about a practitioner: their active plan and the
    one it names already (read once per page)."""
    if not hasattr(alert, "_plans"):
        plans = CoachingPlan.objects.filter(practitioner_id=alert.practitioner_id)
        alert._plans = list(plans.filter(Q(status="active") | Q(pk=alert.plan_id)))
    return alert._plans


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
    form = action.bound(alert, request.POST)
    if not form.is_valid():
        return _detail_page(request, alert, posted=form, status=400)
    said = form.cleaned_data[action.form.said]
    named = {"plan": form.cleaned_data["plan"]} if "plan" in form.fields else {}
    same_plan = not named or named["plan"] == alert.plan
    if alert.status == action.status and getattr(alert, action.field) == said and same_plan:
        return _unchanged(
            request, alert, f"It was {action.verb} already, with these words; nothing changed."
        )
    kwargs = {"alert": alert, "by": _acting_person(request.user), action.form.said: said, **named}
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


# Coaching plans ------------------------------------------------------------------------------


def _coaches(user, practitioner_id):
    """The signed-in coach as a Person when they coach this practitioner now; else None.
    Only they start, change and log sessions on the practitioner's plans."""
    viewer = viewer_for(user)
    if not viewer.is_coach or practitioner_id is None or practitioner_id == viewer.person_id:
        return None
    if not CoachAssignment.objects.coaches_now(viewer.person_id, practitioner_id):
        return None
    return Person.objects.select_related("organization").get(pk=viewer.person_id)


def _get_plan_for_user(user, pk):
    """A plan the user may see (miiwrap.people.access); 404 otherwise."""
    plans = CoachingPlan.objects.visible_to(user).select_related(
        "practitioner__organization", "organization", "alert", "observation", "created_by"
    )
    return get_object_or_404(plans, pk=pk)


def _get_plan_to_coach(user, pk):
    """(plan, coach) for the practitioner's current coach; 404 for anyone else."""
    plan = _get_plan_for_user(user, pk)
    coach = _coaches(user, plan.practitioner_id)
    if coach is None:
        raise Http404("Only the practitioner's coach changes their plan.")
    return plan, coach


@reads("page", forms=[PlanFilter])
@login_required
def plan_list(request):
    """The plans the viewer may see, newest first; active ones unless chosen."""
    plans = CoachingPlan.objects.visible_to(request.user).for_list()
    filterset = PlanFilter(request.GET, queryset=plans, user=request.user)
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    viewer = viewer_for(request.user)
    ctx = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        "may_start": viewer.is_coach,
    }
    return render(request, "coaching/plan_list.html", ctx)


@reads("alert", "observation", "practitioner")
@login_required
def plan_new(request):
    """Start a plan: from a drift alert (its items that fell most proposed as goals), an
    observation (the items its growth areas named) or nothing (choose from the caseload).
    A practitioner with an active plan gets the goals added to it."""
    source = _plan_source(request)
    versions = current_versions()
    data = request.POST if request.method == "POST" else None
    form = PlanStartForm(
        data,
        organization=(source.practitioner or source.coach).organization,
        today=source.today,
        practitioners=source.practitioners,
        initial=source.initial(),
    )
    goal_forms = GoalFormSet(
        data, prefix="goal", initial=source.proposals(versions), form_kwargs={"versions": versions}
    )
    if form.is_bound and (started := _start(request, form, goal_forms, source)):
        return started
    ctx = {
        "form": form,
        "goal_forms": goal_forms,
        "problem_forms": [form, *goal_forms.forms],
        "source": source,
        "active": source.active(),
    }
    return render(request, "coaching/plan_new.html", ctx, status=400 if form.is_bound else 200)


@dataclass
class PlanSource:
    """Where a plan being started comes from, and what that proposes."""

    coach: Person
    practitioners: object
    alert: DriftAlert | None = None
    observation: Observation | None = None
    practitioner: Person | None = None

    @property
    def today(self):
        where = self.practitioner or self.coach
        return where.organization.local_today()

    def initial(self):
        initial = {"started_on": self.today}
        if self.practitioner is not None:
            initial["practitioner"] = self.practitioner.pk
            initial["coaches"] = services.current_coaches(self.practitioner, self.today)
        return initial

    def active(self):
        if self.practitioner is None:
            return None
        return CoachingPlan.objects.active().filter(practitioner=self.practitioner).first()

    def proposals(self, versions):
        if self.alert is not None and self.alert.rubric_id in versions:
            definition = versions[self.alert.rubric_id].definition()
            found = goals.from_moved(self.alert.moved, definition, metric_prefix=levels.METRIC)
            rubric, decline_on = self.alert.rubric_id, self.alert.began_on
        elif self.observation is not None:
            rubric = self.observation.rubric_version.rubric_id
            if rubric not in versions:
                return []
            definition = versions[rubric].definition()
            codes, scores = self.observation.growth_areas_items, self.observation.scores
            found, decline_on = goals.from_growth_areas(codes, scores, definition), None
        else:
            return []
        return [{**goal, "rubric": rubric, "decline_on": decline_on} for goal in found]


def _plan_source(request):
    """The coach starting a plan, and the alert, observation or practitioner it starts
    from (each one the coach sees and whose practitioner they coach now; 404 otherwise)."""
    viewer = viewer_for(request.user)
    if not viewer.is_coach:
        raise Http404("Only coaches start coaching plans.")
    coach = Person.objects.select_related("organization").get(pk=viewer.person_id)
    source = PlanSource(coach=coach, practitioners=practitioner_choices(coach))
    if alert_id := _id_param(request, "alert"):
        alerts = DriftAlert.objects.visible_to(request.user).active().exclude(practitioner=None)
        source.alert = get_object_or_404(alerts, pk=alert_id)
        source.practitioner = source.alert.practitioner
    elif observation_id := _id_param(request, "observation"):
        seen = Observation.objects.visible_to(request.user).submitted()
        source.observation = get_object_or_404(
            seen.select_related("rubric_version"), pk=observation_id
        )
        source.practitioner = source.observation.practitioner
    elif practitioner_id := _id_param(request, "practitioner"):
        source.practitioner = get_object_or_404(source.practitioners, pk=practitioner_id)
    if source.practitioner is not None:
        source.practitioners = source.practitioners.filter(pk=source.practitioner.pk)
        if not source.practitioners.exists():
            raise Http404("Only the practitioner's current coach starts their plan.")
        source.practitioner = source.practitioners.select_related("organization").get()
    return source


def _id_param(request, name):
    """The id in the query parameter `name`; None without one; 404 for one that is no id."""
    text = request.GET.get(name)
    if not text:
        return None
    if (found := as_id(text)) is None:
        raise Http404(f"No such {name}.")
    return found


def _start(request, form, goal_forms, source):
    """Start the plan (or add to the active one) once per form; None when refused."""
    if not all([form.is_valid(), goal_forms.is_valid()]):
        return None
    data, done = form.cleaned_data, []

    def start():
        started = services.plan_start(
            practitioner=data["practitioner"],
            coaches=data["coaches"],
            started_on=data["started_on"],
            goals=goal_forms.chosen(),
            by=source.coach,
            alert=source.alert,
            observation=source.observation,
        )
        done.append(started)
        return started.plan

    plan = _once(request, form, start)
    if plan is None or isinstance(plan, HttpResponse):
        return plan
    if done[0].added:
        messages.success(request, "They already had an active plan: the goals were added to it.")
    else:
        messages.success(request, "Coaching plan started.")
    return redirect(plan)


def _once(request, form, create):
    """What `create()` made for the form's token; the page the first post led to when the
    form was sent before; None, with the reason on the form, when the token is refused."""
    try:
        return form_token_once(token=form.token(), user=request.user, create=create)
    except AlreadySent as sent:
        return shown_again(request, sent, _page, "coaching:plans")
    except ValidationError as error:
        add_service_errors([form], error)
        return None


def _page(record):
    return (
        record.get_absolute_url()
        if hasattr(record, "get_absolute_url")
        else record.plan.get_absolute_url()
    )


@login_required
def plan_detail(request, pk):
    plan = _get_plan_for_user(request.user, pk)
    return _plan_page(request, plan, CommentForm())


def _plan_page(request, plan, comment_form, status=200):
    """The plan: its goals, sessions newest first, comments and history."""
    versions = current_versions()
    plan_goals = list(plan.goals.select_related("rubric"))
    measured = progress.of_goals(plan_goals, plan.organization.local_today())
    for goal, goal_progress in zip(plan_goals, measured, strict=True):
        goal.aims_at = _aims_at(goal, versions)
        goal.progress = goal_progress
    ctx = {
        "plan": plan,
        "goals": plan_goals,
        "coaches": list(plan.coaches.all()),
        "sessions": plan.coaching_sessions.select_related("coach").prefetch_related("goals"),
        "comments": plan.comments.select_related("author"),
        "comment_form": comment_form,
        "may_coach": _coaches(request.user, plan.practitioner_id) is not None,
        "answers": plan.answered_alerts.visible_to(request.user),
        "history": _plan_history(plan),
    }
    return render(request, "coaching/plan_detail.html", ctx, status=status)


def _aims_at(goal, versions):
    """What a goal aims at, as its labels on the rubric's current version, and the unit."""
    version = versions.get(goal.rubric_id)
    definition = version.definition() if version else None
    if definition is None:
        return ", ".join(goal.item_codes) or goal.metric_code
    if goal.metric_code:
        metric = next((m for m in definition.metrics if m.code == goal.metric_code), None)
        return metric.label if metric else goal.metric_code
    labels = {item.code: item.label for item in definition.items}
    return ", ".join(labels.get(code, code) for code in goal.item_codes)


def _plan_history(plan):
    """Changes to the plan, its goals and its sessions: who, when and the old values."""
    goal_names = dict(plan.goals.values_list("pk", "description"))
    records = [
        *audit.history_of(CoachingPlan, id=plan.pk),
        *audit.history_of(Goal, plan_id=plan.pk),
        *audit.history_of(CoachingSession, plan_id=plan.pk),
    ]

    def subject(record):
        if record.instance_type is Goal:
            return f"Goal “{goal_names.get(record.id, record.description)}”"
        if record.instance_type is CoachingSession:
            return f"Session of {record.held_on:%Y-%m-%d}"
        return "Plan"

    return audit.trail(records, subject=subject)


@login_required
@require_POST
def plan_comment(request, pk):
    """Anyone who sees the plan comments on it: the practitioner, their coaches, leaders."""
    plan = _get_plan_for_user(request.user, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _plan_page(request, plan, form, status=400)
    author = _acting_person(request.user)
    if author is None:
        raise Http404("Only people on record comment.")
    made = _once(
        request,
        form,
        lambda: services.plan_comment(plan=plan, author=author, text=form.cleaned_data["text"]),
    )
    if made is None:
        return _plan_page(request, plan, form, status=400)
    if isinstance(made, HttpResponse):
        return made
    messages.success(request, "Comment added.")
    return redirect(f"{plan.get_absolute_url()}#comments")


@login_required
def plan_edit(request, pk):
    """The coach changes the plan's coaches, or closes it (with a reason) or reopens it."""
    plan, _coach = _get_plan_to_coach(request.user, pk)
    initial = {
        "coaches": list(plan.coaches.all()),
        "status": plan.status,
        "closed_reason": plan.closed_reason,
    }
    form = PlanEditForm(request.POST or None, plan=plan, initial=initial)
    if form.is_bound and form.is_valid():
        try:
            services.plan_change(plan=plan, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors([form], error)
        else:
            messages.success(request, "Plan changed; the old values are kept in its history.")
            return redirect(plan)
    ctx = {"plan": plan, "form": form, "problem_forms": [form]}
    return render(request, "coaching/plan_edit.html", ctx, status=400 if form.is_bound else 200)


@login_required
def goal_new(request, pk):
    """The coach adds a goal to a plan."""
    plan, coach = _get_plan_to_coach(request.user, pk)
    versions = current_versions()
    form = GoalAddForm(request.POST or None, versions=versions)
    if form.is_bound and form.is_valid():
        made = _once(
            request,
            form,
            lambda: services.goal_add(
                plan=plan,
                by=coach,
                started_on=plan.organization.local_today(),
                **form.goal_values(),
            ),
        )
        if isinstance(made, HttpResponse):
            return made
        if made is not None:
            messages.success(request, "Goal added.")
            return redirect(plan)
    ctx = {"plan": plan, "form": form, "goal": None, "problem_forms": [form]}
    return render(request, "coaching/goal_form.html", ctx, status=400 if form.is_bound else 200)


@login_required
def goal_edit(request, pk):
    """The coach changes what a goal aims at, its target, or its status."""
    goal = get_object_or_404(Goal.objects.select_related("plan"), pk=pk)
    plan, _coach = _get_plan_to_coach(request.user, goal.plan_id)
    versions = current_versions()
    initial = {name: getattr(goal, name) for name in GOAL_EDITED}
    form = GoalEditForm(
        request.POST or None, versions=versions, initial={**initial, "rubric": goal.rubric_id}
    )
    form.fields["rubric"].queryset = form.fields["rubric"].queryset.filter(pk=goal.rubric_id)
    if form.is_bound and form.is_valid():
        services.goal_change(goal=goal, **form.goal_values())
        messages.success(request, "Goal changed; the old values are kept in the plan's history.")
        return redirect(plan)
    ctx = {"plan": plan, "form": form, "goal": goal, "problem_forms": [form]}
    return render(request, "coaching/goal_form.html", ctx, status=400 if form.is_bound else 200)


@login_required
@require_POST
def goal_met(request, pk):
    """The coach marks a goal met in one click, once the page offers it (its target has
    held long enough); goal_change keeps who, when and the old status in its history."""
    goal = get_object_or_404(Goal.objects.select_related("plan"), pk=pk)
    plan, _coach = _get_plan_to_coach(request.user, goal.plan_id)
    if goal.status == Goal.Status.MET:
        messages.info(request, "This goal was already marked met.")
        return redirect(plan)
    [measured] = progress.of_goals([goal], plan.organization.local_today())
    if not measured.met_offered:
        messages.error(request, "This goal's target has not held long enough to mark it met.")
        return redirect(plan)
    services.goal_change(goal=goal, status=Goal.Status.MET, status_reason=measured.met_reason())
    messages.success(request, "Goal marked met; the plan's history keeps who and when.")
    return redirect(f"{plan.get_absolute_url()}#goals")


GOAL_EDITED = ("item_codes", "metric_code", "description", "target", "status", "status_reason")


@login_required
def session_new(request, pk):
    """The coach logs a session held under the plan: made for a phone, like the
    observation form."""
    plan, coach = _get_plan_to_coach(request.user, pk)
    return _session_form(request, plan.practitioner, coach, plan)


@login_required
def session_with(request, pk):
    """The coach logs a session with one of their practitioners: under their active plan
    when they have one (where its goals are offered), else on its own, as the routine
    session a steady practitioner is due."""
    practitioner = get_object_or_404(
        Person.objects.visible_to(request.user).select_related("organization"), pk=pk
    )
    coach = _coaches(request.user, practitioner.pk)
    if coach is None:
        raise Http404("Only the practitioner's coach logs their sessions.")
    plan = CoachingPlan.objects.active().filter(practitioner=practitioner).first()
    if plan is not None:
        return redirect("coaching:session_new", plan.pk)
    return _session_form(request, practitioner, coach, None)


def _session_form(request, practitioner, coach, plan):
    today = practitioner.organization.local_today()
    form = SessionForm(request.POST or None, plan=plan, today=today, initial={"held_on": today})
    if form.is_bound and form.is_valid():
        made = _once(
            request,
            form,
            lambda: services.session_log(
                practitioner=practitioner, plan=plan, coach=coach, by=coach, **form.session_values()
            ),
        )
        if isinstance(made, HttpResponse):
            return made
        if made is not None:
            messages.success(request, "Session logged.")
            return redirect(made)
    ctx = {
        "plan": plan,
        "practitioner": practitioner,
        "form": form,
        "session": None,
        "problem_forms": [form],
    }
    return render(request, "coaching/session_form.html", ctx, status=400 if form.is_bound else 200)


@login_required
def session_edit(request, pk):
    """The coach corrects a session; its history keeps the old values."""
    session = get_object_or_404(
        CoachingSession.objects.visible_to(request.user).select_related(
            "plan", "practitioner__organization"
        ),
        pk=pk,
    )
    if _coaches(request.user, session.practitioner_id) is None:
        raise Http404("Only the practitioner's coach corrects their sessions.")
    plan = session.plan
    today = session.practitioner.organization.local_today()
    form = SessionForm(request.POST or None, instance=session, plan=plan, today=today)
    if form.is_bound and form.is_valid():
        services.session_change(session=session, **form.session_values())
        messages.success(request, "Session changed; the old values are kept in its history.")
        return redirect(session)
    ctx = {
        "plan": plan,
        "practitioner": session.practitioner,
        "form": form,
        "session": session,
        "problem_forms": [form],
    }
    return render(request, "coaching/session_form.html", ctx, status=400 if form.is_bound else 200)

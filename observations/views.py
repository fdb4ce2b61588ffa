import datetime as dt
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from coaching.models import CoachAssignment, with_momentum
from miiwrap import audit, generations, pages, paging
from miiwrap.forms import add_service_errors
from miiwrap.once.services import AlreadySent, form_token_once
from miiwrap.once.shortcuts import repeated, shown_again
from miiwrap.parsing import as_id, reads
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Organization, Person
from observations import calibration, display, exports, reliability, scoring, services
from observations.filters import ObservationFilter
from observations.forms import (
    ITEM_PREFIX,
    WHY_PREFIX,
    AcknowledgeForm,
    AmendForm,
    CoObserverForm,
    DisputeAnswerForm,
    DisputeForm,
    DisputeListForm,
    MasterCodeForm,
    ObservationForm,
    ScoresForm,
)
from observations.models import (
    CalibrationAssignment,
    CalibrationAttempt,
    CalibrationCase,
    CalibrationRound,
    CoObservation,
    Dispute,
    Observation,
    RaterAlert,
    RubricVersion,
)


@reads("format", "page", forms=[ObservationFilter])
@login_required
def observation_list(request):
    """Observations the viewer may see, filtered; `?format=csv` downloads every filtered row."""
    filterset = ObservationFilter(
        request.GET, queryset=Observation.objects.none(), user=request.user
    )

    def seen():
        """The viewer's rows, filtered: read only when the list is not kept (working out
        what a leader may see is a query of its own)."""
        filterset.errors  # noqa: B018  (validated first, as FilterSet.qs does)
        return filterset.filter_queryset(Observation.objects.visible_to(request.user).for_list())

    if request.GET.get("format") == "csv" and filterset.is_valid():
        return exports.csv_response(seen(), rubric=filterset.single_rubric())
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    query = query.urlencode()
    viewer = viewer_for(request.user)
    valid = filterset.is_valid()

    def render_listing():
        # Whoever sees everything would wait on a count of every row: they get "about".
        shown = with_momentum(seen(), person_field="practitioner_id")
        page = paging.page_of(shown, request.GET.get("page"), 50, estimate=viewer.sees_everything)
        for observation in page:
            version = observation.rubric_version
            observation.band_class = display.band_class(version.bands, observation.band)
        ctx = {"page": page, "query": query, "filter": filterset, "with_filters": valid}
        return {
            "count": page.paginator.count,
            "estimated": page.paginator.estimated,
            "with_filters": valid,
            "body": render_to_string("observations/_list_body.html", ctx, request),
        }

    if valid:
        # Kept until a write touches an organization whose rows the viewer may see; the
        # filters with them (their choices are of the same organizations, what they show
        # chosen is in the query string).
        keep = pages.kept_for(request, Observation.objects.organizations_seen(request.user), ())
        listing = keep("observations.list", render_listing)
    else:
        listing = render_listing()
    ctx = {
        "filter": filterset,
        "listing": listing,
        "query": query,
        "own_only": not viewer.uses_directory,
    }
    return render(request, "observations/list.html", ctx)


# The coach's form, the detail page, acknowledgement and amendment ---------------------------

DEFAULT_RUBRIC = "miiwrap-fidelity"


def _coach_for(user):
    """The signed-in coach as a Person; 404 for anyone who does not hold the coach role."""
    viewer = viewer_for(user)
    if not viewer.is_coach:
        raise Http404("Only coaches record observations.")
    return Person.objects.select_related("organization").get(pk=viewer.person_id)


def _version(pk, versions=None):
    """A rubric version with its items and levels; 404 for junk or unknown ids. `versions`:
    those it may be (the published ones for a new observation), by default any."""
    if (pk := as_id(pk)) is None:
        raise Http404("No such rubric version.")
    if versions is not None and not versions.filter(pk=pk).exists():
        raise Http404("No such rubric version.")
    return _structure(pk)


def _structure(pk):
    """The version with its domains, items, levels and metrics, as loaded since the last
    write to any rubric (they bump every organization's generation: miiwrap.generations),
    so a coach's form is not six queries and a few hundred rows each time."""

    def load():
        return RubricVersion.objects.with_structure().filter(pk=pk).first()

    version = generations.Kept((), pk)("observations.version", load)
    if version is None:
        raise Http404("No such rubric version.")
    return version


def _version_for_new(choice):
    """The chosen published version; by default the newest MiiWrap fidelity tool."""
    published = RubricVersion.objects.of_people().published()
    if choice:
        return _version(choice, published)

    def newest():
        found = published.order_by("-number").values_list("pk", flat=True)
        pk = found.filter(rubric__code=DEFAULT_RUBRIC).first() or found.first()
        return pk and RubricVersion.objects.with_structure().filter(pk=pk).first()

    # Kept as _structure keeps a version: every coach's form and post open on it.
    version = generations.Kept((), "newest")("observations.newest_version", newest)
    if not version:
        raise Http404("No rubric version is published yet.")
    return version


def _get_observation_for_user(user, pk):
    """An observation the user may see (drafts only by their author); 404 otherwise."""
    observations = Observation.objects.visible_to(user).for_list()
    observations = with_momentum(observations, person_field="practitioner_id")
    return get_object_or_404(observations.select_related("practitioner__organization"), pk=pk)


def _get_amendable_for_user(user, pk):
    """A submitted observation and the Person amending it: its coach or a purveyor admin."""
    observation = _get_observation_for_user(user, pk)
    viewer = viewer_for(user)
    if not _may_amend(viewer, observation):
        raise Http404("Only its coach or a purveyor admin amends an observation.")
    return observation, Person.objects.get(pk=viewer.person_id)


def _may_amend(viewer, observation):
    if observation.is_draft or viewer.person_id is None:
        return False
    return viewer.person_id == observation.coach_id or "purveyor_admin" in viewer.roles


def _form_page(request, form, template="observations/form.html", **ctx):
    """The form for a new observation or a draft; amend.html adds the reason."""
    ctx.update(form=form, version=form.version, groups=display.item_groups(form))
    ctx["versions"] = RubricVersion.objects.of_people().published().select_related("rubric")
    ctx["summary"] = display.preview_summary(form.definition, form.data or _initial_scores(form))
    if (observation := ctx.get("observation")) and observation.is_draft:
        ctx["co"] = CoObservation.objects.filter(observation=observation).first()
        if ctx["co"] is None or ctx["co"].status == CoObservation.Status.WITHDRAWN:
            ctx["co_form"] = CoObserverForm(observation=observation)
    failed = form.errors or (ctx.get("reason_form") and ctx["reason_form"].errors)
    return render(request, template, ctx, status=400 if failed else 200)


def _initial_scores(form):
    return {name: form[name].value() for name in form.fields if name.startswith(ITEM_PREFIX)}


def _save(request, form):
    """Save the draft or submit it; None, with every problem on the form, when refused."""
    submit = request.POST.get("action") == "submit"
    if not form.is_valid():
        if submit:
            _flag_unscored(form)
        return None
    observation = form.save()
    service = services.observation_submit if submit else services.observation_save_draft
    try:
        form_token_once(
            token=form.token(),
            user=request.user,
            create=lambda: service(observation=observation, definition=form.definition),
        )
    except AlreadySent as sent:
        return shown_again(request, sent, _page_of, "observations:list")
    except ValidationError as error:
        add_service_errors([form], error)
        return None
    if submit and observation.is_draft:  # a second observer is still scoring the visit
        second = observation.co_observation.second_observer
        messages.success(
            request,
            f"Your scores are in. The practitioner reads them once {second} has scored the "
            "visit too; until then neither of you sees the other's scores.",
        )
        return redirect("observations:edit", pk=observation.pk)
    if submit:
        messages.success(request, "Observation submitted. The practitioner can now read it.")
        return redirect(observation)
    messages.success(request, "Draft saved.")
    return redirect("observations:edit", pk=observation.pk)


def _page_of(observation):
    """Where a saved observation is seen: its edit page while a draft, else its own page."""
    if observation.is_draft:
        return reverse("observations:edit", args=[observation.pk])
    return observation.get_absolute_url()


def _flag_unscored(form):
    """On a refused submit, also name the items still to score, so every problem shows at once."""
    unscored = scoring.problems(form.definition, form.scores(), complete=True)
    for code, message in unscored.items():
        if ITEM_PREFIX + code in form.fields and ITEM_PREFIX + code not in form.errors:
            form.add_error(ITEM_PREFIX + code, message)


@reads("rubric", "practitioner")
@login_required
def observation_new(request):
    coach = _coach_for(request.user)
    version = _version_for_new(request.GET.get("rubric"))
    data = request.POST if request.method == "POST" else None
    initial = {"observed_on": services.local_today(coach), "rubric_version": version}
    if practitioner_id := as_id(request.GET.get("practitioner")):
        initial["practitioner"] = practitioner_id
    form = ObservationForm(data, coach=coach, version=version, initial=initial)
    if form.is_bound and (saved := _save(request, form)):
        return saved
    return _form_page(request, form, practitioner_id=practitioner_id)


@login_required
def observation_edit(request, pk):
    coach = _coach_for(request.user)
    # A Submit sent twice: the first has made the draft an observation, with no edit page.
    if again := repeated(request, _page_of, "observations:list"):
        return again
    drafts = Observation.objects.filter(coach=coach, status=Observation.Status.DRAFT)
    observation = get_object_or_404(drafts, pk=pk)
    version = _version(observation.rubric_version_id)
    data = request.POST if request.method == "POST" else None
    form = ObservationForm(data, instance=observation, coach=coach, version=version)
    if form.is_bound and (saved := _save(request, form)):
        return saved
    return _form_page(request, form, observation=observation)


@login_required
@require_POST
def observation_preview(request):
    """The summary panel for the form's current values, computed here, never in the browser."""
    _coach_for(request.user)
    version = _version(request.POST.get("rubric_version"), RubricVersion.objects.of_people())
    summary = display.preview_summary(version.definition(), request.POST)
    return render(request, "observations/_summary.html", {"summary": summary})


@login_required
def observation_detail(request, pk):
    return _detail_page(request, _get_observation_for_user(request.user, pk))


def _detail_page(request, observation, acknowledge_form=None, **forms):
    viewer = viewer_for(request.user)
    version = _version(observation.rubric_version_id)
    definition = version.definition()
    if acknowledge_form is None and viewer.person_id == observation.practitioner_id:
        acknowledge_form = AcknowledgeForm(initial={"response": observation.response})
    ctx = {
        "observation": observation,
        "version": version,
        "summary": display.summary(
            definition, observation.metrics, observation.overall_score, observation.band
        ),
        "domains": display.scored_domains(version, observation.scores),
        "feedback": display.feedback(observation, definition),
        "amendments": display.amendments(observation, definition),
        "acknowledge_form": acknowledge_form,
        "may_amend": _may_amend(viewer, observation),
        **_dispute_part(viewer, observation, forms),
        "may_plan": _may_plan(viewer, observation),
        "co_observation": _co_observed(request.user, observation),
    }
    ctx.update(_history(observation, ctx["disputes"]))
    failed = [f for f in [acknowledge_form, *forms.values()] if f is not None and f.errors]
    return render(request, "observations/detail.html", ctx, status=400 if failed else 200)


def _co_observed(user, observation):
    """The second observer's side of the visit, once both scored, for those it shows to."""
    if observation.is_draft:
        return None
    found = CoObservation.objects.visible_to(user).filter(observation=observation)
    return found.select_related("second_observer").first()


def _dispute_part(viewer, observation, forms):
    """The disputes of the observation, newest first; to its practitioner, the window and
    the form while it is open; to whoever may amend it, the form to answer an open one."""
    if observation.is_draft:
        return {"disputes": []}
    disputes = list(observation.disputes.select_related("raised_by", "settled_by", "amendment"))
    open_dispute = next((d for d in disputes if d.is_open), None)
    ctx = {"disputes": disputes, "open_dispute": open_dispute}
    if viewer.person_id == observation.practitioner_id:
        window = services.dispute_window(observation)
        is_open = window.is_open_on(observation.practitioner.organization.local_today())
        ctx.update(dispute_window=window, window_open=is_open)
        # A refused post is shown again with what was typed, even once the window closed.
        fresh = DisputeForm() if is_open and open_dispute is None else None
        ctx["dispute_form"] = forms.get("dispute_form") or fresh
    if open_dispute is not None and _may_amend(viewer, observation):
        ctx["answer_form"] = forms.get("answer_form") or DisputeAnswerForm()
    return ctx


def _may_plan(viewer, observation):
    """The practitioner's current coach may start a plan from the growth areas it names."""
    if observation.is_draft or not observation.growth_areas_items or not viewer.is_coach:
        return False
    return CoachAssignment.objects.coaches_now(viewer.person_id, observation.practitioner_id)


def _history(observation, disputes):
    """Who submitted and changed the observation and how (item scores are in the
    amendments; each metric is in the overall score and band), and its disputes; the
    practitioner's earlier replies; who imported it."""
    records = list(audit.history_of(Observation, id=observation.pk))
    # A draft is its coach's own until submitted: its history starts at the submission.
    shown = [r for r in records if r.status != Observation.Status.DRAFT or observation.is_draft]
    if disputes:
        shown += audit.history_of(Dispute, observation_id=observation.pk)
    history = audit.trail(
        shown,
        subject=lambda r: "Dispute" if isinstance(r, Dispute.history.model) else "",
        hide={"scores", "metrics", "observation"},
    )
    if history and history[-1].kind == "changed" and not observation.is_draft:
        history[-1].kind = "submitted"
    created = next((e for e in reversed(history) if e.kind == "created"), None)
    return {
        "history": history,
        "earlier_responses": display.earlier_responses(records, observation.response),
        "imported": created if observation.import_key and created else None,
    }


@login_required
@require_POST
def observation_acknowledge(request, pk):
    """The observed practitioner acknowledges, and may answer; answering again edits it."""
    observation = _get_observation_for_user(request.user, pk)
    if viewer_for(request.user).person_id != observation.practitioner_id:
        raise Http404("Only the observed practitioner acknowledges an observation.")
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, observation, acknowledge_form=form)
    try:
        form_token_once(
            token=form.token(),
            user=request.user,
            create=lambda: services.observation_acknowledge(
                observation=observation, response=form.cleaned_data["response"]
            ),
        )
    except AlreadySent as sent:
        return shown_again(request, sent, _page_of, "observations:list")
    messages.success(request, "Thank you: your coach can see that you have read this.")
    return redirect(observation)


@login_required
@require_POST
def observation_dispute(request, pk):
    """The observed practitioner disputes the observation, saying why, while its window
    is open; a late one is refused with the form shown again."""
    observation = _get_observation_for_user(request.user, pk)
    viewer = viewer_for(request.user)
    if viewer.person_id != observation.practitioner_id or observation.is_draft:
        raise Http404("Only the person observed disputes an observation.")
    form = DisputeForm(request.POST)
    if form.is_valid():
        try:
            form_token_once(
                token=form.token(),
                user=request.user,
                create=lambda: services.dispute_raise(
                    observation=observation,
                    by=observation.practitioner,
                    reason=form.cleaned_data["reason"],
                ),
            )
        except AlreadySent as sent:
            return shown_again(request, sent, _dispute_page, "observations:list")
        except ValidationError as error:
            add_service_errors([form], error)
        else:
            messages.success(request, DISPUTE_SENT.format(coach=observation.coach))
            return redirect(observation.get_absolute_url() + "#dispute")
    return _detail_page(request, observation, dispute_form=form)


DISPUTE_SENT = (
    "Your dispute is sent to {coach}. Until it is settled, this observation does not count "
    "toward your certification."
)


def _dispute_page(dispute):
    return dispute.get_absolute_url()


@login_required
@require_POST
def dispute_answer(request, pk):
    """The coach (or a purveyor admin) settles the open dispute with a written answer."""
    observation, by = _get_amendable_for_user(request.user, pk)
    if again := repeated(request, _dispute_page, "observations:list"):
        return again
    dispute = observation.disputes.open().first()
    if dispute is None:
        messages.info(request, "This observation has no open dispute to answer.")
        return redirect(observation)
    form = DisputeAnswerForm(request.POST)
    if form.is_valid():
        try:
            form_token_once(
                token=form.token(),
                user=request.user,
                create=lambda: services.dispute_answer(
                    dispute=dispute, by=by, answer=form.cleaned_data["answer"]
                ),
            )
        except AlreadySent as sent:
            return shown_again(request, sent, _dispute_page, "observations:list")
        except ValidationError as error:
            add_service_errors([form], error)
        else:
            messages.success(request, f"Dispute settled; {dispute.raised_by} is told your answer.")
            return redirect(dispute)
    return _detail_page(request, observation, answer_form=form)


@reads("page", forms=[DisputeListForm])
@login_required
def dispute_list(request):
    """Disputes of the observations the viewer sees, open ones by default: for leaders,
    organization admins, purveyor admins and coaches."""
    if not viewer_for(request.user).uses_directory:
        raise Http404("The list of disputes is for leaders, admins and coaches.")
    form = DisputeListForm(request.GET)
    chosen = form.cleaned_data.get("status") if form.is_valid() else "open"
    disputes = Dispute.objects.visible_to(request.user).for_list()
    if chosen in ("", "open"):
        disputes = disputes.open()
    elif chosen == "settled":
        disputes = disputes.exclude(status=Dispute.Status.OPEN)
    page = Paginator(disputes, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"form": form, "page": page, "query": query.urlencode(), "status": chosen or "open"}
    return render(request, "observations/disputes.html", ctx, status=400 if form.errors else 200)


@login_required
def observation_amend(request, pk):
    observation, amended_by = _get_amendable_for_user(request.user, pk)
    version = _version(observation.rubric_version_id)
    data = request.POST if request.method == "POST" else None
    form = _amend_observation_form(data, observation, version)
    reason_form = AmendForm(data)
    if form.is_bound and (amended := _amend(request, form, reason_form, amended_by)):
        if amended is not True:
            return amended
        messages.success(request, "Observation amended; the old values are kept below.")
        return redirect(observation)
    return _form_page(
        request,
        form,
        "observations/amend.html",
        observation=observation,
        reason_form=reason_form,
        open_dispute=observation.disputes.open().select_related("raised_by").first(),
    )


def _amend(request, form, reason_form, amended_by):
    """Amend with the form's values: True when done, the first post's page when this one
    repeats it, False, with every problem on the forms, when refused."""
    if not all([form.is_valid(), reason_form.is_valid()]):
        _flag_unscored(form)
        return False
    # The form has written the new values onto its instance; the database still has the old.
    changed = Observation.objects.get(pk=form.instance.pk)
    try:
        form_token_once(
            token=form.token(),
            user=request.user,
            create=lambda: services.observation_amend(
                observation=form.save(),
                changed=changed,
                definition=form.definition,
                amended_by=amended_by,
                reason=reason_form.cleaned_data["reason"],
            ),
        )
    except AlreadySent as sent:
        return shown_again(request, sent, _page_of, "observations:list")
    except ValidationError as error:
        add_service_errors([form, reason_form], error)
        return False
    return True


def _amend_observation_form(data, observation, version):
    """The coach's form on the stored values; its practitioner and rubric stay choosable."""
    form = ObservationForm(data, instance=observation, coach=observation.coach, version=version)
    caseload = form.fields["practitioner"].queryset.values("pk")
    form.fields["practitioner"].queryset = Person.objects.filter(
        Q(pk__in=caseload) | Q(pk=observation.practitioner_id)
    ).order_by("last_name", "first_name")
    return form


# Calibration against master codes ---------------------------------------------------------


def _calibration_viewer(user):
    """Coaches (their rounds), leaders (their coaches' results) and the purveyor; 404 else."""
    viewer = viewer_for(user)
    if not (viewer.is_coach or viewer.sees_everything or viewer.sees_organization):
        raise Http404("Calibration is for coaches and those who lead them.")
    return viewer


@login_required
def calibration_list(request):
    """A coach's rounds with each case to score; the results of the coaches one sees."""
    viewer = _calibration_viewer(request.user)
    ctx = {"viewer": viewer, "compared": _recently_compared(request.user)}
    if viewer.is_coach:
        ctx["mine"] = CalibrationAssignment.objects.to_score(viewer.person_id)
        ctx["to_co_observe"] = CoObservation.objects.asked_of(viewer.person_id)
    if viewer.sees_organization and not viewer.sees_everything:
        # The purveyor's are every coach's rounds: the reliability report sums them up.
        ctx["results"] = CalibrationAttempt.objects.visible_to(request.user).results()
    if viewer.sees_everything:
        ctx["cases"] = CalibrationCase.objects.select_related("rubric_version__rubric")
    return render(request, "observations/calibration/list.html", ctx)


def _recently_compared(user, shown=10):
    """The latest co-observed visits whose two sides the user may compare."""
    both = CoObservation.objects.visible_to(user).filter(status=CoObservation.Status.SUBMITTED)
    both = both.select_related("observation__practitioner", "observation__coach", "second_observer")
    return list(both.order_by("-closed_at", "-pk")[:shown])


def _assigned_case(coach, round_pk, case_pk):
    """The round (one `coach` is assigned to) and its case; 404 otherwise."""
    rounds = CalibrationRound.objects.filter(assignments__coach=coach)
    round = get_object_or_404(rounds, pk=as_id(round_pk) or 0)
    cases = round.cases.select_related("rubric_version")
    return round, get_object_or_404(cases, pk=as_id(case_pk) or 0)


@login_required
def calibration_score(request, round_pk, case_pk):
    """The coach scores the case with the item widgets of a live observation; once they
    submit, the same address shows their scores beside the master code, item by item."""
    coach = _coach_for(request.user)
    round, case = _assigned_case(coach, round_pk, case_pk)
    attempt = CalibrationAttempt.objects.filter(round=round, case=case, coach=coach).first()
    attempt = attempt or CalibrationAttempt(round=round, case=case, coach=coach)
    version = _version(case.rubric_version_id)
    if attempt.is_submitted:
        if request.method == "POST":  # sent again: the scores are in, and final
            return redirect(attempt)
        return _calibration_result(request, attempt, version)
    today = services.local_today(coach)
    problem = services.calibration_problem(round=round, case=case, coach=coach, today=today)
    data = request.POST if request.method == "POST" and not problem else None
    form = ScoresForm(data, version=version, scores=attempt.scores)

    def save(scores, submit):
        attempt.scores = scores
        services.calibration_attempt_save(
            attempt=attempt, definition=form.definition, submit=submit
        )
        return attempt

    submitted = "Submitted. Here is how your scores compare with the master code."
    if form.is_bound and (saved := _scores_saved(request, form, save, submitted)):
        return saved
    ctx = {"round": round, "case": case, "attempt": attempt, "form": form, "problem": problem}
    ctx.update(version=version, groups=display.item_groups(form), today=today)
    ctx["summary"] = display.preview_summary(form.definition, form.data or _initial_scores(form))
    failed = form.errors or (problem and request.method == "POST")
    return render(
        request, "observations/calibration/score.html", ctx, status=400 if failed else 200
    )


def _scores_saved(request, form, save, submitted):
    """A scores-only form (ScoresForm) saved as a draft or submitted: `save(scores, submit)`
    calls the service and returns the record; None, with every problem on the form."""
    submit = request.POST.get("action") == "submit"
    if not form.is_valid():
        if submit:
            _flag_unscored(form)
        return None
    try:
        record = save(form.scores(), submit)
    except ValidationError as error:
        add_service_errors([form], error)
        return None
    messages.success(request, submitted if submit else "Draft saved.")
    return redirect(record)


def _calibration_result(request, attempt, version, **ctx):
    definition = version.definition()
    case = attempt.case
    comparison = calibration.compare(definition, case.master_scores, attempt.scores)
    ctx.update(attempt=attempt, case=case, version=version, comparison=comparison)
    ctx["rows"] = display.calibration_rows(version, case.rationale, case.master_scores, comparison)
    return render(request, "observations/calibration/result.html", ctx)


@login_required
def calibration_attempt(request, pk):
    """A coach's submitted attempt, as those who see the coach read it. Their scores item by
    item only to whoever may see the master code (its figures tell it): the purveyor, and
    a coach who has submitted the same case themselves."""
    viewer = _calibration_viewer(request.user)
    attempts = CalibrationAttempt.objects.visible_to(request.user).submitted()
    attempts = attempts.select_related("case", "round", "coach")
    attempt = get_object_or_404(attempts, pk=as_id(pk) or 0)
    if attempt.coach_id == viewer.person_id:
        return redirect(attempt)
    version = _version(attempt.case.rubric_version_id)
    if attempt.case.master_shown_to(viewer):
        return _calibration_result(request, attempt, version, by_other=True)
    ctx = {"attempt": attempt, "case": attempt.case, "version": version}
    return render(request, "observations/calibration/attempt.html", ctx)


def _purveyor_case(user, pk):
    if not viewer_for(user).sees_everything:
        raise Http404("Only the purveyor manages calibration cases.")
    cases = CalibrationCase.objects.select_related("rubric_version__rubric", "master_coder")
    return get_object_or_404(cases, pk=as_id(pk) or 0)


@login_required
def calibration_case(request, pk):
    """The purveyor's page of a case: its material, master code and rationale, attempts."""
    case = _purveyor_case(request.user, pk)
    version = _version(case.rubric_version_id)
    rows = display.calibration_rows(version, case.rationale, case.master_scores)
    attempts = case.attempts.submitted().select_related("coach", "round")
    ctx = {"case": case, "version": version, "rows": rows, "attempts": attempts}
    ctx["kept"] = case.material_kept_on(timezone.localdate())
    return render(request, "observations/calibration/case.html", ctx)


@login_required
def calibration_master(request, pk):
    """The expert's code of a case: a score and a reason for each item."""
    case = _purveyor_case(request.user, pk)
    version = _version(case.rubric_version_id)
    data = request.POST if request.method == "POST" else None
    form = MasterCodeForm(
        data, version=version, scores=case.master_scores, rationale=case.rationale
    )
    if form.is_bound and form.is_valid():
        by = Person.objects.filter(pk=viewer_for(request.user).person_id).first()
        try:
            services.calibration_case_code(
                case=case,
                scores=form.scores(),
                rationale=form.rationale(),
                by=by,
                definition=form.definition,
            )
        except ValidationError as error:
            add_service_errors([form], error)
        else:
            messages.success(request, "Master code saved.")
            return redirect(case)
    elif form.is_bound:
        _flag_unscored(form)
    groups = display.item_groups(form)
    for group in groups:
        for row in group.rows:
            row.why = form[WHY_PREFIX + row.item.code]
    ctx = {"case": case, "version": version, "form": form, "groups": groups}
    return render(
        request, "observations/calibration/master.html", ctx, status=400 if form.errors else 200
    )


@login_required
def calibration_transcript(request, pk):
    """A case's transcript, to the purveyor and to coaches assigned a round that holds it,
    while the case's retention lasts; never served as public media."""
    viewer = viewer_for(request.user)
    cases = CalibrationCase.objects.all()
    if not viewer.sees_everything:
        assigned = CalibrationAssignment.objects.filter(coach_id=viewer.person_id or 0)
        cases = cases.filter(rounds__in=assigned.values("round_id")).distinct()
    case = get_object_or_404(cases, pk=as_id(pk) or 0)
    if not case.transcript or not case.material_kept_on(timezone.localdate()):
        raise Http404("The transcript is no longer kept.")
    try:
        handle = case.transcript.open("rb")
    except FileNotFoundError:
        raise Http404("The transcript is no longer kept.") from None
    name = Path(case.transcript.name).name
    return FileResponse(handle, as_attachment=True, filename=name)


# Co-observation: a second observer at the same visit --------------------------------------


@login_required
@require_POST
def co_observation_invite(request, pk):
    """The observer asks a second observer to score the visit (their draft's page)."""
    coach = _coach_for(request.user)
    drafts = Observation.objects.filter(coach=coach, status=Observation.Status.DRAFT)
    observation = get_object_or_404(drafts.select_related("practitioner__organization"), pk=pk)
    form = CoObserverForm(request.POST, observation=observation)
    if not form.is_valid():
        messages.error(request, f"Not invited: {' '.join(form.errors['second_observer'])}")
        return redirect("observations:edit", pk=pk)
    second = form.cleaned_data["second_observer"]
    try:
        services.co_observation_invite(observation=observation, second=second, by=coach)
    except ValidationError as error:
        messages.error(request, f"Not invited: {' '.join(error.messages)}")
    else:
        messages.success(request, f"{second} is asked to score this visit on their own.")
    return redirect("observations:edit", pk=pk)


@login_required
@require_POST
def co_observation_withdraw(request, pk):
    """The observer withdraws the invitation, or the second observer declines it."""
    me = viewer_for(request.user).person_id or 0
    mine = CoObservation.objects.filter(Q(invited_by_id=me) | Q(second_observer_id=me))
    co = get_object_or_404(mine.select_related("observation"), pk=as_id(pk) or 0)
    try:
        services.co_observation_withdraw(co=co, by=Person.objects.get(pk=me))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Withdrawn: the visit is scored by its observer alone.")
    if co.invited_by_id == me:
        observation = Observation.objects.get(pk=co.observation_id)
        return redirect(_page_of(observation))
    return redirect("observations:calibration")


@login_required
def co_observation(request, pk):
    """To the second observer, the visit to score on their own; to them and whoever sees
    the observation, once both have scored, the two side by side."""
    co = get_object_or_404(_co_observations(request.user), pk=as_id(pk) or 0)
    version = _version(co.observation.rubric_version_id)
    if co.both_scored:
        return _co_comparison(request, co, version)
    ctx = {"co": co, "observation": co.observation, "version": version}
    if not co.is_pending or co.submitted_at is not None:
        ctx["domains"] = display.scored_domains(version, co.scores)
        return render(request, "observations/co_observation/waiting.html", ctx)
    data = request.POST if request.method == "POST" else None
    form = ScoresForm(data, version=version, scores=co.scores)

    def save(scores, submit):
        services.co_observation_save(
            co=co, scores=scores, definition=form.definition, submit=submit
        )
        return co

    if form.is_bound and (saved := _scores_saved(request, form, save, "Submitted.")):
        return saved
    ctx.update(form=form, groups=display.item_groups(form))
    ctx["summary"] = display.preview_summary(form.definition, form.data or _initial_scores(form))
    return render(
        request, "observations/co_observation/score.html", ctx, status=400 if form.errors else 200
    )


def _co_observations(user):
    rows = CoObservation.objects.visible_to(user)
    return rows.select_related(
        "observation__practitioner",
        "observation__coach",
        "observation__activity",
        "second_observer",
    )


def _co_comparison(request, co, version):
    observation = co.observation
    comparison = calibration.compare(version.definition(), observation.scores, co.scores)
    rows = display.calibration_rows(version, {}, observation.scores, comparison)
    ctx = {"co": co, "observation": observation, "version": version, "rows": rows}
    ctx["comparison"] = comparison
    return render(request, "observations/co_observation/comparison.html", ctx)


# The reliability report -------------------------------------------------------------------


@reads("organization")
@login_required
def reliability_report(request):
    """Agreement of the coaches one sees with the master codes and with each other: the
    purveyor's across every organization or one, a leader's of their organization."""
    viewer = viewer_for(request.user)
    if not (viewer.sees_everything or viewer.sees_organization):
        raise Http404("The reliability report is for leaders and the purveyor.")
    organizations = Organization.objects.visible_to(request.user)
    chosen = None
    if viewer.sees_everything and (slug := request.GET.get("organization")):
        chosen = get_object_or_404(organizations, slug=slug[:80])
    coaches = Person.objects.visible_to(request.user)
    if chosen is not None:
        coaches = coaches.filter(organization=chosen)
    today = timezone.localdate()
    ctx = {"chosen": chosen, "viewer": viewer}
    alerts = RaterAlert.objects.visible_to(request.user).open().filter(coach__in=coaches)
    ctx["rater_alerts"] = alerts.select_related("coach")
    if viewer.sees_everything and chosen is None:
        # Every organization's coaches, case by case, is a state's worth of work for one
        # page: the purveyor compares organizations, then opens one.
        ctx["organizations_compared"] = reliability.by_organization(
            organizations.order_by("name"), today
        )
        ctx["since"] = today - dt.timedelta(days=reliability.LOOK_BACK_DAYS)
    else:
        ctx["report"] = reliability.build(coaches, today)
        ctx["since"] = ctx["report"].since
    ctx["organizations"] = organizations.order_by("name") if viewer.sees_everything else ()
    return render(request, "observations/reliability.html", ctx)

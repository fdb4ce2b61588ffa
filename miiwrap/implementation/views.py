from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from miiwrap import audit
from miiwrap.forms import add_service_errors
from miiwrap.implementation import plans, readiness, services
from miiwrap.implementation.forms import ActionItemForm, ReadinessForm
from miiwrap.implementation.models import (
    ActionItem,
    AlignmentPlan,
    ReadinessAssessment,
    organizations_seen,
)
from miiwrap.once.services import AlreadySent, form_token_once
from miiwrap.once.shortcuts import repeated, shown_again
from miiwrap.parsing import as_id
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person, Role
from observations import display
from observations.models import RubricVersion

# Access ------------------------------------------------------------------------------------


def _organization_for(user, pk):
    """An organization whose readiness the user may read; 404 otherwise."""
    return get_object_or_404(organizations_seen(user), pk=as_id(pk) or 0)


def _assessment_for(user, pk):
    rows = ReadinessAssessment.objects.visible_to(user).select_related("organization", "version")
    return get_object_or_404(rows.prefetch_related("leaders"), pk=as_id(pk) or 0)


def _assessor(user):
    """The purveyor admin recording an assessment, as a Person; 404 for anyone else."""
    viewer = viewer_for(user)
    if Role.PURVEYOR_ADMIN not in viewer.roles:
        raise Http404("Only the purveyor records readiness assessments.")
    return Person.objects.get(pk=viewer.person_id)


def _planner(user, organization):
    """Who may change the organization's alignment plan: the purveyor and the
    organization's leaders, as a Person; 404 for anyone else."""
    viewer = viewer_for(user)
    here = viewer.organization_id == organization.pk and Role.LEADER in viewer.roles
    if Role.PURVEYOR_ADMIN not in viewer.roles and not here:
        raise Http404("Only the purveyor and the organization's leaders change its plan.")
    return Person.objects.get(pk=viewer.person_id)


def _may_plan(user, organization):
    try:
        return _planner(user, organization) is not None
    except Http404:
        return False


def _instrument():
    """The newest published readiness instrument, with its structure; 404 if none."""
    versions = RubricVersion.objects.of_organizations().published().order_by("-number")
    version = versions.with_structure().first()
    if version is None:
        raise Http404("No readiness instrument is published.")
    return version


# Readiness assessments ---------------------------------------------------------------------


@login_required
def index(request):
    """The organizations the viewer may read, each with its latest final readiness."""
    latest = ReadinessAssessment.objects.final().filter(organization=OuterRef("pk"))
    latest = latest.order_by("-assessed_on", "-pk")
    organizations = organizations_seen(request.user).annotate(
        readiness_on=Subquery(latest.values("assessed_on")[:1]),
        readiness_score=Subquery(latest.values("overall_score")[:1]),
        readiness_band=Subquery(latest.values("band")[:1]),
    )
    ctx = {"organizations": organizations.order_by("name")}
    return render(request, "implementation/index.html", ctx)


@login_required
def organization(request, pk):
    """An organization's readiness assessments, newest first, and its plan's progress."""
    org = _organization_for(request.user, pk)
    ctx = {
        "organization": org,
        "assessments": org.readiness_assessments.for_list(),
        "may_assess": Role.PURVEYOR_ADMIN in viewer_for(request.user).roles,
        "draft": org.readiness_assessments.drafts().first(),
        "progress": plans.progress(org, org.local_today()),
    }
    return render(request, "implementation/organization.html", ctx)


@login_required
def assessment_new(request, pk):
    """The purveyor records an assessment with the organization's leaders."""
    org = _organization_for(request.user, pk)
    by = _assessor(request.user)
    if again := repeated(request, _page, "implementation:index"):
        return again
    # On a GET only: a post made meanwhile is refused with what it holds (DRAFT_EXISTS).
    if request.method == "GET" and (draft := org.readiness_assessments.drafts().first()):
        messages.info(request, "An assessment is in progress: continue it here.")
        return redirect("implementation:assessment_edit", draft.pk)
    assessment = ReadinessAssessment(
        organization=org, version=_instrument(), recorded_by=by, assessed_on=org.local_today()
    )
    return _assessment_form(request, assessment)


@login_required
def assessment_edit(request, pk):
    """The purveyor continues a draft assessment; a final one does not change."""
    assessment = _assessment_for(request.user, pk)
    _assessor(request.user)
    if not assessment.is_draft:
        messages.info(request, services.FINAL_ALREADY)
        return redirect(assessment)
    return _assessment_form(request, assessment)


def _assessment_form(request, assessment):
    version = RubricVersion.objects.with_structure().get(pk=assessment.version_id)
    form = ReadinessForm(
        request.POST or None,
        version=version,
        organization=assessment.organization,
        scores=assessment.scores,
        notes=assessment.notes,
        initial=_initial(assessment),
    )
    if form.is_bound and form.is_valid():
        saved = _save_assessment(request, form, assessment)
        if isinstance(saved, HttpResponse):
            return saved
        if saved is not None:
            finalized = not saved.is_draft
            messages.success(request, "Assessment finalized." if finalized else "Draft saved.")
            return redirect(saved if finalized else saved.get_absolute_url() + "edit/")
    groups = form.groups(display.item_groups(form))
    ctx = {"form": form, "assessment": assessment, "version": version, "groups": groups}
    status = 400 if form.is_bound else 200
    return render(request, "implementation/assessment_form.html", ctx, status=status)


def _initial(assessment):
    leaders = list(assessment.leaders.all()) if assessment.pk else []
    return {
        "assessed_on": assessment.assessed_on,
        "summary": assessment.summary,
        "leaders": leaders,
    }


def _save_assessment(request, form, assessment):
    """The saved assessment; the first post's page for a repeat; None with form errors."""
    assessment.assessed_on = form.cleaned_data["assessed_on"]
    assessment.summary = form.cleaned_data["summary"]
    assessment.scores, assessment.notes = form.scores(), form.notes()

    def save():
        return services.readiness_assessment_save(
            assessment=assessment,
            leaders=form.cleaned_data["leaders"],
            definition=form.definition,
            finalize=request.POST.get("action") == "finalize",
        )

    stored_pk = assessment.pk
    try:
        if stored_pk:
            return save()
        return form_token_once(token=form.token(), user=request.user, create=save)
    except AlreadySent as sent:
        return shown_again(request, sent, _page, "implementation:index")
    except ValidationError as error:
        # Nothing was stored: the form is drawn again as it was posted.
        assessment.pk, assessment.status, assessment.finalized_at = stored_pk, "draft", None
        add_service_errors([form], error)
        return None


def _page(record):
    return record.get_absolute_url()


@login_required
def assessment_detail(request, pk):
    """Domain scores, overall, and the change since the previous final one, item by item."""
    assessment = _assessment_for(request.user, pk)
    version = RubricVersion.objects.with_structure().get(pk=assessment.version_id)
    definition = version.definition()
    previous = assessment.previous()
    before = (previous.scores, previous.notes) if previous else None
    changes = readiness.changes(definition, before, (assessment.scores, assessment.notes))
    ctx = {
        "assessment": assessment,
        "version": version,
        "previous": previous,
        "summary": display.summary(
            definition, assessment.metrics, assessment.overall_score, assessment.band
        ),
        "domains": readiness.domain_scores(definition, assessment.scores),
        "rows": plans.change_rows(version, changes),
        "tally": readiness.tally(changes) if previous else None,
        "may_assess": Role.PURVEYOR_ADMIN in viewer_for(request.user).roles,
        "may_plan": not assessment.is_draft and _may_plan(request.user, assessment.organization),
        "history": audit.trail(audit.history_of(ReadinessAssessment, id=assessment.pk)),
    }
    return render(request, "implementation/assessment_detail.html", ctx)


@login_required
@require_POST
def plan_from_weakest(request, pk):
    """Start (or add to) the organization's plan from the assessment's weakest items."""
    assessment = _assessment_for(request.user, pk)
    by = _planner(request.user, assessment.organization)
    if assessment.is_draft:
        messages.error(request, "Finalize the assessment before planning from it.")
        return redirect(assessment)
    plan, added = services.action_items_from_weakest(assessment=assessment, by=by)
    if added:
        messages.success(request, f"{len(added)} action items added from the weakest items.")
    else:
        messages.info(request, "The plan already holds an action for each of the weakest items.")
    return redirect(plan)


# Alignment plans ---------------------------------------------------------------------------


@login_required
def plan_detail(request, pk):
    """The plan: each action beside the readiness items it addresses, before and now."""
    org = _organization_for(request.user, pk)
    plan = AlignmentPlan.objects.filter(organization=org).first()
    today = org.local_today()
    actions = list(plan.actions.for_plan()) if plan else []
    ctx = {
        "organization": org,
        "plan": plan,
        "actions": plans.with_readiness(actions, org, today),
        "progress": plans.progress(org, today),
        "may_plan": _may_plan(request.user, org),
        "history": plans.history(plan) if plan else [],
    }
    return render(request, "implementation/plan_detail.html", ctx)


@login_required
def action_new(request, pk):
    """The purveyor or a leader of the organization adds an action item."""
    org = _organization_for(request.user, pk)
    by = _planner(request.user, org)
    if again := repeated(request, _page, "implementation:index"):
        return again
    return _action_form(request, org, ActionItem(), by)


@login_required
def action_edit(request, pk):
    """The purveyor or a leader of the organization changes an action item."""
    rows = ActionItem.objects.visible_to(request.user).select_related("plan__organization")
    action = get_object_or_404(rows, pk=as_id(pk) or 0)
    org = action.plan.organization
    return _action_form(request, org, action, _planner(request.user, org))


def _action_form(request, org, action, by):
    definition = _instrument().definition()
    form = ActionItemForm(
        request.POST or None, instance=action, organization=org, definition=definition
    )
    if form.is_bound and form.is_valid():
        plan = services.alignment_plan_for(organization=org, by=by)

        def save():
            return services.action_item_save(action=form.save(commit=False), plan=plan, by=by)

        try:
            made = (
                save()
                if action.pk
                else form_token_once(token=form.token(), user=request.user, create=save)
            )
        except AlreadySent as sent:
            return shown_again(request, sent, _page, "implementation:index")
        except ValidationError as error:
            add_service_errors([form], error)
        else:
            messages.success(request, "Action item saved; its history keeps the old values.")
            return redirect(made)
    ctx = {"organization": org, "form": form, "action": action, "problem_forms": [form]}
    status = 400 if form.is_bound else 200
    return render(request, "implementation/action_form.html", ctx, status=status)

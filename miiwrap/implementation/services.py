"""Writes of the organization's system: readiness assessments and the alignment plan."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from miiwrap.implementation import readiness
from miiwrap.implementation.models import ActionItem, AlignmentPlan, ReadinessAssessment
from miiwrap.notifications import delivery
from miiwrap.notifications.models import Notification
from miiwrap.people.models import Person, Role
from observations import scoring
from observations.services import check_scores

FINAL_ALREADY = "This assessment is final; record a new one to show change."
DRAFT_EXISTS = "An assessment of this organization is in progress: continue that one."


def readiness_assessment_save(*, assessment, leaders, definition, finalize):
    """Save an assessment as a draft (only what is entered must be valid) or finalize it
    (every required item scored). Its domain and overall scores are computed each time by
    observations.scoring. A final assessment no longer changes."""
    check_scores(definition, assessment.scores, complete=finalize)
    if assessment.pk and not _stored_draft(assessment.pk):
        raise ValidationError(FINAL_ALREADY)
    # A new one while another is in progress would leave two views of the same day's work.
    drafts = ReadinessAssessment.objects.drafts().filter(organization=assessment.organization_id)
    if assessment.pk is None and drafts.exists():
        raise ValidationError(DRAFT_EXISTS)
    result = scoring.compute(definition, assessment.scores)
    assessment.metrics = result.as_json()
    assessment.overall_score = None if result.overall is None else Decimal(str(result.overall))
    assessment.band = result.band or ""
    if finalize:
        assessment.status = ReadinessAssessment.Status.FINAL
        assessment.finalized_at = timezone.now()
    try:
        with transaction.atomic():
            assessment.save()
            assessment.leaders.set(leaders)
    except IntegrityError:
        raise ValidationError(DRAFT_EXISTS) from None
    return assessment


def _stored_draft(pk):
    row = ReadinessAssessment.objects.select_for_update().filter(pk=pk).first()
    return row is not None and row.is_draft


def alignment_plan_for(*, organization, by):
    """The organization's plan, started by `by` when it has none yet."""
    plan, _ = AlignmentPlan.objects.get_or_create(
        organization=organization, defaults={"created_by": by}
    )
    return plan


@transaction.atomic
def action_items_from_weakest(*, assessment, by, count=5):
    """An action item for each of the assessment's weakest items that the plan does not
    yet hold one started from; returns (plan, the items added). Starting twice adds none."""
    plan = alignment_plan_for(organization=assessment.organization, by=by)
    definition = assessment.version.definition()
    added = []
    for item in readiness.weakest_items(definition, assessment.scores, count):
        action, created = ActionItem.objects.get_or_create(
            plan=plan,
            started_from=item.code,
            defaults={
                "what": f"Strengthen: {item.label}"[:200],
                "why": _why(assessment, item),
                "item_codes": [item.code],
                "created_by": by,
            },
        )
        if created:
            added.append(action)
    return plan, added


def _why(assessment, item):
    note = assessment.notes.get(item.code, "")
    rated = f"Rated {assessment.scores[item.code]} of {item.scale_max} on {assessment.assessed_on}."
    return f"{rated} {note}".strip()


def action_item_save(*, action, plan, by):
    """Add an action item to the plan, or save a change to one (the history keeps who,
    when and the old values)."""
    action.plan = plan
    if action.pk is None:
        action.created_by = by
    action.full_clean(exclude=["plan", "created_by", "owner"])
    action.save()
    return action


def action_items_overdue_tell(*, today=None, now=None):
    """Put each open action item whose due day has passed into the daily digest of its
    organization's leaders, once per leader and due day (a later due day, missed too, is
    told again). `today` replaces each organization's own today (replays and tests).
    Returns how many items were queued. Part of the daily job, before the digests."""
    now = now or timezone.now()
    late = [
        action
        for action in ActionItem.objects.open()
        .exclude(due_on=None)
        .select_related("plan__organization")
        if action.due_on < (today or action.plan.organization.local_today(now))
    ]
    leaders = _leaders_of({action.plan.organization_id for action in late})
    queued = [
        delivery.pending(
            leader,
            Notification.Kind.ALERT,
            f"Alignment plan: “{action.what}” was due {action.due_on:%Y-%m-%d}",
            f"An action of {action.plan.organization}'s alignment plan is overdue.",
            link=action.get_absolute_url(),
            digest=True,
            key=f"alignment-overdue:{action.pk}:{action.due_on:%Y-%m-%d}",
        )
        for action in late
        for leader in leaders.get(action.plan.organization_id, [])
    ]
    told = Notification.objects.filter(key__in={n.key for n in queued})
    told = set(told.values_list("recipient_id", "key"))
    queued = [n for n in queued if (n.recipient_id, n.key) not in told]
    # Two runs at once: the constraint on (recipient, key) leaves the later's out.
    Notification.objects.bulk_create(queued, ignore_conflicts=True)
    return len(queued)


def _leaders_of(organization_ids):
    """{organization id: [its current leaders]}."""
    found = {}
    leaders = Person.objects.with_role(Role.LEADER).filter(
        organization_id__in=organization_ids, leave_date=None
    )
    for leader in leaders.order_by("pk"):
        found.setdefault(leader.organization_id, []).append(leader)
    return found

"""What the readiness and plan pages read: the plan's progress, each action beside the
readiness items it addresses, and the item-by-item change rows. Each a fixed number of
queries, whatever the number of actions or items."""

from types import SimpleNamespace

from django.db.models import Count, Q

from miiwrap import audit
from miiwrap.implementation import readiness
from miiwrap.implementation.models import ActionItem, AlignmentPlan, ReadinessAssessment
from observations.models import RubricVersion


def progress(organization, today):
    """The plan's actions done of those not dropped, and the open ones overdue. Two queries."""
    actions = ActionItem.objects.filter(plan__organization=organization)
    figures = actions.exclude(status=ActionItem.Status.DROPPED).aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(status=ActionItem.Status.DONE))
    )
    overdue = list(actions.overdue(today).for_plan())
    return SimpleNamespace(total=figures["total"], done=figures["done"], overdue=overdue)


def latest_two(organization_id):
    """(latest, previous) final assessments of the organization; either may be None."""
    found = ReadinessAssessment.objects.latest_two(organization_id)
    latest, previous = [*found, None, None][:2]
    return latest, previous


def with_readiness(actions, organization, today):
    """Each action with `overdue` and `readiness`: for each item it addresses, its label and
    its scores in the previous and the latest final assessment (and which way it moved)."""
    latest, previous = latest_two(organization.pk)
    labels = _labels(latest)
    for action in actions:
        action.overdue = action.is_overdue(today)
        action.readiness = [_moved(code, labels, previous, latest) for code in action.item_codes]
    return actions


def _labels(assessment):
    if assessment is None:
        return {}
    return dict(
        RubricVersion.objects.get(pk=assessment.version_id).items.values_list("code", "label")
    )


def _moved(code, labels, previous, latest):
    change = readiness.ItemChange(
        code=code,
        label=labels.get(code, code),
        domain="",
        before=previous.scores.get(code) if previous else None,
        after=latest.scores.get(code) if latest else None,
        before_note="",
        after_note="",
    )
    return change


def change_rows(version, changes):
    """[(domain name, [row])] of the item-by-item change, each score with its level's label."""
    items = {item.code: item for item in version.items.all()}
    domains = {domain.code: domain.name for domain in version.domains.all()}
    groups = {}
    for change in changes:
        item = items[change.code]
        groups.setdefault(domains.get(change.domain, "Items"), []).append(
            SimpleNamespace(
                change=change,
                before=_level(item, change.before),
                after=_level(item, change.after),
            )
        )
    return list(groups.items())


def _level(item, value):
    if not isinstance(value, int):
        return "—"
    level = next((lv for lv in item.levels.all() if lv.value == value), None)
    return f"{value} · {level.label}" if level else str(value)


def history(plan):
    """Changes to the plan and its actions: who, when, and the old values."""
    names = dict(plan.actions.values_list("pk", "what"))
    records = [
        *audit.history_of(AlignmentPlan, id=plan.pk),
        *audit.history_of(ActionItem, plan_id=plan.pk),
    ]

    def subject(record):
        if record.instance_type is ActionItem:
            return f"Action “{names.get(record.id, record.what)}”"
        return "Plan"

    return audit.trail(records, subject=subject, hide=("started_from",))

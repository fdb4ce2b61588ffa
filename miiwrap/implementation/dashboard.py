"""The leader dashboard's readiness section: each organization's latest readiness, its
change since the previous assessment, its weakest domains, and its alignment plan's
progress. Four queries whatever the number of organizations, assessments or actions."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from miiwrap.implementation.models import ActionItem, ReadinessAssessment
from observations.models import Metric

# Weakest domains named per organization, and overdue actions listed for one.
WEAKEST = 2
OVERDUE_SHOWN = 10


@dataclass(frozen=True)
class Overdue:
    what: str
    due_on: dt.date
    owner: str
    url: str


@dataclass(frozen=True)
class OrganizationReadiness:
    organization_id: int
    name: str
    url: str
    assessed_on: dt.date | None = None
    overall: float | None = None
    band: str = ""
    change: float | None = None  # points since the previous final assessment
    weakest: tuple = ()  # (domain, mean) of the lowest, lowest first
    done: int = 0
    total: int = 0
    overdue_count: int = 0
    overdue: tuple = ()  # Overdue, listed when one organization is shown

    @property
    def trend(self):
        if self.change is None:
            return ""
        return "up" if self.change > 0 else "down" if self.change < 0 else "same"


def for_leader_dashboard(organizations, today, list_overdue=None):
    """[OrganizationReadiness] of each organization, by name; overdue actions are listed
    when there is one organization (or `list_overdue` says so), counted otherwise."""
    organizations = [org for org in organizations if not org.is_purveyor]
    ids = [org.pk for org in organizations]
    if list_overdue is None:
        list_overdue = len(ids) == 1
    assessed = _latest_two(ids)
    labels = _domain_labels({rows[0].version_id for rows in assessed.values()})
    actions = _action_counts(ids, today)
    listed = _overdue(ids, today) if list_overdue and ids else {}
    return [
        _row(org, assessed.get(org.pk, []), labels, actions.get(org.pk, {}), listed)
        for org in sorted(organizations, key=lambda o: o.name)
    ]


def _row(org, latest_two, labels, counts, listed):
    url = reverse("implementation:organization", args=[org.pk])
    found = {
        "done": counts.get("done", 0),
        "total": counts.get("total", 0),
        "overdue_count": counts.get("overdue", 0),
        "overdue": tuple(listed.get(org.pk, ())),
    }
    if latest_two:
        latest = latest_two[0]
        previous = latest_two[1] if len(latest_two) > 1 else None
        found.update(
            assessed_on=latest.assessed_on,
            overall=_number(latest.overall_score),
            band=latest.band,
            change=_change(latest, previous),
            weakest=_weakest(latest, labels.get(latest.version_id, {})),
        )
    return OrganizationReadiness(org.pk, org.name, url, **found)


def _number(value):
    return None if value is None else float(value)


def _change(latest, previous):
    if previous is None or latest.overall_score is None or previous.overall_score is None:
        return None
    return round(float(latest.overall_score - previous.overall_score), 2)


def _weakest(assessment, labels):
    """The lowest domain means, ties in the instrument's order (`labels` is in it)."""
    means = [
        (label, assessment.metrics[code]["value"])
        for code, label in labels.items()
        if (assessment.metrics.get(code) or {}).get("value") is not None
    ]
    return tuple(sorted(means, key=lambda pair: pair[1])[:WEAKEST])


def _latest_two(ids):
    """{organization id: [latest, previous]} of final assessments, in one statement."""
    newest = [F("assessed_on").desc(), F("pk").desc()]
    rank = Window(RowNumber(), partition_by=F("organization_id"), order_by=newest)
    rows = ReadinessAssessment.objects.final().filter(organization_id__in=ids)
    rows = rows.annotate(rank=rank).filter(rank__lte=2).order_by("organization_id", *newest)
    found = {}
    for row in rows.only(
        "organization", "version", "assessed_on", "overall_score", "band", "metrics"
    ):
        found.setdefault(row.organization_id, []).append(row)
    return found


def _domain_labels(version_ids):
    """{version id: {metric code: label}} of the metrics that are not the overall one."""
    found = {}
    rows = Metric.objects.filter(version_id__in=version_ids, is_overall=False)
    rows = rows.order_by("version_id", "position", "pk")
    for version_id, code, label in rows.values_list("version_id", "code", "label"):
        found.setdefault(version_id, {})[code] = label
    return found


def _action_counts(ids, today):
    """{organization id: {total, done, overdue}}; dropped actions are not counted."""
    rows = ActionItem.objects.filter(plan__organization_id__in=ids)
    rows = rows.exclude(status=ActionItem.Status.DROPPED).values("plan__organization_id")
    open_ = Q(status__in=ActionItem.OPEN)
    counted = rows.annotate(
        total=Count("pk"),
        done=Count("pk", filter=Q(status=ActionItem.Status.DONE)),
        overdue=Count("pk", filter=open_ & Q(due_on__lt=today)),
    ).order_by()
    return {row.pop("plan__organization_id"): row for row in counted}


def _overdue(ids, today):
    found = {}
    rows = ActionItem.objects.overdue(today).filter(plan__organization_id__in=ids)
    for action in rows.select_related("owner", "plan").order_by("due_on", "pk")[:OVERDUE_SHOWN]:
        found.setdefault(action.plan.organization_id, []).append(
            Overdue(
                action.what,
                action.due_on,
                action.owner.full_name if action.owner else "",
                action.get_absolute_url(),
            )
        )
    return found

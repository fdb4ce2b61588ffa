"""Demo readiness for seed_demo: two assessments of each client organization, the later
showing change (most items up, a few down), and an alignment plan started from the
earlier one's weakest items, some actions done, some overdue. Deterministic by seed."""

import datetime as dt
import random

from miiwrap.implementation import services
from miiwrap.implementation.models import ActionItem, ReadinessAssessment
from miiwrap.people.models import Person, Role
from observations.models import RubricVersion

# The first assessment before training, the second lately.
FIRST_DAYS_AGO, SECOND_DAYS_AGO = 300, 30
# How a first rating is drawn, and how it then moves: up mostly, down now and then.
FIRST_RATINGS = [0, 1, 1, 1, 2, 2, 3]
MOVES, MOVE_WEIGHTS = (1, 0, -1), (5, 4, 1)
NOTES = {
    0: "Not in place yet; discussed with the leadership team.",
    1: "Started, but not yet how the work is done.",
    2: "Mostly in place; a few gaps named.",
    3: "In place and checked.",
}


def add_readiness(plans, *, seed, today):
    """{what: how many} made for the client organizations planned; None when the
    readiness instrument or a purveyor admin is missing."""
    versions = RubricVersion.objects.of_organizations().published().with_structure()
    version = versions.order_by("-number").first()
    purveyor = Person.objects.with_role(Role.PURVEYOR_ADMIN).filter(
        organization__is_purveyor=True, leave_date=None
    )
    by = purveyor.order_by("pk").first()
    if version is None or by is None:
        return None
    made = {"assessments": 0, "actions": 0, "overdue": 0, "done": 0}
    for plan in plans:
        if plan.row is not None and not plan.identity.is_purveyor:
            _assess(
                plan,
                version,
                by,
                random.Random(f"{seed}:{plan.identity.slug}:readiness"),
                today,
                made,
            )
    return made


def _assess(plan, version, by, rng, today, made):
    leaders = [p.row for p in plan.people if Role.LEADER in p.roles and p.leave_date is None]
    codes = [item.code for item in version.items.all()]
    first = {code: rng.choice(FIRST_RATINGS) for code in codes}
    second = {
        code: min(3, max(0, first[code] + rng.choices(MOVES, MOVE_WEIGHTS)[0])) for code in codes
    }
    earlier = _final(plan.row, version, by, leaders, today - dt.timedelta(FIRST_DAYS_AGO), first)
    _final(plan.row, version, by, leaders, today - dt.timedelta(SECOND_DAYS_AGO), second)
    made["assessments"] += 2
    _plan(earlier, by, leaders, rng, today, made)


def _final(organization, version, by, leaders, day, scores):
    assessment = ReadinessAssessment(
        organization=organization,
        version=version,
        recorded_by=by,
        assessed_on=day,
        scores=scores,
        notes={code: NOTES[value] for code, value in scores.items() if value < 2},
    )
    return services.readiness_assessment_save(
        assessment=assessment, leaders=leaders, definition=version.definition(), finalize=True
    )


def _plan(assessment, by, leaders, rng, today, made):
    """Actions from the first assessment's weakest items, due over the months since:
    the earliest done, one in progress past its day (overdue), the rest planned."""
    _plan_row, added = services.action_items_from_weakest(assessment=assessment, by=by, count=6)
    for index, action in enumerate(added):
        action.owner = rng.choice(leaders) if leaders else by
        action.due_on = assessment.assessed_on + dt.timedelta(days=60 + 45 * index)
        action.status = _status(index, action.due_on, today)
        services.action_item_save(action=action, plan=action.plan, by=by)
        made["actions"] += 1
        made["done"] += action.status == ActionItem.Status.DONE
        made["overdue"] += action.is_overdue(today)


def _status(index, due_on, today):
    if index < 2:
        return ActionItem.Status.DONE
    if due_on < today and index < 4:
        return ActionItem.Status.IN_PROGRESS  # late: the dashboard lists it
    return ActionItem.Status.PLANNED

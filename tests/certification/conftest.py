"""Certification fixtures: a frozen today, a certified coach, and evidence to certify on."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from certification.models import Program
from observations.models import ActivityType
from tests.factories import full_scores, make_observation, make_period, rubric_version

D = dt.date
COACHING = "coaching-feedback"
TODAY = D(2026, 6, 30)
# Noon in New York, where the world's organizations work.
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


@pytest.fixture
def programs(db):
    return {program.code: program for program in Program.objects.with_rules()}


@pytest.fixture
def certified_coach(world, frozen):
    """Cora, the home coach, holds MiiWrap Practitioner and MiiWrap Coach from 2025-01-02."""
    make_period(world.coach, world.purveyor_admin, "practitioner", D(2025, 1, 2))
    make_period(world.coach, world.purveyor_admin, "coach", D(2025, 1, 2))
    return world.coach


def activities():
    """Two different shipped activity types."""
    return list(ActivityType.objects.order_by("position", "name")[:2])


def observe(coach, practitioner, day, rating=None, activity=None, rubric="miiwrap-fidelity"):
    """A submitted observation on `day`: top scores unless `rating` is given."""
    version = rubric_version(rubric)
    return make_observation(
        coach,
        practitioner,
        version,
        observed_on=day,
        scores=full_scores(version, rating=rating),
        activity=activity or activities()[0],
    )


EVIDENCE_DAYS = (D(2026, 3, 2), D(2026, 4, 6), D(2026, 5, 4))


def evidence(coach, practitioner, days=EVIDENCE_DAYS):
    """What the default first-certification rule asks: three top-scored observations on
    the fidelity tool in two activity types, and a good MI coding, all within 180 days."""
    first, second = activities()
    made = [
        observe(coach, practitioner, day, activity=first if n % 2 == 0 else second)
        for n, day in enumerate(days)
    ]
    made.append(observe(coach, practitioner, days[-1], rubric="mi-coding"))
    return made


def coaching_evidence(trainer, coach, days=EVIDENCE_DAYS):
    """What the MiiWrap Coach program's first-certification rule asks: three top-scored
    observations of the coach giving feedback, by a trainer, and a good MI coding."""
    activity = ActivityType.objects.get(name="Coaching feedback conversation")
    made = [observe(trainer, coach, day, activity=activity, rubric=COACHING) for day in days]
    made.append(observe(trainer, coach, days[-1], rubric="mi-coding"))
    return made

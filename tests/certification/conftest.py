"""Certification fixtures: a frozen today, a certified coach, and evidence to certify on."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from certification.models import Program
from observations.models import (
    ActivityType,
    CalibrationAttempt,
    CalibrationCase,
    CalibrationRound,
)
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


def calibrated(coach, days, within=None, compared=10, rubric="miiwrap-fidelity", cases=None):
    """Submitted calibration attempts by `coach`, one a day at noon in New York, each at a
    case of its own (or at `cases`, in turn) with `within` (8 each by default) of
    `compared` items within one point of the master code. Returns the attempts."""
    version = rubric_version(rubric)
    within = within or [8] * len(days)
    made = []
    for n, (day, near) in enumerate(zip(days, within, strict=True)):
        case = cases[n] if cases else calibration_case(version, f"Case {n + 1}")
        round_ = CalibrationRound.objects.create(name=f"Round {day}", opens_on=day, due_on=day)
        round_.cases.add(case)
        at = dt.datetime.combine(day, dt.time(12), ZoneInfo("America/New_York"))
        made.append(
            CalibrationAttempt.objects.create(
                round=round_,
                case=case,
                coach=coach,
                scores={"note": "scored"},
                status="submitted",
                submitted_at=at,
                items_compared=compared,
                items_exact=near,
                items_within_one=near,
            )
        )
    return made


def calibration_case(version=None, title="Case"):
    """A master-coded case on the fidelity tool (or `version`)."""
    return CalibrationCase.objects.create(
        title=title,
        rubric_version=version or rubric_version("miiwrap-fidelity"),
        consent_on=D(2025, 1, 1),
        consent_note="Signed; kept by the purveyor.",
        retain_until=D(2030, 1, 1),
        master_scores={"note": "master"},
        master_coded_at=dt.datetime(2025, 1, 2, tzinfo=ZoneInfo("UTC")),
    )

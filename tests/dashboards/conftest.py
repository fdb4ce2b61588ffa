"""A world with observations in bulk, to show the dashboards' queries do not grow."""

import datetime as dt
import itertools

import pytest

from coaching.models import DriftAlert, ItemMonth
from observations.models import ActivityType, Observation
from tests.factories import make_assignment, make_person, rubric_version

TODAY = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 16, tzinfo=dt.UTC)  # noon in New York


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


def grow(world, observations):
    """`observations` submitted observations by world.coach of practitioners in both home
    teams (one more practitioner per 25), with their month sums and an alert each fifth."""
    version = rubric_version()
    activity = ActivityType.objects.first()
    people = [world.practitioner]
    for n in range(observations // 25):
        person = make_person(world.home, "practitioner", team=[world.team_a, world.team_b][n % 2])
        make_assignment(world.coach, person)
        people.append(person)
    bands = itertools.cycle([("high", 90), ("adequate", 80), ("borderline", 70), ("low", 50)])
    rows = []
    for n, person in zip(range(observations), itertools.cycle(people), strict=False):
        band, score = next(bands)
        rows.append(
            Observation(
                practitioner=person,
                coach=world.coach,
                rubric_version=version,
                observed_on=TODAY - dt.timedelta(days=n % 300),
                activity=activity,
                scores={},
                status=Observation.Status.SUBMITTED,
                overall_score=score,
                band=band,
            )
        )
    Observation.objects.bulk_create(rows)
    _sums_and_alerts(world, version, people)
    return people


def _sums_and_alerts(world, version, people):
    codes = [item.code for item in version.items.all() if item.kind == "rating"][:4]
    months = [dt.date(2026, month, 1) for month in range(1, 6)]
    ItemMonth.objects.bulk_create(
        ItemMonth(
            organization=world.home,
            team_id=team.pk,
            rubric=version.rubric,
            month=month,
            sums={code: [3.0 * len(people), len(people)] for code in codes},
        )
        for team in (world.team_a, world.team_b)
        for month in months
    )
    DriftAlert.objects.bulk_create(
        DriftAlert(
            scope=DriftAlert.Scope.PERSON,
            subject=f"person:{person.pk}",
            organization=world.home,
            practitioner=person,
            rubric=version.rubric,
            rule="ewma",
            rules=[],
            began_on=TODAY - dt.timedelta(days=30),
            raised_on=TODAY - dt.timedelta(days=10),
            checked_on=TODAY,
            baseline=90,
            baseline_from="Test",
            current=70,
            points=10,
        )
        for person in people[::5]
    )


def observe(coach, practitioner, day, score, band, rubric="miiwrap-fidelity"):
    """One submitted observation with its score and band as given (no scoring run)."""
    return Observation.objects.create(
        practitioner=practitioner,
        coach=coach,
        rubric_version=rubric_version(rubric),
        observed_on=day,
        activity=ActivityType.objects.first(),
        scores={},
        status=Observation.Status.SUBMITTED,
        overall_score=score,
        band=band,
    )

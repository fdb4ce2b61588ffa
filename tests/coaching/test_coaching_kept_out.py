"""Coaching-rubric observations are a coach's own: they never reach practitioners'
drift, item sums (heat map), team figures or dashboard aggregates."""

import datetime as dt
from decimal import Decimal

from django.urls import reverse

from coaching import levels, services
from coaching.models import DriftAlert, ItemMonth
from miiwrap.dashboards import leader
from miiwrap.people.models import Person
from observations.models import ActivityType, Observation, Rubric
from tests.factories import make_period, rubric_version
from tests.trainers import ACTIVITY, COACHING, make_trainer

TODAY = dt.date(2026, 6, 30)


def bulk(coach, person, scores, *, code="miiwrap-fidelity", start=dt.date(2025, 1, 6)):
    """Submitted observations with these overall scores, a week apart, every item scored
    at 1 on the rubric's ratings."""
    version = rubric_version(code)
    activity = ActivityType.objects.get(name=ACTIVITY if code == COACHING else "Home visit")
    items = {i.code: 1 for i in version.items.all() if i.kind == "rating"}
    return Observation.objects.bulk_create(
        Observation(
            coach=coach,
            practitioner=person,
            rubric_version=version,
            activity=activity,
            observed_on=start + dt.timedelta(days=7 * n),
            status=Observation.Status.SUBMITTED,
            overall_score=Decimal(score),
            band="high" if score >= 85 else "low",
            scores=items,
            metrics={"coaching": {"value": score}} if code == COACHING else {},
        )
        for n, score in enumerate(scores)
    )


def coached_badly(world):
    """The home coach, practising steadily at 88, observed coaching at 40 again and again."""
    trainer = make_trainer(world)
    practice = bulk(world.practitioner, world.coach, [88, 89, 87, 88, 90, 88, 87, 89, 88, 88])
    make_period(world.coach, world.leader, valid_from=practice[2].observed_on)
    coaching = bulk(trainer, world.coach, [40] * 12, code=COACHING, start=dt.date(2025, 6, 2))
    return trainer, practice, coaching


def test_the_drift_job_reads_no_coaching_observation(world):
    _, practice, coaching = coached_badly(world)
    rows = levels.read_observations(None, {})
    assert set(rows.obs.tolist()) == {o.pk for o in practice}
    assert not {o.pk for o in coaching} & set(rows.obs.tolist())


def test_a_run_of_poor_coaching_raises_no_drift_alert(world):
    coached_badly(world)
    services.drift_detect(today=TODAY)
    assert not DriftAlert.objects.exists()


def test_drift_settings_cover_practice_rubrics_only(world):
    coaching = Rubric.objects.get(code=COACHING)
    assert coaching.pk not in levels.rubric_rules()
    assert Rubric.objects.get(code="miiwrap-fidelity").pk in levels.rubric_rules()


def test_item_sums_for_the_heat_map_leave_coaching_out(world):
    coached_badly(world)
    services.count_item_months(TODAY)
    assert set(ItemMonth.objects.values_list("rubric__code", flat=True)) == {"miiwrap-fidelity"}


def test_coaching_observations_do_not_move_the_months_fingerprints(world):
    trainer = make_trainer(world)
    before = levels.month_fingerprints(dt.date(2026, 6, 1))
    bulk(trainer, world.coach, [40] * 4, code=COACHING)
    assert levels.month_fingerprints(dt.date(2026, 6, 1)) == before


def test_the_latest_observation_of_a_person_is_of_practice(world):
    _, practice, _ = coached_badly(world)
    coach = Person.objects.filter(pk=world.coach.pk).with_last_observation().get()
    assert coach.last_id == practice[-1].pk


def test_dashboards_offer_practice_rubrics_only(world, login):
    assert COACHING not in set(Rubric.objects.for_dashboards().values_list("code", flat=True))
    coaching = Rubric.objects.get(code=COACHING)
    response = login(world.leader).get(reverse("dashboards:leader"), {"rubric": coaching.pk})
    assert response.status_code == 400


def _scope(world):
    return leader.Scope(
        organizations=[world.home],
        team=None,
        program=None,
        rubric=Rubric.objects.get(code="miiwrap-fidelity"),
        start=dt.date(2025, 1, 1),
        end=dt.date(2026, 6, 30),
    )


def test_team_figures_and_coach_activity_leave_coaching_out(world, time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 30, 16, tzinfo=dt.UTC), tick=False)
    trainer, practice, _ = coached_badly(world)
    scope = _scope(world)
    assert scope.observations().count() == len(practice)
    trend = leader.trend(scope, leader.newest_version(scope.rubric))
    assert trend["trend"].rows[-1][-1].value == len(practice)
    activity = leader.coach_activity(scope, None)["coaches"]
    totals = {row[0].value: row[-1].value for row in activity.rows}
    # The trainer is a coach at home too: their coaching visits are no practice visits.
    assert totals[trainer.full_name] == 0
    # Pat observed Cora's practice; no home coach observed anyone's.
    assert sum(totals.values()) == 0

"""coaching.drift_demo: the drift alerts' precision and recall on a demo world, whose
practitioners' kinds come from the generator itself. These tests check that the figures are
counted right, not that they meet the goals: the detector changes, the arithmetic must not."""

import argparse
import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from coaching import drift_demo
from coaching.drift_demo import NEW_HIRE, SLIPPING, STEADY, STRUGGLING, SeedResult, Share
from coaching.models import DriftAlert
from miiwrap.people.models import Person, Role
from observations import demo as demo_observations
from observations.models import ActivityType
from tests.factories import DEMO_NOW, wipe_world

TODAY = DEMO_NOW.date()
SEED = 3
ORGS = 1  # the smallest world the generator builds: the purveyor and one organization


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """One organization's demo world, measured once for the module; removed after."""
    with django_db_blocker.unblock(), time_machine.travel(DEMO_NOW, tick=False):
        plans = drift_demo.build_world(seed=SEED, today=TODAY, orgs=ORGS)
        result = drift_demo.measure(seed=SEED, today=TODAY, orgs=ORGS)
        yield plans, result
        wipe_world()


@pytest.fixture
def result(built, db):
    return built[1]


@pytest.fixture
def trajectories(built, db):
    """{person id: Trajectory}, replayed from the plans the world was built from (their
    rows, not their emails, say who is who)."""
    plans, _ = built
    setting = demo_observations.Setting(
        TODAY, 3, demo_observations.load_tools(), list(ActivityType.objects.all())
    )
    found = {}
    for plan in plans:
        paths = demo_observations.trajectories_for(plan, seed=SEED, setting=setting)
        found.update({person.row.pk: path for person, path in paths.items()})
    return found


def here_on_the_day():
    practitioners = Person.objects.active_on(TODAY).with_role(Role.PRACTITIONER)
    return set(practitioners.values_list("pk", flat=True))


def alerted_people():
    alerts = DriftAlert.objects.filter(status__in=DriftAlert.ACTIVE, scope="person")
    return set(alerts.values_list("practitioner", flat=True))


# --- The counts ------------------------------------------------------------------------------


def test_the_groups_add_up_to_the_practitioners_here_on_the_day(result):
    assert set(result.practitioners) == {STEADY, SLIPPING, STRUGGLING, NEW_HIRE}
    assert sum(result.practitioners.values()) == len(here_on_the_day())


def test_the_world_has_people_in_every_group_but_struggling_veterans_may_be_few(result):
    for group in (STEADY, SLIPPING, NEW_HIRE):
        assert result.practitioners[group] > 0, group


def test_the_alerted_are_the_people_with_a_not_closed_practitioner_alert(result):
    alerted, here = alerted_people(), here_on_the_day()
    assert sum(result.alerted.values()) == len(alerted & here)
    assert result.alerted_leavers == len(alerted - here)
    for group, count in result.alerted.items():
        assert 0 <= count <= result.practitioners[group], group


def test_each_group_comes_from_the_generators_trajectory_replayed(result, trajectories):
    groups = drift_demo.practitioner_groups(seed=SEED, today=TODAY, orgs=ORGS)
    assert set(groups) == here_on_the_day()
    for pk, (group, kind) in groups.items():
        assert kind == trajectories[pk].kind
        assert group == drift_demo.group_of(trajectories[pk], TODAY)


def test_new_hires_are_grouped_apart_whatever_their_kind(result, trajectories):
    groups = drift_demo.practitioner_groups(seed=SEED, today=TODAY, orgs=ORGS)
    for pk, (group, _) in groups.items():
        hired_days_ago = (TODAY - trajectories[pk].hired).days
        assert (group == NEW_HIRE) == (hired_days_ago < drift_demo.LEARNING_DAYS)
    assert sum(result.new_hire_kinds.values()) == result.practitioners[NEW_HIRE]
    assert sum(result.new_hires_alerted_kinds.values()) == result.alerted[NEW_HIRE]


def test_slipping_practitioners_are_exactly_the_veterans_the_generator_made_slip(
    result, trajectories
):
    here = here_on_the_day()
    slipping = {pk for pk, path in trajectories.items() if pk in here and path.kind == SLIPPING}
    assert result.practitioners[SLIPPING] == len(slipping)
    alerted = alerted_people()
    assert result.alerted[SLIPPING] == len(slipping & alerted)


def test_precision_is_the_alerted_slipping_or_struggling_over_all_alerted(result):
    alerted = result.alerted
    assert result.precision == Share(alerted[SLIPPING] + alerted[STRUGGLING], sum(alerted.values()))


def test_recall_is_the_alerted_slipping_over_all_slipping(result):
    assert result.recall == Share(result.alerted[SLIPPING], result.practitioners[SLIPPING])


def test_alerts_are_counted_by_scope_and_person_alerts_by_organization(result):
    assert set(result.raised) == set(DriftAlert.Scope.values)
    for scope in DriftAlert.Scope.values:
        active = DriftAlert.objects.filter(status__in=DriftAlert.ACTIVE, scope=scope)
        assert result.active.get(scope, 0) == active.count()
    assert sum(result.person_alerts_by_org.values()) == result.active.get("person", 0)
    assert all(count > 0 for count in result.digest_items)


def test_a_database_without_that_world_is_refused(built, db):
    with pytest.raises(ValueError, match="seed 99"):
        drift_demo.practitioner_groups(seed=99, today=TODAY, orgs=ORGS)


def test_the_result_survives_the_trip_through_json(result):
    again = SeedResult.from_json(result.to_json())
    assert again == result
    assert again.precision == result.precision


# --- Figures and table, without a database --------------------------------------------------


def test_a_share_of_nothing_has_no_value_and_meets_no_goal():
    assert Share(0, 0).value is None
    assert not Share(0, 0).meets(0.9)
    assert str(Share(0, 0)) == "— (0/0)"


def test_a_share_meets_its_goal_from_the_goal_up():
    assert Share(9, 10).meets(0.9)
    assert not Share(8, 10).meets(0.9)
    assert str(Share(9, 10)) == "90.0 % (9/10)"


def test_seeds_are_read_from_a_comma_separated_list():
    assert drift_demo.seed_list("1,2, 3,2") == (1, 2, 3)
    for bad in ("", "1,,2", "0", "one", "-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            drift_demo.seed_list(bad)


def made_up(seed, slipping, alerted_slipping, alerted_steady):
    return SeedResult(
        seed=seed,
        today=TODAY.isoformat(),
        practitioners={STEADY: 50, SLIPPING: slipping, STRUGGLING: 2, NEW_HIRE: 10},
        alerted={STEADY: alerted_steady, SLIPPING: alerted_slipping, STRUGGLING: 2, NEW_HIRE: 0},
        new_hire_kinds={"steady": 10},
        new_hires_alerted_kinds={},
        alerted_leavers=1,
        raised={"person": 5, "team": 1, "item": 0},
        active={"person": 5, "team": 1},
        person_alerts_by_org={"a": 3, "b": 2},
        digest_items=[3, 1],
        seconds={"total": 5.0, "build": 2.0, "job": 1.0},
    )


def test_over_all_seeds_every_count_is_added_before_dividing():
    total = drift_demo.pooled([made_up(1, 10, 10, 0), made_up(2, 30, 3, 5)])
    assert total.recall == Share(13, 40)
    assert total.precision == Share(13 + 4, 13 + 4 + 5)
    assert total.alerted_leavers == 2
    assert total.raised == {"person": 10, "team": 2, "item": 0}
    assert total.digest_items == [3, 1, 3, 1]
    assert len(total.person_alerts_by_org) == 4


def test_the_table_shows_each_seed_the_total_and_the_verdicts():
    table = drift_demo.format_table(
        [made_up(1, 10, 10, 0), made_up(2, 30, 3, 5)],
        scale="demo",
        today=TODAY,
        seconds=12.3,
        workers=2,
    )
    assert "100.0 % (12/12)" in table  # seed 1's precision
    assert "32.5 % (13/40)" in table  # recall over all seeds
    assert "Precision >= 90%: NOT met over all seeds; met by 1 of 2 seeds (1)." in table
    assert "Recall >= 90%: NOT met over all seeds; met by 1 of 2 seeds (1)." in table
    assert "Took 12.3 s for 2 seeds, 2 at a time." in table


# --- Each seed in a fresh database ----------------------------------------------------------


def test_a_seed_run_in_its_own_database_finds_what_it_finds_here(result):
    alone = drift_demo.run_in_fresh_database(SEED, TODAY, orgs=ORGS)
    assert alone.practitioners == result.practitioners
    assert alone.alerted == result.alerted
    assert {"migrate", "build", "job", "total"} <= set(alone.seconds)


def test_bench_drift_with_demo_seeds_prints_the_table(monkeypatch):
    ran = []

    def run_seeds(seeds, **options):
        ran.append((seeds, options))
        return [made_up(seed, 10, 9, 1) for seed in seeds]

    monkeypatch.setattr(drift_demo, "run_seeds", run_seeds)
    out = StringIO()
    call_command("bench_drift", "--demo-seeds", "4,5", "--today", "2025-06-16", stdout=out)
    options = {"today": dt.date(2025, 6, 16), "scale": "demo", "orgs": None, "workers": 2}
    assert ran == [((4, 5), options)]
    assert "seeds 4, 5" in out.getvalue()
    assert "Detection trials" not in out.getvalue()

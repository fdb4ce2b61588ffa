"""coaching.drift_demo: the drift alerts' precision and recall on a demo world, whose
practitioners' kinds come from the generator itself. These tests check that the figures are
counted right, not that they meet the goals: the detector changes, the arithmetic must not."""

import argparse
import datetime as dt
import math
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from coaching import drift_demo
from coaching.drift_demo import NEW_HIRE, SLIPPING, STEADY, STRUGGLING, SeedResult, Share
from coaching.models import DriftAlert, PooledSpread
from miiwrap.people.models import Person, Role
from observations import demo as demo_observations
from observations.models import ActivityType, Observation
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
    assert again.slipping_evidence and again.slipping_evidence == result.slipping_evidence
    assert again.oracle_recall(2.4) == result.oracle_recall(2.4)


# --- The oracle bound -----------------------------------------------------------------------


def test_every_slipping_practitioner_has_evidence_against_the_sigma_the_job_pooled(result):
    fidelity = demo_observations.load_tools()[demo_observations.FIDELITY_TOOL].version
    assert result.spread == PooledSpread.objects.get(rubric_version=fidelity).sigma
    assert len(result.slipping_evidence) == result.practitioners[SLIPPING]
    assert any(e["noncentrality"] > 0 for e in result.slipping_evidence)
    assert 0 < result.oracle_recall(2.4) < result.oracle_recall(2.0) < 1


def test_the_evidence_is_read_from_the_fidelity_scores_since_the_slide_began(result, trajectories):
    groups = drift_demo.practitioner_groups(seed=SEED, today=TODAY, orgs=ORGS)
    slipping = {pk: trajectories[pk] for pk, (group, _) in groups.items() if group == SLIPPING}
    sigma, found = drift_demo.slipping_evidence(slipping, TODAY)
    pk = sorted(slipping)[0]
    fidelity = demo_observations.load_tools()[demo_observations.FIDELITY_TOOL].version
    days = Observation.objects.submitted().filter(
        practitioner=pk, rubric_version=fidelity, overall_score__isnull=False
    )
    since = [d for d in days.values_list("observed_on", flat=True) if d > slipping[pk].slide_from]
    assert found[0]["since"] == len(since)
    falls = [100 * slipping[pk].slide(day) / sigma for day in since]
    assert found[0]["noncentrality"] == pytest.approx(math.hypot(*falls))


def a_slide(per_day=0.001):
    """A slipping trajectory whose slide is `per_day` of the possible points a day."""
    return demo_observations.Trajectory(
        "slipping",
        hired=dt.date(2020, 1, 1),
        plateau=0.85,
        start=0.6,
        slide_from=dt.date(2026, 1, 1),
        slide_per_quarter=per_day * 91.3,
    )


def test_the_noncentrality_adds_each_fall_in_sigmas_in_quadrature():
    assert drift_demo.noncentrality([3, 4], 1) == pytest.approx(5)
    assert drift_demo.noncentrality([6, 8], 2) == pytest.approx(5)
    assert drift_demo.noncentrality([], 5) == 0


def test_the_oracle_alerts_with_the_normal_chance_of_passing_the_limit():
    assert drift_demo.oracle_chance(2.4, 2.4) == pytest.approx(0.5)
    phi_of_one = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    assert drift_demo.oracle_chance(3.4, 2.4) == pytest.approx(phi_of_one)  # 0.8413
    assert drift_demo.oracle_chance(2.4 + 1.2816, 2.4) == pytest.approx(0.9, abs=1e-4)
    assert drift_demo.oracle_chance(0, 2.4) == pytest.approx(0.0082, abs=1e-4)


def test_the_evidence_counts_only_observations_after_the_slide_began():
    days = [dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 4, 11), dt.date(2026, 2, 20)]
    found = drift_demo.evidence(a_slide(), days, sigma=5)
    # 50 and 100 days in: falls of 5 and 10 points, 1 and 2 sigmas.
    assert found == {"noncentrality": pytest.approx(math.sqrt(5)), "last_fall": 2, "since": 2}
    assert drift_demo.evidence(a_slide(), [dt.date(2025, 6, 1)], sigma=5) == {
        "noncentrality": 0,
        "last_fall": 0,
        "since": 0,
    }


def with_evidence(result, *noncentralities):
    result.spread = 5.0
    result.slipping_evidence = [
        {"noncentrality": nc, "last_fall": nc / 2, "since": 4} for nc in noncentralities
    ]
    return result


def test_the_oracle_bound_is_the_mean_chance_and_the_sure_are_counted_at_each_limit():
    result = with_evidence(made_up(1, 3, 1, 0), 0.0, 2.4, 3.4)
    chances = [drift_demo.oracle_chance(nc, 2.4) for nc in (0.0, 2.4, 3.4)]
    assert result.oracle_recall(2.4) == pytest.approx(sum(chances) / 3)
    assert result.oracle_sure(2.4) == Share(0, 3)
    assert result.oracle_sure(2.0) == Share(1, 3)  # 3.4 >= 2.0 + 1.28
    assert made_up(1, 3, 1, 0).oracle_recall(2.4) is None


def test_over_all_seeds_the_oracle_bound_is_the_mean_over_every_slipping_practitioner():
    first, second = (
        with_evidence(made_up(1, 1, 1, 0), 4.0),
        with_evidence(made_up(2, 3, 1, 0), 0, 0, 0),
    )
    total = drift_demo.pooled([first, second])
    assert len(total.slipping_evidence) == 4
    assert total.oracle_recall(2.4) == pytest.approx(
        (first.oracle_recall(2.4) + 3 * second.oracle_recall(2.4)) / 4
    )
    assert total.oracle_sure(2.4) == Share(1, 4)


def test_the_oracle_bound_survives_the_trip_through_json():
    result = with_evidence(made_up(1, 3, 1, 0), 0.0, 2.4, 3.4)
    again = SeedResult.from_json(result.to_json())
    assert again == result
    assert again.oracle_recall(2.4) == result.oracle_recall(2.4)


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


def test_the_table_shows_the_oracle_bound_and_what_it_means():
    seeds = [with_evidence(made_up(1, 2, 1, 0), 2.4, 2.4), with_evidence(made_up(2, 1, 1, 0), 4.0)]
    table = drift_demo.format_table(seeds, scale="demo", today=TODAY, seconds=1, workers=2)
    section = table[table.index("Oracle bound on recall") :].splitlines()
    assert "No detector that only reads overall scores can expect to alert more" in section[0]
    assert section[1].startswith("seed  sigma  bound h = 2.4")
    seed_1 = next(line for line in section if line.startswith("1 "))
    assert "5.00   50.0 % (1.0 of 2)  0.0 % (0/2)" in seed_1
    assert "1.20 / 1.20 / 1.20" in seed_1  # last fall in sigmas: min / median / max
    assert "4 / 4 / 4" in seed_1  # observations since the slide began
    everyone = next(line for line in section if line.startswith("all "))
    assert "33.3 % (1/3)" in everyone  # only nc 4.0 reaches 2.4 + 1.28
    assert "Recall >= 90% at h = 2.4: out of reach" in table


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

"""Rater drift: the control charts over a coach's signed differences from the master codes
(pure), the daily job that raises and closes alerts, and who reads them."""

import datetime as dt
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from miiwrap.celery import app
from observations import rater_drift, services
from observations.models import RaterAlert
from tests.factories import full_scores, make_person, rubric_version
from tests.observations import calibration_data

STEADY = [list(np.random.default_rng(seed).normal(0, 0.15, 9)) for seed in range(12)]


def test_steady_coaches_raise_nothing():
    assert rater_drift.check(STEADY, rater_drift.sigma_of(STEADY)) == {}


def test_a_coach_drifting_up_is_lenient_from_where_it_began():
    drifting = [0.05, -0.02, 0.08, 0.6, 0.55, 0.7, 0.75, 0.8, 0.77]
    series = [*STEADY, drifting]
    found = rater_drift.check(series, rater_drift.sigma_of(series))
    assert list(found) == [len(STEADY)]
    drift = found[len(STEADY)]
    assert drift.direction == rater_drift.LENIENT and drift.began >= 3
    assert drift.level == pytest.approx(np.mean(drifting[drift.began :]))


def test_a_coach_drifting_down_is_severe():
    series = [*STEADY, [0.0, 0.05, -0.5, -0.6, -0.7, -0.65]]
    found = rater_drift.check(series, rater_drift.sigma_of(series))
    assert found[len(STEADY)].direction == rater_drift.SEVERE


def test_a_small_steady_lean_and_a_short_series_raise_nothing():
    series = [*STEADY, [-0.2] * 9, [1.0, 1.0]]
    assert rater_drift.check(series, rater_drift.sigma_of(series)) == {}


def test_a_coach_whose_latest_cases_are_back_on_the_codes_is_not_drifting():
    drifting = [0.0, 0.05, 0.6, 0.7, 0.8, 0.9]
    series = [*STEADY, drifting, [*drifting, 0.1, 0.0, 0.05]]
    found = rater_drift.check(series, rater_drift.sigma_of(series))
    assert len(STEADY) in found and len(STEADY) + 1 not in found


def test_without_a_spread_nothing_is_judged():
    assert rater_drift.check([[1.0, 1.0, 1.0]], float("nan")) == {}
    assert rater_drift.check([[1.0, 1.0, 1.0]], 0.0) == {}


def test_the_items_apart_are_those_leaning_the_drifts_way_most_first():
    differences = {"a": [1, 1], "b": [2, 1], "c": [-2, -2], "d": [0, 1], "e": []}
    found = rater_drift.items_apart(differences, rater_drift.LENIENT)
    assert found == [("b", 1.5), ("a", 1.0), ("d", 0.5)]
    assert rater_drift.items_apart(differences, rater_drift.SEVERE) == [("c", -2.0)]


# The daily job ------------------------------------------------------------------------------


@pytest.fixture
def drifted(world):
    """Five steady coaches and Cora, who scored two rounds at the master code (2) and a
    third a point above it on every rating."""
    version = rubric_version()
    others = [make_person(world.home, "coach", first_name=f"Steady{n}") for n in range(5)]
    coaches = [world.coach, *others]
    low = dict.fromkeys([i.code for i in version.items.all() if i.kind == "rating"][:1], 1)
    for number in range(3):
        cases = [
            calibration_data.master_code(
                calibration_data.make_case(
                    version, title=f"Case {number}-{k}", retain_until=dt.date(2099, 1, 1)
                ),
                None,
            )
            for k in range(3)
        ]
        opens = dt.date(2026, 2 + 3 * number, 1)
        round = calibration_data.make_round(
            *cases,
            coaches=coaches,
            name=f"Round {number}",
            opens_on=opens,
            due_on=opens + dt.timedelta(days=28),
        )
        for k, case in enumerate(cases):
            for n, coach in enumerate(coaches):
                scores = full_scores(version, 2)
                if coach == world.coach and number == 2:
                    scores = full_scores(version, 3)
                elif (n + k + number) % 2:
                    scores = {**scores, **low}  # a little noise among the steady
                calibration_data.attempt_save(round, case, coach, scores)
    return others


def test_the_job_raises_one_alert_naming_the_items_and_twice_raises_nothing_more(world, drifted):
    day = dt.date(2026, 12, 5)
    assert services.rater_drift_detect(day) == {"raised": 1, "closed": 0, "open": 1}
    assert services.rater_drift_detect(day)["raised"] == 0
    (alert,) = RaterAlert.objects.all()
    assert (alert.coach, alert.direction, alert.cases) == (world.coach, "lenient", 3)
    assert alert.lean == "1 point lenient" and len(alert.items) == 3
    assert all(mean == 1 for _, _, mean in alert.items)


def test_an_alert_closes_once_the_coach_is_back_on_the_master_codes(world, drifted):
    services.rater_drift_detect(dt.date(2026, 12, 5))
    version = rubric_version()
    cases = [
        calibration_data.master_code(
            calibration_data.make_case(
                version, title=f"Back {k}", retain_until=dt.date(2099, 1, 1)
            ),
            None,
        )
        for k in range(6)
    ]
    back = calibration_data.make_round(
        *cases,
        coaches=[world.coach],
        name="Re-test",
        opens_on=dt.date(2026, 11, 20),
        due_on=dt.date(2026, 12, 31),
    )
    for case in cases:
        calibration_data.attempt_save(back, case, world.coach, full_scores(version, 2))
    assert services.rater_drift_detect(dt.date(2026, 12, 6))["closed"] == 1
    assert RaterAlert.objects.get().closed_on == dt.date(2026, 12, 6)


def test_the_command_runs_the_job_for_a_day(world, drifted):
    out = io.StringIO()
    call_command("detect_rater_drift", "--today", "2026-12-05", stdout=out)
    assert "1 alert(s) raised" in out.getvalue()
    assert RaterAlert.objects.get().raised_on == dt.date(2026, 12, 5)


def test_the_job_runs_daily():
    entry = app.conf.beat_schedule["detect-rater-drift"]
    assert entry["task"] == "observations.tasks.detect_rater_drift"


# Who reads them -----------------------------------------------------------------------------

URL = reverse("observations:reliability")


@pytest.mark.parametrize("persona", ["leader", "purveyor_admin"])
def test_leaders_and_the_purveyor_read_the_alert_on_the_report(world, login, drifted, persona):
    services.rater_drift_detect(dt.date(2026, 12, 5))
    page = login(getattr(world, persona)).get(URL).content.decode()
    part = page.split('id="rater-drift"')[1].split("</section>")[0]
    assert world.coach.full_name in part and "1 point lenient" in part and "Most apart on" in part


def test_an_outsider_reads_no_alert_and_the_coach_has_no_report(world, login, drifted):
    services.rater_drift_detect(dt.date(2026, 12, 5))
    assert 'id="rater-drift"' not in login(world.outsider).get(URL).content.decode()
    assert login(world.coach).get(URL).status_code == 404
    assert not RaterAlert.objects.visible_to(world.coach.user).exists()
    assert RaterAlert.objects.visible_to(world.leader.user).count() == 1

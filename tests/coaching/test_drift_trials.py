"""The detection trials: deterministic for a seed, and telling the scenarios apart."""

import math

import pytest

from coaching import drift, drift_trials
from coaching.drift_trials import ANY, SCENARIOS, STABLE, STEP_1, STEP_2

ROW_RULES = (*drift.RULES, ANY)


@pytest.fixture(scope="module")
def rows():
    return drift_trials.run_trials(series_per_scenario=300, seed=5)


def by(rows, scenario, rule):
    return next(r for r in rows if (r.scenario, r.rule) == (scenario, rule))


def test_there_is_a_row_for_every_scenario_and_rule(rows):
    assert [(r.scenario, r.rule) for r in rows] == [(s, r) for s in SCENARIOS for r in ROW_RULES]


def test_a_small_run_is_the_same_every_time_for_a_seed(rows):
    again = drift_trials.run_trials(series_per_scenario=300, seed=5)

    # repr, so that an undefined delay (nan) compares equal to itself
    assert list(map(repr, again)) == list(map(repr, rows))


def test_another_seed_gives_other_figures(rows):
    other = drift_trials.run_trials(series_per_scenario=300, seed=6)

    assert list(map(repr, other)) != list(map(repr, rows))


def test_the_stable_scenario_has_no_delay_but_a_false_alarm_figure(rows):
    for rule in ROW_RULES:
        row = by(rows, STABLE, rule)
        assert math.isnan(row.median_delay) and math.isnan(row.detected_share)
        assert row.false_alarms_per_100 >= 0
    assert by(rows, STABLE, ANY).false_alarms_per_100 > 0


def test_any_rule_alarms_at_least_as_often_as_each_rule_alone(rows):
    for scenario in SCENARIOS:
        union = by(rows, scenario, ANY).false_alarms_per_100
        assert all(union >= by(rows, scenario, r).false_alarms_per_100 for r in drift.RULES)


def test_a_two_sigma_step_is_caught_sooner_than_a_one_sigma_step(rows):
    for rule in (drift.EWMA, drift.CUSUM, drift.RUN, ANY):
        assert by(rows, STEP_2, rule).median_delay < by(rows, STEP_1, rule).median_delay
    assert by(rows, STEP_2, ANY).detected_share == 1.0


def test_every_changed_scenario_is_mostly_caught_by_some_rule(rows):
    for scenario in SCENARIOS[1:]:
        row = by(rows, scenario, ANY)
        assert row.detected_share > 0.9
        assert 1 <= row.median_delay <= 15


def test_the_table_names_every_rule_and_scenario(rows):
    table = drift_trials.format_table(rows)

    for name in (*SCENARIOS, *ROW_RULES):
        assert name in table
    assert len(table.splitlines()) == 2 + len(rows)


def test_the_table_shows_an_undefined_delay_as_a_dash(rows):
    line = next(x for x in drift_trials.format_table(rows).splitlines() if x.startswith(STABLE))

    assert drift_trials.UNDEFINED in line
    assert "nan" not in drift_trials.format_table(rows)


def test_the_trials_take_the_rules_parameters():
    strict = drift_trials.run_trials(200, seed=2)
    loose = drift_trials.run_trials(200, seed=2, params=drift.Params(L=2.0, h=2.0))

    for rule in (drift.EWMA, drift.CUSUM):
        tight, wide = by(strict, STEP_1, rule), by(loose, STEP_1, rule)
        assert wide.median_delay < tight.median_delay
        assert wide.false_alarms_per_100 > tight.false_alarms_per_100

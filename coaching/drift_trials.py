"""Detection trials: how soon each drift rule catches a known change, and how often it cries wolf.

Pure numpy. Every synthetic series is in units of the true sigma around a true level of 0:
`baseline_n` scores that set the baseline (their mean, as the job takes it), then PRE in-control
monitored scores, then the change, then POST scores after it. The change, per scenario:

- stable: none, so every monitored score is in control;
- step-1sigma / step-2sigma: the level drops by 1 or 2 sigma and stays there;
- slow-slide: the level falls 0.1 sigma per observation after the change;
- noisy: a 1-sigma step in heavy-tailed noise, Student t with 3 degrees of freedom divided by
  √3 so its standard deviation is still sigma; its bad days are rarer but far worse than
  Gaussian ones, as with an observer having an off day.

sigma is what the job would use: the robust sigma pooled over the scenario's cohort, from every
score (the job cannot tell which scores came after a change). The adequate band starts
ADEQUATE_FLOOR sigma below the level: a practitioner at about 87 % whose scores spread by five
points meets the 75 % edge of the adequate band there.

For each rule, and for any rule at all (one alarm however many rules agree):
- delay: observations from the change to the first out-of-control point at or after it (1 = the
  first changed score), the median over the series that were caught within POST scores;
- detected: the share of series caught within POST scores;
- false alarms per 100: episodes that began before the change (anywhere, when stable) per 100
  in-control monitored scores.
The trials read the rules point by point (drift.trace_many), the same machine check_many runs.
"""

import math
from dataclasses import dataclass

import numpy as np

from coaching import drift

STABLE, STEP_1, STEP_2, SLIDE, NOISY = "stable", "step-1σ", "step-2σ", "slow-slide", "noisy"
SCENARIOS = (STABLE, STEP_1, STEP_2, SLIDE, NOISY)
ANY = drift.ANY
PRE, POST = 20, 40
SLIDE_PER_OBSERVATION = 0.1
ADEQUATE_FLOOR = -2.5
UNDEFINED = "—"


@dataclass(frozen=True)
class TrialRow:
    scenario: str
    rule: str
    median_delay: float  # nan when stable, or when no series was caught
    detected_share: float  # nan when stable
    false_alarms_per_100: float


def run_trials(series_per_scenario=2000, seed=1, params=drift.DEFAULTS):
    """One row per scenario and rule (the four rules, then "any")."""
    rows = []
    for number, scenario in enumerate(SCENARIOS):
        # One generator per scenario, so a scenario's figures do not depend on the others.
        rng = np.random.default_rng([seed, number])
        rows += _scenario_rows(scenario, series_per_scenario, rng, params)
    return rows


def _scenario_rows(scenario, n, rng, params):
    shape = (n, params.baseline_n + PRE + POST)
    traces = _traces(_noise(scenario, rng, shape) + _level(scenario, params), params)
    change = PRE + POST if scenario == STABLE else PRE
    return [_row(scenario, rule, t.out, t.alarm, change) for rule, t in traces.items()]


def _traces(scores, params):
    """The rules over a cohort, from the baseline and sigma the job would estimate."""
    history, monitored = scores[:, : params.baseline_n], scores[:, params.baseline_n :]
    return drift.trace_many(
        monitored,
        np.full(len(scores), monitored.shape[1]),
        history.mean(axis=1),
        drift.pooled_sigma(scores),
        params,
        below=monitored < ADEQUATE_FLOOR,
    )


def _noise(scenario, rng, shape):
    if scenario == NOISY:
        return rng.standard_t(3, shape) / math.sqrt(3)
    return rng.standard_normal(shape)


def _level(scenario, params):
    """The true level at every score: 0 until the change, then the scenario's fall."""
    after = np.arange(1, POST + 1)
    fall = {
        STABLE: np.zeros(POST),
        STEP_1: np.full(POST, -1.0),
        STEP_2: np.full(POST, -2.0),
        SLIDE: -SLIDE_PER_OBSERVATION * after,
        NOISY: np.full(POST, -1.0),
    }[scenario]
    return np.concatenate([np.zeros(params.baseline_n + PRE), fall])


def _row(scenario, rule, out, alarm, change):
    begins = alarm & ~np.pad(alarm, ((0, 0), (1, 0)))[:, :-1]
    in_control = begins[:, :change]
    false_alarms = float(100 * in_control.sum() / in_control.size)
    if change == out.shape[1]:
        return TrialRow(scenario, rule, math.nan, math.nan, false_alarms)
    after = out[:, change:]
    caught = after.any(axis=1)
    delays = after.argmax(axis=1)[caught] + 1
    median = float(np.median(delays)) if delays.size else math.nan
    return TrialRow(scenario, rule, median, float(caught.mean()), false_alarms)


def format_table(rows):
    """The rows as a fixed-width table, one line per scenario and rule."""
    header = f"{'scenario':<12}{'rule':<7}{'median delay':>14}{'detected':>10}{'false/100':>11}"
    return "\n".join([header, "-" * len(header), *map(_line, rows)])


def _line(row):
    delay = _shown(row.median_delay, "{:.1f}")
    detected = _shown(row.detected_share, "{:.0%}")
    return (
        f"{row.scenario:<12}{row.rule:<7}{delay:>14}{detected:>10}{row.false_alarms_per_100:>11.2f}"
    )


def _shown(value, pattern):
    return UNDEFINED if math.isnan(value) else pattern.format(value)

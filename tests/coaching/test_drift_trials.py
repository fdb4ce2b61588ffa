"""The online detection trials: the synthetic series are built as the benchmark says, the
lifecycle is the job's, and the figures count what they say."""

import math

import numpy as np
import pytest

from coaching import drift, drift_trials
from coaching.drift_trials import (
    BAD_DAY,
    COMBINED,
    DETECTORS,
    FIRST,
    ITEMS,
    ITEMS_SLIP,
    ITEMS_STABLE,
    LENGTH,
    SCENARIOS,
    SHIFT,
    SLIDE,
    STABLE,
    STEP,
    WITH_ITEMS,
)

N = 200


def cohort(scenario, n=N, seed=4):
    return drift_trials.make_cohort(scenario, n, np.random.default_rng(seed))


def people(n=N, seed=4):
    """Each synthetic person's true level and σ: the generator's first two draws."""
    rng = np.random.default_rng(seed)
    level = drift_trials.PEOPLE_LEVEL + drift_trials.PEOPLE_SPREAD * rng.standard_normal(n)
    return level, rng.uniform(*drift_trials.NOISE, n)


# --- The synthetic series -------------------------------------------------------------------


def test_people_differ_in_level_and_noise_within_the_benchmarks_ranges():
    level, sigma = people(2000)
    assert level.mean() == pytest.approx(90, abs=0.2)
    assert level.std() == pytest.approx(2, abs=0.1)
    assert sigma.min() >= 3 and sigma.max() <= 5
    stable = cohort(STABLE)
    assert stable.scores.shape == (N, LENGTH) and stable.items is None
    assert (stable.change == LENGTH).all() and not stable.below.any()


def test_a_bad_day_is_exactly_one_point_four_sigma_low_after_the_first_five():
    stable, bad = cohort(STABLE), cohort(BAD_DAY)
    level, sigma = people()
    differs = stable.scores != bad.scores
    assert (differs.sum(axis=1) == 1).all()
    rows, days = np.nonzero(differs)
    assert (days >= FIRST).all()
    assert bad.scores[rows, days] == pytest.approx(level - 4 * sigma)
    assert (bad.change == LENGTH).all()  # in control


def test_a_step_drops_one_and_a_half_sigma_from_the_change_on():
    stable, step = cohort(STABLE), cohort(STEP)
    _, sigma = people()
    t = np.arange(LENGTH)[None, :]
    after = t >= step.change[:, None]
    assert np.allclose(stable.scores - step.scores, 1.5 * sigma[:, None] * after)
    assert (step.change >= 11).all() and (step.change <= 23).all()
    assert (step.below == after).all()


def test_a_slide_falls_a_quarter_sigma_more_each_observation():
    stable, slide = cohort(STABLE), cohort(SLIDE)
    _, sigma = people()
    since = np.maximum(np.arange(LENGTH)[None, :] - slide.change[:, None] + 1, 0)
    assert np.allclose(stable.scores - slide.scores, 0.25 * sigma[:, None] * since)


def test_items_share_a_part_per_observation_correlation_about_a_half():
    items = cohort(ITEMS_STABLE, n=2000).items
    assert items.shape == (2000, LENGTH, ITEMS)
    own = items - items.mean(axis=1, keepdims=True)  # each person's item levels taken out
    pairs = [np.corrcoef(own[:, :, i].ravel(), own[:, :, i + 1].ravel())[0, 1] for i in (0, 8)]
    assert pairs == pytest.approx([0.5, 0.5], abs=0.03)
    # The overall score is the items' mean, with the person's σ.
    assert np.allclose(cohort(ITEMS_STABLE, n=2000).scores, items.mean(axis=2))
    _, sigma = people(2000)
    spread = (items.mean(axis=2) - items.mean(axis=(1, 2))[:, None]).std(axis=1, ddof=1)
    assert np.median(spread / sigma) == pytest.approx(1, abs=0.05)


def test_in_a_slip_three_items_fall_one_and_a_half_of_their_own_sigma():
    stable, slip = cohort(ITEMS_STABLE), cohort(ITEMS_SLIP)
    _, sigma = people()
    item_sigma = sigma / math.sqrt(0.5 + 0.5 / ITEMS)
    fall = stable.items - slip.items
    after = np.arange(LENGTH)[None, :] >= slip.change[:, None]
    assert not fall[~after].any()
    moved = fall[after] > 1e-9  # (observations after a change, items)
    assert (moved.sum(axis=1) == 3).all()
    rows = np.nonzero(after)[0]
    assert fall[after][moved] == pytest.approx(np.repeat(1.5 * item_sigma[rows], 3))


# --- The lifecycle --------------------------------------------------------------------------


def test_online_raises_only_when_out_and_closes_after_close_after_calm(monkeypatch):
    # Night by night (from the sixth observation): out tonight, and the calm points.
    script = {
        6: (True, 0),  # out: an alert is raised
        7: (False, 1),
        8: (True, 0),  # out again with the alert open: nothing new
        9: (False, 2),  # unsettled, close_after not reached
        10: (False, 3),  # three calm: closed
        11: (False, 0),  # not out, though unsettled: nothing raised
        12: (True, 0),  # out: a new alert, open to the end (never calm again)
    }

    def tonight(cohort, detector, params, seen):
        out, calm = script.get(seen, (False, 0))
        return np.array([out]), np.array([calm])

    monkeypatch.setattr(drift_trials, "tonight", tonight)
    one = drift_trials.Cohort(
        np.zeros((1, LENGTH)), None, np.array([LENGTH]), np.zeros((1, LENGTH))
    )
    raised, active, outs, closed = drift_trials.online(one, SHIFT, drift.DEFAULTS)
    night = lambda seen: seen - 1  # noqa: E731 - the night that has seen `seen` scores
    assert list(np.flatnonzero(raised[0])) == [night(6), night(12)]
    assert list(np.flatnonzero(closed[0])) == [night(10)]
    assert list(np.flatnonzero(active[0])) == [night(s) for s in (6, 7, 8, 9)] + list(
        range(night(12), LENGTH)
    )
    assert list(np.flatnonzero(outs[0])) == [night(6), night(8), night(12)]
    assert not raised[0, :FIRST].any()


# --- The figures ----------------------------------------------------------------------------


def hand_made():
    """Two series: no change, one false alert; a change at index 20, a false alert before
    it (at 8, closed at 12), caught at 22 (delay 3), closed at 25 and raised again at 27
    while still below (a flap). One night out with nothing open (silent)."""
    change = np.array([LENGTH, 20])
    below = np.zeros((2, LENGTH), dtype=bool)
    below[1, 20:] = True
    one = drift_trials.Cohort(np.zeros((2, LENGTH)), None, change, below)
    raised, active, outs, closed = (np.zeros((2, LENGTH), dtype=bool) for _ in range(4))
    raised[0, 10] = raised[1, [8, 22, 27]] = True
    active[0, 10:] = active[1, 8:12] = active[1, 22:25] = active[1, 27:] = True
    closed[1, [12, 25]] = True
    outs[:] = raised
    outs[0, 5] = True  # silent: out, no alert
    return one, raised, active, outs, closed


def test_the_figures_are_counted_right_on_a_hand_made_case():
    row = drift_trials._row(STEP, SHIFT, *hand_made())
    in_control = (LENGTH - FIRST) + (20 - FIRST)
    assert (row.false_alarms, row.in_control) == (2, in_control)
    assert row.false_per_100 == pytest.approx(200 / in_control)
    assert (row.delays, row.median_delay, row.caught) == ((3,), 3.0, 1.0)
    assert (row.missed, row.open_at_change, row.silent_nights, row.flaps) == (0, 0, 1, 1)
    assert (row.changed, row.series) == (1, 2)
    assert row.open_at_end == 2  # both series end with an alert open


def test_a_change_never_alerted_is_missed_and_one_under_an_open_alert_is_counted_apart():
    one, raised, active, outs, closed = hand_made()
    raised[1, 22:] = active[1, 22:] = closed[1, :] = False
    assert drift_trials._row(STEP, SHIFT, one, raised, active, outs, closed).missed == 1
    active[1, 8:] = True  # the false alert stays open through the change
    row = drift_trials._row(STEP, SHIFT, one, raised, active, outs, closed)
    assert (row.missed, row.open_at_change, row.caught) == (0, 1, 1.0)
    assert math.isnan(row.median_delay)


def test_pooled_rows_add_the_counts_and_take_the_median_of_every_delay():
    a = drift_trials._row(STEP, SHIFT, *hand_made())
    b = drift_trials._figures(
        SLIDE,
        SHIFT,
        false_alarms=1,
        in_control=100,
        delays=(5, 7),
        changed=3,
        missed=1,
        open_at_change=0,
        silent_nights=0,
        flaps=2,
        series=3,
    )
    both = drift_trials.pooled([a, b])
    assert (both.scenario, both.detector) == (f"{STEP} + {SLIDE}", SHIFT)
    assert both.false_per_100 == pytest.approx(100 * 3 / (a.in_control + 100))
    assert (both.delays, both.median_delay) == ((3, 5, 7), 5.0)
    assert both.caught == pytest.approx(3 / 4)
    assert (both.missed, both.flaps, both.silent_nights, both.series) == (1, 3, 1, 5)
    named = drift_trials.pooled([a, b], scenario="all", detector="app")
    assert (named.scenario, named.detector) == ("all", "app")


# --- A run ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rows():
    return drift_trials.run_trials(30, seed=5)


def test_a_row_for_every_scenario_and_detector_the_combined_only_with_items(rows):
    assert [(r.scenario, r.detector) for r in rows] == [
        (s, d) for s in SCENARIOS for d in DETECTORS if d != COMBINED or s in WITH_ITEMS
    ]
    assert all(r.series == 30 for r in rows)
    table = drift_trials.format_table(rows).splitlines()
    assert len(table) == 2 + len(rows)


def test_a_run_is_the_same_for_a_seed_and_differs_between_seeds(rows):
    # repr, so that an undefined delay (nan) compares equal to itself
    assert list(map(repr, drift_trials.run_trials(30, seed=5))) == list(map(repr, rows))
    assert list(map(repr, drift_trials.run_trials(30, seed=6))) != list(map(repr, rows))


def test_pick_finds_the_rows_of_scenarios_and_a_detector(rows):
    assert [r.scenario for r in drift_trials.pick(rows, (STABLE, BAD_DAY), SHIFT)] == [
        STABLE,
        BAD_DAY,
    ]
    assert [r.detector for r in drift_trials.pick(rows, ITEMS_SLIP, COMBINED)] == [COMBINED]


def first_raised(cohort, series):
    """Each chosen series' nights an alert was raised and closed, with the shift rule."""
    raised, _, _, closed = drift_trials.online(cohort, SHIFT, drift.DEFAULTS)
    return [
        (np.flatnonzero(raised[i]).tolist(), np.flatnonzero(closed[i]).tolist()) for i in series
    ]


def test_a_false_alarm_open_when_a_step_comes_does_not_close_and_reopen_on_it():
    """Step series 357 of this cohort: a chance alert on night 13 was still open when the
    step came (observation 19); it closed on night 20, on the step's second score (81.8,
    over a sigma under the usual level), and a new alert opened on night 21: a flap.
    A low score is never back now, so the alert stays open through the step."""
    steps = drift_trials.make_cohort(STEP, 1000, np.random.default_rng([5, 2]))
    assert steps.change[357] == 19
    assert first_raised(steps, [357]) == [([13], [])]


def test_a_slide_is_alerted_by_its_fourth_sliding_observation():
    """Slide series 156 of this cohort (sliding from observation 17): the usual level read
    from up to 24 scores before the fall, not 12, alerts it on its 4th sliding
    observation; it took 9 before."""
    slides = drift_trials.make_cohort(SLIDE, 1000, np.random.default_rng([5, 3]))
    change = int(slides.change[156])
    [(raised, _)] = first_raised(slides, [156])
    assert [night - change + 1 for night in raised if night >= change][:1] == [4]

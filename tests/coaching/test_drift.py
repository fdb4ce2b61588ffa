"""The drift charts on constructed series whose answers are known; no database."""

import math
from collections import Counter
from dataclasses import astuple, fields, replace

import numpy as np
import pytest

from coaching import drift
from coaching.drift import BAND, CUSUM, EWMA, RULES, RUN, Params

BASE, SD = 80.0, 5.0


def first_alarms(xs, baseline=BASE, sigma=SD, params=drift.DEFAULTS, below=None):
    signals = drift.check(xs, baseline, sigma, params, below)
    return {rule: signals[rule].first_alarm for rule in RULES}


def drop(sigmas, points, before=0):
    """`before` scores at the baseline, then `points` scores `sigmas` sigma below it."""
    return [BASE] * before + [BASE - sigmas * SD] * points


def crossings(out):
    """How many times a point-by-point out-of-control flag switches on."""
    return int(np.sum(out & ~np.r_[False, out[:-1]]))


# --- stable series --------------------------------------------------------------------------


def test_a_constant_series_at_its_baseline_raises_nothing_under_any_rule():
    signals = drift.check([BASE] * 30, BASE, SD, below=[False] * 30)

    for rule in RULES:
        assert signals[rule].alarm is False
        assert signals[rule].episodes == 0
        assert signals[rule].first_alarm == -1
        assert signals[rule].began == -1
    assert signals[EWMA].statistic == BASE
    assert signals[CUSUM].statistic == 0.0


def test_a_series_above_its_baseline_raises_nothing_either():
    assert set(first_alarms([BASE + 2 * SD] * 30).values()) == {-1}


# --- steps ----------------------------------------------------------------------------------


def test_the_closed_form_puts_a_two_sigma_ewma_alarm_at_the_third_point():
    # z_t falls 2(1 - 0.8^t) sigma; the limit sits 3·sqrt(0.2/1.8·(1 - 0.64^t)) sigma down.
    beyond = [2 * (1 - 0.8**t) > 3 * math.sqrt(0.2 / 1.8 * (1 - 0.64**t)) for t in (1, 2, 3)]

    assert beyond == [False, False, True]


def test_a_noiseless_two_sigma_drop_is_an_ewma_alarm_at_the_third_point():
    ewma = drift.check(drop(2, 10), BASE, SD)[EWMA]

    assert (ewma.first_alarm, ewma.began, ewma.alarm, ewma.episodes) == (2, 2, True, 1)


def test_after_a_stable_stretch_the_ewma_limit_is_wide_and_a_two_sigma_drop_takes_four_points():
    # After ten stable points the limit is at its steady 1 sigma; z passes it at 2(1 - 0.8^4).
    assert first_alarms(drop(2, 10, before=10))[EWMA] == 10 + 3


def test_a_noiseless_one_sigma_drop_alarms_cusum_at_the_ninth_point_and_run_at_the_eighth():
    # S grows by (1 - k) = 0.5 sigma per point and first exceeds h = 4 sigma at 4.5 sigma.
    alarms = first_alarms(drop(1, 40))

    assert alarms[CUSUM] == 8
    assert alarms[RUN] == 7


def test_a_noiseless_one_sigma_drop_never_alarms_the_ewma():
    # z_t is (1 - a) sigma down with a = 0.8^t; the limit is sqrt(1 - a²) = sqrt((1 - a)(1 + a))
    # sigma down, which exceeds 1 - a whenever a > 0: the limit approaches 1 sigma from below
    # faster than z does, so z never crosses it, however long the drop lasts (here 40 points,
    # short of where both round to exactly 1 in floating point).
    for before in (0, 10):
        assert first_alarms(drop(1, 40, before=before))[EWMA] == -1


def test_cusum_reports_its_statistic_and_limit_in_score_units():
    cusum = drift.check(drop(1, 6), BASE, SD)[CUSUM]

    assert cusum.statistic == pytest.approx(6 * 0.5 * SD)
    assert cusum.limit == pytest.approx(4 * SD)


def test_cusum_stops_one_allowance_above_its_limit_so_it_can_come_back():
    long_drop = drop(1, 40)
    assert drift.check(long_drop, BASE, SD)[CUSUM].statistic == pytest.approx(4.5 * SD)
    # From the cap, (4.5 - 2) / 0.5 = 5 points at the baseline bring it within half its limit.
    back = drift.check([*long_drop, *[BASE] * 5], BASE, SD)[CUSUM]
    assert not back.alarm
    assert drift.check([*long_drop, *[BASE] * 4], BASE, SD)[CUSUM].alarm


def test_ewma_reports_its_last_value_and_limit_as_scores():
    path = drift.ewma_path(drop(2, 3), BASE, SD)
    ewma = drift.check(drop(2, 3), BASE, SD)[EWMA]

    assert path[0] == pytest.approx((BASE - 0.4 * SD, BASE - 0.6 * SD))
    assert (ewma.statistic, ewma.limit) == pytest.approx(path[-1])
    assert ewma.statistic == pytest.approx(BASE - 2 * (1 - 0.8**3) * SD)


def test_a_sustained_one_sigma_drop_in_noise_is_caught_within_a_few_points():
    rng = np.random.default_rng(11)
    x = BASE + SD * (rng.standard_normal((300, 40)) - 1)

    signals = drift.check_many(x, np.full(300, 40), BASE, SD)

    firsts = np.stack([signals[rule].first_alarm for rule in RULES])
    delays = np.where(firsts >= 0, firsts, 99).min(axis=0) + 1
    # Measured: median 7, 90 % within 14, the slowest at 30.
    assert 5 <= np.median(delays) <= 9
    assert np.percentile(delays, 90) <= 18
    assert delays.max() <= 40


def test_a_noiseless_slow_slide_is_caught_by_the_run_rule_first():
    # CUSUM: S = 0.1·m(m + 1)/2 sigma from the sixth point on exceeds 4 sigma at m = 9.
    slide = [BASE] * 10 + [BASE - 0.1 * SD * i for i in range(1, 41)]

    alarms = first_alarms(slide)

    assert alarms[RUN] == 10 + 7
    assert alarms[CUSUM] == 10 + 13
    assert alarms[EWMA] == 10 + 13


def test_a_slow_slide_in_noise_is_always_caught():
    rng = np.random.default_rng(12)
    x = BASE + SD * (rng.standard_normal((300, 40)) - 0.1 * np.arange(1, 41))

    signals = drift.check_many(x, np.full(300, 40), BASE, SD)

    firsts = np.stack([signals[rule].first_alarm for rule in RULES])
    delays = np.where(firsts >= 0, firsts, 99).min(axis=0) + 1
    # Measured: median 12, the slowest at 21 (the level is then 2.1 sigma down).
    assert 9 <= np.median(delays) <= 15
    assert delays.max() <= 25


# --- one bad day ----------------------------------------------------------------------------


def test_one_bad_day_among_good_ones_is_no_ewma_alarm():
    # z moves λ·4 = 0.8 sigma; after ten points the limit is already about 1 sigma down.
    signals = drift.check([BASE] * 10 + [BASE - 4 * SD] + [BASE] * 10, BASE, SD)

    assert signals[EWMA].episodes == 0
    assert signals[RUN].episodes == 0


def test_one_four_sigma_day_leaves_cusum_short_of_its_limit():
    # S = 4 - k = 3.5 sigma, under h = 4 sigma, and then shrinks by k per good day.
    at_bad_day = drift.check([BASE] * 10 + [BASE - 4 * SD], BASE, SD)[CUSUM]
    later = drift.check([BASE] * 10 + [BASE - 4 * SD] + [BASE] * 3, BASE, SD)[CUSUM]

    assert (at_bad_day.statistic, at_bad_day.episodes) == (pytest.approx(3.5 * SD), 0)
    assert later.statistic == pytest.approx(2.0 * SD)


def test_a_day_beyond_four_and_a_half_sigma_alarms_cusum_alone_until_it_decays():
    # h + k = 4.5 sigma: one such day is a CUSUM episode; S then sheds 0.5 sigma per good day
    # and the episode ends once S ≤ release·h = 2 sigma, five good days later.
    xs = [BASE] * 10 + [BASE - 4.6 * SD] + [BASE] * 10
    signals = drift.check(xs, BASE, SD)
    trace = drift.trace_many([xs], [len(xs)], BASE, SD)[CUSUM]

    assert signals[EWMA].episodes == 0
    assert (signals[CUSUM].first_alarm, signals[CUSUM].episodes) == (10, 1)
    assert signals[CUSUM].alarm is False
    assert trace.alarm[0].nonzero()[0].tolist() == [10, 11, 12, 13, 14]


# --- episodes and hysteresis ----------------------------------------------------------------


def hovering():
    """Thirty scores at the baseline, then forty alternating about the EWMA's 1 sigma limit."""
    return [BASE] * 30 + [BASE - 1.25 * SD, BASE - 0.75 * SD] * 20


def test_a_series_hovering_at_the_ewma_limit_makes_one_episode():
    out = drift.trace_many([hovering()], [70], BASE, SD)[EWMA].out[0]
    ewma = drift.check(hovering(), BASE, SD)[EWMA]

    assert crossings(out) > 5
    assert (ewma.episodes, ewma.alarm, ewma.began) == (1, True, ewma.first_alarm)


def test_without_hysteresis_the_same_series_makes_an_episode_per_crossing():
    out = drift.trace_many([hovering()], [70], BASE, SD)[EWMA].out[0]

    ewma = drift.check(hovering(), BASE, SD, Params(release=1.0))[EWMA]

    assert ewma.episodes == crossings(out)


def test_an_episode_ends_when_the_series_returns_to_its_baseline():
    xs = hovering() + [BASE] * 10
    trace = drift.trace_many([xs], [len(xs)], BASE, SD)[EWMA]

    ewma = drift.check(xs, BASE, SD)[EWMA]

    assert (ewma.alarm, ewma.began, ewma.episodes) == (False, -1, 1)
    # z must come back within half the limit: it gets there on the third score at the baseline.
    assert trace.alarm[0][70:].tolist() == [True, True, False] + [False] * 7


def test_a_second_drop_is_a_second_episode_with_its_own_start():
    xs = drop(2, 10) + [BASE] * 10 + [BASE - 2 * SD] * 10

    ewma = drift.check(xs, BASE, SD)[EWMA]

    assert ewma.episodes == 2
    assert ewma.first_alarm == 2
    assert ewma.began > 20


def test_the_run_rule_ends_its_episode_at_a_score_back_at_the_baseline():
    xs = [*drop(1, 9), BASE, *drop(1, 3)]

    run = drift.check(xs, BASE, SD)[RUN]

    assert (run.alarm, run.began, run.episodes, run.statistic, run.limit) == (False, -1, 1, 3, 8)


# --- band rule ------------------------------------------------------------------------------


def band(below, xs=None):
    xs = [BASE] * len(below) if xs is None else xs
    return drift.check(xs, BASE, SD, below=below)[BAND]


def test_the_band_rule_alarms_when_the_two_latest_are_below_adequate():
    signal = band([False, False, True, True])

    assert (signal.alarm, signal.began, signal.statistic, signal.limit) == (True, 3, 2, 2)


def test_the_band_rule_holds_its_start_while_more_fall_below():
    signal = band([False, True, True, True, True])

    assert (signal.alarm, signal.began, signal.statistic, signal.episodes) == (True, 2, 4, 1)


def test_one_below_adequate_is_no_band_alarm():
    signal = band([False, True, False, True])

    assert (signal.alarm, signal.began, signal.statistic, signal.episodes) == (False, -1, 1, 0)


def test_a_band_episode_ends_at_the_next_observation_back_in_the_band():
    signal = band([True, True, False])

    assert (signal.alarm, signal.began, signal.episodes, signal.first_alarm) == (False, -1, 1, 1)


def test_the_band_rule_counts_an_observation_whose_score_is_missing():
    signal = band([False, True, True], xs=[BASE, BASE, math.nan])

    assert (signal.alarm, signal.began) == (True, 2)


def test_without_band_flags_the_band_rule_is_silent():
    assert drift.check(drop(3, 10), BASE, SD)[BAND].episodes == 0


# --- sigma and baseline ---------------------------------------------------------------------


def test_robust_sigma_is_the_median_moving_range_over_0_9539():
    assert drift.robust_sigma([10, 12, 10, 12, 10]) == pytest.approx(2 / 0.9539)


def test_robust_sigma_is_unaffected_by_one_outlier():
    calm = [10, 11, 10, 11, 10, 11, 10, 11, 10]
    one_bad = [10, 11, 10, 11, 60, 11, 10, 11, 10]

    assert drift.robust_sigma(one_bad) == drift.robust_sigma(calm)
    assert np.std(one_bad) > 10 * np.std(calm)


def test_moving_ranges_pass_over_a_missing_score():
    assert drift.moving_ranges([1, math.nan, 4, 2]).tolist() == [3, 2]
    assert drift.robust_sigma([1, math.nan, 3]) == pytest.approx(2 / 0.9539)


def test_robust_sigma_without_a_moving_range_is_nan():
    assert math.isnan(drift.robust_sigma([]))
    assert math.isnan(drift.robust_sigma([5.0, math.nan]))


def test_pooled_sigma_takes_the_median_of_every_series_moving_ranges():
    assert drift.pooled_sigma([[1, 2], [5, 7, 9], [3]]) == pytest.approx(2 / 0.9539)
    assert drift.pooled_sigma(np.array([[0.0, 4.0, math.nan]])) == pytest.approx(4 / 0.9539)


def test_pooled_sigma_without_moving_ranges_is_nan():
    assert math.isnan(drift.pooled_sigma([]))
    assert math.isnan(drift.pooled_sigma([[1.0], []]))


def test_choose_sigma_takes_the_series_own_when_it_has_ten_points():
    own = [10, 12] * 5

    assert drift.choose_sigma(own, 7.0) == pytest.approx(2 / 0.9539)


def test_choose_sigma_falls_back_to_the_pooled_one_for_a_short_series():
    assert drift.choose_sigma([10, 12] * 4 + [10], 7.0) == 7.0
    assert drift.choose_sigma([10, 12] * 5 + [math.nan] * 3, 7.0, Params(min_own_points=11)) == 7


def test_choose_sigma_falls_back_to_the_pooled_one_when_the_own_spread_is_zero():
    assert drift.choose_sigma([10] * 20, 7.0) == 7.0


def test_choose_sigma_is_nan_when_neither_is_usable():
    assert math.isnan(drift.choose_sigma([10] * 3, math.nan))
    assert math.isnan(drift.choose_sigma([10] * 20, 0.0))
    assert math.isnan(drift.choose_sigma([], None))


def test_the_baseline_level_is_the_mean_of_the_scores_present():
    assert drift.baseline_level([80, math.nan, 90]) == 85
    assert math.isnan(drift.baseline_level([]))
    assert math.isnan(drift.baseline_level([math.nan]))


# --- padding, missing scores, unusable rows -------------------------------------------------


def test_scores_past_a_rows_length_are_ignored_even_when_not_nan():
    x = np.array([drop(2, 3) + [0.0] * 5, drop(2, 8)])

    signals = drift.check_many(x, [3, 8], BASE, SD)

    assert signals[EWMA].first_alarm.tolist() == [2, 2]
    assert signals[EWMA].statistic[0] == pytest.approx(drift.ewma_path(drop(2, 3), BASE, SD)[-1][0])
    assert signals[RUN].statistic.tolist() == [3, 8]


def test_a_missing_score_is_skipped_by_the_charts():
    with_gap = drift.check([BASE, BASE, math.nan, *drop(2, 9)], BASE, SD)
    without = drift.check([BASE, BASE, *drop(2, 9)], BASE, SD)

    for rule in (EWMA, CUSUM, RUN):
        assert with_gap[rule].statistic == pytest.approx(without[rule].statistic)
        assert with_gap[rule].limit == pytest.approx(without[rule].limit)
        # Indices still count the missing observation's place in the series.
        assert with_gap[rule].began == without[rule].began + 1 > 0


def test_a_missing_score_does_not_break_a_run():
    run = drift.check([*drop(1, 4), math.nan, *drop(1, 4)], BASE, SD)[RUN]

    assert (run.alarm, run.began, run.statistic) == (True, 8, 8)


def test_the_ewma_path_holds_still_over_a_missing_score():
    path = drift.ewma_path([BASE - SD, math.nan, BASE - SD], BASE, SD)

    assert path[1] == path[0]
    assert path[2][1] < path[1][1]


def test_a_row_of_length_zero_raises_nothing():
    x = np.full((2, 4), math.nan)
    below = np.ones((2, 4), dtype=bool)

    signals = drift.check_many(x, [0, 0], BASE, SD, below=below)

    for rule in RULES:
        assert not signals[rule].alarm.any()
        assert signals[rule].episodes.tolist() == [0, 0]


def test_an_empty_batch_and_an_empty_series_are_fine():
    assert drift.check_many(np.empty((0, 5)), [], [], [])[EWMA].alarm.shape == (0,)
    assert drift.check([], BASE, SD)[EWMA].alarm is False
    assert drift.ewma_path([], BASE, SD) == []


@pytest.mark.parametrize("sigma", [math.nan, 0.0, -1.0])
def test_without_a_usable_sigma_only_ewma_and_cusum_fall_silent(sigma):
    signals = drift.check(drop(3, 10), BASE, sigma, below=[True] * 10)

    assert signals[EWMA].episodes == signals[CUSUM].episodes == 0
    assert math.isnan(signals[EWMA].statistic) and math.isnan(signals[CUSUM].limit)
    assert signals[RUN].alarm is True
    assert signals[BAND].alarm is True


def test_without_a_baseline_only_the_band_rule_can_alarm():
    signals = drift.check(drop(3, 10), math.nan, SD, below=[True] * 10)

    assert [signals[rule].alarm for rule in RULES] == [False, False, False, True]


def test_the_batch_takes_a_baseline_and_sigma_per_row():
    x = np.array([drop(2, 5), drop(2, 5)])

    signals = drift.check_many(x, [5, 5], [BASE, BASE - 3 * SD], [SD, math.nan])

    assert signals[EWMA].alarm.tolist() == [True, False]
    assert signals[RUN].alarm.tolist() == [False, False]
    assert signals[RUN].statistic.tolist() == [5, 0]


# --- the batch against the single series and a plain reference ------------------------------


def random_rows(seed, n=60, width=30):
    """Rows of random lengths and sigmas around 50, with missing scores and some drops."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, width + 1, n)
    sigma = rng.choice([1.0, 2.5, math.nan, 0.0], n, p=[0.45, 0.45, 0.05, 0.05])
    changed = np.arange(width) >= rng.integers(0, 20, (n, 1))
    steps = rng.choice([0.0, -1.0, -2.0], (n, 1)) * changed
    x = 50 + 2 * (rng.standard_normal((n, width)) + steps)
    x[rng.random((n, width)) < 0.1] = math.nan
    below = rng.random((n, width)) < 0.3
    padding = np.arange(width) >= lengths[:, None]
    x[padding], below[padding] = math.nan, False
    return x, lengths, np.full(n, 50.0), sigma, below


def plain(signal):
    """A Signal as a tuple in which NaN equals NaN."""
    return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in astuple(signal))


def row_of(signals, i):
    return drift.Signal(*(getattr(signals, f.name)[i].item() for f in fields(drift.Signal)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_batch_equals_the_single_series_wrappers(seed):
    x, lengths, baseline, sigma, below = random_rows(seed)

    many = drift.check_many(x, lengths, baseline, sigma, below=below)

    for i, length in enumerate(lengths):
        one = drift.check(x[i, :length], baseline[i], sigma[i], below=below[i, :length])
        for rule in RULES:
            assert plain(row_of(many[rule], i)) == plain(one[rule]), (i, rule)


def reference(xs, baseline, sigma, p=drift.DEFAULTS):
    """EWMA and CUSUM written out point by point: {rule: (alarm, began, episodes, first)}."""
    if not (math.isfinite(baseline) and math.isfinite(sigma) and sigma > 0):
        return {EWMA: (False, -1, 0, -1), CUSUM: (False, -1, 0, -1)}
    z, s, t, machines = baseline, 0.0, 0, {EWMA: [False, -1, 0, -1], CUSUM: [False, -1, 0, -1]}
    for i, x in enumerate(xs):
        if math.isnan(x):
            continue
        t += 1
        z = p.lam * x + (1 - p.lam) * z
        s = min(max(0.0, s + (baseline - p.k * sigma) - x), (p.h + p.k) * sigma)
        sd = sigma * math.sqrt(p.lam / (2 - p.lam) * (1 - (1 - p.lam) ** (2 * t)))
        step(machines[EWMA], i, z < baseline - p.L * sd, z >= baseline - p.release * p.L * sd)
        step(machines[CUSUM], i, s > p.h * sigma, s <= p.release * p.h * sigma)
    return {rule: tuple(m) for rule, m in machines.items()}


def step(machine, i, out, back):
    alarm, began, episodes, first = machine
    if out and not alarm:
        began, episodes = i, episodes + 1
    if out and first < 0:
        first = i
    if alarm and back and not out:
        alarm, began = False, -1
    machine[:] = [alarm or out, began, episodes, first]


@pytest.mark.parametrize("seed", [4, 5])
def test_ewma_and_cusum_agree_with_a_point_by_point_reference(seed):
    x, lengths, baseline, sigma, _ = random_rows(seed, n=80)

    many = drift.check_many(x, lengths, baseline, sigma)

    alarms = 0
    for i, length in enumerate(lengths):
        expected = reference(x[i, :length], baseline[i], sigma[i])
        for rule in (EWMA, CUSUM):
            got = many[rule]
            actual = (got.alarm[i], got.began[i], got.episodes[i], got.first_alarm[i])
            assert actual == expected[rule], (i, rule)
            alarms += expected[rule][2]
    assert alarms > 10  # the rows exercise episodes, not only quiet series


def test_the_ewma_path_agrees_with_the_trace():
    x, lengths, baseline, sigma, _ = random_rows(6, n=10)
    trace = drift.trace_many(x, lengths, baseline, sigma)[EWMA]

    for i, length in enumerate(lengths):
        path = drift.ewma_path(x[i, :length], baseline[i], sigma[i])
        assert [z for z, _ in path] == pytest.approx(trace.statistic[i, :length], nan_ok=True)
        assert [lim for _, lim in path] == pytest.approx(trace.limit[i, :length], nan_ok=True)


def test_the_trace_ends_where_the_summary_does():
    x, lengths, baseline, sigma, below = random_rows(7)

    traces = drift.trace_many(x, lengths, baseline, sigma, below=below)
    signals = drift.check_many(x, lengths, baseline, sigma, below=below)

    for rule in (*RULES, drift.ANY):
        assert traces[rule].alarm[:, -1].tolist() == signals[rule].alarm.tolist()
        episodes = [crossings(row) for row in traces[rule].alarm]
        assert episodes == signals[rule].episodes.tolist()


# --- momentum -------------------------------------------------------------------------------


def test_rising_scores_are_building():
    label, slope = drift.momentum([BASE + SD * 0.3 * i for i in range(12)], SD)

    assert label == drift.BUILDING
    assert slope > 0.1 * SD


def test_falling_scores_are_slipping():
    label, slope = drift.momentum([BASE - SD * 0.3 * i for i in range(12)], SD)

    assert label == drift.SLIPPING
    assert slope < -0.1 * SD


def test_a_noiseless_ramp_gives_its_own_slope_once_the_ewma_has_caught_up():
    _, slope = drift.momentum([float(i) for i in range(60)], 1.0)

    assert slope == pytest.approx(1.0, rel=1e-4)


def test_flat_noisy_scores_are_mostly_steady():
    rng = np.random.default_rng(7)
    x = BASE + SD * rng.standard_normal((2000, 20))

    labels, _ = drift.momentum_many(x, np.full(2000, 20), SD)

    # Measured: 78 % steady, the rest split about evenly; six EWMA points of pure noise
    # still lean past 0.1 sigma per observation about one time in five.
    counts = Counter(labels)
    assert counts[drift.STEADY] > 0.7 * 2000
    assert 0.05 * 2000 < counts[drift.BUILDING] < 0.15 * 2000
    assert 0.05 * 2000 < counts[drift.SLIPPING] < 0.15 * 2000


def test_momentum_needs_one_more_score_than_its_window():
    label, slope = drift.momentum([BASE + i for i in range(8)], SD)

    assert label is None and math.isnan(slope)
    assert drift.momentum([BASE + i for i in range(9)], SD)[0] == drift.BUILDING


def test_momentum_counts_only_scores_present():
    xs = [BASE + i for i in range(6)] + [math.nan] * 3

    assert drift.momentum(xs, SD)[0] is None


def test_momentum_without_a_usable_sigma_has_a_slope_but_no_label():
    label, slope = drift.momentum([BASE + i for i in range(10)], math.nan)

    assert label is None
    assert slope > 0


def test_momentum_many_equals_momentum_row_by_row():
    x, lengths, _, sigma, _ = random_rows(8)

    labels, slopes = drift.momentum_many(x, lengths, sigma)

    for i, length in enumerate(lengths):
        label, slope = drift.momentum(x[i, :length], sigma[i])
        assert labels[i] == label
        assert slopes[i] == pytest.approx(slope, nan_ok=True)


# --- any rule: the series' own episode ------------------------------------------------------


def marks(trace):
    return "".join("#" if alarm else "." for alarm in trace.alarm[0])


def test_one_fall_that_several_rules_see_is_one_episode_of_the_series():
    xs = [BASE] * 10 + [BASE - 2 * SD] * 5 + [BASE - 0.3 * SD] * 9
    signals = drift.check(xs, BASE, SD)

    assert [signals[rule].alarm for rule in RULES] == [False, True, True, False]
    assert (signals[EWMA].first_alarm, signals[CUSUM].began, signals[RUN].began) == (13, 12, 17)
    anything = signals[drift.ANY]
    assert (anything.alarm, anything.began, anything.episodes) == (True, 12, 1)
    assert math.isnan(anything.statistic) and math.isnan(anything.limit)


def test_the_episode_keeps_its_start_when_a_later_rule_carries_it_on():
    xs = [BASE] * 10 + [BASE - 3 * SD] * 2 + [BASE - 0.1 * SD] * 14
    signals = drift.check(xs, BASE, SD)

    assert [signals[rule].alarm for rule in RULES] == [False, False, True, False]
    assert signals[RUN].began == 17
    assert (signals[drift.ANY].began, signals[drift.ANY].episodes) == (11, 1)


def test_the_episode_ends_only_once_every_rule_is_back():
    xs = [BASE] * 10 + [BASE - 2 * SD] * 5 + [BASE - 0.3 * SD] * 12 + [BASE] * 8
    traces = drift.trace_many([xs], [len(xs)], BASE, SD)

    assert marks(traces[EWMA]) == "." * 13 + "#" * 9 + "." * 13
    assert marks(traces[CUSUM]) == "." * 12 + "#" * 15 + "." * 8
    assert marks(traces[drift.ANY]) == marks(traces[CUSUM])
    either = np.logical_or.reduce([traces[rule].out for rule in RULES])
    assert (traces[drift.ANY].out == either).all()
    assert drift.check(xs, BASE, SD)[drift.ANY].alarm is False


def test_two_falls_apart_are_two_episodes_of_the_series():
    fall = [BASE - 2 * SD] * 5
    xs = [BASE] * 10 + fall + [BASE] * 15 + fall
    anything = drift.check(xs, BASE, SD)[drift.ANY]

    assert (anything.episodes, anything.alarm, anything.first_alarm) == (2, True, 12)
    assert anything.began == 32


# --- the shift rule, the items rule, and what the job's lifecycle reads ----------------------

# Small ups and downs around a level: a within-person σ of about 1.6 points.
WOBBLE = [0.0, 1.5, -1.0, 0.5, -1.5, 1.0, -0.5, 0.0]
PEERS, BETWEEN, POOLED = 88.0, 4.0, 1.6


def around(value, count):
    return [value + WOBBLE[n % len(WOBBLE)] for n in range(count)]


def padded(rows):
    """Rows of any lengths, left-aligned and NaN-padded, and their lengths."""
    width = max((len(row) for row in rows), default=0)
    x = np.full((len(rows), width), np.nan)
    for n, row in enumerate(rows):
        x[n, : len(row)] = row
    return x, [len(row) for row in rows]


def shifts(rows, level=PEERS, between=BETWEEN, sigma=POOLED, **kwargs):
    x, lengths = padded(rows)
    return drift.shift_many(x, lengths, level, between, sigma, **kwargs)


def test_a_clear_step_is_out_and_began_points_at_its_first_score():
    found = shifts([around(88, 12) + around(82, 6)])
    assert found.out[0].all()
    assert found.began[0] == 12
    assert found.level[0] == pytest.approx(88, abs=0.5)
    # What an alert shows is the scores' own mean since the fall, not the clipped one
    # the test weighs.
    assert found.recent[0] == pytest.approx(sum(around(82, 6)) / 6)
    assert found.after[0] == 6


def test_began_is_a_position_in_the_row_as_given_when_the_row_has_gaps():
    row = around(88, 12) + around(82, 6)
    gapped = [*row[:3], math.nan, *row[3:12], math.nan, *row[12:14], math.nan, *row[14:]]
    found = shifts([gapped])
    assert found.out[0, -1]
    assert found.began[0] == 14 and gapped[14] == row[12]
    assert found.after[0] == 6


def test_a_flat_series_is_not_out():
    found = shifts([around(88, 18), [88.0] * 18])
    assert not found.out.any()
    assert (found.statistic[0] < 1.0).all()


@pytest.mark.parametrize("where", [15, 9, 6])
def test_one_very_bad_day_alone_is_never_out(where):
    row = around(88, 18)
    row[where] = 40.0
    for length in range(where + 1, 19):
        found = shifts([row[:length]])
        assert not found.out.any(), length


def test_two_very_bad_days_in_a_row_are_a_fall():
    found = shifts([[*around(88, 15), 70.0, 70.0]])
    assert found.out[0, -1] and found.began[0] == 15


def test_scores_not_usable_do_not_set_the_usual_level():
    """The certification's evidence, chosen for being high, would make ordinary scores
    after it look like a fall."""
    row = [95.0, 95.0, 95.0, *around(86, 14)]
    usable = np.array([[False] * 3 + [True] * 14])
    marked = shifts([row], level=86.0, usable=usable)
    unmarked = shifts([row], level=86.0)
    assert not marked.out.any()
    assert (marked.statistic[0] < unmarked.statistic[0]).all()
    if marked.began[0] - drift.DEFAULTS.before_points < 3:
        assert marked.level[0] < unmarked.level[0]


def test_the_usual_level_leans_towards_the_peers_more_the_fewer_scores_it_rests_on():
    few = shifts([[*around(88, 6), 80.0, 80.0]], level=70.0, between=1.0)
    many = shifts([[*around(88, 12), 80.0, 80.0]], level=70.0, between=1.0)
    alone = shifts([[*around(88, 12), 80.0, 80.0]], level=math.nan, between=math.nan)
    assert few.began[0] == 6 and many.began[0] == 12 and alone.began[0] == 12
    assert alone.level[0] == pytest.approx(np.mean(around(88, 12)))
    assert 70 < few.level[0] < many.level[0] < alone.level[0]


def test_the_ends_columns_are_the_last_points_in_order():
    """A fall of two scores at the end: out at the last point only, as one low score is
    no fall; the columns before it are the points before it, oldest first. The first of
    them is a score 1.5 under 88, more than back_floor sigma under the usual level, so
    it is not back; the second is the first 80, within the limit but not back either."""
    found = shifts([[*around(88, 14), 80.0, 80.0]], ends=4)
    assert found.statistic.shape == found.out.shape == (1, 4)
    assert found.out[0].tolist() == [False, False, False, True]
    assert found.back[0].tolist() == [False, True, False, False]


def test_rows_of_different_lengths_are_judged_each_as_if_alone():
    rows = [around(88, 12) + around(82, 6), around(88, 9), around(86, 24), [*around(88, 7), 80.0]]
    together = shifts(rows)
    for n, row in enumerate(rows):
        alone = shifts([row])
        np.testing.assert_allclose(together.statistic[n], alone.statistic[0], equal_nan=True)
        assert together.began[n] == alone.began[0]
        assert (together.out[n] == alone.out[0]).all()


@pytest.mark.parametrize("length", [0, 1, 5, 6])
def test_a_row_too_short_gives_nan_and_is_not_out(length):
    found = shifts([around(80, length), around(88, 12) + around(82, 6)])
    assert np.isnan(found.statistic[0, -1]) and not found.out[0].any()
    assert found.began[0] == -1
    assert found.out[1, -1]


def test_a_fall_never_begins_in_the_first_baseline_scores():
    found = shifts([around(88, 2) + around(78, 10)])
    assert found.began[0] >= drift.DEFAULTS.baseline_n


# The items: six items around 80, each with its own noise, plus a good or bad day they share.
ITEMS, LENGTH = 6, 20


def item_scores(seed=7):
    rng = np.random.default_rng(seed)
    return 80 + rng.normal(0, 4, (1, LENGTH, ITEMS)) + rng.normal(0, 3, (1, LENGTH, 1))


def item_verdict(y, **kwargs):
    """The items rule on y, each item's spread measured on the steady scores."""
    spread = drift.item_spread(drift.item_gaps(item_scores()))
    return drift.item_many(drift.item_gaps(y), [y.shape[1]], spread, **kwargs)


def test_three_items_falling_together_are_out_and_named():
    y = item_scores()
    y[0, 12:, :3] -= 20
    found = item_verdict(y)
    assert found.out[0].all()
    assert sorted(found.items[0]) == [0, 1, 2]
    assert found.began[0] == 12


def test_steady_items_are_not_out():
    assert not item_verdict(item_scores()).out.any()


def test_the_same_fall_in_every_item_is_no_item_slip():
    """An overall fall is the shift rule's: the part every item shares is taken out."""
    y = item_scores()
    y[0, 12:, :] -= 20
    found = item_verdict(y)
    assert not found.out.any()
    np.testing.assert_allclose(found.statistic, item_verdict(item_scores()).statistic)


def test_item_gaps_take_out_the_observations_mean_and_leave_missing_items_missing():
    y = np.array([[[80.0, 90.0, np.nan], [np.nan, np.nan, np.nan]]])
    gaps = drift.item_gaps(y)
    assert gaps[0, 0, :2].tolist() == [-5.0, 5.0]
    assert np.isnan(gaps[0, 0, 2]) and np.isnan(gaps[0, 1]).all()


def test_offset_keeps_the_fall_out_of_the_first_baseline_observations():
    y = item_scores()[:, :8]
    y[0, 2:, :3] -= 25
    whole = item_verdict(y)
    latest_part = item_verdict(y, offset=drift.DEFAULTS.baseline_n)
    assert whole.began[0] >= drift.DEFAULTS.baseline_n
    assert latest_part.began[0] == 2
    assert latest_part.statistic[0, -1] > whole.statistic[0, -1]


def test_band_runs_count_the_scores_below_in_a_row_at_the_last_points():
    below = np.array(
        [
            [False, True, True, False, True, True, True],
            [True, True, False, False, False, False, False],
            [True, True, True, True, False, False, False],
        ]
    )
    count, out = drift.band_runs(below, [7, 7, 3], ends=3)
    assert count.tolist() == [3, 0, 3]
    assert out.tolist() == [[False, True, True], [False, False, False], [False, True, True]]


def test_band_runs_on_a_row_shorter_than_ends():
    count, out = drift.band_runs(np.array([[True, True]]), [2], ends=4)
    assert count.tolist() == [2] and out.tolist() == [[False, False, False, True]]


def test_calm_points_count_the_points_back_since_the_last_one_not():
    unsettled = np.array(
        [
            [False, False, False, False],
            [True, False, False, False],
            [False, True, False, False],
            [False, False, False, True],
            [True, True, True, True],
        ]
    )
    assert drift.calm_points(unsettled).tolist() == [4, 3, 2, 0, 0]


def test_peers_take_the_median_and_the_variance_left_after_each_persons_noise():
    level, between = drift.peers([80, 84, 90, 70, math.nan], sigma=2.0, first_n=5)
    assert level == 82
    assert between == pytest.approx(np.var([80, 84, 90, 70], ddof=1) - 4 / 5)


def test_peers_never_take_a_baseline_as_known_exactly():
    level, between = drift.peers([80, 80.1, 79.9], sigma=3.0, first_n=5)
    assert level == 80 and between == pytest.approx(0.1 * 9)


@pytest.mark.parametrize("means", [[], [80], [80, math.nan]])
def test_peers_need_two_people(means):
    assert all(math.isnan(v) for v in drift.peers(means, sigma=2.0, first_n=5))


def test_peers_need_a_usable_sigma():
    assert all(math.isnan(v) for v in drift.peers([80, 85], sigma=0.0, first_n=5))


def test_the_student_limit_is_higher_the_fewer_degrees_of_freedom():
    limits = drift._student(2.2, np.array([2, 5, 10, 30, 100]))
    assert (np.diff(limits) < 0).all()
    assert (limits > 2.2).all()
    assert limits[0] > 3.0


def test_the_student_limit_tends_to_the_normal_one():
    assert drift._student(2.2, 1e6) == pytest.approx(2.2, abs=1e-5)
    assert drift._student(2.2, 100) == pytest.approx(2.2, abs=0.05)


def test_each_earlier_point_is_judged_as_on_the_night_it_was_the_latest():
    """The last points' verdicts are not redrawn by later scores: the point that raised an
    alert one night is still out the next, so the alert cannot close on hindsight."""
    row = list(88 + np.random.default_rng(7).normal(0, 2.0, 24))
    row[14:] = [score - 4.0 for score in row[14:]]
    for last in range(12, 24):
        together = shifts([row[: last + 1]], ends=4)
        for column, point in enumerate(range(last - 3, last + 1)):
            alone = shifts([row[: point + 1]], ends=1)
            np.testing.assert_allclose(
                together.statistic[0, column], alone.statistic[0, -1], equal_nan=True
            )
            assert together.out[0, column] == alone.out[0, -1]
            assert together.back[0, column] == alone.back[0, -1]


def test_a_score_a_sigma_under_the_usual_level_is_never_back():
    """Recovered on average (the last six back at 88 or over) but the latest score low: the
    fall is not back there, so its alert does not close on the night a new fall starts."""
    row = [*around(88, 14), 80.0, 80.0, 80.0, *around(89, 6), 84.0]
    found = shifts([row], ends=2)
    assert found.back[0].tolist() == [True, False]
    unfloored = shifts([row], ends=2, params=replace(drift.DEFAULTS, back_floor=math.inf))
    assert unfloored.back[0].tolist() == [True, True]


def test_a_score_half_a_sigma_under_the_usual_level_is_not_back():
    """A false alarm's fall is over (the scores are back at 88 and over), then the first
    score of a new step, about 0.6 sigma under the usual level: it is not back, so the
    false alarm does not close on the night the step starts, to be raised again as the
    step shows (a flap). Under the earlier floor of one sigma it was back."""
    row = [*around(88, 14), 80.0, 80.0, 80.0, *around(89, 6), 87.0]
    found = shifts([row], ends=2)
    assert found.back[0].tolist() == [True, False] and not found.out[0].any()
    assert (found.level[0] - row[-1]) / found.sigma[0] < 1.0
    one_sigma = shifts([row], ends=2, params=replace(drift.DEFAULTS, back_floor=1.0))
    assert one_sigma.back[0].tolist() == [True, True]


def test_scores_at_the_usual_level_by_chance_do_not_end_a_fall_that_still_stands():
    """A step from 88 to 85 held for 12 scores, then 8 scores of 89: the latest six average
    the usual level, so the fall is not out, but over all its scores it is still beyond
    the limit, so it is not back either and its alert stays open. Two low scores later
    the same fall (begun at 14) is out again, on the alert still open. When being at the
    usual level alone was back, the alert closed after three of the 89s and the two low
    scores raised it again: a flap on a fall that never ended."""
    row = [*around(88, 14), *around(85, 12), *[89.0] * 8]
    found = shifts([row], ends=4)
    assert not found.out[0].any() and not found.back[0].any()
    assert (found.statistic[0] > found.limit[0]).all()
    later = shifts([[*row, 84.0, 84.0]], ends=3)
    assert later.out[0].tolist() == [False, False, True] and later.began[0] == 14
    assert not later.back[0].any()


def test_an_observation_whose_own_items_fell_is_not_back():
    """Three items fall 10 points at the last observation only: no slip over two
    observations yet, and the statistic is well inside its limit, but that observation's
    own items sum beyond items_floor, so it is not back: an alert does not close on the
    night a few items start to slip."""
    y = item_scores()
    y[0, -1, :3] -= 10
    found = item_verdict(y)
    assert not found.out.any()
    assert found.statistic[0, -1] < drift.DEFAULTS.items_limit - drift.DEFAULTS.back_margin
    assert found.back[0].tolist() == [True, True, True, False]
    unfloored = item_verdict(y, params=replace(drift.DEFAULTS, items_floor=math.inf))
    assert unfloored.back[0].all()
    assert item_verdict(item_scores()).back.all()


def test_beside_the_items_rule_the_shift_limit_is_raised_by_its_share():
    rows = [around(88, 12) + around(85, 6)] * 2
    alone = shifts(rows)
    shared = shifts(rows, with_items=np.array([False, True]))
    assert shared.limit[0] == alone.limit[0]
    assert shared.limit[1] == pytest.approx(alone.limit[1] + drift.DEFAULTS.items_share, abs=0.02)
    assert shared.limit[1] > alone.limit[1]

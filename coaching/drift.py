"""Drift: control charts over each practitioner's time-ordered scores, and their momentum.

Pure numpy, no database. Scores since certification are compared with the practitioner's
baseline (their level in the observations that earned the certification) by four rules:

- EWMA: z_t = λ·x_t + (1-λ)·z_{t-1}, z_0 = baseline, t = 1..n; out of control when
  z_t < baseline - L·sd_t, where sd_t = sigma·√(λ/(2-λ)·(1-(1-λ)^{2t})).
- Lower CUSUM: S_0 = 0, S_t = max(0, S_{t-1} + (baseline - k·sigma) - x_t);
  out of control when S_t > h·sigma.
- Run rule: out when the last `run_length` scores are all strictly below the baseline.
- Band rule: out when the two latest observations are both below the adequate band.

Each rule is a two-state machine per series. An episode begins at the first out-of-control
point and ends only where the statistic is well back (EWMA: z_t ≥ baseline - release·L·sd_t;
CUSUM: S_t ≤ release·h·sigma; run: a score at or above the baseline; band: an observation not
below adequate), so a series hovering at a limit makes one episode, not one per crossing.
The series' own episode (ANY) lasts while any rule is in one: one fall that several rules see
is one episode, which is what a practitioner's alert follows.

sigma is robust: the median moving range / 0.9539, since the median of |N(0, 2·sigma^2)| is
0.9539·sigma, so one bad day barely moves it. A series too short for its own sigma uses the
sigma pooled over its cohort.

Momentum is the least-squares slope of the last few values of an EWMA started at the series'
first score: building above momentum_slope·sigma per observation, slipping below minus that,
else steady.

The batch functions take a 2-D array, one series per row, left-aligned and NaN-padded after its
length, and loop only over the time index, so tens of thousands of series are checked at once.
A NaN inside a row is a missing score: the charts skip it (their state and their t stay as they
were) but the band rule still counts the observation through `below`. The single-series
functions are thin wrappers over the batch ones, so there is one implementation.
"""

import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

EWMA, CUSUM, RUN, BAND = "ewma", "cusum", "run", "band"
RULES = (EWMA, CUSUM, RUN, BAND)
# The practitioner's rules: a fall from the usual level (see shift_many), and a slip in a few
# items beyond the rest (see item_many).
SHIFT, ITEMS = "shift", "items"
# Any rule at all: the series' episode, while at least one rule is in one.
ANY = "any"
BUILDING, STEADY, SLIPPING = "building", "steady", "slipping"

# The median of |N(0, 2·sigma^2)|, which a moving range of independent scores follows.
MEDIAN_MOVING_RANGE = 0.9539
# The band rule looks at the two latest observations.
BAND_POINTS = 2


@dataclass(frozen=True)
class Params:
    lam: float = 0.2  # EWMA weight λ
    L: float = 3.0  # EWMA limit, in standard deviations of the EWMA statistic
    k: float = 0.5  # CUSUM allowance, in sigma
    h: float = 4.0  # CUSUM decision interval, in sigma
    run_length: int = 8  # run rule: this many in a row below baseline
    baseline_n: int = 5  # baseline = first N observations when there is no certification
    min_own_points: int = 10  # points a series needs for its own sigma, else pooled
    momentum_window: int = 8  # points of the EWMA the momentum slope is fitted on
    momentum_slope: float = 0.1  # |slope| in sigma per observation beyond which momentum moves
    release: float = 0.5  # an episode ends only once back within release times its limit
    close_after: int = 3  # an alert closes once this many observations in a row are in control
    shift_limit: float = 2.17  # the fall, in standard errors, beyond which a shift is out
    shift_clip: float = 3.0  # no single score counts lower than this many sigma under the level
    before_points: int = 24  # the usual level: at most this many scores before the fall
    sigma_weight: int = 8  # the pooled sigma counts as this many moving ranges of one's own
    items_limit: float = 5.0  # the items' fall (see item_many) beyond which it is out
    items_top: int = 3  # the items rule sums the falls of this many items that fell most
    back_margin: float = 1.1  # shift and items: back once this many standard errors inside
    recovered_points: int = 6  # the latest scores at the usual level that end a fall within limit
    back_floor: float = 0.5  # shift: no point is back with a score this many sigma under
    items_share: float = 0.09  # the shift limit is this much higher where items are judged too
    items_floor: float = 3.0  # items: no point is back whose own items fell this far


DEFAULTS = Params()


# eq=False: comparing dataclasses of arrays field by field has no single truth value.
@dataclass(frozen=True, eq=False)
class Signals:
    """One rule over many series: arrays of shape (n,), values at each series' last point."""

    alarm: np.ndarray  # in an episode at the last point
    began: np.ndarray  # index where the current episode began; -1 when not in one
    statistic: np.ndarray  # EWMA z; CUSUM S (score units); run length below; points below band
    limit: np.ndarray  # EWMA lower limit (a score); h·sigma; run_length; 2
    episodes: np.ndarray  # episodes begun over the whole series
    first_alarm: np.ndarray  # index of the first out-of-control point ever; -1 if none


@dataclass(frozen=True)
class Signal:
    """One rule over one series, as plain Python values (see Signals)."""

    alarm: bool
    began: int
    statistic: float
    limit: float
    episodes: int
    first_alarm: int


@dataclass(frozen=True, eq=False)
class Trace:
    """One rule over many series, point by point: arrays of shape (n, T)."""

    statistic: np.ndarray
    limit: np.ndarray
    out: np.ndarray  # out of control at this (counted) point
    alarm: np.ndarray  # in an episode after this point


# --- sigma and baseline ---------------------------------------------------------------------


def moving_ranges(values):
    """|x_t - x_{t-1}| between consecutive scores; a missing score is passed over."""
    return np.abs(np.diff(_present(values)))


def robust_sigma(values):
    """sigma from the median moving range; nan when there is no moving range."""
    return _sigma_from(moving_ranges(values))


def pooled_sigma(series):
    """sigma from the median of every moving range of every series; nan when there is none."""
    ranges = [moving_ranges(values) for values in series]
    return _sigma_from(np.concatenate(ranges) if ranges else np.empty(0))


def choose_sigma(own_values, pooled, params=DEFAULTS):
    """The series' own sigma if it has enough points and a spread, else the pooled one, or nan."""
    enough = _present(own_values).size >= params.min_own_points
    own = robust_sigma(own_values) if enough else math.nan
    return next((float(s) for s in (own, pooled) if _usable(s)), math.nan)


def peers(first_means, sigma, first_n):
    """(level, between-person variance) of a cohort on a rubric, from each person's mean of
    their first `first_n` scores: the median of those means, and their variance less the
    part each person's own noise explains (sigma²/first_n), never below a tenth of sigma²
    so that no baseline is taken as known exactly. (nan, nan) with fewer than two."""
    means = np.asarray(first_means, dtype=float)
    means = means[np.isfinite(means)]
    if len(means) < 2 or not _usable(sigma):
        return math.nan, math.nan
    between = max(float(np.var(means, ddof=1)) - sigma**2 / first_n, 0.1 * sigma**2)
    return float(np.median(means)), between


def baseline_level(values):
    """The mean of the scores present; nan when there are none."""
    present = _present(values)
    return float(present.mean()) if present.size else math.nan


def _sigma_from(ranges):
    return float(np.median(ranges)) / MEDIAN_MOVING_RANGE if ranges.size else math.nan


def _present(values):
    scores = np.asarray(values, dtype=float).ravel()
    return scores[~np.isnan(scores)]


def _usable(sigma):
    return sigma is not None and math.isfinite(sigma) and sigma > 0


def _usable_many(baseline, sigma):
    """Rows whose baseline is finite and whose sigma is finite and positive."""
    return np.isfinite(baseline) & _usable_sigmas(sigma)


def _usable_sigmas(sigma):
    return np.isfinite(sigma) & (sigma > 0)


# --- batch ----------------------------------------------------------------------------------


def check_many(x, lengths, baseline, sigma, params=DEFAULTS, below=None):
    """Every rule, and ANY, over every row: rule → Signals at each row's last point.

    x is (n, T), each row left-aligned and NaN-padded after lengths[i]; baseline and sigma are
    per row (or one for all). EWMA and CUSUM stay silent on a row without a finite baseline and
    a positive sigma, the run rule on one without a baseline; `below` (bool, like x) feeds the
    band rule, which is silent without it. ANY has no statistic or limit (nan).
    """
    return check_recent(x, lengths, baseline, sigma, params, below)[0]


def check_recent(x, lengths, baseline, sigma, params=DEFAULTS, below=None, ends=1):
    """check_many's Signals, and ANY's episode state (in an episode or not) at each row's
    last `ends` points, (n, ends) with the last in column -1: from one pass of the rules."""
    rows = _rows(x, lengths, baseline, sigma, below)
    machines = {rule: _Machine(rows.n) for rule in (*RULES, ANY)}
    states, last = [], None
    for steps, _ in _advance(machines, rows, params):
        states.append(machines[ANY].alarm)
        last = steps  # only the last index's steps are kept (their statistics)
    signals = {rule: _summary(machine, last[rule], rows.n) for rule, machine in machines.items()}
    episode = np.stack(states, axis=1)[:, : rows.width]
    return signals, last_points(episode, rows.valid.sum(axis=1), ends, fill=False)


def trace_many(x, lengths, baseline, sigma, params=DEFAULTS, below=None):
    """Every rule, and ANY, over every row, point by point: rule → Trace (for charts and
    trials). ANY is out where any rule is, in an episode while any rule is."""
    rows = _rows(x, lengths, baseline, sigma, below)
    machines = {rule: _Machine(rows.n) for rule in (*RULES, ANY)}
    columns = {rule: [] for rule in machines}
    for steps, outs in _advance(machines, rows, params):
        for rule, step in steps.items():
            columns[rule].append(_column(step, outs[rule], machines[rule].alarm, rows.n))
    return {rule: _stacked(found, rows) for rule, found in columns.items()}


def momentum_many(x, lengths, sigma, params=DEFAULTS):
    """(labels, slopes): building / steady / slipping or None per row, and the slope.

    The slope is in score units per observation, nan when the row has too few scores; the
    label is None then, and when sigma is not usable.
    """
    rows = _rows(x, lengths, np.nan, sigma, None)
    slopes = _recent_slopes(rows.x, params)
    steep = params.momentum_slope * rows.sigma
    labels = np.where(slopes > steep, BUILDING, np.where(slopes < -steep, SLIPPING, STEADY))
    labels = labels.astype(object)
    labels[np.isnan(slopes) | ~_usable_sigmas(rows.sigma)] = None
    return labels, slopes


class _Rows(NamedTuple):
    x: np.ndarray  # (n, T ≥ 1) scores; NaN where missing or past the row's length
    valid: np.ndarray  # (n, T) within the row's length
    below: np.ndarray  # (n, T) below the adequate band, within the row's length
    baseline: np.ndarray  # (n,)
    sigma: np.ndarray  # (n,)
    width: int  # T as given, before an empty array got its one padding column

    @property
    def n(self):
        return len(self.x)


def _rows(x, lengths, baseline, sigma, below):
    """Normalize the batch input; one padding column when T = 0, so every rule takes a step."""
    x = np.asarray(x, dtype=float)
    n, width = x.shape
    below = np.zeros(x.shape, dtype=bool) if below is None else np.asarray(below, dtype=bool)
    x, below = _pad(x, np.nan), _pad(below, False)
    valid = np.arange(x.shape[1]) < np.minimum(np.asarray(lengths), width).reshape(n, 1)
    return _Rows(
        x=np.where(valid, x, np.nan),
        valid=valid,
        below=below & valid,
        baseline=np.broadcast_to(np.asarray(baseline, dtype=float), (n,)),
        sigma=np.broadcast_to(np.asarray(sigma, dtype=float), (n,)),
        width=width,
    )


def _pad(a, fill):
    return np.pad(a, ((0, 0), (0, max(0, 1 - a.shape[1]))), constant_values=fill)


class _Step(NamedTuple):
    """One rule's state after one time index, across all rows."""

    counted: np.ndarray  # the point took part; elsewhere the machine stands still
    statistic: np.ndarray
    limit: np.ndarray | float
    out: np.ndarray  # out of control
    back: np.ndarray  # back far enough to end an episode


def _smoothed(x, counted, z0, lam):
    """The EWMA after each time index; points not counted leave it where it was."""
    z = np.array(z0, dtype=float)
    for column, now in zip(x.T, counted.T, strict=True):
        z = np.where(now, lam * column + (1 - lam) * z, z)
        yield z


def _ewma_steps(rows, p):
    usable = _usable_many(rows.baseline, rows.sigma)
    counted = ~np.isnan(rows.x) & usable[:, None]
    t = np.zeros(rows.n)
    for z, now in zip(_smoothed(rows.x, counted, rows.baseline, p.lam), counted.T, strict=True):
        t = t + now  # t counts the scores seen, so a missing score does not widen the limit
        sd = rows.sigma * np.sqrt(p.lam / (2 - p.lam) * (1 - (1 - p.lam) ** (2 * t)))
        limit = rows.baseline - p.L * sd
        back = z >= rows.baseline - p.release * p.L * sd
        yield _Step(now, _shown(z, usable), _shown(limit, usable), z < limit, back)


def _cusum_steps(rows, p):
    usable = _usable_many(rows.baseline, rows.sigma)
    counted = ~np.isnan(rows.x) & usable[:, None]
    target, h = rows.baseline - p.k * rows.sigma, p.h * rows.sigma
    # Capped one allowance above the limit: past the alarm, a bigger sum says nothing
    # new, and uncapped it would take dozens of on-baseline points to come back down.
    cap = h + p.k * rows.sigma
    s = np.zeros(rows.n)
    for column, now in zip(rows.x.T, counted.T, strict=True):
        s = np.where(now, np.clip(s + target - column, 0.0, cap), s)
        yield _Step(now, _shown(s, usable), _shown(h, usable), s > h, s <= p.release * h)


def _run_steps(rows, p):
    counted = ~np.isnan(rows.x) & ~np.isnan(rows.baseline)[:, None]
    run = np.zeros(rows.n)
    for column, now in zip(rows.x.T, counted.T, strict=True):
        low = column < rows.baseline
        run = np.where(now, np.where(low, run + 1, 0), run)
        yield _Step(now, run, p.run_length, run >= p.run_length, ~low)


def _band_steps(rows, p):
    count = np.zeros(rows.n)
    for low, now in zip(rows.below.T, rows.valid.T, strict=True):
        count = np.where(now, np.where(low, count + 1, 0), count)
        yield _Step(now, count, BAND_POINTS, count >= BAND_POINTS, ~low)


_STEPS = {EWMA: _ewma_steps, CUSUM: _cusum_steps, RUN: _run_steps, BAND: _band_steps}


def _shown(values, usable):
    """A chart's number only where the chart can run."""
    return np.where(usable, values, np.nan)


def _advance(machines, rows, params):
    """Step every rule's machine, then ANY's, through each time index; yields the steps and
    the points out of control ({rule: array}) after each. ANY's episode lasts while any
    rule's does, and its points out are any rule's."""
    for t, taken in enumerate(zip(*(_STEPS[rule](rows, params) for rule in RULES), strict=True)):
        steps = dict(zip(RULES, taken, strict=True))
        outs = {rule: machines[rule].advance(t, step) for rule, step in steps.items()}
        either = np.logical_or.reduce([machines[rule].alarm for rule in RULES])
        steps[ANY] = _Step(np.ones(rows.n, dtype=bool), np.nan, np.nan, either, ~either)
        machines[ANY].advance(t, steps[ANY])
        outs[ANY] = np.logical_or.reduce(list(outs.values()))
        yield steps, outs


class _Machine:
    """Per row: in or out of an episode, when the current one began, how many there were."""

    def __init__(self, n):
        self.alarm = np.zeros(n, dtype=bool)
        self.began = np.full(n, -1)
        self.episodes = np.zeros(n, dtype=int)
        self.first_alarm = np.full(n, -1)

    def advance(self, t, step):
        out = step.counted & step.out
        start = out & ~self.alarm
        self.episodes = self.episodes + start
        self.first_alarm = np.where(out & (self.first_alarm < 0), t, self.first_alarm)
        # Out of control keeps an episode going; only a counted point well back ends it.
        self.alarm = out | (self.alarm & ~(step.counted & step.back))
        self.began = np.where(self.alarm, np.where(start, t, self.began), -1)
        return out


def _summary(machine, step, n):
    return Signals(
        alarm=machine.alarm,
        began=machine.began,
        statistic=_full(step.statistic, n),
        limit=_full(step.limit, n),
        episodes=machine.episodes,
        first_alarm=machine.first_alarm,
    )


def _column(step, out, alarm, n):
    return (_full(step.statistic, n), _full(step.limit, n), out, alarm)


def _stacked(columns, rows):
    return Trace(*(np.stack(c, axis=1)[:, : rows.width] for c in zip(*columns, strict=True)))


def _full(value, n):
    return np.array(np.broadcast_to(np.asarray(value, dtype=float), (n,)))


def _recent_slopes(x, p):
    """Least-squares slope per observation of the EWMA's last `momentum_window` values."""
    counted = ~np.isnan(x)
    z = np.stack(list(_smoothed(x, counted, _first_scores(x), p.lam)), axis=1)
    recent = _last_counted(z, counted, p.momentum_window)
    steps = np.arange(p.momentum_window) - (p.momentum_window - 1) / 2
    slopes = recent @ steps / (steps @ steps)
    # The EWMA starts at the first score, so the first point adds nothing: it needs one more.
    return np.where(counted.sum(axis=1) > p.momentum_window, slopes, np.nan)


def _first_scores(x):
    return x[np.arange(len(x)), np.argmax(~np.isnan(x), axis=1)]


def _last_counted(values, counted, window):
    """Each row's values at its last `window` counted points, left-padded with NaN."""
    rank = np.cumsum(counted, axis=1)
    start = rank[:, -1:] - window
    rows, cols = np.nonzero(counted & (rank > start))
    recent = np.full((len(values), window), np.nan)
    recent[rows, rank[rows, cols] - start[rows, 0] - 1] = values[rows, cols]
    return recent


# --- the shift rule ---------------------------------------------------------------------------

# The longest stretch since a fall that the shift rule weighs (two years of monthly visits),
# and the items rule (a year: it looks for a slip starting, which later becomes the level).
MAX_AFTER, ITEMS_AFTER = 24, 12


@dataclass(frozen=True, eq=False)
class Shifts:
    """The shift rule over many series, at each row's last `ends` points (column -1 is the
    last point, -2 the one before, ...), and what the last point's verdict rests on."""

    statistic: np.ndarray  # (n, ends) the largest standardized fall ending there; nan: none
    out: np.ndarray  # (n, ends) statistic beyond the limit
    back: np.ndarray  # (n, ends) back_margin inside the limit (or not judged)
    began: np.ndarray  # (n,) position in the row where the last point's fall begins; -1
    level: np.ndarray  # (n,) the usual level before that fall
    recent: np.ndarray  # (n,) the mean of the scores since it began, as they are
    after: np.ndarray  # (n,) how many scores that is
    sigma: np.ndarray  # (n,) the person's sigma, their own spread weighed with the pooled one
    limit: np.ndarray  # (n,) the limit held to: shift_limit raised for a sigma from few scores


def shift_many(
    x, lengths, level, between, sigma, params=DEFAULTS, usable=None, ends=None, with_items=False
):
    """A fall from the usual level: at each of the last `ends` points of each row, the
    largest standardized gap between the scores since some earlier point c and the level
    before c (a change-point test; c is the fall's start).

    - The usual level before c is the mean of at most `before_points` scores before it,
      shrunk towards `level` (the peers' level on the rubric) by the between-person
      variance `between`: more so the fewer scores it rests on. Scores where `usable` is
      False (the certification's evidence, chosen for being high) do not count in it.
    - Each person's sigma is their own spread (half the mean squared successive
      difference) weighed with the pooled `sigma` as `sigma_weight` differences of theirs.
    - Since c, no score counts lower than `shift_clip` sigma under the level, and the
      lowest counts only as low as the next lowest: one very bad day is never a fall on
      its own. A fall needs two scores at least, and c is never among the first
      `baseline_n` scores.
    - The limit is shift_limit, raised for a sigma known from few differences (see
      _student), and by items_share on the rows `with_items` (True for all, or per row),
      whose items the items rule judges too: the two rules share one false-alarm budget.
    Missing scores (NaN) are passed over.
    """
    x = np.asarray(x, dtype=float)
    n, width = x.shape
    ends = params.close_after + 1 if ends is None else ends
    usable = np.ones(x.shape, dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    raised = np.where(
        np.broadcast_to(np.asarray(with_items, dtype=bool), (n,)), params.items_share, 0.0
    )
    valid = ~np.isnan(x) & (np.arange(width) < np.asarray(lengths).reshape(n, 1))
    order = np.argsort(~valid, axis=1, kind="stable")  # each row's scores first, in order
    xc = np.take_along_axis(np.where(valid, x, 0.0), order, axis=1)
    counted = np.take_along_axis(valid & usable, order, axis=1)
    m = valid.sum(axis=1)
    pooled = np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
    prior = np.broadcast_to(np.asarray(level, dtype=float), (n,))
    spread = np.broadcast_to(np.asarray(between, dtype=float), (n,))
    shrink = np.isfinite(prior) & np.isfinite(spread) & (spread > 0)
    # Prefix sums of the scores that may set the level, for any window in one subtraction.
    kept = np.pad(np.cumsum(np.where(counted, xc, 0.0), axis=1), ((0, 0), (1, 0)))
    many = np.pad(np.cumsum(counted, axis=1), ((0, 0), (1, 0)))
    rows = np.arange(n)
    statistic, levels, limits, sigmas = (np.full((n, ends), np.nan) for _ in range(4))
    began = np.full(n, -1)
    recent, after = np.full(n, np.nan), np.zeros(n, dtype=int)
    for back in range(ends):
        end = m - 1 - back
        # Each point is judged on the scores up to it, as on the night it was the latest:
        # its sigma, limit and level are not redrawn by later scores, so a point that
        # raised an alert is not found back the next night on hindsight.
        own, freedom = _weighed_sigma(xc, end + 1, pooled, params)
        limits[:, ends - 1 - back] = _student(params.shift_limit + raised, freedom)
        sigmas[:, ends - 1 - back] = own
        judged = np.isfinite(own) & (own > 0)
        best = np.full(n, -np.inf)
        usual_best = np.full(n, np.nan)
        for size in range(2, min(MAX_AFTER, width) + 1):
            start = end - size + 1
            # Only the rows long enough for this stretch: short series drop out early.
            live = np.flatnonzero((start >= params.baseline_n) & judged)
            if not live.size:
                break
            first = start[live]
            low = np.maximum(first - params.before_points, 0)
            nb = many[live, first] - many[live, low]
            sb = kept[live, first] - kept[live, low]
            spread_own = own[live]
            variance = spread_own**2
            shrunk = shrink[live]
            with np.errstate(divide="ignore", invalid="ignore"):
                precision = np.where(shrunk, 1 / spread[live], 0.0) + nb / variance
                usual = (np.where(shrunk, prior[live] / spread[live], 0.0) + sb / variance) / (
                    precision
                )
                window = xc[live[:, None], first[:, None] + np.arange(size)]
                clip = -params.shift_clip * spread_own[:, None]
                gaps = np.maximum(window - usual[:, None], clip)
                two = np.partition(gaps, 1, axis=1)
                total = gaps.sum(axis=1) - two[:, 0] + two[:, 1]
                fall = -(total / size) / np.sqrt(1 / precision + variance / size)
            better = (precision > 0) & (fall > best[live])
            best[live] = np.where(better, fall, best[live])
            usual_best[live] = np.where(better, usual, usual_best[live])
            if back == 0:
                began[live] = np.where(better, first, began[live])
                recent[live] = np.where(better, window.mean(axis=1), recent[live])
                after[live] = np.where(better, size, after[live])
        statistic[:, ends - 1 - back] = np.where(np.isfinite(best), best, np.nan)
        levels[:, ends - 1 - back] = usual_best
    found = began >= 0
    began = np.where(found, order[rows, np.maximum(began, 0)], -1)
    # Within back_margin of the limit, a point is neither out nor back: an
    # alert neither opens nor moves towards closing, so a series near the limit does not flap.
    # A fall is current only while the latest scores are still low as a whole: once the
    # last recovered_points average the usual level again, it is not out, however low the
    # scores since its start were. But it is back only once its statistic is within the
    # limit too: scores at the usual level by chance while the fall as a whole still
    # stands would close its alert, and the next low score would raise it again on the
    # same fall. And a point whose own score is back_floor sigma under the usual level is
    # never back: an alert does not close on the night a new fall starts.
    recovered = _recovered(xc, m, ends, levels, sigmas, params)
    out = _beyond(statistic, limits) & ~recovered
    with np.errstate(invalid="ignore"):
        low = _at_ends(xc, m, ends) < levels - params.back_floor * sigmas
    inside = ~_beyond(statistic, limits)
    well_inside = ~_beyond(statistic, limits - params.back_margin)
    back = ((recovered & inside) | well_inside) & ~low
    return Shifts(
        statistic, out, back, began, levels[:, -1], recent, after, sigmas[:, -1], limits[:, -1]
    )


@dataclass(frozen=True, eq=False)
class ItemFalls:
    """The items rule over many series, at each row's last `ends` points, and the items
    behind the last point's verdict."""

    statistic: np.ndarray  # (n, ends); nan where it cannot be judged
    out: np.ndarray  # (n, ends)
    back: np.ndarray  # (n, ends)
    began: np.ndarray  # (n,) position where the last point's fall begins; -1
    items: np.ndarray  # (n, items_top) the items that fell most then, by column; -1


def item_gaps(y):
    """Each item's score less the mean of the observation's items: what is left of an item
    once the good or bad day every item shares is taken out. y is (n, T, items)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an observation without items
        return y - np.nanmean(y, axis=2, keepdims=True)


def item_spread(gaps):
    """Per item, the spread of its gap (see item_gaps) within a person, from successive
    differences pooled over every series; nan for an item never seen twice in a row."""
    return spread_from_sums(*item_spread_sums(gaps))


def item_spread_sums(gaps):
    """Per item, (sum of squared successive differences, how many): what item_spread
    pools, which adds up across groups of series (the night's organizations)."""
    steps = np.diff(gaps, axis=1)
    present = ~np.isnan(steps)
    squares = np.where(present, steps, 0.0) ** 2
    return squares.sum(axis=(0, 1)), present.sum(axis=(0, 1))


def spread_from_sums(squares, count):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(squares / count / 2)


def item_many(gaps, lengths, spread, params=DEFAULTS, usable=None, ends=None, offset=0):
    """A slip concentrated in a few items: at each of the last `ends` points of each row,
    over every earlier start c, each item's gap (see item_gaps) since c against its mean
    in at most `before_points` observations before c, in standard errors (`spread` per
    item); the statistic is the sum of the `items_top` largest falls over √items_top.

    Taking the shared part out first matters: items of one observation move together (a
    good or bad day), so an overall fall would otherwise look like every item falling.
    Rows are (n, T, items), left-aligned with each row's observations in order (NaN for an
    item not scored); `usable` (n, T) False leaves an observation out of the level before
    (the certification's evidence). c is never among the first `baseline_n`
    observations (counted from `offset` per row, for rows that are a series' latest part),
    and both sides need two scores of an item for it to count.

    A point is back when its statistic is back_margin inside the limit and the point's own
    items, against their level before it, do not sum beyond `items_floor` in the same way
    (see _latest_items): an alert does not close on the night a few items start to slip.
    """
    gaps = np.asarray(gaps, dtype=float)
    n, width, count = gaps.shape
    ends = params.close_after + 1 if ends is None else ends
    top = min(params.items_top, count)
    lengths = np.asarray(lengths)
    inside = np.arange(width)[None, :] < lengths[:, None]
    usable = inside if usable is None else inside & np.asarray(usable, dtype=bool)
    seen = ~np.isnan(gaps) & inside[:, :, None]
    level_seen = seen & usable[:, :, None]
    values = np.where(seen, gaps, 0.0).astype(np.float32)
    pad = ((0, 0), (1, 0), (0, 0))
    total = np.pad(np.cumsum(values, axis=1), pad)
    number = np.pad(np.cumsum(seen, axis=1), pad)
    level_total = np.pad(np.cumsum(np.where(level_seen, values, 0.0), axis=1), pad)
    level_number = np.pad(np.cumsum(level_seen, axis=1), pad)
    spread = np.asarray(spread, dtype=float)
    offset = np.broadcast_to(np.asarray(offset), (n,))
    statistic = np.full((n, ends), np.nan)
    latest = np.full((n, ends), np.nan)
    began = np.full(n, -1)
    fallen = np.full((n, top), -1)
    sums = (total, number, level_total, level_number)
    for back in range(ends):
        end = lengths - back  # one past the last point judged
        best = np.full(n, -np.inf)
        for size in range(2, min(ITEMS_AFTER, width) + 1):
            start = end - size
            # Only the rows long enough for this stretch: short series drop out early.
            live = np.flatnonzero((start >= 0) & (start + offset >= params.baseline_n))
            if not live.size:
                break
            first = start[live]
            falls = _falls(sums, live, first, end[live], spread, params, least_after=2)
            # The `top` largest, in no order: a partial sort is a fraction of a full one.
            order = np.argpartition(falls, count - top, axis=1)[:, count - top :]
            largest = np.take_along_axis(falls, order, axis=1)
            judged = np.isfinite(largest).all(axis=1)
            value = np.where(judged, largest.sum(axis=1) / math.sqrt(top), -np.inf)
            better = value > best[live]
            best[live] = np.where(better, value, best[live])
            if back == 0:
                began[live] = np.where(better, first, began[live])
                fallen[live] = np.where(better[:, None], order, fallen[live])
        statistic[:, ends - 1 - back] = np.where(np.isfinite(best), best, np.nan)
        latest[:, ends - 1 - back] = _latest_items(sums, end, spread, top, params)
    out = _beyond(statistic, params.items_limit)
    back = ~_beyond(statistic, params.items_limit - params.back_margin) & ~_beyond(
        latest, params.items_floor
    )
    return ItemFalls(statistic, out, back, began, fallen)


def _latest_items(sums, end, spread, top, params):
    """The items rule's floor at one point per row (`end` one past it): the items of that
    observation alone against their mean in at most `before_points` observations before it,
    in standard errors, the `top` largest falls summed over √top, as item_many sums them;
    nan where it cannot be judged."""
    n = len(end)
    first = end - 1
    live = np.flatnonzero(first >= 1)
    found = np.full(n, np.nan)
    if not live.size:
        return found
    falls = _falls(sums, live, first[live], end[live], spread, params, least_after=1)
    largest = -np.sort(-falls, axis=1)[:, :top]
    judged = np.isfinite(largest).all(axis=1)
    found[live] = np.where(judged, largest.sum(axis=1) / math.sqrt(top), np.nan)
    return found


def _falls(sums, live, first, stop, spread, params, least_after):
    """Each item's fall, in standard errors, for the rows `live`: its mean from `first` to
    `stop` (one past the last point) against its mean in at most `before_points`
    observations before `first`, read off the prefix sums; -inf where fewer than
    `least_after` scores after or 2 before leave it unjudged."""
    total, number, level_total, level_number = sums
    low = np.maximum(first - params.before_points, 0)
    after_n = number[live, stop] - number[live, first]
    after = total[live, stop] - total[live, first]
    before_n = level_number[live, first] - level_number[live, low]
    before = level_total[live, first] - level_total[live, low]
    with np.errstate(invalid="ignore", divide="ignore"):
        error = spread * np.sqrt(1 / after_n + 1 / before_n)
        falls = (before / before_n - after / after_n) / error
    judged = (after_n >= least_after) & (before_n >= 2) & np.isfinite(falls)
    return np.where(judged, falls, -np.inf)


def _beyond(statistic, limit):
    with np.errstate(invalid="ignore"):
        return statistic > limit


def _at_ends(xc, m, ends):
    """(n, ends): each row's scores at its last `ends` points (nan before its first)."""
    at = m[:, None] - ends + np.arange(ends)[None, :]
    picked = xc[np.arange(len(xc))[:, None], np.clip(at, 0, max(xc.shape[1] - 1, 0))]
    return np.where(at >= 0, picked, np.nan)


def _recovered(xc, m, ends, level, sigma, params):
    """(n, ends): at each of the last points, the mean of the recovered_points scores up to
    it is within half a standard error of that point's usual level, or above it (False
    where there is no level, or fewer scores); level and sigma are (n, ends)."""
    count = params.recovered_points
    at = m[:, None, None] - ends + np.arange(ends)[None, :, None] - np.arange(count)[::-1]
    scores = xc[np.arange(len(xc))[:, None, None], np.clip(at, 0, max(xc.shape[1] - 1, 0))]
    with np.errstate(invalid="ignore"):
        mean = np.where((at >= 0).all(axis=2), scores.mean(axis=2), np.nan)
        return mean >= level - 0.5 * sigma / math.sqrt(count)


def _weighed_sigma(xc, m, pooled, params):
    """Each row's sigma: its successive differences (no single one above shift_clip·√2
    pooled sigma, so a bad day does not inflate it) weighed with the pooled sigma."""
    steps = np.diff(xc, axis=1)
    inside = np.arange(steps.shape[1]) < (m - 1).reshape(-1, 1)
    cap = params.shift_clip * math.sqrt(2) * np.where(_usable_sigmas(pooled), pooled, np.inf)
    steps = np.clip(steps, -cap[:, None], cap[:, None])
    squares = np.where(inside, steps**2, 0.0).sum(axis=1) / 2
    count = inside.sum(axis=1)
    prior = np.where(_usable_sigmas(pooled), params.sigma_weight, 0)
    base = np.where(_usable_sigmas(pooled), pooled, 0.0) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((prior * base + squares) / (prior + count)), prior + count


def _student(limit, freedom):
    """The limit a normal statistic is held to, raised as a Student t's would be for a
    sigma estimated with `freedom` degrees (Cornish-Fisher): a spread known from few
    differences leaves more room for chance."""
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = np.maximum(np.asarray(freedom, dtype=float), 1.0)
        z = limit
        return z + (z**3 + z) / (4 * nu) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * nu**2)


def last_points(values, lengths, ends, fill):
    """Each row's values at its last `ends` points (the last in column -1), `fill` before
    the row's first."""
    at = np.asarray(lengths)[:, None] - 1 - np.arange(ends)[::-1]
    if values.shape[1] == 0:
        return np.full(at.shape, fill, dtype=values.dtype)
    picked = np.take_along_axis(values, np.clip(at, 0, values.shape[1] - 1), axis=1)
    return np.where(at >= 0, picked, fill)


def band_runs(below, lengths, ends):
    """The band rule at each row's last `ends` points: (scores in a row below the adequate
    band at the last point, (n, ends) out: at least BAND_POINTS in a row there)."""
    below = np.asarray(below, dtype=bool)
    rows = _rows(np.zeros(below.shape), lengths, np.nan, np.nan, below)
    runs = np.stack([step.statistic for step in _band_steps(rows, DEFAULTS)], axis=1)
    counts = last_points(runs[:, : rows.width], rows.valid.sum(axis=1), ends, fill=0.0)
    return counts[:, -1], counts >= BAND_POINTS


def settle(verdicts):
    """Several rules' verdicts on the same last points, each (out, back) of shape
    (n, ends): (out: any rule out, calm: the points every rule is back since the last one
    some rule was not, see calm_points). One reading for the job and its trials."""
    out = np.logical_or.reduce([rule_out for rule_out, _ in verdicts])
    unsettled = np.logical_or.reduce([~back for _, back in verdicts])
    return out, calm_points(unsettled)


def calm_points(unsettled):
    """From (n, ends) flags of points not back in control (last column the latest): the
    points back in control since the last one that was not, at most `ends`."""
    ends = unsettled.shape[1]
    last = np.where(unsettled.any(axis=1), ends - 1 - np.argmax(unsettled[:, ::-1], axis=1), -1)
    return ends - 1 - last


# --- one series -----------------------------------------------------------------------------


def check(xs, baseline, sigma, params=DEFAULTS, below=None):
    """Every rule, and ANY, over one series: rule → Signal."""
    x, lengths, below = _one(xs, below)
    many = check_many(x, lengths, [baseline], [sigma], params, below)
    return {rule: _signal(signals) for rule, signals in many.items()}


def ewma_path(xs, baseline, sigma, params=DEFAULTS):
    """(z, lower limit) after each score of one series, for charts."""
    x, lengths, _ = _one(xs, None)
    trace = trace_many(x, lengths, [baseline], [sigma], params)[EWMA]
    path = zip(trace.statistic[0], trace.limit[0], strict=True)
    return [(float(z), float(limit)) for z, limit in path]


def momentum(xs, sigma, params=DEFAULTS):
    """(building / steady / slipping or None, slope in score units per observation)."""
    x, lengths, _ = _one(xs, None)
    labels, slopes = momentum_many(x, lengths, [sigma], params)
    return labels[0], float(slopes[0])


def _one(xs, below):
    x = np.asarray(xs, dtype=float).reshape(1, -1)
    return x, [x.shape[1]], None if below is None else np.asarray(below, dtype=bool).reshape(1, -1)


def _signal(signals):
    return Signal(
        alarm=bool(signals.alarm[0]),
        began=int(signals.began[0]),
        statistic=float(signals.statistic[0]),
        limit=float(signals.limit[0]),
        episodes=int(signals.episodes[0]),
        first_alarm=int(signals.first_alarm[0]),
    )

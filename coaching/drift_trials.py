"""Detection trials, online: each detector run night by night on the data so far, as the
nightly job sees it, and what a coach experiences counted: the alerts raised.

Pure numpy. Synthetic practitioners are observed monthly, LENGTH times. Their true levels
differ (PEOPLE_LEVEL ± PEOPLE_SPREAD points), each has their own noise (σ drawn from NOISE),
and a change, where there is one, starts between the CHANGE_FROM-th and the CHANGE_TO-th
observation. Scenarios:

- stable: no change;
- bad day: no change, but one observation BAD_DAY σ low (counted as in control);
- step: the level drops STEP σ and stays there;
- slide: the level falls SLIDE σ per observation;
- items stable / items slip: each observation is ITEMS item scores sharing a
  per-observation part (correlation SHARED between items: a good or bad day), the overall
  score their mean; in the slip ITEMS_FALLING items each fall ITEM_STEP of their own σ and
  the rest hold.

Each night every detector is run on every series as it stands, and the alerts follow the
job's lifecycle (coaching.services.sync_alerts): a series out of control tonight with no
alert gets one; an alert closes once the series has been in control for close_after
observations, judged on tonight's chart. Detectors:

- EWMA, CUSUM: the textbook charts (λ 0.2, L 3; k 0.5σ, h 4σ) against the mean of the
  first five observations, with the robust σ pooled over everyone;
- shift: this app's rule on overall scores (drift.shift_many); the band rule, which needs
  a rubric's bands, is left out (the job runs it too);
- shift+items: the same, and the items rule (drift.item_many), as the job runs them.

Figures per scenario and detector: alerts raised per 100 in-control observations (after the
first five); for a change, the median delay from its first observation to the first alert
raised at or after it (1 = on the first changed observation), the share caught by the end,
the series missed, the series whose earlier (false) alert was still open at the change; and
two checks of the lifecycle: nights out of control with no alert, and alerts that close and
reopen within FLAP_WINDOW observations while the level stays below the baseline; and the
series with an alert still open after their last observation (on an in-control series, a
false alarm that lingers). Each row
keeps the counts behind its figures, so `pooled` can join rows (of several seeds, or of
several scenarios) into one with the figures of them all.
"""

import math
import secrets
from dataclasses import dataclass, replace

import numpy as np

from coaching import drift

STABLE, BAD_DAY, STEP, SLIDE = "stable", "bad day", "step 1.5σ", "slide 0.25σ"
ITEMS_STABLE, ITEMS_SLIP = "items stable", "items slip"
SCENARIOS = (STABLE, BAD_DAY, STEP, SLIDE, ITEMS_STABLE, ITEMS_SLIP)
IN_CONTROL = (STABLE, BAD_DAY, ITEMS_STABLE)
WITH_ITEMS = (ITEMS_STABLE, ITEMS_SLIP)
EWMA, CUSUM, SHIFT, COMBINED = "EWMA", "CUSUM", "shift", "shift+items"
DETECTORS = (EWMA, CUSUM, SHIFT, COMBINED)

LENGTH = 36
FIRST = 5  # the observations the textbook baseline is taken from; no alert before them
PEOPLE_LEVEL, PEOPLE_SPREAD = 90.0, 2.0
NOISE = (3.0, 5.0)
CHANGE_FROM, CHANGE_TO = 12, 24
BAD_DAY_SIGMAS = 4.0
STEP_SIGMAS, SLIDE_SIGMAS = 1.5, 0.25
ITEMS, SHARED, ITEMS_FALLING, ITEM_STEP = 17, 0.5, 3, 1.5
FLAP_WINDOW = 3
TEXTBOOK = drift.Params(lam=0.2, L=3.0, k=0.5, h=4.0, baseline_n=FIRST)
UNDEFINED = "—"


@dataclass(frozen=True)
class Cohort:
    scores: np.ndarray  # (n, LENGTH) overall scores
    items: np.ndarray | None  # (n, LENGTH, ITEMS) or None
    change: np.ndarray  # (n,) index of the first changed observation; LENGTH: none
    below: np.ndarray  # (n, LENGTH) the true level is below the person's own level


@dataclass(frozen=True)
class TrialRow:
    scenario: str
    detector: str
    false_per_100: float
    median_delay: float  # nan without a change, or when none was caught
    caught: float  # share of changed series alerted at or after the change; nan: none
    missed: int
    open_at_change: int
    silent_nights: int
    flaps: int
    series: int
    false_alarms: int = 0  # alerts raised on in-control observations
    in_control: int = 0  # in-control observations after the first five
    delays: tuple = ()  # each caught change's delay
    changed: int = 0  # series with a change
    open_at_end: int = 0  # series with an alert still open after the last observation


def fresh_seed():
    return secrets.randbelow(2**31)


def run_trials(series=2000, seed=None, params=drift.DEFAULTS):
    """One row per scenario and detector (the combined one only where there are items)."""
    seed = fresh_seed() if seed is None else seed
    rows = []
    for number, scenario in enumerate(SCENARIOS):
        rng = np.random.default_rng([seed, number])
        cohort = make_cohort(scenario, series, rng)
        for detector in DETECTORS:
            if detector == COMBINED and cohort.items is None:
                continue
            raised, active, outs, closed = online(cohort, detector, params)
            rows.append(_row(scenario, detector, cohort, raised, active, outs, closed))
    return rows


# --- the synthetic people ------------------------------------------------------------------


def make_cohort(scenario, n, rng):
    level = PEOPLE_LEVEL + PEOPLE_SPREAD * rng.standard_normal(n)
    sigma = rng.uniform(*NOISE, n)
    change = rng.integers(CHANGE_FROM - 1, CHANGE_TO, n)
    if scenario in IN_CONTROL:
        change[:] = LENGTH
    t = np.arange(LENGTH)[None, :]
    since = np.maximum(t - change[:, None] + 1, 0)
    fall = np.zeros((n, LENGTH))
    if scenario == STEP:
        fall = STEP_SIGMAS * (since > 0)
    elif scenario == SLIDE:
        fall = SLIDE_SIGMAS * since
    items = None
    if scenario in WITH_ITEMS:
        items = _items(rng, level, sigma, since, scenario == ITEMS_SLIP)
        scores = items.mean(axis=2)
    else:
        scores = level[:, None] + sigma[:, None] * (rng.standard_normal((n, LENGTH)) - fall)
    if scenario == BAD_DAY:
        day = rng.integers(FIRST, LENGTH, n)
        scores[np.arange(n), day] = level - BAD_DAY_SIGMAS * sigma
    return Cohort(scores, items, change, since > 0)


def _items(rng, level, sigma, since, slipping):
    """Item scores whose mean has the person's σ: a shared part per observation and each
    item's own; in a slip, ITEMS_FALLING items each fall ITEM_STEP of their own σ."""
    n = len(level)
    item_sigma = sigma / math.sqrt(SHARED + (1 - SHARED) / ITEMS)
    shared = rng.standard_normal((n, LENGTH, 1))
    own = rng.standard_normal((n, LENGTH, ITEMS))
    offsets = rng.normal(0, PEOPLE_SPREAD, (n, 1, ITEMS))
    noise = math.sqrt(SHARED) * shared + math.sqrt(1 - SHARED) * own
    items = level[:, None, None] + offsets + item_sigma[:, None, None] * noise
    if slipping:
        falling = np.argsort(rng.random((n, ITEMS)), axis=1)[:, :ITEMS_FALLING]
        mask = np.zeros((n, 1, ITEMS))
        np.put_along_axis(mask, falling[:, None, :], 1.0, axis=2)
        items = items - ITEM_STEP * item_sigma[:, None, None] * (since[:, :, None] > 0) * mask
    return items


# --- night by night --------------------------------------------------------------------------


def online(cohort, detector, params):
    """(raised, active, out, closed), each (n, LENGTH): the job's lifecycle over the nights,
    each night judging every series on its data so far."""
    n = len(cohort.scores)
    raised, active, outs, closed = (np.zeros((n, LENGTH), dtype=bool) for _ in range(4))
    alert = np.zeros(n, dtype=bool)
    for night in range(FIRST, LENGTH):
        out_now, calm = tonight(cohort, detector, params, night + 1)
        close = alert & (calm >= params.close_after)
        alert &= ~close
        new = out_now & ~alert
        alert |= new
        raised[:, night], active[:, night], outs[:, night], closed[:, night] = (
            new,
            alert,
            out_now,
            close,
        )
    return raised, active, outs, closed


def tonight(cohort, detector, params, seen):
    """(out now, calm points) of every series on its first `seen` observations."""
    x = cohort.scores[:, :seen]
    lengths = np.full(len(x), seen)
    ends = params.close_after + 1
    sigma = drift.pooled_sigma(x)
    if detector in (EWMA, CUSUM):
        rule = drift.EWMA if detector == EWMA else drift.CUSUM
        baseline = x[:, :FIRST].mean(axis=1)
        trace = drift.trace_many(x[:, FIRST:], lengths - FIRST, baseline, sigma, TEXTBOOK)[rule]
        out = trace.out[:, -ends:]
        out = np.pad(out, ((0, 0), (ends - out.shape[1], 0)))
        verdicts = [(out, ~out)]
    else:
        level, between = drift.peers(x[:, :FIRST].mean(axis=1), sigma, FIRST)
        with_items = detector == COMBINED
        shifts = drift.shift_many(
            x, lengths, level, between, sigma, params, ends=ends, with_items=with_items
        )
        verdicts = [(shifts.out, shifts.back)]
        if detector == COMBINED:
            gaps = drift.item_gaps(cohort.items[:, :seen])
            items = drift.item_many(gaps, lengths, drift.item_spread(gaps), params, ends=ends)
            verdicts.append((items.out, items.back))
    out, calm = drift.settle(verdicts)
    return out[:, -1], calm


# --- figures ----------------------------------------------------------------------------------


def _row(scenario, detector, cohort, raised, active, outs, closed):
    change = cohort.change
    t = np.arange(LENGTH)[None, :]
    in_control = (t >= FIRST) & (t < change[:, None])
    silent = int((outs & ~active).sum())
    changed = np.flatnonzero(change < LENGTH)
    delays, missed, open_at_change, flaps = [], 0, 0, 0
    for i in changed:
        c = change[i]
        after = np.flatnonzero(raised[i, c:])
        if after.size:
            delays.append(after[0] + 1)
        elif active[i, c:].any():
            open_at_change += 1
        else:
            missed += 1
        for night in np.flatnonzero(closed[i, c:]) + c:
            stop = min(night + FLAP_WINDOW + 1, LENGTH)
            if cohort.below[i, night:stop].all() and raised[i, night + 1 : stop].any():
                flaps += 1
    return _figures(
        scenario,
        detector,
        false_alarms=int((raised & in_control).sum()),
        in_control=int(in_control.sum()),
        delays=tuple(int(d) for d in delays),
        changed=len(changed),
        missed=missed,
        open_at_change=open_at_change,
        silent_nights=silent,
        flaps=flaps,
        series=len(change),
        open_at_end=int(active[:, -1].sum()),
    )


def _figures(scenario, detector, *, false_alarms, in_control, delays, changed, **counts):
    caught = (len(delays) + counts["open_at_change"]) / changed if changed else math.nan
    return TrialRow(
        scenario,
        detector,
        false_per_100=100 * false_alarms / max(in_control, 1),
        median_delay=float(np.median(delays)) if delays else math.nan,
        caught=caught,
        false_alarms=false_alarms,
        in_control=in_control,
        delays=delays,
        changed=changed,
        **counts,
    )


def pooled(rows, scenario=None, detector=None):
    """One row from several (several seeds, or several scenarios): counts added up, the
    false alarms per 100 of all in-control observations, the median of every delay.
    `scenario` and `detector` name the result (default: the rows' names joined by " + ")."""
    rows = list(rows)
    names = list(dict.fromkeys(row.scenario for row in rows))
    counts = ("missed", "open_at_change", "silent_nights", "flaps", "series", "open_at_end")
    return _figures(
        scenario or " + ".join(names),
        detector or " + ".join(dict.fromkeys(row.detector for row in rows)),
        false_alarms=sum(row.false_alarms for row in rows),
        in_control=sum(row.in_control for row in rows),
        delays=tuple(d for row in rows for d in row.delays),
        changed=sum(row.changed for row in rows),
        **{name: sum(getattr(row, name) for row in rows) for name in counts},
    )


def pick(rows, scenarios, detector):
    """The rows of these scenarios (one name or several) for one detector."""
    scenarios = (scenarios,) if isinstance(scenarios, str) else tuple(scenarios)
    return [row for row in rows if row.scenario in scenarios and row.detector == detector]


def format_table(rows):
    header = (
        f"{'scenario':<14}{'detector':<13}{'false/100':>10}{'delay':>7}{'caught':>8}"
        f"{'missed':>8}{'open@chg':>9}{'silent':>8}{'flaps':>7}{'open@end':>9}"
    )
    return "\n".join([header, "-" * len(header), *map(_line, rows)])


def _line(row):
    delay = UNDEFINED if math.isnan(row.median_delay) else f"{row.median_delay:.1f}"
    caught = UNDEFINED if math.isnan(row.caught) else f"{row.caught:.1%}"
    return (
        f"{row.scenario:<14}{row.detector:<13}{row.false_per_100:>10.2f}{delay:>7}{caught:>8}"
        f"{row.missed:>8}{row.open_at_change:>9}{row.silent_nights:>8}{row.flaps:>7}"
        f"{row.open_at_end / max(row.series, 1):>9.1%}"
    )


def with_params(params, **changes):
    return replace(params, **changes)

"""Rater drift: a coach whose scoring moves away from the master codes, lenient or severe.

Each coach's calibration cases, in the order they submitted them, make a series of
signed differences from the master code (their mean over rated items: positive lenient,
negative severe). The practitioners' control charts (coaching.drift: EWMA and lower
CUSUM) watch it against a baseline of 0, the master code itself, once as it is (a fall
below 0 is severity) and once negated (leniency), with sigma the spread pooled over
every coach's series, as a practitioner with few scores borrows their cohort's. The run
and band rules are left out: a run of small leans is ordinary, and there is no band. A
drift whose mean lean since it began is under MIN_LEAN points raises nothing, and one
whose latest few cases lean less than that is over (`back`).

Pure: plain lists in, plain values out; tested without a database.
"""

from dataclasses import dataclass

import numpy as np

from coaching import drift

LENIENT, SEVERE = "lenient", "severe"
RULES = (drift.EWMA, drift.CUSUM)
MIN_CASES = 3  # fewer cases than a round's say nothing about a trend
# A steady lean smaller than a quarter of a level can be told from noise after enough
# cases, but is not worth a recalibration: below it, no alert.
MIN_LEAN = 0.25
ITEMS_SHOWN = 3


@dataclass(frozen=True)
class Drifting:
    direction: str  # LENIENT or SEVERE
    rules: tuple  # the rules in an episode at the latest case
    began: int  # the index of the case where the episode began
    level: float  # the mean signed difference since it began


def sigma_of(series):
    """The spread of a case's signed difference about a coach's own level, pooled over
    every coach (the median moving range); nan when there is none."""
    return drift.pooled_sigma([np.asarray(s, dtype=float) for s in series if len(s) > 1])


def check(series, sigma, params=drift.DEFAULTS):
    """{index: Drifting} for the series (lists of signed differences, oldest first) whose
    latest case is in an episode of EWMA or CUSUM, either way."""
    found = {}
    usable = [i for i, s in enumerate(series) if len(s) >= MIN_CASES]
    if not usable or not np.isfinite(sigma) or sigma <= 0:
        return found
    width = max(len(series[i]) for i in usable)
    x = np.full((len(usable), width), np.nan)
    for row, i in enumerate(usable):
        x[row, : len(series[i])] = series[i]
    lengths = [len(series[i]) for i in usable]
    for direction, sign in ((SEVERE, 1.0), (LENIENT, -1.0)):
        signals = drift.check_many(sign * x, lengths, 0.0, sigma, params)
        for row, i in enumerate(usable):
            rules = tuple(rule for rule in RULES if signals[rule].alarm[row])
            if rules and i not in found:
                began = min(int(signals[rule].began[row]) for rule in rules)
                level = float(np.mean(series[i][began:]))
                if abs(level) >= MIN_LEAN and not back(series[i], params):
                    found[i] = Drifting(direction, rules, began, level)
    return found


def back(values, params=drift.DEFAULTS):
    """Whether the latest cases (as many as closes a practitioner's alert) lean less than
    MIN_LEAN on average: the charts' own statistics take many cases to forget a drift
    of a whole point, a recalibrated coach should not wait for them."""
    latest = values[-params.close_after :]
    return len(latest) == params.close_after and abs(float(np.mean(latest))) < MIN_LEAN


def items_apart(differences, direction, shown=ITEMS_SHOWN):
    """[(item code, mean difference)] of the items that lean most the drift's way, from
    {item code: [differences of the cases since the episode began]}."""
    sign = 1 if direction == LENIENT else -1
    means = {code: float(np.mean(values)) for code, values in differences.items() if values}
    leaning = [(code, mean) for code, mean in means.items() if sign * mean > 0]
    leaning.sort(key=lambda pair: (-abs(pair[1]), pair[0]))
    return leaning[:shown]

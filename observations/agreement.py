"""Observer reliability: how far raters who score the same sessions agree. Plain functions.

Two raters on one item give pairs of scores, (a, b) per session: exact and adjacent
agreement, Cohen's kappa (weighted for ordinal items) and Gwet's AC1 (for present /
absent items where one answer dominates) read them. Overall scores read as a matrix,
one row per session and one column per rater, for ICC(2,1); when raters rotate, so that
each session has its own raters and perhaps a different number of them, one group of
scores per session for ICC(1,1).

A missing score is refused with a ValueError that names its pair or subject, never
dropped: a calibration statistic computed quietly on fewer cases than the coach thinks
is worse than none. Rows given as a mapping are named by their keys (a case code),
rows given as a list by their position counting from 0 ("Row 2").

Sources: Cohen (1960, 1968) for kappa and weighted kappa, with linear weights after
Cicchetti & Allison (1971) and quadratic after Fleiss & Cohen (1973); Gwet (2008) for
AC1; Shrout & Fleiss (1979) and McGraw & Wong (1996) for the intraclass correlations;
Searle (1971) and Donner (1986) for the one-way analysis with unequal group sizes.
"""

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import f as f_distribution

LINEAR, QUADRATIC = "linear", "quadratic"


@dataclass(frozen=True)
class ICC:
    """An intraclass correlation with its confidence interval.

    `raters` is the number of scores per subject, or for ICC(1,1) on unequal groups the
    k0 that stands in for it. `value`, `lower` and `upper` are None when every score is
    the same: with no difference between subjects there is nothing to agree about.
    """

    value: float | None
    lower: float | None
    upper: float | None
    subjects: int
    raters: float
    confidence: float


def exact_agreement(pairs):
    """Share of pairs on which both raters gave the same score."""
    pairs = _pairs(pairs, minimum=1)
    return sum(a == b for a, b in pairs) / len(pairs)


def adjacent_agreement(pairs, within=1):
    """Share of pairs whose scores lie at most `within` points apart (exact ones included)."""
    if within < 0:
        raise ValueError("`within` is a distance in points and cannot be negative.")
    pairs = _pairs(pairs, minimum=1)
    return sum(abs(a - b) <= within for a, b in pairs) / len(pairs)


def cohen_kappa(pairs, categories, weights=None):
    """Cohen's kappa (1960), or weighted kappa (Cohen 1968), for two raters.

    `categories` is the scale in order, so that a level nobody used still counts in the
    weights. Disagreement weights grow with the distance between positions on the scale:
    |i − j| / (q − 1) for "linear" (Cicchetti & Allison), its square for "quadratic"
    (Fleiss & Cohen), 1 for every disagreement when `weights` is None.

        κw = 1 − Σ vᵢⱼ·oᵢⱼ / Σ vᵢⱼ·eᵢⱼ,   eᵢⱼ = rowᵢ·colⱼ / n

    None when chance would explain all the agreement there is (both raters gave one and
    the same score to everything): kappa is then 0/0, and 1.0 would claim a skill the
    data cannot show. Exact agreement, or AC1, still speaks for such an item.
    """
    counts = _table(pairs, categories)
    disagreement = _disagreement_weights(len(categories), weights)
    observed = (disagreement * counts).sum()
    chance = (disagreement * np.outer(counts.sum(axis=1), counts.sum(axis=0))).sum()
    if chance == 0:
        return None
    return float(1 - observed / (chance / counts.sum()))


def gwet_ac1(pairs, categories):
    """Gwet's AC1 (Gwet 2008) for two raters on a nominal item, such as present / absent.

        AC1 = (pa − pe) / (1 − pe),   pe = Σ πₖ(1 − πₖ) / (q − 1)

    where πₖ is the share of all scores, both raters', in category k and q the number of
    categories on the scale (unused ones included). Unlike kappa's, its chance agreement
    falls as one answer comes to dominate, so it stays near the raw agreement when
    almost every session shows the indicator; pe never exceeds 1/q, so AC1 is always
    defined.
    """
    counts = _table(pairs, categories)
    observed = np.trace(counts) / counts.sum()
    prevalence = (counts.sum(axis=0) + counts.sum(axis=1)) / (2 * counts.sum())
    chance = (prevalence * (1 - prevalence)).sum() / (len(categories) - 1)
    return float((observed - chance) / (1 - chance))


def icc_2_1(matrix, confidence=0.95):
    """ICC(2,1): two-way random effects, absolute agreement, one rater (McGraw & Wong
    1996 case 2A, their ICC(A,1); Shrout & Fleiss 1979 ICC(2,1)).

    `matrix` holds one row per subject and one column per rater; every rater must score
    every subject, and a row with a score missing is refused by name (use icc_1_1 when
    raters rotate). With MSR, MSC and MSE the subjects', raters' and residual mean
    squares:

        ICC = (MSR − MSE) / (MSR + (k − 1)·MSE + k·(MSC − MSE)/n)

    The interval is McGraw & Wong's (Table 7), from F quantiles with Satterthwaite's
    degrees of freedom. When every rater gave each subject the same score (no error, no
    rater effect) the value and both limits are 1. The value is None where its denominator
    vanishes (2 subjects × 2 raters with no difference between subjects nor raters),
    the limits None where those degrees of freedom do (a Latin square of scores).
    """
    _check_confidence(confidence)
    scores = _complete_matrix(matrix)
    n, k = scores.shape
    if np.all(scores == scores[0, 0]):
        return ICC(None, None, None, n, k, confidence)
    if np.all(scores == scores[:, :1]):
        return ICC(1.0, 1.0, 1.0, n, k, confidence)
    msr, msc, mse = _two_way_mean_squares(scores)
    denominator = msr + (k - 1) * mse + k * (msc - mse) / n
    if denominator <= 0:
        return ICC(None, None, None, n, k, confidence)
    value = (msr - mse) / denominator
    lower, upper = _absolute_agreement_interval(value, msr, msc, mse, n, k, confidence)
    return ICC(float(value), lower, upper, n, k, confidence)


def icc_1_1(groups, confidence=0.95):
    """ICC(1,1): one-way random effects, one rater (Shrout & Fleiss 1979 ICC(1,1)).

    For sessions scored by different, rotating raters: `groups` holds each subject's
    scores, as many as it got. From the one-way analysis of variance with N scores on n
    subjects, kᵢ of them on subject i (Searle 1971):

        k0  = (N − Σ kᵢ² / N) / (n − 1)         (k itself when every kᵢ = k)
        ICC = (MSB − MSW) / (MSB + (k0 − 1)·MSW)

    The interval is Shrout & Fleiss's, F0 = MSB / MSW against F(n − 1, N − n), with k0
    for k; exact for equal groups, an approximation otherwise (Donner 1986). A subject
    with a single score adds to the spread between subjects only. When every subject's
    scores agree among themselves the value and both limits are 1.
    """
    _check_confidence(confidence)
    groups = _complete_groups(groups)
    sizes = np.array([len(g) for g in groups])
    total, n = sizes.sum(), len(groups)
    k0 = float((total - (sizes**2).sum() / total) / (n - 1))
    scores = np.concatenate(groups)
    if np.all(scores == scores[0]):
        return ICC(None, None, None, n, k0, confidence)
    if all(np.all(g == g[0]) for g in groups):
        return ICC(1.0, 1.0, 1.0, n, k0, confidence)
    msb, msw = _one_way_mean_squares(groups, sizes)
    value = (msb - msw) / (msb + (k0 - 1) * msw)
    lower, upper = _one_way_interval(msb / msw, n - 1, total - n, k0, confidence)
    return ICC(float(value), lower, upper, n, k0, confidence)


def _disagreement_weights(q, weights):
    i, j = np.indices((q, q))
    distance = np.abs(i - j) / (q - 1)
    if weights is None:
        return (i != j).astype(float)
    if weights == LINEAR:
        return distance
    if weights == QUADRATIC:
        return distance**2
    raise ValueError(f"Unknown weights {weights!r}: use None, {LINEAR!r} or {QUADRATIC!r}.")


def _table(pairs, categories):
    """Counts of (a, b) pairs: rater A's category by row, rater B's by column."""
    categories = list(categories)
    position = {category: index for index, category in enumerate(categories)}
    if len(position) < 2 or len(position) != len(categories):
        raise ValueError("A scale needs at least two categories, each listed once.")
    counts = np.zeros((len(categories), len(categories)))
    for index, pair in enumerate(_pairs(pairs, minimum=2)):
        for score in pair:
            if score not in position:
                raise ValueError(f"Pair {index} holds {score!r}, which is not on the scale.")
        counts[position[pair[0]], position[pair[1]]] += 1
    return counts


def _pairs(pairs, minimum):
    pairs = [tuple(pair) for pair in pairs]
    for index, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"Pair {index} has {len(pair)} scores; a pair has two.")
        for rater, score in zip("AB", pair, strict=True):
            if _missing(score):
                raise ValueError(f"Pair {index} has no score from rater {rater}.")
    if len(pairs) < minimum:
        raise ValueError(f"Agreement needs at least {minimum} scored pairs; got {len(pairs)}.")
    return pairs


def _missing(score):
    return score is None or (isinstance(score, float) and math.isnan(score))


def _labelled(rows):
    """(label, row) for each subject: a mapping's key, or a list's position."""
    if isinstance(rows, Mapping):
        return [(f"Subject {key!r}", row) for key, row in rows.items()]
    return [(f"Row {index}", row) for index, row in enumerate(rows)]


def _numbers(label, row):
    row = list(row)
    for score in row:
        if _missing(score):
            raise ValueError(f"{label} has a score missing: {row!r}.")
        if not isinstance(score, numbers.Real):
            raise ValueError(f"{label} holds {score!r}, which is not a number.")
    return np.array(row, dtype=float)


def _complete_matrix(matrix):
    rows = [(label, _numbers(label, row)) for label, row in _labelled(matrix)]
    raters = max((len(row) for _, row in rows), default=0)
    for label, row in rows:
        if len(row) < raters:
            raise ValueError(
                f"{label} has {len(row)} of {raters} raters' scores: ICC(2,1) needs every "
                "rater to score every subject (icc_1_1 takes rotating raters)."
            )
    if len(rows) < 2 or raters < 2:
        raise ValueError("ICC(2,1) needs at least 2 subjects, each scored by at least 2 raters.")
    return np.array([row for _, row in rows])


def _complete_groups(groups):
    groups = [(label, _numbers(label, group)) for label, group in _labelled(groups)]
    for label, group in groups:
        if not len(group):
            raise ValueError(f"{label} has no scores.")
    if len(groups) < 2:
        raise ValueError(f"ICC(1,1) needs at least 2 subjects; got {len(groups)}.")
    if all(len(group) == 1 for _, group in groups):
        raise ValueError("ICC(1,1) needs at least one subject scored by more than one rater.")
    return [group for _, group in groups]


def _two_way_mean_squares(scores):
    """Mean squares of subjects (rows), raters (columns) and residual error."""
    n, k = scores.shape
    grand, rows, columns = scores.mean(), scores.mean(axis=1), scores.mean(axis=0)
    residual = scores - rows[:, None] - columns[None, :] + grand
    msr = k * ((rows - grand) ** 2).sum() / (n - 1)
    msc = n * ((columns - grand) ** 2).sum() / (k - 1)
    mse = (residual**2).sum() / ((n - 1) * (k - 1))
    return msr, msc, mse


def _one_way_mean_squares(groups, sizes):
    """Mean squares between and within subjects."""
    grand = np.concatenate(groups).mean()
    means = np.array([g.mean() for g in groups])
    between = (sizes * (means - grand) ** 2).sum() / (len(groups) - 1)
    within = sum(((g - g.mean()) ** 2).sum() for g in groups) / (sizes.sum() - len(groups))
    return between, within


def _absolute_agreement_interval(icc, msr, msc, mse, n, k, confidence):
    """McGraw & Wong (1996) Table 7, ICC(A,1): F quantiles on Satterthwaite's df."""
    if msr <= 0:
        # The subjects do not differ at all: the limits' F ratios are 0/0, no interval.
        return None, None
    tail = 1 - (1 - confidence) / 2
    a = k * icc / (n * (1 - icc))
    b = 1 + k * icc * (n - 1) / (n * (1 - icc))
    top = (a * msc + b * mse) ** 2
    if not top > 0:
        return None, None
    df = top / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    f_lower = f_distribution.ppf(tail, n - 1, df)
    f_upper = f_distribution.ppf(tail, df, n - 1)
    spread = k * msc + (k * n - k - n) * mse
    lower = n * (msr - f_lower * mse) / (f_lower * spread + n * msr)
    upper = n * (f_upper * msr - mse) / (spread + n * f_upper * msr)
    return float(lower), float(upper)


def _one_way_interval(f0, df_between, df_within, k, confidence):
    """Shrout & Fleiss (1979) ICC(1,1) limits from F0 = MSB / MSW."""
    tail = 1 - (1 - confidence) / 2
    f_low = f0 / f_distribution.ppf(tail, df_between, df_within)
    f_high = f0 * f_distribution.ppf(tail, df_within, df_between)
    return float((f_low - 1) / (f_low + k - 1)), float((f_high - 1) / (f_high + k - 1))


def _check_confidence(confidence):
    if not 0 < confidence < 1:
        raise ValueError(f"Confidence is a share between 0 and 1, such as 0.95; got {confidence}.")

"""Scores from an observation: summary metrics, overall fidelity, band, thresholds met.

Pure functions over plain data, so they are tested without a database and the form's
live summary, the submit service and the recompute command all share them.

A score is an int, or NA ("na") for an item marked not applicable; an item missing from
the scores was not scored (a draft). Arithmetic uses exact fractions so that a score of
exactly 85 % lands in the band that starts at 85 %.
"""

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

NA = "na"
# No observed session holds more of one behaviour; a longer number is a typing slip.
COUNT_MAX = 9999

RATING, COUNT, YES_NO = "rating", "count", "yes_no"
MEAN, SUM, RATIO, PERCENT, PERCENT_OF_POSSIBLE = (
    "mean",
    "sum",
    "ratio",
    "percent",
    "percent_of_possible",
)


@dataclass(frozen=True)
class ItemDef:
    code: str
    label: str
    kind: str
    scale_min: int = 0
    scale_max: int = 1
    allows_na: bool = False
    required: bool = True
    domain: str = ""

    def possible(self):
        """Points available on this item; counts have none."""
        return {RATING: self.scale_max, YES_NO: 1}.get(self.kind)


@dataclass(frozen=True)
class Threshold:
    band: str
    minimum: Fraction | float | int


@dataclass(frozen=True)
class MetricDef:
    code: str
    label: str
    kind: str
    numerator: tuple = ()
    denominator: tuple = ()
    thresholds: tuple = ()
    is_overall: bool = False


@dataclass(frozen=True)
class RubricDef:
    items: tuple
    metrics: tuple
    bands: tuple = ()

    def item(self, code):
        return self._items_by_code.get(code)

    @cached_property
    def _items_by_code(self):
        return {item.code: item for item in self.items}


@dataclass(frozen=True)
class MetricResult:
    code: str
    label: str
    value: float | None
    band: str | None
    met: tuple

    @property
    def is_defined(self):
        return self.value is not None


@dataclass(frozen=True)
class ScoreResult:
    metrics: tuple
    overall: float | None
    band: str | None

    def as_json(self):
        return {
            m.code: {"value": m.value, "band": m.band, "met": list(m.met)} for m in self.metrics
        }

    def metric(self, code):
        return next((m for m in self.metrics if m.code == code), None)


def compute(rubric, scores):
    """Every summary metric, the overall score and the band, for one set of scores."""
    results = tuple(_metric_result(rubric, metric, scores) for metric in rubric.metrics)
    overall_metric = next((m for m in rubric.metrics if m.is_overall), None)
    if overall_metric is not None:
        result = next(r for r in results if r.code == overall_metric.code)
        return ScoreResult(results, result.value, result.band)
    return ScoreResult(results, None, _worst_band(rubric.bands, results))


def _metric_result(rubric, metric, scores):
    value = _value(rubric, metric, scores)
    if value is None:
        return MetricResult(metric.code, metric.label, None, None, ())
    met = tuple(t.band for t in metric.thresholds if value >= Fraction(str(t.minimum)))
    band = _band_for(rubric.bands, metric.thresholds, met)
    return MetricResult(metric.code, metric.label, round(float(value), 2), band, met)


def _band_for(bands, thresholds, met):
    """The best band whose threshold is met; the scale's last band when none is."""
    if not thresholds:
        return None
    if met:
        return min(met, key=_rank(bands))
    return bands[-1] if bands else None


def _worst_band(bands, results):
    graded = [r.band for r in results if r.band is not None]
    return max(graded, key=_rank(bands)) if graded else None


def _rank(bands):
    order = {band: index for index, band in enumerate(bands)}
    return lambda band: order.get(band, len(order))


def _numbers(scores, codes):
    """The numeric scores among codes: NA and unscored items are left out."""
    return [Fraction(scores[c]) for c in codes if isinstance(scores.get(c), int)]


def _value(rubric, metric, scores):
    if metric.kind == PERCENT_OF_POSSIBLE:
        return _percent_of_possible(rubric, metric.numerator, scores)
    numerator = _numbers(scores, metric.numerator)
    if not numerator:
        return None
    if metric.kind == MEAN:
        return sum(numerator) / len(numerator)
    if metric.kind == SUM:
        return sum(numerator)
    return _quotient(metric, sum(numerator), _numbers(scores, metric.denominator))


def _quotient(metric, top, denominator):
    """A ratio or percentage; undefined (None) when the denominator is zero or unscored."""
    if not denominator or sum(denominator) == 0:
        return None
    value = top / sum(denominator)
    return value * 100 if metric.kind == PERCENT else value


def _percent_of_possible(rubric, codes, scores):
    """Points earned over points possible, on applicable items only."""
    earned = possible = 0
    for code in codes:
        item = rubric.item(code)
        if item is None or item.possible() is None or not isinstance(scores.get(code), int):
            continue
        earned += scores[code]
        possible += item.possible()
    return Fraction(earned * 100, possible) if possible else None


def problems(rubric, scores, *, complete):
    """What is wrong with these scores, by item code; `complete` demands every required item."""
    errors = {code: "This item is not on the rubric." for code in scores if not rubric.item(code)}
    for item in rubric.items:
        message = _item_problem(item, scores.get(item.code), complete)
        if message:
            errors[item.code] = message
    return errors


def _item_problem(item, value, complete):
    if value is None:
        return "Score this item." if complete and item.required else None
    if value == NA:
        return None if item.allows_na else "This item cannot be marked not applicable."
    if not isinstance(value, int) or isinstance(value, bool):
        return "Enter a whole number."
    if item.kind == COUNT and value < 0:
        return "A count cannot be negative."
    if item.kind == COUNT and value > COUNT_MAX:
        return f"A count above {COUNT_MAX} is not plausible; check the number."
    if item.kind == YES_NO and value not in (0, 1):
        return "Answer yes or no."
    if item.kind == RATING and not item.scale_min <= value <= item.scale_max:
        return f"Choose a rating from {item.scale_min} to {item.scale_max}."
    return None

"""A coach's scores of a calibration case beside the master code, item by item.

Plain functions over a RubricDef and two score mappings, as observations.scoring keeps
them ({item code: int, or scoring.NA}), tested without a database.

Which items count: rated and present/absent items the master scored. Behaviour counts
are shown but not counted: one point apart on a count of questions is a different
thing from one level apart on a rating. An item the master marked not applicable agrees
only with "not applicable"; a number against NA, or NA against a number, is a miss.
"""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from observations import scoring

COMPARED_KINDS = (scoring.RATING, scoring.YES_NO)
PLACES = Decimal("0.001")


@dataclass(frozen=True)
class ItemComparison:
    item: scoring.ItemDef
    mine: int | str | None
    master: int | str | None
    counted: bool  # whether the item takes part in the figures below

    @property
    def difference(self):
        """Mine minus the master's (positive: more lenient); None unless both are numbers."""
        if isinstance(self.mine, int) and isinstance(self.master, int):
            return self.mine - self.master
        return None

    @property
    def exact(self):
        return self.mine == self.master

    @property
    def within_one(self):
        """Within one point (a rating one level off); present/absent items must match."""
        if self.item.kind != scoring.RATING or self.difference is None:
            return self.exact
        return abs(self.difference) <= 1


@dataclass(frozen=True)
class Comparison:
    items: tuple

    # Each figure is worked out once: the report reads them for every case of a year.
    @cached_property
    def counted(self):
        return [row for row in self.items if row.counted]

    @cached_property
    def compared(self):
        return len(self.counted)

    @cached_property
    def exact(self):
        return sum(row.exact for row in self.counted)

    @cached_property
    def within_one(self):
        return sum(row.within_one for row in self.counted)

    @cached_property
    def within_one_percent(self):
        return percent(self.within_one, self.compared)

    @cached_property
    def exact_percent(self):
        return percent(self.exact, self.compared)

    @cached_property
    def signed_difference(self):
        """Mean of mine − master's over rated items both scored; None if there are none."""
        return _mean([row.difference for row in self._rated()])

    @cached_property
    def absolute_difference(self):
        return _mean([abs(row.difference) for row in self._rated()])

    @cached_property
    def lean(self):
        return lean(self.signed_difference)

    def _rated(self):
        return [
            row
            for row in self.counted
            if row.item.kind == scoring.RATING and row.difference is not None
        ]

    def as_fields(self):
        """The figures CalibrationAttempt keeps."""
        return {
            "items_compared": self.compared,
            "items_exact": self.exact,
            "items_within_one": self.within_one,
            "signed_difference": _decimal(self.signed_difference),
            "absolute_difference": _decimal(self.absolute_difference),
        }


def compare(definition, master, mine):
    """Every item of the rubric, in its order, with both scores."""
    return Comparison(
        tuple(
            ItemComparison(
                item=item,
                mine=mine.get(item.code),
                master=master.get(item.code),
                counted=item.kind in COMPARED_KINDS and master.get(item.code) is not None,
            )
            for item in definition.items
        )
    )


def lean(signed):
    """The mean signed difference in words: "0.4 points lenient", "0.25 points severe",
    "no lean" when it rounds to nothing at two places."""
    if signed is None:
        return "—"
    points = f"{abs(float(signed)):.2f}".rstrip("0").rstrip(".")
    if points == "0":
        return "no lean"
    unit = "point" if points == "1" else "points"
    return f"{points} {unit} {'lenient' if signed > 0 else 'severe'}"


def percent(part, whole):
    """`part` of `whole` as a whole percentage, rounded down (79.6 % reads "79 %": a share
    shown is never above the bar it misses); None with no whole."""
    if not whole:
        return None
    return 100 * part // whole


def _mean(values):
    return Fraction(sum(values), len(values)) if values else None


def _decimal(value):
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(PLACES)

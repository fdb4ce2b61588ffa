"""Score series for the drift job, built from sorted rows with whole-array operations.

coaching.drift judges one series, or a matrix of them; this cuts a million sorted rows
into that matrix and measures each series' spread (robust σ, per series and pooled by
group) in a few grouped numpy passes instead of one call per series.

The rows arrive sorted by series key and then by time: each run of equal keys is one
series (a practitioner on a rubric, a team's months, an item's months). Nothing here
loops over practitioners: a million rows take a few numpy passes. The charts themselves
are coaching.drift's.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np

from coaching.drift import MEDIAN_MOVING_RANGE


@dataclass
class Series:
    """Where each series starts in the rows, and how long it is."""

    start: np.ndarray
    length: np.ndarray
    of_row: np.ndarray  # the series each row belongs to
    position: np.ndarray  # each row's place within its series, from 0

    @classmethod
    def split(cls, keys):
        """Series from one or more sorted key columns (a row starts a series when any
        key differs from the row before)."""
        count = len(keys[0]) if keys else 0
        if count == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty, empty)
        new = np.zeros(count, dtype=bool)
        new[0] = True
        for column in keys:
            new[1:] |= column[1:] != column[:-1]
        start = np.flatnonzero(new)
        length = np.diff(np.append(start, count))
        of_row = np.cumsum(new) - 1
        return cls(start, length, of_row, np.arange(count) - start[of_row])

    def __len__(self):
        return len(self.start)

    def first(self, column):
        """The column's value at each series' first row."""
        return column[self.start]

    def last(self, column):
        return column[self.start + self.length - 1]

    def matrix(self, column, begin, fill=np.nan):
        """The rows of each series from position `begin` on, left-aligned in a 2-D array
        padded with `fill`; and each row's length."""
        lengths = np.maximum(self.length - begin, 0)
        width = int(lengths.max()) if len(lengths) else 0
        out = np.full((len(self), width), fill, dtype=np.asarray(column).dtype)
        taken = self.position >= begin[self.of_row]
        out[self.of_row[taken], (self.position - begin[self.of_row])[taken]] = column[taken]
        return out, lengths

    def mean(self, values, where):
        """Per series, the mean of `values` on rows where `where` holds (nan when none)."""
        use = where & ~np.isnan(values)
        total = np.bincount(self.of_row, np.where(use, values, 0.0), minlength=len(self))
        count = np.bincount(self.of_row, use.astype(float), minlength=len(self))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def moving_ranges(self, values, same=None):
        """|x − previous x| per row within a series (nan on each series' first row, beside a
        missing score, or where `same` differs from the row before)."""
        ranges = np.full(len(values), np.nan)
        ranges[1:] = np.abs(np.diff(values))
        ranges[self.position == 0] = np.nan
        if same is not None:
            ranges[1:][same[1:] != same[:-1]] = np.nan
        return ranges

    def robust_sigma(self, ranges):
        """Per series, the median moving range turned into a standard deviation, and how
        many ranges it rests on; nan where there are none."""
        valid = ~np.isnan(ranges)
        owner, values = self.of_row[valid], ranges[valid]
        order = np.lexsort((values, owner))
        owner, values = owner[order], values[order]
        counts = np.bincount(owner, minlength=len(self))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        has = counts > 0
        low = starts + np.maximum(counts - 1, 0) // 2
        high = starts + counts // 2
        median = np.full(len(self), np.nan)
        if has.any():
            median[has] = (values[low[has]] + values[high[has]]) / 2
        return median / MEDIAN_MOVING_RANGE, counts


def pooled_sigma(ranges, groups):
    """{group: (σ, ranges used)} from the median of every valid moving range in the group."""
    valid = ~np.isnan(ranges)
    found = {}
    for group in np.unique(groups[valid]):
        chosen = ranges[valid & (groups == group)]
        found[group.item()] = (float(np.median(chosen)) / MEDIAN_MOVING_RANGE, len(chosen))
    return found


def ymd_to_date(value):
    """A date from its yyyymmdd number (how the rows carry dates, so they stay numeric)."""
    value = int(value)
    return dt.date(value // 10000, value // 100 % 100, value % 100)

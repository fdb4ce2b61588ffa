"""The one rule for a partial month, as plain dates: a month still running where the
organization works, or one the range cuts, is partial; a month that is over is whole."""

import datetime as dt

import pytest

from miiwrap import months

D = dt.date
YEAR = (D(2026, 1, 1), D(2026, 12, 31))


@pytest.mark.parametrize(
    "today, partial",
    [
        (D(2026, 12, 3), True),  # three days in
        (D(2026, 12, 31), True),  # its last day is not over yet
        (D(2027, 1, 1), False),  # the day after
    ],
)
def test_the_current_month_is_partial_until_it_is_over(today, partial):
    assert months.is_partial(D(2026, 12, 1), *YEAR, today) is partial


def test_a_month_the_range_cuts_is_partial_though_it_is_over():
    today = D(2027, 2, 1)
    assert months.is_partial(D(2026, 5, 1), D(2026, 5, 15), D(2026, 12, 31), today)
    assert months.is_partial(D(2026, 12, 1), D(2026, 5, 1), D(2026, 12, 30), today)
    assert not months.is_partial(D(2026, 6, 1), D(2026, 5, 15), D(2026, 12, 30), today)


def test_the_share_counts_the_days_before_today():
    assert months.covered_share(D(2026, 12, 1), *YEAR, D(2026, 12, 4)) == pytest.approx(3 / 31)
    assert months.covered_share(D(2026, 12, 1), *YEAR, D(2026, 12, 1)) == 0
    assert months.covered_share(D(2026, 11, 1), *YEAR, D(2026, 12, 4)) == 1
    assert months.covered_share(D(2028, 2, 1), D(2028, 1, 1), D(2028, 2, 29), D(2029, 1, 1)) == 1


def test_a_future_month_counts_nothing():
    assert months.covered_share(D(2027, 1, 1), D(2026, 1, 1), D(2027, 1, 31), D(2026, 12, 4)) == 0


def test_labels_say_so_far_only_for_a_partial_month():
    assert months.month_label(D(2026, 12, 1)) == "Dec 2026"
    assert months.month_label(D(2026, 12, 1), partial=True) == "Dec 2026 (so far)"


def test_months_between_and_the_last_complete_day():
    assert months.months_between(D(2026, 11, 20), D(2027, 1, 2)) == [
        D(2026, 11, 1),
        D(2026, 12, 1),
        D(2027, 1, 1),
    ]
    assert months.last_complete_day(D(2026, 3, 1)) == D(2026, 2, 28)

"""The dispute window's days, on plain dates: both ends inclusive."""

import datetime as dt

import pytest

from observations.dispute_window import Window

D = dt.date


@pytest.mark.parametrize(
    ("today", "accepted"),
    [
        (D(2024, 4, 30), False),  # before it was submitted
        (D(2024, 5, 1), True),  # the day it was submitted
        (D(2024, 5, 15), True),  # the last day
        (D(2024, 5, 16), False),  # the day after
    ],
)
def test_the_window_runs_from_submission_through_its_last_day(today, accepted):
    assert Window(D(2024, 5, 1), 14).is_open_on(today) is accepted


def test_the_last_day_is_the_days_after_the_opening():
    assert Window(D(2024, 5, 1), 14).closes_on == D(2024, 5, 15)
    assert Window(D(2024, 12, 25), 14).closes_on == D(2025, 1, 8)


def test_a_leap_day_counts_as_a_day():
    assert Window(D(2024, 2, 20), 14).closes_on == D(2024, 3, 5)
    assert Window(D(2023, 2, 20), 14).closes_on == D(2023, 3, 6)


def test_a_one_day_window_takes_the_next_day_too():
    window = Window(D(2024, 5, 1), 1)
    assert window.is_open_on(D(2024, 5, 2)) and not window.is_open_on(D(2024, 5, 3))

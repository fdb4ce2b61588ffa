"""Certification date rules at their edges; no database."""

import datetime as dt

import pytest

from certification.dates import (
    Period,
    RenewFrom,
    Rules,
    State,
    add_months,
    next_date,
    next_period,
    period_from,
    state_on,
)

D = dt.date
RULES = Rules(active_months=24, window_days=90, grace_days=30)


@pytest.mark.parametrize(
    "day, months, expected",
    [
        (D(2024, 2, 29), 12, D(2025, 2, 28)),  # leap day, no 29 February next year
        (D(2024, 2, 29), 48, D(2028, 2, 29)),  # leap day to leap day
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2023, 11, 30), 3, D(2024, 2, 29)),
        (D(2023, 12, 15), 1, D(2024, 1, 15)),
        (D(2025, 6, 1), 18, D(2026, 12, 1)),
    ],
)
def test_add_months_keeps_the_day_or_falls_back_to_the_months_end(day, months, expected):
    assert add_months(day, months) == expected


def test_a_period_runs_two_years_less_a_day_with_window_and_grace():
    assert period_from(RULES, D(2025, 5, 2)) == Period(
        valid_from=D(2025, 5, 2),
        valid_until=D(2027, 5, 1),
        window_opens=D(2027, 1, 31),
        grace_ends=D(2027, 5, 31),
    )


def test_a_period_granted_on_a_leap_day():
    period = period_from(RULES, D(2024, 2, 29))
    assert period.valid_until == D(2026, 2, 27)
    assert period_from(Rules(active_months=48), D(2024, 2, 29)).valid_until == D(2028, 2, 28)


@pytest.mark.parametrize(
    "today, state",
    [
        (D(2025, 5, 1), State.NOT_YET),
        (D(2025, 5, 2), State.CERTIFIED),
        (D(2027, 1, 30), State.CERTIFIED),
        (D(2027, 1, 31), State.WINDOW_OPEN),
        (D(2027, 5, 1), State.WINDOW_OPEN),
        (D(2027, 5, 2), State.GRACE),
        (D(2027, 5, 31), State.GRACE),
        (D(2027, 6, 1), State.LAPSED),
    ],
)
def test_state_changes_on_exactly_the_right_days(today, state):
    assert state_on(period_from(RULES, D(2025, 5, 2)), today) == state


def test_revocation_wins_from_its_day_on():
    period = period_from(RULES, D(2025, 5, 2))
    assert state_on(period, D(2025, 9, 30), revoked_on=D(2025, 10, 1)) == State.CERTIFIED
    assert state_on(period, D(2025, 10, 1), revoked_on=D(2025, 10, 1)) == State.REVOKED


@pytest.mark.parametrize(
    "today, expected",
    [
        (D(2026, 1, 1), ("Expires", D(2027, 5, 1))),
        (D(2027, 2, 1), ("Window open until", D(2027, 5, 1))),
        (D(2027, 5, 10), ("Grace ends", D(2027, 5, 31))),
        (D(2027, 7, 1), ("Lapsed since", D(2027, 6, 1))),
    ],
)
def test_the_one_date_that_matters_next(today, expected):
    assert next_date(period_from(RULES, D(2025, 5, 2)), today) == expected


PREVIOUS = period_from(RULES, D(2025, 5, 2))  # expires 2027-05-01, grace to 2027-05-31


def test_a_renewal_inside_the_window_follows_the_old_expiry():
    renewed = next_period(RULES, D(2027, 3, 15), PREVIOUS)
    assert (renewed.valid_from, renewed.valid_until) == (D(2027, 5, 2), D(2029, 5, 1))


def test_a_renewal_before_the_window_opens_also_loses_no_time():
    renewed = next_period(RULES, D(2026, 6, 1), PREVIOUS)
    assert renewed.valid_from == D(2027, 5, 2)


def test_a_renewal_during_grace_starts_on_the_decision_day_never_backdated():
    renewed = next_period(RULES, D(2027, 5, 20), PREVIOUS)
    assert (renewed.valid_from, renewed.valid_until) == (D(2027, 5, 20), D(2029, 5, 19))


def test_the_last_day_of_grace_still_renews():
    assert next_period(RULES, D(2027, 5, 31), PREVIOUS).valid_from == D(2027, 5, 31)


def test_after_lapse_a_decision_starts_a_new_initial_period():
    fresh = next_period(RULES, D(2027, 6, 1), PREVIOUS)
    assert fresh == period_from(RULES, D(2027, 6, 1))


def test_renewing_from_the_decision_date_starts_that_day():
    rules = Rules(renew_from=RenewFrom.DECISION)
    assert next_period(rules, D(2027, 3, 15), PREVIOUS).valid_from == D(2027, 3, 15)


def test_a_first_certification_starts_on_the_decision_day():
    assert next_period(RULES, D(2025, 5, 2)) == PREVIOUS


def test_eighteen_month_programs_work_too():
    period = period_from(Rules(active_months=18, window_days=60, grace_days=0), D(2025, 8, 31))
    assert (period.valid_until, period.window_opens) == (D(2027, 2, 27), D(2026, 12, 29))
    assert state_on(period, D(2027, 2, 28)) == State.LAPSED

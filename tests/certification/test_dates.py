"""Certification date rules at their edges; no database."""

import datetime as dt

import pytest

from certification.dates import (
    LABELS,
    Held,
    Period,
    RenewFrom,
    Rules,
    Standing,
    State,
    add_months,
    holds_on,
    next_date,
    next_period,
    period_from,
    standing,
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


# One person in one program: the state from all their periods --------------------------------

FIRST_PERIOD = Held(PREVIOUS, key=1)  # 2025-05-02 to 2027-05-01, window 2027-01-31


def test_with_no_period_a_person_is_not_certified_or_in_progress():
    assert standing([], D(2026, 1, 1)) == Standing(State.NOT_CERTIFIED)
    assert standing([], D(2026, 1, 1), accumulating=True) == Standing(State.IN_PROGRESS)


@pytest.mark.parametrize(
    "today, state, next_one",
    [
        (D(2026, 1, 1), State.CERTIFIED, ("Expires", D(2027, 5, 1))),
        (D(2027, 1, 31), State.WINDOW_OPEN, ("Window open until", D(2027, 5, 1))),
        (D(2027, 5, 2), State.GRACE, ("Grace ends", D(2027, 5, 31))),
        (D(2027, 6, 1), State.LAPSED, ("Lapsed since", D(2027, 6, 1))),
    ],
)
def test_one_period_gives_the_state_and_the_one_date_that_matters(today, state, next_one):
    found = standing([FIRST_PERIOD], today, accumulating=True)
    assert (found.state, found.held, found.next_date(today)) == (state, FIRST_PERIOD, next_one)


def test_a_renewal_decided_in_the_window_makes_the_person_certified_to_the_new_expiry():
    renewed = Held(next_period(RULES, D(2027, 3, 15), PREVIOUS), key=2)
    found = standing([FIRST_PERIOD, renewed], D(2027, 3, 16))
    assert (found.state, found.held) == (State.CERTIFIED, renewed)
    assert found.next_date(D(2027, 3, 16)) == ("Expires", D(2029, 5, 1))
    # Once it has started, it is the latest period that started.
    assert standing([FIRST_PERIOD, renewed], D(2027, 5, 2)).held == renewed


def test_a_revoked_period_makes_the_person_revoked_from_that_day():
    revoked = Held(PREVIOUS, revoked_on=D(2026, 3, 1), key=1)
    assert standing([revoked], D(2026, 2, 28)).state == State.CERTIFIED
    found = standing([revoked], D(2026, 3, 1))
    assert found.state == State.REVOKED
    assert found.next_date(D(2026, 3, 1)) == ("Revoked on", D(2026, 3, 1))


def test_a_revoked_renewal_decided_ahead_does_not_count():
    ahead = Held(next_period(RULES, D(2027, 3, 15), PREVIOUS), revoked_on=D(2027, 4, 1), key=2)
    assert standing([FIRST_PERIOD, ahead], D(2027, 4, 2)).state == State.WINDOW_OPEN


def test_a_new_first_certification_after_a_lapse_is_what_counts():
    assert standing([FIRST_PERIOD], D(2027, 8, 31)).state == State.LAPSED
    fresh = Held(next_period(RULES, D(2027, 9, 1), PREVIOUS), key=2)
    assert fresh.period.valid_from == D(2027, 9, 1)
    assert standing([FIRST_PERIOD, fresh], D(2027, 9, 1)) == Standing(State.CERTIFIED, fresh)


@pytest.mark.parametrize(
    "day, valid",
    [
        (D(2025, 5, 1), False),
        (D(2025, 5, 2), True),
        (D(2027, 5, 1), True),
        (D(2027, 5, 2), False),  # grace still allows renewal, but is not certified
    ],
)
def test_holding_a_certification_on_a_day_excludes_grace(day, valid):
    assert holds_on([FIRST_PERIOD], day) is valid


def test_holding_ends_the_day_a_revocation_takes_effect():
    revoked = Held(PREVIOUS, revoked_on=D(2026, 3, 1))
    assert holds_on([revoked], D(2026, 2, 28))
    assert not holds_on([revoked], D(2026, 3, 1))


def test_every_state_has_a_label():
    assert {state: LABELS[state] for state in State}[State.WINDOW_OPEN] == "Window open"
    assert set(LABELS) == set(State)

"""Certification date rules: plain functions over dates, tested without a database.

A period is valid from `valid_from` through `valid_until` (both inclusive). Its
recertification window opens `window_days` before expiry; after expiry a grace period of
`grace_days` still allows renewal; after that the certification has lapsed and the person
starts the initial path again. Every date is a calendar date in the organization's zone.
"""

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

DAY = dt.timedelta(days=1)


class RenewFrom(StrEnum):
    EXPIRY = "expiry"  # early renewers lose no time: the new period follows the old one
    DECISION = "decision"  # the new period starts on the day of the decision


class State(StrEnum):
    NOT_YET = "not_yet"  # a period decided ahead of its start
    CERTIFIED = "certified"
    WINDOW_OPEN = "window_open"
    GRACE = "grace"
    LAPSED = "lapsed"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Rules:
    active_months: int = 24
    window_days: int = 90
    grace_days: int = 30
    renew_from: RenewFrom = RenewFrom.EXPIRY


@dataclass(frozen=True)
class Period:
    valid_from: dt.date
    valid_until: dt.date
    window_opens: dt.date
    grace_ends: dt.date


def add_months(day, months):
    """The same day `months` later; the 29th to 31st fall back to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_from(rules, valid_from):
    """The dates of a period that starts on `valid_from`."""
    valid_until = add_months(valid_from, rules.active_months) - DAY
    return Period(
        valid_from=valid_from,
        valid_until=valid_until,
        window_opens=valid_until - dt.timedelta(days=rules.window_days),
        grace_ends=valid_until + dt.timedelta(days=rules.grace_days),
    )


def is_renewal(previous, decided_on):
    """A decision renews the previous period while its grace lasts; later it starts anew."""
    return previous is not None and decided_on <= previous.grace_ends


def next_period(rules, decided_on, previous=None):
    """The period a decision on `decided_on` grants, given the person's latest period.

    Renewing from expiry, an early renewal starts the day after the old expiry, so no
    time is lost; a renewal in grace starts on the decision day, never backdated; after
    grace the person is certified anew from the decision.
    """
    if is_renewal(previous, decided_on) and rules.renew_from == RenewFrom.EXPIRY:
        return period_from(rules, max(decided_on, previous.valid_until + DAY))
    return period_from(rules, decided_on)


def state_on(period, today, revoked_on=None):
    """Where a period stands on `today`; derived every time, never stored."""
    if revoked_on is not None and revoked_on <= today:
        return State.REVOKED
    if today < period.valid_from:
        return State.NOT_YET
    if today < period.window_opens:
        return State.CERTIFIED
    if today <= period.valid_until:
        return State.WINDOW_OPEN
    if today <= period.grace_ends:
        return State.GRACE
    return State.LAPSED


def next_date(period, today, revoked_on=None):
    """(what, date): the one date that matters next for this period on `today`."""
    state = state_on(period, today, revoked_on)
    return {
        State.REVOKED: ("Revoked on", revoked_on),
        State.NOT_YET: ("Valid from", period.valid_from),
        State.CERTIFIED: ("Expires", period.valid_until),
        State.WINDOW_OPEN: ("Window open until", period.valid_until),
        State.GRACE: ("Grace ends", period.grace_ends),
        State.LAPSED: ("Lapsed since", period.grace_ends + DAY),
    }[state]

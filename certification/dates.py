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
    NOT_CERTIFIED = "not_certified"  # never certified, no observations yet
    IN_PROGRESS = "in_progress"  # never certified, observations accumulating
    NOT_YET = "not_yet"  # a period decided ahead of its start
    CERTIFIED = "certified"
    WINDOW_OPEN = "window_open"
    GRACE = "grace"
    LAPSED = "lapsed"
    REVOKED = "revoked"


LABELS = {
    State.NOT_CERTIFIED: "Not certified",
    State.IN_PROGRESS: "In progress",
    State.NOT_YET: "Not yet valid",
    State.CERTIFIED: "Certified",
    State.WINDOW_OPEN: "Window open",
    State.GRACE: "Grace",
    State.LAPSED: "Lapsed",
    State.REVOKED: "Revoked",
}


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


# What the one date that matters next is called, in each state a period can be in.
NEXT_LABELS = {
    State.REVOKED: "Revoked on",
    State.NOT_YET: "Valid from",
    State.CERTIFIED: "Expires",
    State.WINDOW_OPEN: "Window open until",
    State.GRACE: "Grace ends",
    State.LAPSED: "Lapsed since",
}


def next_date(period, today, revoked_on=None):
    """(what, date): the one date that matters next for this period on `today`."""
    state = state_on(period, today, revoked_on)
    return NEXT_LABELS[state], {
        State.REVOKED: revoked_on,
        State.NOT_YET: period.valid_from,
        State.CERTIFIED: period.valid_until,
        State.WINDOW_OPEN: period.valid_until,
        State.GRACE: period.grace_ends,
        State.LAPSED: period.grace_ends + DAY,
    }[state]


# One person in one program, from all the periods they hold there ---------------------------


@dataclass(frozen=True)
class Held:
    """A period as a person holds it: its dates, its revocation, and the record's key."""

    period: Period
    revoked_on: dt.date | None = None
    key: object = None

    def is_revoked(self, today):
        return self.revoked_on is not None and self.revoked_on <= today

    def valid_on(self, day):
        """Certified on `day`: inside the period and not yet revoked (grace is not valid)."""
        inside = self.period.valid_from <= day <= self.period.valid_until
        return inside and not self.is_revoked(day)


@dataclass(frozen=True)
class Standing:
    state: State
    held: Held | None = None  # the period the state comes from

    @property
    def label(self):
        return LABELS[self.state]

    def next_date(self, today):
        """(what, date) that matters next; None before a first certification."""
        if self.held is None:
            return None
        if self.state == State.CERTIFIED:
            return ("Expires", self.held.period.valid_until)
        return next_date(self.held.period, today, self.held.revoked_on)


class OnDay:
    """For a record of one person in one program with `standing` and `today`."""

    @property
    def state(self):
        return self.standing.state

    @property
    def next_date(self):
        return self.standing.next_date(self.today)


def standing(held, today, accumulating=False):
    """Where a person stands in a program on `today`, from every period they hold there.

    A renewal decided ahead of its start keeps them certified until its expiry; otherwise
    the latest period that has started decides. With none, they are in progress while
    observations accumulate. The roster's SQL (certification.models) mirrors this.
    """
    ahead = [h for h in held if h.period.valid_from > today and not h.is_revoked(today)]
    if ahead:
        return Standing(
            State.CERTIFIED, max(ahead, key=lambda h: (h.period.valid_from, h.key or 0))
        )
    started = [h for h in held if h.period.valid_from <= today]
    if not started:
        return Standing(State.IN_PROGRESS if accumulating else State.NOT_CERTIFIED)
    latest = max(started, key=lambda h: (h.period.valid_from, h.key or 0))
    return Standing(state_on(latest.period, today, latest.revoked_on), latest)


def holds_on(held, day):
    """Whether any of these periods made the person certified on `day`."""
    return any(h.valid_on(day) for h in held)

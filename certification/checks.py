"""The invariants certification records must keep, checked over every period at once.

`problems(periods, observations, events)` reads rows already fetched and yields
(period, what is wrong); check_certifications prints them. Some rules are database
constraints too; they are checked here as well, since rows can arrive around them
(a restore, a raw SQL fix).
"""

import datetime as dt
import itertools

from certification.models import CertificationEvent

DECISIONS = {CertificationEvent.Kind.CERTIFIED, CertificationEvent.Kind.RECERTIFIED}


def effective_end(period):
    """The last day a period certified: its expiry, or the day before its revocation."""
    if period.revoked_on is not None:
        return min(period.valid_until, period.revoked_on - dt.timedelta(days=1))
    return period.valid_until


def problems(periods, observations, events, disputes=None):
    """Every broken rule. `periods` ordered by person, program and start; `observations`
    {id: status} for the ids their evidence names; `events` {period id: set of kinds};
    `disputes` {observation id: [(raised at, settled at or None)]} of those ids."""
    disputes = disputes or {}
    for _, group in itertools.groupby(periods, key=lambda p: (p.person_id, p.program_id)):
        earlier = []
        for period in group:
            yield from ((period, text) for text in _own_problems(period))
            yield from ((period, text) for text in _history_problems(period, earlier))
            yield from ((period, text) for text in _evidence_problems(period, observations))
            yield from ((period, text) for text in _dispute_problems(period, disputes))
            yield from ((period, text) for text in _audit_problems(period, events))
            earlier.append(period)


def _own_problems(period):
    if not period.valid_from <= period.valid_until:
        yield "expires before it starts"
    if period.window_opens > period.valid_until:
        yield f"its window opens ({period.window_opens}) after it expires ({period.valid_until})"
    if period.grace_ends < period.valid_until:
        yield f"its grace ends ({period.grace_ends}) before it expires ({period.valid_until})"
    if period.valid_from < period.decided_on:
        yield f"starts ({period.valid_from}) before it was decided ({period.decided_on})"
    if period.decided_by_id == period.person_id:
        yield "was decided by the person it certifies"
    if period.revoked_on is not None and not period.revocation_reason.strip():
        yield "was revoked without a reason"
    if period.revoked_on is not None and period.revoked_on < period.decided_on:
        yield f"was revoked ({period.revoked_on}) before it was decided ({period.decided_on})"
    yield from _date_problems(period)


def _date_problems(period):
    person = period.person
    recorded_on = period.person.organization.local_today(period.decided_at)
    if period.decided_on > recorded_on:
        yield f"is dated {period.decided_on}, after the day it was recorded ({recorded_on})"
    elif period.decided_on < recorded_on and not period.backdate_reason.strip():
        yield f"is dated {period.decided_on}, before it was recorded ({recorded_on}), unexplained"
    if period.decided_on < person.hire_date:
        yield f"was decided before {person} was hired ({person.hire_date})"
    if person.leave_date is not None and period.decided_on > person.leave_date:
        yield f"was decided after {person} left ({person.leave_date})"


def _history_problems(period, earlier):
    for before in earlier:
        superseding = period.is_renewal and period.valid_from == period.decided_on
        if period.valid_from <= effective_end(before) and not superseding:
            yield f"overlaps the period {before.valid_from} to {before.valid_until} (#{before.pk})"
    if period.is_renewal and not any(
        before.revoked_on is None and before.valid_from <= period.decided_on <= before.grace_ends
        for before in earlier
    ):
        yield "is marked a renewal, but no earlier period was open to renew on its decision day"


def _evidence_problems(period, observations):
    ids = period.evidence_ids()
    if not period.evidence and not period.override_reason.strip():
        yield "certifies without evidence and without an override reason"
    missing = [pk for pk in ids if pk not in observations]
    drafts = [pk for pk in ids if observations.get(pk) == "draft"]
    if missing:
        yield f"names evidence that no longer exists: observation {_list(missing)}"
    if drafts:
        yield f"names draft observations as evidence: {_list(drafts)}"


def _dispute_problems(period, disputes):
    """Evidence is chosen without the observations under dispute on the day it is kept."""
    held_back = [
        pk
        for pk in period.evidence_ids()
        for raised_at, settled_at in disputes.get(pk, ())
        if raised_at < period.decided_at and (settled_at is None or settled_at > period.decided_at)
    ]
    if held_back:
        yield f"names as evidence an observation disputed when it was decided: {_list(held_back)}"


def _audit_problems(period, events):
    kinds = events.get(period.pk, set())
    if not kinds & DECISIONS:
        yield "has no decision in its audit history"
    if period.revoked_on is not None and CertificationEvent.Kind.REVOKED not in kinds:
        yield "is revoked, but the audit history has no revocation"


def _list(ids):
    return ", ".join(f"#{pk}" for pk in ids)

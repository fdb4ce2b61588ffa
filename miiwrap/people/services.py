"""Writes about people that touch more than one row.

Person.team and RoleGrant say only what holds today. TeamMembership and RolePeriod keep
when it held, so figures as of a past month (the leader dashboard's internal capacity)
read the team and roles of that month. Every path that changes a person's team or roles
(the admin, the demo, the test helpers) calls person_periods_sync afterwards.
"""

import datetime as dt

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from miiwrap import generations
from miiwrap.people.models import RoleGrant, RolePeriod, TeamMembership

DAY = dt.timedelta(days=1)


@transaction.atomic
def person_periods_sync(*, person, on):
    """Bring the person's open periods in line with their team and role grants as of
    `on`: a period no longer true ends the day before `on`, a new one starts on `on`.
    Calling it again changes nothing. Returns (periods opened, periods closed)."""
    wanted_team = [(person.team_id,)] if person.team_id else []
    team_open = TeamMembership.objects.filter(person=person, ends_on=None)
    opened, closed = _sync(team_open, ("team_id",), wanted_team, on)
    for (team_id,) in opened:
        TeamMembership.objects.create(person=person, team_id=team_id, starts_on=on)
    roles = RoleGrant.objects.filter(person=person).values_list("role", flat=True)
    role_open = RolePeriod.objects.filter(person=person, ends_on=None)
    role_opened, role_closed = _sync(role_open, ("role",), [(r,) for r in roles], on)
    for (role,) in role_opened:
        RolePeriod.objects.create(person=person, role=role, starts_on=on)
    return len(opened) + len(role_opened), closed + role_closed


@transaction.atomic
def person_periods_begin(*, person):
    """The periods of a person just added, who has none yet: their team and each role they
    were granted, from their hire date. What person_periods_sync(on=hire date) would
    write, in two inserts (with their history) rather than a read and an insert a period:
    for the places that add many people (the test worlds)."""
    on = person.hire_date
    if person.team_id:
        team = TeamMembership(person=person, team_id=person.team_id, starts_on=on)
        bulk_create_with_history([team], TeamMembership)
    roles = RoleGrant.objects.filter(person=person).values_list("role", flat=True)
    if periods := [RolePeriod(person=person, role=role, starts_on=on) for role in sorted(roles)]:
        bulk_create_with_history(periods, RolePeriod)
    generations.touched(person.organization_id)


def _sync(open_periods, fields, wanted, on):
    """Close the open periods whose `fields` are not `wanted`; return (the wanted values
    with no open period, how many were closed)."""
    wanted, closed = set(wanted), 0
    for period in open_periods.select_for_update():
        key = tuple(getattr(period, name) for name in fields)
        if key in wanted:
            wanted.discard(key)
            continue
        _close(period, on)
        closed += 1
    return sorted(wanted, key=str), closed


def _close(period, on):
    """End the period the day before `on`; one that began on `on` never held a whole day
    and is deleted (its history row still says who made and removed it)."""
    if period.starts_on >= on:
        period.delete()
        return
    period.ends_on = on - DAY
    period.save(update_fields=["ends_on"])

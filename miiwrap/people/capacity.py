"""Internal capacity: is an organization building its own coaches and trainers, or
depending on outside support? Plain functions over plain rows, read as of a day.

Who counts on a day (every figure reads the periods, not today's Person.team/RoleGrant):
- a *front-line practitioner* is employed that day (hired on or before it, not yet left)
  and holds the practitioner role but not the coach role: coaches are also practitioners,
  and counting them on both sides would flatter the ratio;
- a *certified coach* is employed, holds the coach role, and holds a valid certification
  in the coach program that day (dates.Held.valid_on: grace is not valid);
- a *trainer* is employed and holds a valid certification in the trainer program;
- with a team chosen, only those whose team membership covers that day.

The ratio is certified coaches and trainers (each person once) per front-line
practitioner. Turnover over a span is the leavers whose last day fell in it, holding the
counted (a front-line practitioner, a coach) on that day, over the mean headcount of the
month ends. A new hire is a front-line
practitioner hired within NEW_HIRE_DAYS with no certification begun in the practitioner
program; they are at risk from AT_RISK_DAYS before the program's deadline after hire.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from miiwrap import months

PRACTITIONER, COACH = "practitioner", "coach"
# Programs by their shipped codes (certification migration 0002).
PRACTITIONER_PROGRAM, COACH_PROGRAM, TRAINER_PROGRAM = "practitioner", "coach", "trainer"
NEW_HIRE_DAYS = 90
AT_RISK_DAYS = 14
MONTHS_SHOWN = 12


@dataclass(frozen=True)
class Member:
    id: int
    organization_id: int
    name: str
    hire_date: dt.date
    leave_date: dt.date | None = None

    def employed_on(self, day):
        return self.hire_date <= day and (self.leave_date is None or self.leave_date >= day)


@dataclass(frozen=True)
class Span:
    """A role (or team id) a person held from `starts_on` through `ends_on` (None: still)."""

    person_id: int
    key: object
    starts_on: dt.date
    ends_on: dt.date | None = None

    def covers(self, day):
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)


@dataclass
class World:
    """What one organization's (or team's) figures are read from."""

    people: dict  # {person id: Member}
    roles: list  # [Span] of roles
    certified: dict = field(default_factory=dict)  # {(person id, program code): [dates.Held]}
    teams: list | None = None  # [Span] of team ids, when a team is chosen
    team_id: int | None = None

    def holding(self, key, day, spans=None):
        """Ids of people whose span with `key` covers `day`."""
        spans = self.roles if spans is None else spans
        return {s.person_id for s in spans if s.key == key and s.covers(day)}

    def employed(self, day):
        found = {pk for pk, person in self.people.items() if person.employed_on(day)}
        if self.team_id is not None:
            found &= self.holding(self.team_id, day, self.teams or [])
        return found

    def certified_in(self, program, day):
        return {
            pk
            for (pk, code), held in self.certified.items()
            if code == program and any(h.valid_on(day) for h in held)
        }


@dataclass(frozen=True)
class Point:
    day: dt.date
    practitioners: int
    coaches: int
    trainers: int
    experts: int  # certified coaches and trainers, each person once

    @property
    def per_practitioner(self):
        """Experts per front-line practitioner, to two places; None without practitioners."""
        if not self.practitioners:
            return None
        return _two_places(Decimal(self.experts) / self.practitioners)

    @property
    def per_ten(self):
        """The same per ten front-line practitioners, to one place: what the pages show."""
        if not self.practitioners:
            return None
        exact = Decimal(10 * self.experts) / self.practitioners
        return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _two_places(value):
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def practitioners_on(world, day):
    employed = world.employed(day)
    return employed & world.holding(PRACTITIONER, day) - world.holding(COACH, day)


def coaches_on(world, day):
    coaching = world.employed(day) & world.holding(COACH, day)
    return coaching & world.certified_in(COACH_PROGRAM, day)


def trainers_on(world, day):
    return world.employed(day) & world.certified_in(TRAINER_PROGRAM, day)


def point(world, day):
    coaches, trainers = coaches_on(world, day), trainers_on(world, day)
    return Point(
        day, len(practitioners_on(world, day)), len(coaches), len(trainers), len(coaches | trainers)
    )


def month_ends(today, count=MONTHS_SHOWN):
    """The last day of each of the `count` - 1 months before today's, then today."""
    ends, month = [today], months.first_day(today)
    for _ in range(count - 1):
        month = months.first_day(month - dt.timedelta(days=1))
        ends.append(months.last_day(month))
    return sorted(ends)


def trend(world, today, count=MONTHS_SHOWN):
    return [point(world, day) for day in month_ends(today, count)]


@dataclass(frozen=True)
class Turnover:
    leavers: int
    mean_headcount: Decimal

    @property
    def percent(self):
        """Leavers per hundred of the mean headcount; None with nobody to lose."""
        if not self.mean_headcount:
            return None
        return _two_places(100 * self.leavers / self.mean_headcount).quantize(Decimal("1"))


def turnover(world, counted, today, count=MONTHS_SHOWN):
    """Leavers over the `count` months to today, each counted by `counted(world, day)` on
    their last day (a coach's leaving is not a front-line practitioner's): whose leave
    date falls after the first month end's month began; over the mean of `counted` at
    each month end."""
    days = month_ends(today, count)
    first = months.first_day(days[0])
    leavers = [
        person
        for person in world.people.values()
        if person.leave_date is not None
        and first <= person.leave_date <= today
        and person.id in counted(world, person.leave_date)
    ]
    mean = Decimal(sum(len(counted(world, day)) for day in days)) / len(days)
    return Turnover(len(leavers), _two_places(mean))


@dataclass(frozen=True)
class Dependence:
    practitioners: int
    one_coach: int
    no_coach: int
    busiest_caseload: int  # front-line practitioners with the coach who has the most


def dependence(world, today, assignments):
    """How today's front-line practitioners are coached, from current assignments
    [(coach id, practitioner id)]: exactly one coach (whose leaving would leave them
    uncoached), none at all, and the largest caseload among them."""
    practitioners = practitioners_on(world, today)
    coaches_of, caseloads = {}, {}
    for coach_id, practitioner_id in set(assignments):
        if practitioner_id in practitioners:
            coaches_of.setdefault(practitioner_id, set()).add(coach_id)
            caseloads[coach_id] = caseloads.get(coach_id, 0) + 1
    one = sum(1 for coaches in coaches_of.values() if len(coaches) == 1)
    return Dependence(
        len(practitioners),
        one,
        len(practitioners) - len(coaches_of),
        max(caseloads.values(), default=0),
    )


@dataclass(frozen=True)
class NewHire:
    person: Member
    days_since_hire: int
    days_left: int | None  # to the deadline; negative past it; None without a deadline

    @property
    def status(self):
        if self.days_left is None:
            return "No deadline"
        if self.days_left < 0:
            return "Past deadline"
        return "At risk" if self.days_left <= AT_RISK_DAYS else "On track"

    @property
    def at_risk(self):
        return self.status in {"Past deadline", "At risk"}


def new_hires(world, today, deadline_days):
    """Front-line practitioners hired within NEW_HIRE_DAYS with no certification begun in
    the practitioner program since their hire, longest waiting first."""
    begun = {pk for (pk, code), held in world.certified.items() if code == PRACTITIONER_PROGRAM}
    found = []
    for pk in practitioners_on(world, today) - begun:
        person = world.people[pk]
        waited = (today - person.hire_date).days
        if waited <= NEW_HIRE_DAYS:
            left = None if deadline_days is None else deadline_days - waited
            found.append(NewHire(person, waited, left))
    return sorted(found, key=lambda hire: (-hire.days_since_hire, hire.person.name, hire.person.id))


@dataclass(frozen=True)
class EvidenceShare:
    own: int = 0
    purveyor: int = 0
    other: int = 0

    @property
    def total(self):
        return self.own + self.purveyor + self.other

    def percent(self, part):
        """A part's share of the evidence in whole percent; None with no evidence."""
        if not self.total:
            return None
        return _two_places(Decimal(100 * getattr(self, part)) / self.total).quantize(Decimal("1"))


def evidence_share(organization_id, observers):
    """Whose observations certified an organization's people: `observers` is one
    (observer's organization id, that organization is the purveyor) for each observation
    kept as evidence; own, the purveyor's staff, or another organization's."""
    own = purveyor = other = 0
    for observer_org, is_purveyor in observers:
        if observer_org == organization_id:
            own += 1
        elif is_purveyor:
            purveyor += 1
        else:
            other += 1
    return EvidenceShare(own, purveyor, other)

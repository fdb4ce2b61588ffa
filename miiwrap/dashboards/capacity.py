"""Internal capacity as the leader dashboard and the purveyor's comparison show it: the
rows miiwrap.people.capacity reads, fetched for any number of organizations in a fixed
number of queries, and the tables and chart made of its figures."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from certification.models import CertificationPeriod, Program
from coaching.models import CoachAssignment
from miiwrap import charts, months
from miiwrap.dashboards.tables import Cell, Table, person_cell
from miiwrap.people import capacity
from miiwrap.people.models import Person, RolePeriod, TeamMembership
from observations.models import Observation

PROGRAMS = (capacity.PRACTITIONER_PROGRAM, capacity.COACH_PROGRAM, capacity.TRAINER_PROGRAM)
MOST_LINES = 8


@dataclass
class Figures:
    """One organization's capacity (or one team's, with a team chosen)."""

    organization: object
    trend: list  # [capacity.Point], oldest first, the last today
    dependence: capacity.Dependence
    coach_turnover: capacity.Turnover
    practitioner_turnover: capacity.Turnover
    new_hires: list  # [capacity.NewHire]
    evidence: capacity.EvidenceShare
    deadline_days: int | None  # the practitioner program's, from hire

    @property
    def now(self):
        return self.trend[-1]

    @property
    def year_ago(self):
        return self.trend[0]

    @property
    def at_risk(self):
        return sum(hire.at_risk for hire in self.new_hires)


def read(organizations, today, team=None):
    """{organization id: Figures} as of `today`, in seven queries whatever their size
    (eight with a team chosen; six when no certification kept evidence)."""
    first = months.first_day(capacity.month_ends(today)[0])
    ids = [org.pk for org in organizations]
    people = Person.objects.filter(organization_id__in=ids, hire_date__lte=today)
    people = people.filter(Q(leave_date=None) | Q(leave_date__gte=first)).order_by()
    teams = None
    if team is not None:
        memberships = TeamMembership.objects.filter(person__in=people, team=team)
        teams = _spans(memberships, "team_id", first, today)
    worlds = {
        pk: capacity.World({}, [], teams=teams, team_id=team.pk if team else None) for pk in ids
    }
    org_of = _members(people, worlds)
    for span in _spans(RolePeriod.objects.filter(person__in=people), "role", first, today):
        worlds[org_of[span.person_id]].roles.append(span)
    for key, held in _certified(ids, first, today).items():
        if key[0] in org_of:
            worlds[org_of[key[0]]].certified[key] = held
    assignments = {pk: [] for pk in ids}
    for coach_id, practitioner_id, org in _assignments(ids, today):
        assignments[org].append((coach_id, practitioner_id))
    evidence, deadline = _evidence_observers(ids, first, today), _deadline()
    return {
        org.pk: _figures(
            org, worlds[org.pk], assignments[org.pk], evidence.get(org.pk, []), today, deadline
        )
        for org in organizations
    }


def new_hires(organizations, today, people=None):
    """({organization id: [capacity.NewHire]}, the deadline): the capacity section's new
    hires (of `people`, ids or a query of them, when given), reading only those hired in the last
    NEW_HIRE_DAYS: four queries."""
    first = months.first_day(capacity.month_ends(today)[0])
    ids = [org.pk for org in organizations]
    since = today - dt.timedelta(days=capacity.NEW_HIRE_DAYS)
    recent = Person.objects.filter(organization_id__in=ids, hire_date__range=(since, today))
    if people is not None:
        recent = recent.filter(pk__in=people)
    recent = recent.filter(Q(leave_date=None) | Q(leave_date__gte=today)).order_by()
    worlds = {pk: capacity.World({}, []) for pk in ids}
    org_of = _members(recent, worlds)
    for span in _spans(RolePeriod.objects.filter(person__in=recent), "role", today, today):
        worlds[org_of[span.person_id]].roles.append(span)
    periods = CertificationPeriod.objects.valid_within(first, today).filter(
        person__in=recent, program__code=capacity.PRACTITIONER_PROGRAM
    )
    for key, held in periods.held_by("person_id", "program__code").items():
        worlds[org_of[key[0]]].certified[key] = held
    deadline = _deadline()
    return {pk: capacity.new_hires(worlds[pk], today, deadline) for pk in ids}, deadline


def _members(people, worlds):
    """Each person into their organization's world; {person id: organization id}."""
    org_of = {}
    for pk, org, first_name, last_name, hired, left in people.values_list(
        "pk", "organization_id", "first_name", "last_name", "hire_date", "leave_date"
    ):
        name = f"{first_name} {last_name}".strip()
        worlds[org].people[pk] = capacity.Member(pk, org, name, hired, left)
        org_of[pk] = org
    return org_of


def _spans(periods, key, first, today):
    found = periods.overlapping(first, today).order_by()
    return [
        capacity.Span(pk, value, starts, ends)
        for pk, value, starts, ends in found.values_list("person_id", key, "starts_on", "ends_on")
    ]


def _certified(ids, first, today):
    periods = CertificationPeriod.objects.valid_within(first, today)
    periods = periods.filter(person__organization_id__in=ids, program__code__in=PROGRAMS)
    return periods.held_by("person_id", "program__code")


def _assignments(ids, today):
    current = CoachAssignment.objects.current(today).filter(practitioner__organization_id__in=ids)
    found = current.order_by().values_list(
        "coach_id", "practitioner_id", "practitioner__organization_id"
    )
    return list(found)


def _evidence_observers(ids, first, today):
    """{organization id: [(observer's organization id, it is the purveyor)]}: one for each
    observation kept as evidence by a certification of its people decided in the span."""
    decided = CertificationPeriod.objects.filter(
        person__organization_id__in=ids, decided_on__range=(first, today)
    )
    used = set()
    for org, evidence in decided.order_by().values_list("person__organization_id", "evidence"):
        used |= {(org, entry["id"]) for entry in evidence or [] if _names_observation(entry)}
    observers = Observation.objects.filter(pk__in={pk for _, pk in used}).values_list(
        "pk", "coach__organization_id", "coach__organization__is_purveyor"
    )
    by_pk = {pk: (org, is_purveyor) for pk, org, is_purveyor in observers}
    found = {}
    for org, pk in sorted(used):
        if pk in by_pk:
            found.setdefault(org, []).append(by_pk[pk])
    return found


def _names_observation(entry):
    return isinstance(entry, dict) and isinstance(entry.get("id"), int)


def _deadline():
    """The practitioner program's days from hire to certification (None: no deadline)."""
    program = Program.objects.filter(code=capacity.PRACTITIONER_PROGRAM)
    return program.values_list("deadline_days_after_hire", flat=True).first()


def _figures(org, world, assignments, observers, today, deadline):
    return Figures(
        organization=org,
        trend=capacity.trend(world, today),
        dependence=capacity.dependence(world, today, assignments),
        coach_turnover=capacity.turnover(world, _coaching, today),
        practitioner_turnover=capacity.turnover(world, capacity.practitioners_on, today),
        new_hires=capacity.new_hires(world, today, deadline),
        evidence=capacity.evidence_share(org.pk, observers),
        deadline_days=deadline,
    )


def _coaching(world, day):
    """Coaches by role, certified or not: turnover is about people leaving."""
    return world.employed(day) & world.holding(capacity.COACH, day)


# What the pages show -----------------------------------------------------------------------

COMPARISON_HEADINGS = [
    "Organization",
    "Front-line practitioners",
    "Certified coaches",
    "Trainers",
    "Coaches and trainers per 10 practitioners",
    "12 months ago",
    "Practitioners with one coach only",
    "Practitioners with no coach",
    "Coach turnover (%)",
    "Practitioner turnover (%)",
    "New hires at risk",
    "Evidence observed by own coaches (%)",
    "Evidence observed by the purveyor (%)",
]


def comparison(figures, key="capacity"):
    """One row per organization: where it stands today, and its ratio a year before."""
    rows = [
        [
            f.organization.name,
            f.now.practitioners,
            f.now.coaches,
            f.now.trainers,
            f.now.per_ten,
            f.year_ago.per_ten,
            f.dependence.one_coach,
            f.dependence.no_coach,
            f.coach_turnover.percent,
            f.practitioner_turnover.percent,
            Cell(f.at_risk, css="text-danger fw-semibold" if f.at_risk else ""),
            f.evidence.percent("own"),
            f.evidence.percent("purveyor"),
        ]
        for f in figures
    ]
    return Table(
        key,
        "Internal capacity today, with the ratio twelve months before",
        COMPARISON_HEADINGS,
        rows,
        empty="No organization to compare.",
    )


def ratio_chart(figures):
    """Coaches and trainers per front-line practitioner at each month end, a line for each
    organization while they are few enough to tell apart; None beyond."""
    if not figures or len(figures) > MOST_LINES:
        return None
    days = [point.day for point in figures[0].trend]
    return charts.line_chart(
        title="Certified coaches and trainers per 10 front-line practitioners, by month end",
        labels=[_month_end_label(day, days[-1]) for day in days],
        series=[(f.organization.name, [_float(p.per_ten) for p in f.trend]) for f in figures],
        low=0,
        partial=[len(days) - 1],
    )


def _month_end_label(day, today):
    return months.month_label(day, partial=day == today and day != months.last_day(day))


def _float(value):
    return None if value is None else float(value)


def trend_table(figures, key="capacity_trend"):
    """One organization's month ends: who was counted, and the ratio."""
    (f,) = figures
    last = f.trend[-1].day
    return Table(
        key,
        f"{f.organization.name}: counted at each month end (the last, today)",
        [
            "Month end",
            "Front-line practitioners",
            "Certified coaches",
            "Trainers",
            "Coaches and trainers per 10 practitioners",
        ],
        [
            [
                _month_end_label(p.day, last),
                p.practitioners,
                p.coaches,
                p.trainers,
                p.per_ten,
            ]
            for p in f.trend
        ],
    )


def new_hires_table(figures, compares, key="new_hires"):
    """Every new hire not yet certified, those longest waiting first."""
    hires = sorted(
        ((f.organization.name, hire) for f in figures for hire in f.new_hires),
        key=lambda pair: (-pair[1].days_since_hire, pair[1].person.name, pair[1].person.id),
    )
    headings = ["Person", "Hired", "Days since hire", "Days to deadline", "Status"]
    return Table(
        key,
        f"New hires on their way to a first certification (hired in the last "
        f"{capacity.NEW_HIRE_DAYS} days)",
        [*headings[:1], *(["Organization"] if compares else []), *headings[1:]],
        [
            [
                person_cell(hire.person.id, hire.person.name, "practitioner"),
                *([name] if compares else []),
                hire.person.hire_date,
                hire.days_since_hire,
                hire.days_left,
                Cell(hire.status, css="text-danger fw-semibold" if hire.at_risk else ""),
            ]
            for name, hire in hires
        ],
        empty="No practitioner hired in these days is still waiting for a first certification.",
    )


def section(organizations, today, team=None):
    """The leader dashboard's capacity section for these organizations (or one team)."""
    found = read(organizations, today, team)
    return section_of([found[org.pk] for org in organizations], today)


def section_of(figures, today):
    """The capacity section of these Figures (one per organization in view) as of today."""
    compares = len(figures) > 1
    return {
        "capacity": comparison(figures),
        "capacity_chart": ratio_chart(figures),
        "capacity_trend": trend_table(figures) if len(figures) == 1 else None,
        "new_hires": new_hires_table(figures, compares),
        "capacity_today": today,
        "capacity_at_risk_days": capacity.AT_RISK_DAYS,
        "capacity_deadline": figures[0].deadline_days if figures else None,
    }

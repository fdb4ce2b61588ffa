"""bench_certification_jobs: how long the daily certification job takes at 100,000 periods.

Meant for PostgreSQL, on a scratch database: the job works on every period in the database,
so the command refuses one that holds periods or pending notifications of its own.

The dataset is synthetic but valid: organizations in several time zones, teams with a
leader and two coaches, practitioners assigned to those coaches, and for each person a
history of periods granted by certification.dates.next_period (early renewals decided
ahead, renewals in grace, fresh starts after a lapse, some revocations), with expiries
spread over years around the benchmark day, plus a few recent observations so reminders
have progress to report. Everything hangs off organizations whose slug starts with
"bench-cert-"; people carry that prefix in their staff ID and email. It is reused when a
kept one of the same size is found, and removed at the end unless --keep is given.

The job (certification.jobs.run with today set, sending to Django's locmem backend) runs
first on the benchmark day, catching up every historic transition, then on each of the
following days. Each series runs twice: on a tenth of the periods (the others hidden by a
temporary table of the same name) and on all of them, so the query counts can be compared.
"""

import argparse
import datetime as dt
import math
import random
import re
import statistics
import time
import zoneinfo
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from certification import dates, jobs
from certification.models import (
    CertificationEvent,
    CertificationPeriod,
    Program,
    Reminder,
    ReminderRule,
)
from coaching.models import CoachAssignment
from miiwrap import generations
from miiwrap.benchmarks import require_migrated
from miiwrap.notifications.models import Notification
from miiwrap.people.models import (
    Organization,
    Person,
    Role,
    RoleGrant,
    RolePeriod,
    Team,
    TeamMembership,
)
from miiwrap.planner import analyze
from observations import demo as demo_observations
from observations import scoring, summaries
from observations.models import ActivityType, Observation

PREFIX = "bench-cert-"
DEFAULT_PERIODS = 100_000
DEFAULT_DAYS = 7
SHARE = 10  # the small measure runs on one period in SHARE
GOAL_SECONDS = 5
SEED = 1
BATCH = 2000
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
# The hour the beat starts the job (miiwrap.celery), in the first zone.
RUN_AT = dt.time(6)
PERIODS_PER_ORG = 5000
TEAM_SIZE = 24  # a leader, two coaches and 21 practitioners
HISTORY_DAYS = 6 * 365  # first certifications start this far back at most
LEAVER_SHARE, SECOND_COACH_SHARE, TRAINER_SHARE, REVOKED_SHARE = 0.04, 0.2, 0.1, 0.02
OBSERVATIONS_EACH, OBSERVED_WITHIN_DAYS = 2, 180
FIRST_NAMES = ("Alex", "Blair", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Jordan")
JOB_TABLES = (CertificationEvent, Reminder, Notification)
DATA_TABLES = (Person, RoleGrant, CoachAssignment, CertificationPeriod, Observation)


def positive(text):
    if not text.replace("_", "").isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more.")
    return int(text)


def iso_day(text):
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-06-30.") from None


# --- What one run of the job did --------------------------------------------------------------


@dataclass
class Run:
    label: str
    day: dt.date
    seconds: float
    timed: list  # (seconds, SQL) of each query, as executed
    transitions: int = 0
    reminders: int = 0
    digests: int = 0
    emails: int = 0
    failed_rows: int = 0

    @property
    def queries(self):
        return [sql for _, sql in self.timed]

    @property
    def sql_seconds(self):
        return sum(seconds for seconds, _ in self.timed)


@dataclass
class Series:
    """The job over consecutive days on one dataset size."""

    periods: int
    first: Run
    steady: list
    by_zone: Run

    def runs(self):
        return [self.first, *self.steady, self.by_zone]

    @property
    def median(self):
        return statistics.median(run.seconds for run in self.steady)

    @property
    def slowest(self):
        return max(run.seconds for run in self.steady)


class Command(BaseCommand):
    help = (
        "Benchmark the daily certification job (certification.jobs.run) on a scratch "
        "database, meant for PostgreSQL: build or reuse N synthetic certification periods, "
        "time the first run and the following days, and compare query counts at N/10 and N."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--periods",
            type=positive,
            default=DEFAULT_PERIODS,
            help=f"Certification periods to build (default {DEFAULT_PERIODS:,}).",
        )
        parser.add_argument(
            "--days",
            type=positive,
            default=DEFAULT_DAYS,
            help=f"Daily runs timed after the first one (default {DEFAULT_DAYS}).",
        )
        parser.add_argument(
            "--today",
            type=iso_day,
            help="The benchmark day, YYYY-MM-DD (default: today).",
        )
        parser.add_argument(
            "--keep", action="store_true", help="Leave the dataset for the next run."
        )

    def handle(self, *, periods, days, today, keep, **options):
        today = today or timezone.localdate()
        if connection.vendor != "postgresql":
            self.stderr.write(
                f"Warning: this database is {connection.vendor}; timings say little about "
                "production. Point DATABASE_URL at a scratch PostgreSQL database."
            )
        require_migrated()
        check_scratch()
        try:
            self.report_dataset(periods, *ensure_dataset(periods, today))
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                with only_a_share(SHARE) as shown:
                    small = measure(today, days, shown)
                full = measure(today, days, CertificationPeriod.objects.count())
            self.report(today, small, full)
        finally:
            mail.outbox = []
            if not keep:
                removed = remove_dataset()
                self.stdout.write(f"\nRemoved the benchmark's {removed:,} rows.")

    # --- Reports ---------------------------------------------------------------------------

    def report_dataset(self, periods, built, seconds):
        people = bench_people()
        how = f"built now in {seconds:.1f} s" if built else "kept from an earlier run"
        zones = bench_orgs().values("time_zone").distinct().count()
        self.stdout.write(
            f"Dataset: {periods:,} certification periods of {people.count():,} people in "
            f"{bench_orgs().count()} organizations over {zones} time zones, "
            f"{bench_observations().count():,} observations, on {connection.vendor} ({how}); "
            f"{ReminderRule.objects.filter(is_active=True).count()} active reminder rules."
        )

    def report(self, today, small, full):
        self.stdout.write(
            f"\nThe job, certification.jobs.run(today=day, send=True), emails to the locmem "
            f"backend; benchmark day {today:%Y-%m-%d}."
        )
        self.report_runs(small, full)
        slowest = max(full.slowest, full.by_zone.seconds)
        verdict = "met" if slowest <= GOAL_SECONDS else "NOT met"
        self.stdout.write(
            f"\nFirst run (one-off catch-up) at {full.periods:,} periods: "
            f"{full.first.seconds:.2f} s, {full.first.transitions:,} transitions."
        )
        self.stdout.write(
            f"Daily runs at {full.periods:,} periods over {len(full.steady)} days: "
            f"median {full.median:.2f} s, max {full.slowest:.2f} s (by zone "
            f"{full.by_zone.seconds:.2f} s); goal <= {GOAL_SECONDS} s: {verdict}"
        )
        self.report_queries(small, full)
        self.report_slowest(full)

    def report_runs(self, small, full):
        header = (
            "Run",
            "Day",
            f"s@{small.periods:,}",
            "queries",
            f"s@{full.periods:,}",
            "SQL s",
            "queries",
            "transitions",
            "reminders",
            "digests",
            "emails",
        )
        line = "  {:<9} {:<10} {:>9} {:>7} {:>10} {:>6} {:>7} {:>11} {:>9} {:>7} {:>6}"
        self.stdout.write(line.format(*header))
        for few, many in zip(small.runs(), full.runs(), strict=True):
            self.stdout.write(
                line.format(
                    many.label,
                    f"{many.day:%Y-%m-%d}",
                    f"{few.seconds:.3f}",
                    len(few.queries),
                    f"{many.seconds:.3f}",
                    f"{many.sql_seconds:.3f}",
                    len(many.queries),
                    f"{many.transitions:,}",
                    f"{many.reminders:,}",
                    f"{many.digests:,}",
                    f"{many.emails:,}",
                )
            )
            if many.failed_rows:
                self.stdout.write(f"  (rows left for the next run: {many.failed_rows})")
        self.stdout.write(
            "  by zone: run(now=06:00 New York) without today, each organization on its own "
            "date, as the beat runs it. SQL s: time spent in the database, at the full size."
        )

    def report_queries(self, small, full):
        daily = list(zip(small.runs()[1:], full.runs()[1:], strict=True))
        same = all(len(few.queries) == len(many.queries) for few, many in daily)
        self.stdout.write(
            f"Daily query counts equal at {small.periods:,} and {full.periods:,} periods: "
            f"{'yes' if same else 'NO'}"
        )
        if not same:
            self.write_differences(
                "The daily runs' queries whose count differs (summed over the days)", daily
            )
        self.write_differences(
            "The first run's queries whose count differs", [(small.first, full.first)]
        )

    def write_differences(self, title, pairs):
        found = differing(
            [sql for few, _ in pairs for sql in few.queries],
            [sql for _, many in pairs for sql in many.queries],
        )
        if not found:
            return
        self.stdout.write(f"  {title}, small -> full:")
        for text, before, after in found:
            self.stdout.write(f"    {before:>4} -> {after:<4} {text}")

    def report_slowest(self, full, count=3):
        slowest = max(full.steady, key=lambda run: run.seconds)
        self.stdout.write(
            f"\nSlowest queries of the slowest daily run ({slowest.label}, "
            f"{slowest.seconds:.2f} s, of which SQL {slowest.sql_seconds:.2f} s):"
        )
        for seconds, sql in sorted(slowest.timed, key=lambda pair: -pair[0])[:count]:
            self.stdout.write(f"  {seconds:.3f} s  {shorten(shape(sql), 140)}")


# --- Guard and dataset ---------------------------------------------------------------------


def bench_orgs():
    return Organization.objects.filter(slug__startswith=PREFIX)


def bench_people():
    return Person.objects.filter(organization__slug__startswith=PREFIX)


def bench_periods():
    return CertificationPeriod.objects.filter(person__organization__slug__startswith=PREFIX)


def bench_observations():
    return Observation.objects.filter(practitioner__organization__slug__startswith=PREFIX)


def check_scratch():
    """The job reads and writes the whole database: refuse one with data of its own."""
    periods = CertificationPeriod.objects.exclude(pk__in=bench_periods().values("pk")).count()
    pending = (
        Notification.objects.filter(status=Notification.Status.PENDING)
        .exclude(recipient__organization__slug__startswith=PREFIX)
        .count()
    )
    if periods or pending:
        raise CommandError(
            f"This database holds {periods:,} certification periods and {pending:,} pending "
            "notifications that are not the benchmark's; the job would record their "
            "transitions and send their emails. Use a scratch database: createdb bench_cert, "
            "DATABASE_URL=postgres://USER@HOST/bench_cert manage.py migrate, then run this "
            "command with the same DATABASE_URL."
        )
    if not Program.objects.filter(code__in=["practitioner", "coach", "trainer"]).exists():
        raise CommandError("The shipped programs are missing: run manage.py migrate first.")


def ensure_dataset(wanted, today):
    """(built now?, seconds): a dataset of exactly `wanted` periods, reused if kept."""
    started = time.monotonic()
    if bench_periods().count() == wanted:
        return False, 0.0
    remove_dataset()
    with transaction.atomic():
        insert_world(plan_world(wanted, today, random.Random(f"{SEED}:{wanted}")), today)
    analyze(*DATA_TABLES, CertificationEvent, Organization, Team)
    return True, time.monotonic() - started


def remove_dataset():
    """Delete every row hanging off the benchmark's organizations, children first, one
    DELETE a table: collecting 100,000 periods for cascades would take minutes."""
    people = Person.objects.filter(organization__slug__startswith=PREFIX).values("pk")
    periods = CertificationPeriod.objects.filter(person__in=people).values("pk")
    doomed = [
        Reminder.objects.filter(period__in=periods),
        Reminder.objects.filter(recipient__in=people),
        Notification.objects.filter(recipient__in=people),
        CertificationEvent.objects.filter(period__in=periods),
        CertificationPeriod.objects.filter(pk__in=periods),
        # Their observations, with the summaries that count them (summaries.raw_delete).
        Observation.objects.filter(practitioner__in=people),
        CoachAssignment.objects.filter(practitioner__in=people),
        RoleGrant.objects.filter(person__in=people),
        RolePeriod.objects.filter(person__in=people),
        TeamMembership.objects.filter(person__in=people),
        Person.objects.filter(pk__in=people),
        Team.objects.filter(organization__slug__startswith=PREFIX),
        Organization.objects.filter(slug__startswith=PREFIX),
    ]
    removed = 0
    with transaction.atomic():
        organizations = list(doomed[-1].values_list("pk", flat=True))
        for queryset in doomed:
            if queryset.model is Observation:
                removed += summaries.raw_delete(queryset)
            else:
                removed += queryset._raw_delete(queryset.db)
        generations.touched(*organizations)
    return removed


# --- Planning the world (plain Python) -------------------------------------------------------


@dataclass
class PlannedPeriod:
    program: str
    decided_on: dt.date
    period: dates.Period
    is_renewal: bool
    revoked_on: dt.date | None = None


@dataclass
class PlannedPerson:
    number: int
    org: int
    team: int | None
    roles: tuple
    hire_date: dt.date = None
    leave_date: dt.date | None = None
    team_coaches: tuple = ()  # the numbers of the two coaches of a practitioner's team
    coaches: list = field(default_factory=list)  # (coach number, starts_on, ends_on)
    periods: list = field(default_factory=list)


@dataclass
class World:
    orgs: int
    people: list


def plan_world(wanted, today, rng):
    """People, each with a history of periods, until there are exactly `wanted` periods."""
    orgs = max(2, math.ceil(wanted / PERIODS_PER_ORG))
    rules = {program.code: program.rules() for program in Program.objects.all()}
    people, total, number = [], 0, 0
    while total < wanted:
        person = plan_person(number, orgs, today, rules, rng)
        person.periods = person.periods[: wanted - total]
        total += len(person.periods)
        people.append(person)
        number += 1
    for person in people:
        settle_dates(person, today, rng, len(people))
    return World(orgs, people)


def plan_person(number, orgs, today, rules, rng):
    """The number-th person: round-robin over organizations; in each, teams of TEAM_SIZE
    with the team's leader first (the organization's first leader has no team, so team 0
    falls back to them), then two coaches, then practitioners."""
    org, place = number % orgs, number // orgs
    team, slot = divmod(place, TEAM_SIZE)
    if slot == 0:
        return PlannedPerson(number, org, None if team == 0 else team, (Role.LEADER,))
    if slot <= 2:
        person = PlannedPerson(number, org, team, (Role.COACH, Role.PRACTITIONER))
        person.periods = coach_history(today, rules, rng)
        return person
    person = PlannedPerson(number, org, team, (Role.PRACTITIONER,))
    person.periods = history("practitioner", today - days(rng, 0, HISTORY_DAYS), today, rules, rng)
    person.team_coaches = tuple(org + orgs * (team * TEAM_SIZE + n) for n in (1, 2))
    return person


def coach_history(today, rules, rng):
    periods = history("practitioner", today - days(rng, 0, HISTORY_DAYS), today, rules, rng)
    start = periods[0].decided_on + days(rng, 200, 700)
    periods += history("coach", start, today, rules, rng)
    if rng.random() < TRAINER_SHARE:
        periods += history("trainer", start + days(rng, 200, 700), today, rules, rng)
    return periods


def history(code, first, today, rules, rng):
    """Periods of one person in one program from a first decision on `first`: each renewed
    early (in the window, so the next is decided ahead of its start), in grace, afresh
    after a lapse, or not at all; a revocation ends the run. Nothing decided after today."""
    found, previous, decided = [], None, first
    program = rules[code]
    while decided <= today:
        period = dates.next_period(program, decided, previous)
        planned = PlannedPeriod(code, decided, period, dates.is_renewal(previous, decided))
        found.append(planned)
        if period.valid_from <= today and rng.random() < REVOKED_SHARE:
            last = min(period.valid_until, today)
            planned.revoked_on = period.valid_from + days(rng, 0, (last - period.valid_from).days)
            break
        draw = rng.random()
        if draw < 0.55:
            decided = period.window_opens + days(rng, 0, program.window_days - 1)
        elif draw < 0.7:
            decided = period.valid_until + days(rng, 1, program.grace_days)
        elif draw < 0.8:
            decided = period.grace_ends + days(rng, 30, 400)
        else:
            break
        previous = period
    return found


def days(rng, low, high):
    return dt.timedelta(days=rng.randint(low, high))


def settle_dates(person, today, rng, made):
    """Hire before the first decision; a few practitioners leave; some changed coach
    once. `made`: how many people the plan holds (a coach beyond it was never made)."""
    if person.periods:
        first = min(planned.decided_on for planned in person.periods)
        person.hire_date = first - days(rng, 30, 400)
    else:
        person.hire_date = today - days(rng, 100, 4000)
    coaches = [number for number in person.team_coaches if number < made]
    if not coaches:
        return
    if person.periods and rng.random() < LEAVER_SHARE:
        latest = max(planned.period.valid_from for planned in person.periods)
        start = min(max(person.hire_date, latest), today)
        person.leave_date = start + days(rng, 0, (today - start).days)
    current = coaches[person.number % len(coaches)]
    person.coaches = [(current, person.hire_date, person.leave_date)]
    served = ((person.leave_date or today) - person.hire_date).days
    if len(coaches) == 2 and served > 60 and rng.random() < SECOND_COACH_SHARE:
        change = person.hire_date + days(rng, 30, served - 1)
        person.coaches = [
            (coaches[1 - coaches.index(current)], person.hire_date, change - dt.timedelta(days=1)),
            (current, change, person.leave_date),
        ]


# --- Inserting the world ----------------------------------------------------------------------


def insert_world(world, today):
    now = timezone.now()
    orgs = Organization.objects.bulk_create(
        Organization(
            name=f"Bench certification org {n + 1:02d}",
            slug=f"{PREFIX}{n + 1:02d}",
            time_zone=ZONES[n % len(ZONES)],
        )
        for n in range(world.orgs)
    )
    teams = insert_teams(world, orgs)
    people = Person.objects.bulk_create(
        (person_row(planned, orgs, teams) for planned in world.people), batch_size=BATCH
    )
    certifier = Person.objects.create(
        organization=orgs[0],
        first_name="Bench",
        last_name="Certifier",
        email=f"{PREFIX}certifier@example.org",
        staff_id=f"{PREFIX}certifier",
        hire_date=today - dt.timedelta(days=HISTORY_DAYS + 400),
    )
    grants = [RoleGrant(person=certifier, role=Role.PURVEYOR_ADMIN)]
    grants += [
        RoleGrant(person=people[p.number], role=role) for p in world.people for role in p.roles
    ]
    RoleGrant.objects.bulk_create(grants, batch_size=BATCH)
    # Held since hire, as the people services keep them (miiwrap.people.services).
    RolePeriod.objects.bulk_create(
        (
            RolePeriod(person_id=g.person.pk, role=g.role, starts_on=g.person.hire_date)
            for g in grants
        ),
        batch_size=BATCH,
    )
    TeamMembership.objects.bulk_create(
        (
            TeamMembership(person=person, team_id=person.team_id, starts_on=person.hire_date)
            for person in people
            if person.team_id
        ),
        batch_size=BATCH,
    )
    CoachAssignment.objects.bulk_create(
        (
            CoachAssignment(
                coach=people[coach], practitioner=people[p.number], starts_on=start, ends_on=end
            )
            for p in world.people
            for coach, start, end in p.coaches
        ),
        batch_size=BATCH,
    )
    insert_periods(world, people, certifier, now)
    insert_observations(world, people, today)
    generations.touched(*orgs)  # bulk inserts send no signals to the dashboards' cache


def insert_teams(world, orgs):
    wanted = sorted({(p.org, p.team) for p in world.people if p.team is not None})
    made = Team.objects.bulk_create(
        Team(organization=orgs[org], name=f"Team {team:03d}") for org, team in wanted
    )
    return dict(zip(wanted, made, strict=True))


def person_row(planned, orgs, teams):
    key = f"{PREFIX}{planned.number:06d}"
    return Person(
        organization=orgs[planned.org],
        team=teams.get((planned.org, planned.team)),
        first_name=FIRST_NAMES[planned.number % len(FIRST_NAMES)],
        last_name=f"Bench {planned.number}",
        email=f"{key}@example.org",
        staff_id=key,
        job_title="Leader" if Role.LEADER in planned.roles else "Care coordinator",
        hire_date=planned.hire_date,
        leave_date=planned.leave_date,
    )


def insert_periods(world, people, certifier, now):
    programs = {program.code: program for program in Program.objects.all()}
    planned = [(p.number, period) for p in world.people for period in p.periods]
    made = []
    for start in range(0, len(planned), BATCH):
        made += CertificationPeriod.objects.bulk_create(
            period_row(people[number], programs[period.program], period, certifier, now)
            for number, period in planned[start : start + BATCH]
        )
    events = []
    Kind = CertificationEvent.Kind
    for row, (_, period) in zip(made, planned, strict=True):
        kind = Kind.RECERTIFIED if period.is_renewal else Kind.CERTIFIED
        events.append(decision_event(row, kind, period.decided_on, certifier, now))
        if period.revoked_on:
            events.append(decision_event(row, Kind.REVOKED, period.revoked_on, certifier, now))
    CertificationEvent.objects.bulk_create(events, batch_size=BATCH)


def period_row(person, program, planned, certifier, now):
    period = planned.period
    revoked = planned.revoked_on is not None
    return CertificationPeriod(
        person=person,
        program=program,
        valid_from=period.valid_from,
        valid_until=period.valid_until,
        window_opens=period.window_opens,
        grace_ends=period.grace_ends,
        is_renewal=planned.is_renewal,
        decided_on=planned.decided_on,
        decided_by=certifier,
        decided_at=now,
        override_reason="Synthetic period made by bench_certification_jobs.",
        revoked_on=planned.revoked_on,
        revoked_by=certifier if revoked else None,
        revocation_reason="Synthetic revocation." if revoked else "",
    )


def decision_event(period, kind, day, certifier, now):
    return CertificationEvent(
        period=period, kind=kind, happened_on=day, by=certifier, recorded_at=now
    )


def insert_observations(world, people, today):
    """A couple of recent fidelity observations per practitioner, by their coach then, so
    the reminders' progress line reads real rows. Skipped when the rubrics are missing."""
    tool = demo_observations.load_tools().get(demo_observations.FIDELITY_TOOL)
    activities = list(ActivityType.objects.filter(is_active=True))
    if tool is None or not activities:
        return
    rng = random.Random(f"{SEED}:observations")
    cards = [score_card(rng, tool) for _ in range(50)]
    rows = []
    for planned in world.people:
        for coach, day in observation_days(planned, today, rng):
            moment = dt.datetime.combine(day, dt.time(16), tzinfo=dt.UTC)
            rows.append(
                Observation(
                    practitioner=people[planned.number],
                    coach=people[coach],
                    rubric_version=tool.version,
                    observed_on=day,
                    activity=rng.choice(activities),
                    duration_minutes=60,
                    status=Observation.Status.SUBMITTED,
                    computed_at=moment,
                    submitted_at=moment,
                    **rng.choice(cards),
                )
            )
    Observation.objects.bulk_create(rows, batch_size=BATCH)


def observation_days(planned, today, rng):
    if not planned.coaches or planned.leave_date:
        return []
    coach, starts, _ = planned.coaches[-1]
    first = max(starts, today - dt.timedelta(days=OBSERVED_WITHIN_DAYS))
    if first >= today:
        return []
    return [
        (coach, first + days(rng, 0, (today - first).days - 1)) for _ in range(OBSERVATIONS_EACH)
    ]


def score_card(rng, tool):
    level = rng.uniform(0.6, 0.98)
    levels = {item.code: level + rng.gauss(0, 0.04) for item in tool.definition.items}
    scores = demo_observations.draw_scores(rng, tool.definition, levels, "Home visit")
    result = scoring.compute(tool.definition, scores)
    return {
        "scores": scores,
        "metrics": result.as_json(),
        "overall_score": None if result.overall is None else Decimal(str(result.overall)),
        "band": result.band or "",
    }


# --- Measuring ------------------------------------------------------------------------------


def measure(today, days_after, periods):
    """The job from a clean slate: the first run on `today`, then each following day, then
    one more day the way the beat runs it (each organization on its own date)."""
    clear_job_rows()
    first = run_job("first", today)
    analyze(*JOB_TABLES)
    steady = [run_job(f"day +{n}", today + dt.timedelta(days=n)) for n in range(1, days_after + 1)]
    by_zone = run_job("by zone", today + dt.timedelta(days=days_after + 1), by_zone=True)
    return Series(periods, first, steady, by_zone)


def run_job(label, day, by_zone=False):
    now = dt.datetime.combine(day, RUN_AT, tzinfo=zoneinfo.ZoneInfo(ZONES[0]))
    mail.outbox = []
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        report = jobs.run(today=None if by_zone else day, now=now, send=True)
        seconds = time.perf_counter() - started
    return Run(
        label,
        day,
        seconds,
        [(float(query["time"]), query["sql"]) for query in captured.captured_queries],
        transitions=sum(report.transitions.values()),
        reminders=report.reminders,
        digests=report.digests,
        emails=len(mail.outbox),
        failed_rows=len(report.failed_rows),
    )


def clear_job_rows():
    """Remove what the job wrote (transitions, reminders, notifications), so each series
    starts as on the day the job was first deployed; decisions and revocations stay.
    Every period in the database is the benchmark's (check_scratch), so every recorded
    transition is too: the periods table may be shadowed here, so it is not joined."""
    people = bench_people().values("pk")
    transitions = CertificationEvent.objects.filter(kind__in=list(jobs.TRANSITIONS))
    with transaction.atomic():
        for queryset in (
            Reminder.objects.filter(recipient__in=people),
            Notification.objects.filter(recipient__in=people),
            transitions,
        ):
            queryset._raw_delete(queryset.db)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            for model in JOB_TABLES:
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"VACUUM ANALYZE {table}")
    else:
        analyze(*JOB_TABLES)


@contextmanager
def only_a_share(share):
    """The periods table as if it held only the periods of one person in `share`.

    A temporary table of the same name shadows the real one on this connection (both
    databases look in the temporary schema first), so the job's SQL is unchanged; rows it
    writes refer to periods that exist in the real table too. Yields how many it holds.
    """
    table = connection.ops.quote_name(CertificationPeriod._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT current_schema()")
            real = f"{connection.ops.quote_name(cursor.fetchone()[0])}.{table}"
            cursor.execute(f"CREATE TEMP TABLE {table} (LIKE {real} INCLUDING ALL)")
            cursor.execute(
                f"INSERT INTO pg_temp.{table} SELECT * FROM {real} WHERE person_id %% %s = 0",
                [share],
            )
            cursor.execute(f"ANALYZE pg_temp.{table}")
            temporary = "pg_temp"
        else:
            cursor.execute(
                f"CREATE TEMP TABLE {table} AS SELECT * FROM main.{table} "
                "WHERE person_id %% %s = 0",
                [share],
            )
            temporary = "temp"
        cursor.execute(f"SELECT COUNT(*) FROM {temporary}.{table}")
        shown = cursor.fetchone()[0]
    try:
        yield shown
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {temporary}.{table}")


# --- Comparing the queries of two runs ------------------------------------------------------

LITERALS = [
    (re.compile(r'"s\d+_x\d+"'), '"savepoint"'),
    (re.compile(r"'(?:[^']|'')*'"), "?"),
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "?"),
    (re.compile(r"\?::[\w\[\]]+"), "?"),
    (re.compile(r"\((?:\s*\?\s*,)*\s*\?\s*\)"), "(?)"),
    (re.compile(r"\(\?\)(?:\s*,\s*\(\?\))+"), "(?)"),
    # bulk_update's CASE lists, one WHEN a row
    (re.compile(r"(?:WHEN \([^()]*\) THEN \? ?)+"), "WHEN … THEN ? "),
    # bulk_create: one row (VALUES) or many (UNNEST) are the same statement
    (
        re.compile(r'^(INSERT INTO "\w+" \([^)]*\)) .*?( ON CONFLICT.*| RETURNING.*)?$', re.S),
        r"\1 …\2",
    ),
    (re.compile(r"\s+"), " "),
]


def shape(sql):
    """A query with its values taken out, so two runs' queries can be matched."""
    for pattern, replacement in LITERALS:
        sql = pattern.sub(replacement, sql)
    return sql.strip()


def differing(before, after, width=140):
    """[(query shape, count before, count after)] for the shapes whose counts differ."""
    counts = Counter(map(shape, before)), Counter(map(shape, after))
    return [
        (shorten(text, width), counts[0][text], counts[1][text])
        for text in sorted(set(counts[0]) | set(counts[1]))
        if counts[0][text] != counts[1][text]
    ]


def shorten(text, width):
    """A query shape to read on one line: the columns selected left out."""
    if text.startswith("SELECT "):
        text = "SELECT … " + text[outer_from(text) :]
    return text if len(text) <= width else text[: width - 1] + "…"


def outer_from(sql):
    """Where the main FROM starts: the first one outside parentheses (subqueries in the
    select list have their own)."""
    depth = 0
    for match in re.finditer(r"[()]| FROM ", sql):
        token = match.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0:
            return match.start() + 1
    return 0

"""bench_dashboards: how fast the leader, coach and practitioner dashboards answer at a
million observations, against the SQL they run.

Meant for PostgreSQL, on bench_observations' dataset (its "state" people and N
observations), built by its builders and reused the same way. The dashboards read more
than observations, so the layers the dataset lacks are added once, each reused after:

1. Certification periods, with their decisions, for every practitioner and coach: each
   history planned by bench_certification_jobs' history() from a date after hire (nothing
   decided after leaving) and inserted by its insert_periods(), all decided by a certifier
   person of this bench's (CERTIFIER_EMAIL), which marks them.
2. What the nightly drift job writes (alerts, momentum, monthly item sums, pooled
   spreads, the notifications of new alerts): coaching.services.drift_detect is run once
   over everything, timed. At a million observations that first run took 5.6 minutes on
   two cores, under the ten that would call for seeding its rows some cheaper way.
3. A leader with a login in the organization measured, if it has none (LEADER_EMAIL).
4. Calibration as the demo has it (observations.demo_calibration): master-coded cases, a
   year of rounds for every working coach, about one recent visit in seven co-observed;
   kept with the dataset. The reliability report is measured on the median organization
   and on the largest, which should read as many queries.

Rows added by a run are removed at its end unless --keep is given: observations by their
import key, periods by their certifier, the drift job's rows by primary key above what
each table held before the job, the leader by its email. The people and coach assignments
bench_observations builds stay, as they stay after it.

Before measuring, every table the dashboards read is vacuumed and analyzed: a bulk load
leaves the visibility map empty and the statistics stale until autovacuum comes by. Each
page is then fetched through django.test.Client with DEBUG off, as in production, RUNS
times after WARMUPS warm-ups. The statements one fetch executed are then replayed on a raw
cursor with their parameters, alternately with the fetches: what the page would cost if
Python took no time at all.
"""

import datetime as dt
import math
import random
import statistics
import time
import traceback
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Max
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from certification import dates
from certification.management.commands import bench_certification_jobs as certification_bench
from certification.models import CertificationEvent, CertificationPeriod, Program, Reminder
from coaching import services as drift
from coaching.management.commands import bench_drift
from coaching.models import (
    CoachAssignment,
    DriftAlert,
    ItemMonth,
    ItemMonthsCounted,
    Momentum,
    OrganizationItemMonth,
    PooledSpread,
)
from miiwrap import generations
from miiwrap.benchmarks import as_a_web_worker, require_migrated
from miiwrap.notifications.models import Notification
from miiwrap.people import demo
from miiwrap.people.models import (
    Organization,
    Person,
    Role,
    RoleGrant,
    RolePeriod,
    Team,
    TeamMembership,
)
from miiwrap.people.services import person_periods_sync
from observations import demo_calibration
from observations.management.commands import bench_observations as dataset
from observations.management.commands.bench_observations import positive
from observations.models import CalibrationAttempt, CoObservation, Observation

DEFAULT_RUNS, WARMUPS = 20, 2
LEADER_GOAL_MS, LEADER_GOAL_RATIO, COACH_GOAL_MS, ALL_GOAL_MS = 150, 1.5, 100, 300
RELIABILITY_GOAL_MS = 300
MARK = "bench-dashboards"
CERTIFIER_EMAIL = f"{MARK}-certifier@example.org"
LEADER_EMAIL = f"{MARK}-leader@example.org"
# What the drift job writes, children first so that each DELETE leaves no dangling row.
DRIFT_TABLES = (
    Notification,
    DriftAlert,
    Momentum,
    OrganizationItemMonth,
    ItemMonth,
    PooledSpread,
    ItemMonthsCounted,
)
# Every table the dashboards read, for settle(); the login's is added there.
SETTLED = (
    *DRIFT_TABLES,
    Observation,
    CertificationPeriod,
    CertificationEvent,
    CoachAssignment,
    RoleGrant,
    RolePeriod,
    TeamMembership,
    Person,
    Team,
    Organization,
    CalibrationAttempt,
    CoObservation,
)
CERTIFIED = (dates.State.CERTIFIED, dates.State.WINDOW_OPEN)
EXPIRING_DAYS = 90
# A first decision this long after hire; a coach's coach certification after their first.
FIRST_DECISION_DAYS, COACH_DECISION_DAYS = (30, 400), (200, 700)
SLOWEST_SHOWN = 3
NOT_JUDGED = "—"


@dataclass
class Added:
    """What this run added, so that it can take it away again."""

    prefix: str  # of the observations' import keys
    certifier: int | None = None  # who decided the periods added
    leader: int | None = None
    drift_above: dict = field(default_factory=dict)  # {model: its highest pk before the job}


class Statement(NamedTuple):
    sql: str
    params: object
    many: bool
    caller: str  # the project's function that ran it, as path:function


@dataclass(frozen=True)
class Page:
    label: str
    person: Person
    url: str
    goal_ms: float | None = None
    goal_ratio: float | None = None
    # Fetched after a write to this organization alone, with what the others' parts kept
    # (miiwrap.generations.Kept.each); None: fetched from scratch, nothing kept.
    touched: Organization | None = None


@dataclass
class Measured:
    """A page's fetches (seconds each) and the replays of its SQL (seconds per statement)."""

    page: Page
    queries: int
    seconds: list
    replays: list
    statements: list  # of Statement, in the page's order

    @property
    def median_ms(self):
        return statistics.median(self.seconds) * 1000

    @property
    def p90_ms(self):
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)] * 1000

    @property
    def sql_ms(self):
        return statistics.median(sum(replay) for replay in self.replays) * 1000

    @property
    def ratio(self):
        return self.median_ms / self.sql_ms if self.sql_ms else math.inf

    def goals(self):
        """[(goal, met?)] of the page's goals."""
        found = []
        if self.page.goal_ms is not None:
            found.append((f"<= {self.page.goal_ms:g} ms", self.median_ms <= self.page.goal_ms))
        if self.page.goal_ratio is not None:
            found.append((f"<= {self.page.goal_ratio:g}x SQL", self.ratio <= self.page.goal_ratio))
        return found

    def slowest(self, count=SLOWEST_SHOWN):
        """[(median seconds, Statement)] of the slowest statements over the replays."""
        medians = [statistics.median(times) for times in zip(*self.replays, strict=True)]
        return sorted(zip(medians, self.statements, strict=True), key=lambda p: -p[0])[:count]


class Command(BaseCommand):
    help = (
        "Benchmark the leader, coach and practitioner dashboards (meant for PostgreSQL): "
        "build or reuse bench_observations' dataset with certification periods and the "
        "drift job's rows, then time each page against a replay of its own SQL."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rows",
            "--observations",
            dest="rows",
            type=positive,
            help=f"Observations the table should hold at least (default "
            f"{dataset.DEFAULT_ROWS:,}; on SQLite {dataset.SQLITE_ROWS:,}).",
        )
        parser.add_argument(
            "--runs",
            type=positive,
            default=DEFAULT_RUNS,
            help=f"Timed fetches of each page, and replays of its SQL (default {DEFAULT_RUNS}).",
        )
        parser.add_argument(
            "--keep", action="store_true", help="Leave the rows added now for the next run."
        )
        parser.add_argument(
            "--allow-sqlite", action="store_true", help="Run on SQLite anyway (small default)."
        )

    def handle(self, *, rows, runs, keep, allow_sqlite, **options):
        sqlite = connection.vendor == "sqlite"
        if sqlite and not allow_sqlite:
            raise CommandError(
                "This benchmark is meant for PostgreSQL: set DATABASE_URL=postgres://USER@HOST/DB "
                "(a scratch database). SQLite timings say little about production; pass "
                "--allow-sqlite to run it anyway (then --rows defaults to "
                f"{dataset.SQLITE_ROWS:,})."
            )
        require_migrated()
        wanted = rows or (dataset.SQLITE_ROWS if sqlite else dataset.DEFAULT_ROWS)
        today = timezone.localdate()
        # The time plus a random part: two runs within one second must not share keys.
        added = Added(f"{dataset.KEY_PREFIX}{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}:")
        try:
            slugs, admin = self.prepare(wanted, today, added)
            pages = self.choose_pages(slugs, admin, today, added)
            # DEBUG logs every query: production does not.
            with override_settings(DEBUG=False), as_a_web_worker():
                measured = [measure(page, runs) for page in pages]
            self.report_pages(measured, runs)
        finally:
            if not keep:
                self.report_removed(remove_added(added))

    def prepare(self, wanted, today, added):
        """The dataset with every layer the dashboards read: (its slugs, a purveyor admin)."""
        found = bench_drift.ensure_dataset(wanted, today, added.prefix)
        self.report_dataset(found)
        scale = "state" if wanted >= dataset.STATE_FROM_ROWS else "demo"
        orgs = demo.identities(dataset.SEED, demo.SCALES[scale].organizations)
        admin = dataset.ensure_people(orgs, scale, today).purveyor_admin  # built: looked up
        slugs = [org.slug for org in orgs]
        self.report_periods(*ensure_periods(slugs, today, added), slugs, today)
        self.report_drift(ensure_drift(today, added), found.generated)
        self.report_calibration(ensure_calibration(slugs, today))
        self.report_contents(slugs, today)
        self.stdout.write(f"Tables the dashboards read {settle()}.")
        return slugs, admin

    def choose_pages(self, slugs, admin, today, added):
        """A median organization: one of its leaders, its busiest coach and the coach's
        most observed practitioner; and the purveyor's admin for every organization."""
        org, size = median_organization(slugs)
        leader, made = find_leader(org, today), False
        if leader is None:
            leader, made = make_leader(org, today, added), True
        coach, caseload = busiest_coach(org, today)
        practitioner, observed = most_observed(coach, today)
        self.stdout.write(
            f"\nMeasured in {org.name}, the median organization ({size:,} people):\n"
            f"  leader {leader.email} ({'made now: it had none' if made else 'found'}); "
            f"coach {coach.email} (caseload {caseload}, the largest);\n"
            f"  practitioner {practitioner.email} ({observed:,} observations, the most in "
            f"the caseload); purveyor admin {admin.email} for every organization."
        )
        leader_url = reverse("dashboards:leader")
        largest = largest_organization(slugs)
        reliability = reverse("observations:reliability")
        return [
            Page("Leader dashboard", leader, leader_url, LEADER_GOAL_MS, LEADER_GOAL_RATIO),
            Page("Leader, all organizations", admin, leader_url),
            Page("  after a write to one", admin, leader_url, ALL_GOAL_MS, touched=org),
            Page("Coach dashboard", coach, reverse("dashboards:coach"), COACH_GOAL_MS),
            Page("Practitioner view", practitioner, reverse("dashboards:practitioner")),
            # Computed afresh each time: the two should read as many queries.
            Page(
                "Reliability, one org.",
                admin,
                f"{reliability}?organization={org.slug}",
                RELIABILITY_GOAL_MS,
            ),
            Page("  the largest org.", admin, f"{reliability}?organization={largest.slug}"),
        ]

    # --- Reports -------------------------------------------------------------------------

    def report_dataset(self, found):
        if found.generated == 0:
            how = "found: nothing generated"
        else:
            how = (
                f"{found.generated:,} generated now in {found.generate_seconds:.1f} s, "
                f"{found.observations - found.generated:,} already there"
            )
        people = f"built now in {found.people_seconds:.1f} s" if found.people_built else "found"
        self.stdout.write(
            f"Dataset on {connection.vendor}: {found.observations:,} observations ({how}); "
            f"{found.people:,} people with their coach assignments ({people})."
        )

    def report_periods(self, periods, seconds, slugs, today):
        how = "found, none added" if seconds is None else f"added now in {seconds:.1f} s"
        standing = ", ".join(
            f"{code}: {certified:,} certified today, {soon:,} of them expiring within "
            f"{EXPIRING_DAYS} days"
            for code, (certified, soon) in sorted(certification_counts(slugs, today).items())
        )
        self.stdout.write(f"Certification periods: {periods:,} ({how}); {standing or 'none'}.")

    def report_drift(self, ran, generated):
        if ran is None:
            stale = f" (older than the {generated:,} observations made now)" if generated else ""
            self.stdout.write(
                f"Drift job: it has run on this database before; its rows reused{stale}."
            )
            return
        report, seconds = ran
        self.stdout.write(
            f"Drift job (coaching.services.drift_detect) run now over every observation in "
            f"{seconds:.1f} s:\n  {report.summary()}"
        )

    def report_calibration(self, made):
        if made is None:
            self.stdout.write("Calibration: kept from an earlier run.")
            return
        self.stdout.write(
            f"Calibration: {made['attempts']:,} cases scored by coaches and "
            f"{made['co-observed']:,} visits co-observed, added in {made['seconds']:.1f} s."
        )

    def report_contents(self, slugs, today):
        people = Person.objects.filter(organization__slug__in=slugs)
        assignments = CoachAssignment.objects.filter(practitioner__in=people)
        alerts = DriftAlert.objects.active().filter(organization__slug__in=slugs)
        self.stdout.write(
            f"The dashboards read: {assignments.count():,} coach assignments "
            f"({assignments.current(today).count():,} current), "
            f"{alerts.count():,} open drift alerts, "
            f"{Momentum.objects.filter(person__in=people).count():,} momentum rows, "
            f"{ItemMonth.objects.filter(organization__slug__in=slugs).count():,} team "
            "months of item sums."
        )

    def report_pages(self, measured, runs):
        self.stdout.write(
            f"\nPages, {runs} timed fetches each after {WARMUPS} warm-ups, DEBUG off. SQL: "
            "the statements of one fetch replayed on a raw cursor with their parameters "
            f"(rows fetched), summed; the median of {runs} replays."
        )
        line = "  {:<26} {:>7} {:>9} {:>8} {:>8} {:>8}  {}"
        self.stdout.write(
            line.format("Page", "Queries", "Median ms", "p90 ms", "SQL ms", "Page/SQL", "Goals")
        )
        for page in measured:
            goals = [f"{goal}: {'met' if met else 'MISSED'}" for goal, met in page.goals()]
            self.stdout.write(
                line.format(
                    page.page.label,
                    page.queries,
                    f"{page.median_ms:.1f}",
                    f"{page.p90_ms:.1f}",
                    f"{page.sql_ms:.1f}",
                    f"{page.ratio:.2f}x",
                    ", ".join(goals) or NOT_JUDGED,
                )
            )
        self.report_slowest(measured, runs)

    def report_slowest(self, measured, runs):
        self.stdout.write(f"\nSlowest statements of each page (median of {runs} replays):")
        for page in measured:
            self.stdout.write(f"  {page.page.label}")
            for seconds, statement in page.slowest():
                text = certification_bench.shorten(certification_bench.shape(statement.sql), 140)
                self.stdout.write(
                    f"    {seconds * 1000:8.1f} ms  {statement.caller}\n{'':17}{text}"
                )

    def report_removed(self, removed):
        parts = [f"{n:,} {what}" for what, n in removed.items() if n]
        if parts:
            self.stdout.write(f"\nRemoved what this run added: {', '.join(parts)}.")


# --- Certification periods -------------------------------------------------------------------


def periods_of(slugs):
    return CertificationPeriod.objects.filter(person__organization__slug__in=slugs)


def ensure_periods(slugs, today, added):
    """(periods, seconds taken or None when found): histories for the dataset's
    practitioners and coaches, unless it has periods already."""
    there = periods_of(slugs).count()
    if there:
        return there, None
    started = time.monotonic()
    with transaction.atomic():
        certifier = make_certifier(today)
        added.certifier = certifier.pk
        world, people = plan_world(slugs, today)
        certification_bench.insert_periods(world, people, certifier, timezone.now())
    certification_bench.analyze(CertificationPeriod, CertificationEvent)
    return periods_of(slugs).count(), time.monotonic() - started


def make_certifier(today):
    """The purveyor's person who decided every period added (no login, no role)."""
    return Person.objects.create(
        organization=Organization.objects.get(slug=demo.PURVEYOR.slug),
        first_name="Bench",
        last_name="Certifier",
        email=CERTIFIER_EMAIL,
        hire_date=today - dt.timedelta(days=20 * 365),
    )


def plan_world(slugs, today):
    """(bench_certification_jobs' World, the people it numbers): each practitioner's and
    coach's history, in bench_certification_jobs' planned shapes."""
    rules = {program.code: program.rules() for program in Program.objects.all()}
    if not {"practitioner", "coach"} <= set(rules):
        raise CommandError("The shipped programs are missing: run manage.py migrate first.")
    roles = roles_by_person(slugs)
    people = list(Person.objects.filter(pk__in=list(roles)).order_by("pk"))
    rng = random.Random(f"{dataset.SEED}:{MARK}")
    planned = [
        certification_bench.PlannedPerson(
            number,
            0,
            None,
            tuple(roles[person.pk]),
            periods=history(person, roles, today, rules, rng),
        )
        for number, person in enumerate(people)
    ]
    return certification_bench.World(len(slugs), planned), people


def roles_by_person(slugs):
    grants = RoleGrant.objects.filter(
        person__organization__slug__in=slugs, role__in=[Role.PRACTITIONER, Role.COACH]
    )
    found = {}
    for person, role in grants.values_list("person_id", "role"):
        found.setdefault(person, set()).add(role)
    return found


def history(person, roles, today, rules, rng):
    """A practitioner history from after hire; a coach's coach program follows it."""
    last = min(today, person.leave_date or today)
    first = person.hire_date + certification_bench.days(rng, *FIRST_DECISION_DAYS)
    periods = certification_bench.history("practitioner", first, last, rules, rng)
    if periods and Role.COACH in roles[person.pk]:
        start = periods[0].decided_on + certification_bench.days(rng, *COACH_DECISION_DAYS)
        periods += certification_bench.history("coach", start, last, rules, rng)
    return periods


def certification_counts(slugs, today):
    """{program code: (people certified today, of whom expiring within EXPIRING_DAYS)},
    decided by certification.dates as the dashboards decide it in SQL."""
    soon = today + dt.timedelta(days=EXPIRING_DAYS)
    counts = {}
    for (_, code), held in periods_of(slugs).held_by("person_id", "program__code").items():
        standing = dates.standing(held, today)
        if standing.state in CERTIFIED:
            certified, expiring = counts.get(code, (0, 0))
            counts[code] = (certified + 1, expiring + (standing.held.period.valid_until <= soon))
    return counts


# --- The drift job ---------------------------------------------------------------------------


def ensure_drift(today, added):
    """(drift_detect's Report, seconds), or None when the job has run on this database:
    its one ItemMonthsCounted row is there. It is not run again over rows it wrote, since
    those could then not be told from the rows it found."""
    if ItemMonthsCounted.objects.exists():
        return None
    added.drift_above = {
        model: model.objects.aggregate(top=Max("pk"))["top"] or 0 for model in DRIFT_TABLES
    }
    started = time.monotonic()
    report = drift.drift_detect(today=today)
    return report, time.monotonic() - started


def settle():
    """VACUUM ANALYZE every table the dashboards read, as autovacuum would some time after
    a bulk load (if it is on at all): until then PostgreSQL reads the table for rows an
    index could answer alone, and plans on old statistics. Says what it did."""
    models = [*SETTLED, get_user_model()]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # VACUUM cannot run in a transaction (as in tests) and SQLite has no need of it.
        certification_bench.analyze(*models)
        return "analyzed"
    started = time.monotonic()
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return f"vacuumed and analyzed in {time.monotonic() - started:.1f} s"


# --- The people measured ---------------------------------------------------------------------


def median_organization(slugs):
    """(organization, people) of the client organization in the middle by size."""
    orgs = Organization.objects.filter(slug__in=slugs, is_purveyor=False)
    ordered = list(orgs.annotate(size=Count("people")).order_by("size", "pk"))
    if not ordered:
        raise CommandError("The dataset has no client organization.")
    org = ordered[(len(ordered) - 1) // 2]
    return org, org.size


def largest_organization(slugs):
    orgs = Organization.objects.filter(slug__in=slugs, is_purveyor=False)
    return orgs.annotate(size=Count("people")).order_by("-size", "pk").first()


def ensure_calibration(slugs, today):
    """The demo's calibration over the dataset's organizations (observations.demo_calibration):
    master-coded cases, a year of rounds for every working coach, about one recent visit in
    seven co-observed. Kept with the dataset; None when it is there already."""
    if CalibrationAttempt.objects.filter(coach__organization__slug__in=slugs).exists():
        return None
    started = time.monotonic()
    coaches = Person.objects.with_role(Role.COACH).filter(leave_date=None).order_by("pk")
    by_org = defaultdict(list)
    for coach in coaches.filter(organization__slug__in=slugs):
        by_org[coach.organization_id].append(coach)
    orgs = Organization.objects.filter(slug__in=slugs).order_by("is_purveyor", "pk")
    with transaction.atomic():
        made = demo_calibration.calibrate(
            [(org, by_org[org.pk]) for org in orgs], seed=dataset.SEED, today=today
        )
        generations.touched(everyone=True)  # written in bulk, past the signals
    return {**made, "seconds": time.monotonic() - started}


def find_leader(org, today):
    leaders = Person.objects.filter(organization=org).with_role(Role.LEADER).active_on(today)
    return leaders.exclude(user=None).select_related("user").order_by("pk").first()


def make_leader(org, today, added):
    """A leader with a login (no password: the benchmark signs in with force_login)."""
    user = get_user_model().objects.create_user(username=LEADER_EMAIL, email=LEADER_EMAIL)
    leader = Person.objects.create(
        organization=org,
        user=user,
        first_name="Bench",
        last_name="Leader",
        email=LEADER_EMAIL,
        job_title="Leader",
        hire_date=today - dt.timedelta(days=365),
    )
    RoleGrant.objects.create(person=leader, role=Role.LEADER)
    person_periods_sync(person=leader, on=leader.hire_date)
    added.leader = leader.pk
    return leader


def busiest_coach(org, today):
    """(coach, caseload) of the working coach with a login and the largest caseload."""
    working = Person.objects.filter(organization=org).active_on(today).exclude(user=None)
    current = CoachAssignment.objects.current(today).filter(coach__in=working)
    top = current.values("coach_id").annotate(n=Count("pk")).order_by("-n", "coach_id").first()
    if top is None:
        raise CommandError(f"{org.name} has no coach with a caseload to measure with.")
    return Person.objects.select_related("user").get(pk=top["coach_id"]), top["n"]


def most_observed(coach, today):
    """(practitioner, observations) of the coach's current caseload, observed most."""
    caseload = CoachAssignment.objects.current(today).filter(coach=coach)
    people = Person.objects.filter(pk__in=caseload.values("practitioner_id")).active_on(today)
    people = people.exclude(user=None).exclude(pk__in=Person.objects.with_role(Role.COACH))
    ranked = people.annotate(n=Count("observations")).order_by("-n", "pk")
    found = ranked.select_related("user").first()
    if found is None:
        raise CommandError(f"{coach.email} has no practitioner with a login to measure with.")
    return found, found.n


# --- Measuring -------------------------------------------------------------------------------


def measure(page, runs):
    """Fetch the page WARMUPS times, once to capture its SQL, then `runs` times each the
    page and a replay of that SQL, alternately, so both see the same caches."""
    with signed_in(page) as fetch:
        for _ in range(WARMUPS):
            fetch()
        queries, statements = capture(fetch)
        seconds, replays = [], []
        for _ in range(runs):
            started = time.perf_counter()
            fetch()
            seconds.append(time.perf_counter() - started)
            replays.append(replay(statements))
    return Measured(page, queries, seconds, replays, statements)


@contextmanager
def signed_in(page):
    """A fetch of the page as its person; signed out after, so no session row is left."""
    client = Client()
    client.force_login(page.person.user)

    def fetch():
        if page.touched is not None:
            generations.bump([page.touched.pk])
            response = client.get(page.url, secure=True)
        else:
            # Cold: every section computed, as after a write to everything (bench_http
            # times the kept ones).
            with generations.uncached():
                response = client.get(page.url, secure=True)  # as behind HTTPS: no redirect
        if response.status_code != 200:
            raise CommandError(f"{page.url} answered {response.status_code} to {page.person}.")

    try:
        yield fetch
    finally:
        client.logout()


def capture(fetch):
    """(queries, [Statement]): what one fetch executed, counted by Django's
    CaptureQueriesContext; the statements as the ORM passed them, parameters apart."""
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(Statement(sql, params, many, caller()))
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(record):
        fetch()
    return len(captured), statements


def caller():
    """The innermost named function of the project's own code on the stack (not Django's,
    not this file's), as path:function: which section of a page ran a statement."""
    base = Path(settings.BASE_DIR)
    for frame in reversed(traceback.extract_stack()):
        path = Path(frame.filename)
        ours = path.is_relative_to(base) and ".venv" not in path.parts
        if ours and path != Path(__file__) and not frame.name.startswith("<"):
            return f"{path.relative_to(base)}:{frame.name}"
    return "?"


def replay(statements):
    """Seconds each statement takes on a raw cursor, its rows fetched. Rolled back after,
    in case a page wrote something (and so that its savepoints have a transaction)."""
    took = []
    with transaction.atomic(), connection.cursor() as cursor:
        # Untimed: the driver sends BEGIN with the first statement, which the page
        # (in autocommit) never pays.
        cursor.execute("SELECT 1")
        for sql, params, many, _ in statements:
            started = time.perf_counter()
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
            if cursor.description:
                cursor.fetchall()
            took.append(time.perf_counter() - started)
        transaction.set_rollback(True)
    return took


# --- Removing what a run added ---------------------------------------------------------------


def remove_added(added):
    """{what: rows} deleted of what this run added, one DELETE a table where there may be
    many rows: collecting them for cascades first would take minutes."""
    return {
        "drift job rows": remove_above(added.drift_above),
        "certification rows": remove_periods(added.certifier),
        "leader rows": remove_leader(added.leader),
        "observations": dataset.remove_generated(added.prefix),
    }


def remove_above(marks):
    removed = 0
    with transaction.atomic():
        for model, mark in marks.items():
            rows = model.objects.filter(pk__gt=mark)
            removed += rows._raw_delete(rows.db)
    return removed


def remove_periods(certifier):
    if certifier is None:
        return 0
    periods = CertificationPeriod.objects.filter(decided_by_id=certifier)
    doomed = [
        Reminder.objects.filter(period__in=periods.values("pk")),
        CertificationEvent.objects.filter(period__in=periods.values("pk")),
        periods,
        Person.objects.filter(pk=certifier),
    ]
    with transaction.atomic():
        return sum(rows._raw_delete(rows.db) for rows in doomed)


def remove_leader(pk):
    if pk is None:
        return 0
    person = Person.objects.select_related("user").get(pk=pk)
    removed, _ = person.delete()  # its role grant too
    person.user.delete()
    return removed + 1

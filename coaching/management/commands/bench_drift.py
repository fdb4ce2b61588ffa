"""bench_drift: how soon the drift rules catch a fall, and how long the nightly drift job takes.

Two halves; either can be skipped.

1. Detection trials (no database): coaching.drift_trials' online trials on fresh random
   seeds (or one given seed), each seed's table, then a summary over the seeds: the app's
   detector against each goal of the benchmark, the textbook charts beside.
2. The nightly job (meant for PostgreSQL) on bench_observations' dataset, built by its
   builders and reused the same way: rows generated now are removed at the end unless --keep
   is given. The job runs once, timed apart (that night raises every alert, writes all
   momentum and counts every month's item sums; --first-night first removes what earlier
   nights left, so it is one), then each timed run measures a steady night against the
   job's own read statements timed alone (each organization's observations, then the item
   scores its items rule reads): the floor for a job that reads what it judges once. One
   more steady night, untimed, is traced for its peak memory. Last, one night on the first
   of the next month, timed on its own, shows the monthly step: that month's item sums
   counted, every team and item series one point longer.
"""

import datetime as dt
import math
import resource
import statistics
import time
import tracemalloc
import uuid
from dataclasses import dataclass

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from coaching import drift_demo, drift_trials, levels, services
from coaching.management.commands.detect_drift import parse_day
from coaching.models import (
    DriftAlert,
    ItemMonth,
    ItemMonthsCounted,
    Momentum,
    OrganizationItemMonth,
    PooledSpread,
)
from coaching.series import Series
from miiwrap import generations
from miiwrap.benchmarks import require_migrated
from miiwrap.people import demo
from observations.management.commands import bench_observations as dataset
from observations.management.commands.bench_observations import positive
from observations.models import RubricVersion

DEFAULT_SERIES, DEFAULT_RUNS, DEFAULT_SEEDS = 2000, 3, 3
FALSE_ALARM_GOAL = 1.0  # alerts raised per 100 in-control observations
# Median delays, in observations from the change (1 = the first changed one).
DELAY_GOALS = {drift_trials.STEP: 4, drift_trials.SLIDE: 6, drift_trials.ITEMS_SLIP: 4}
RATIO_GOAL = 2.0  # the job over its own read statements
MEMORY_GOAL_MB = 300  # a steady night at a million observations
FIRST_NIGHT_GOAL = 60.0  # seconds, no alerts, momentum or item sums before it
MET, MISSED, NOT_APPLICABLE = "met", "MISSED", "—"
TEXTBOOK = (drift_trials.EWMA, drift_trials.CUSUM)

# What drift_detect has done by each checkpoint of its Report.seconds.
STAGES = {
    "read": "each organization's observations read in turn (one query each), reduced to parts",
    "charts": "pooled and item spreads from every organization's parts, kept",
    "sums": "month fingerprints taken; item sums recounted where they moved",
    "teams": "each team's monthly mean judged, from the organizations' monthly means",
    "items": "each item's and metric's organization-wide monthly mean judged",
    "people": "each organization's practitioners judged against the pools; alerts, momentum",
    "total": "coaches and leaders told of new alerts",
}


@dataclass
class Dataset:
    observations: int
    people: int
    generated: int
    generate_seconds: float
    people_built: bool
    people_seconds: float


@dataclass
class Reads:
    """What the job's own read statements fetched, and how long they took alone."""

    seconds: float
    observations: int
    item_rows: int
    series: int


@dataclass
class JobTimes:
    reads: Reads  # the last timed
    first: services.Report
    first_seconds: float
    first_night: bool  # the first run started with none of the job's outputs
    sql_seconds: list
    job_runs: list  # (seconds, Report)
    month_day: dt.date  # the first day of the next month
    month_seconds: float
    month: services.Report
    traced_mb: float  # tracemalloc's peak over one steady night
    rss_mb: float  # the process's peak resident set so far (ru_maxrss)

    @property
    def sql_median(self):
        return statistics.median(self.sql_seconds)

    @property
    def job_median(self):
        return statistics.median(seconds for seconds, _ in self.job_runs)

    @property
    def median_run(self):
        """The run at the middle (the lower of the two middle ones for an even count)."""
        ordered = sorted(self.job_runs, key=lambda run: run[0])
        return ordered[(len(ordered) - 1) // 2][1]


class Command(BaseCommand):
    help = (
        "Benchmark drift detection: the rules' delay and false alarms on synthetic series, "
        "and the nightly drift job against its own read statements timed alone (meant for "
        "PostgreSQL)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--series",
            type=positive,
            default=DEFAULT_SERIES,
            help=f"Synthetic series per scenario in the trials (default {DEFAULT_SERIES:,}).",
        )
        parser.add_argument(
            "--seeds",
            type=positive,
            default=DEFAULT_SEEDS,
            help=f"Fresh random seeds to run the trials on (default {DEFAULT_SEEDS}).",
        )
        parser.add_argument(
            "--seed", type=positive, help="Instead, this one seed (to repeat a run's seed)."
        )
        parser.add_argument(
            "--observations",
            type=positive,
            help=f"Observations the table should hold at least (default "
            f"{dataset.DEFAULT_ROWS:,}; on SQLite {dataset.SQLITE_ROWS:,}).",
        )
        parser.add_argument(
            "--runs",
            type=positive,
            default=DEFAULT_RUNS,
            help=f"Timed runs of the job and of the raw query (default {DEFAULT_RUNS}).",
        )
        parser.add_argument(
            "--today", type=parse_day, help="The job's day, YYYY-MM-DD (default: today)."
        )
        parser.add_argument(
            "--keep", action="store_true", help="Leave the rows generated now for the next run."
        )
        parser.add_argument(
            "--first-night",
            action="store_true",
            help="Remove what earlier nights left (alerts, momentum, item sums, pools) first, "
            "so the first run is the job's first night.",
        )
        parser.add_argument(
            "--allow-sqlite", action="store_true", help="Run on SQLite anyway (small default)."
        )
        parser.add_argument("--skip-trials", action="store_true", help="Only time the job.")
        parser.add_argument("--skip-job", action="store_true", help="Only run the trials.")
        parser.add_argument(
            "--demo-seeds",
            type=drift_demo.seed_list,
            help="Instead: the alerts' precision and recall on the demo world of each seed "
            "(1,2,3), each built in a fresh SQLite database (coaching.drift_demo).",
        )
        parser.add_argument("--demo-scale", choices=sorted(demo.SCALES), default="demo")

    def handle(self, *, skip_trials, skip_job, allow_sqlite, **options):
        if seeds := options["demo_seeds"]:
            today = options["today"] or timezone.localdate()
            scale = options["demo_scale"]
            self.stdout.write(drift_demo.bench(seeds, today=today, scale=scale))
            return
        if skip_trials and skip_job:
            raise CommandError("--skip-trials and --skip-job together leave nothing to run.")
        if not skip_job:
            refuse_sqlite(allow_sqlite)
            require_migrated()
        if not skip_trials:
            seeds = trial_seeds(options["seed"], options["seeds"])
            self.report_trials(options["series"], seeds)
        if not skip_job:
            if not skip_trials:
                self.stdout.write("")
            self.bench_job(options)

    def bench_job(self, options):
        today = options["today"] or timezone.localdate()
        small = connection.vendor == "sqlite"
        wanted = options["observations"] or (dataset.SQLITE_ROWS if small else dataset.DEFAULT_ROWS)
        # The time plus a random part: two runs within one second must not share keys.
        prefix = f"{dataset.KEY_PREFIX}{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}:"
        try:
            self.report_dataset(ensure_dataset(wanted, today, prefix), today)
            if options["first_night"]:
                forget_the_nights()
            if tidied := tidy_tables():
                self.stdout.write(
                    f"Vacuumed and analyzed first, as autovacuum would have: {', '.join(tidied)} "
                    "(dead rows that earlier nights' updates left mislead the planner)."
                )
            self.report_job(time_job(today, options["runs"]), today, options["runs"])
        finally:
            removed = 0 if options["keep"] else dataset.remove_generated(prefix)
            if removed:
                self.stdout.write(f"\nRemoved the {removed:,} observations generated by this run.")

    # --- Reports ---------------------------------------------------------------------------

    def report_trials(self, series, seeds):
        self.stdout.write(
            f"Detection trials: {series:,} synthetic series per scenario, each "
            f"{drift_trials.LENGTH} monthly overall scores, run night by night with the "
            f"job's alert lifecycle, on seeds {', '.join(map(str, seeds))} (repeat one with "
            "--seed N).\n"
            "false/100: alerts raised per 100 in-control observations (after the first "
            f"{drift_trials.FIRST}); delay: the median number of observations from the "
            "change to the first alert raised (1 = on the first changed one); caught: the "
            "share of changes alerted by the end; missed: changes never alerted; open@chg: "
            "a false alert still open when the change came; silent: nights out of control "
            "with no alert open; flaps: alerts closed and raised again within "
            f"{drift_trials.FLAP_WINDOW} observations while the level stays below its "
            "baseline; open@end: the share of series with an alert still open after "
            "their last observation (on the in-control scenarios, false alarms that "
            "linger)."
        )
        rows = []
        for seed in seeds:
            found = drift_trials.run_trials(series, seed)
            self.stdout.write(f"\nSeed {seed}:\n{drift_trials.format_table(found)}")
            rows.extend(found)
        self.stdout.write(
            f"\nSummary over {len(seeds)} seed(s), {series * len(seeds):,} series per "
            "scenario: the app's detector (shift on overall scores; shift+items where there "
            "are items) against each goal; beside it the overall-score rule alone on the "
            "item series, and the textbook charts."
        )
        line = "{:<40}{:>8}{:>8}  {:<8}{:>8}{:>8}{:>8}"
        self.stdout.write(line.format("figure", "goal", "app", "verdict", "shift", "EWMA", "CUSUM"))
        for label, goal, app, verdict, beside in goal_lines(rows):
            self.stdout.write(line.format(label, goal, app, verdict, *beside))

    def report_dataset(self, found, today):
        if found.generated == 0:
            how = "reused: kept from an earlier run, nothing generated"
        elif found.generated == found.observations:
            how = f"built now: {found.generated:,} observations in {found.generate_seconds:.1f} s"
        else:
            how = (
                f"topped up: {found.generated:,} observations generated in "
                f"{found.generate_seconds:.1f} s, {found.observations - found.generated:,} "
                "already there"
            )
        people = (
            f"people and organizations built now in {found.people_seconds:.1f} s"
            if found.people_built
            else "people and organizations reused"
        )
        self.stdout.write(
            f"Nightly drift job on {connection.vendor}, day {today:%Y-%m-%d}.\n"
            f"Dataset: {found.observations:,} observations of {found.people:,} people "
            f"({how}; {people})."
        )

    def report_job(self, times, today, runs):
        first, reads = times.first, times.reads
        self.stdout.write(
            f"Read by the job: {first.observations:,} submitted observations in "
            f"{reads.series:,} series (practitioner and rubric); its read statements fetched "
            f"{reads.observations:,} observations and the item scores of {reads.item_rows:,}.\n"
            f"First run, kept out of the medians: {times.first_seconds:.2f} s; "
            f"{first_run_did(first)}\n  {first.summary()}"
        )
        if times.first_night:
            verdict = MET if times.first_seconds <= FIRST_NIGHT_GOAL else "NOT met"
            self.stdout.write(
                f"First night (none of the job's outputs before it): {times.first_seconds:.2f} "
                f"s; goal <= {FIRST_NIGHT_GOAL:g} s: {verdict}"
            )
            self.write_stages(first)
        self.stdout.write(f"\nTimed runs, {runs} each, alternating, on a steady night:")
        self.write_runs("The job's read statements", times.sql_seconds, times.sql_median)
        self.write_runs(
            f"drift_detect(today={today:%Y-%m-%d})",
            [seconds for seconds, _ in times.job_runs],
            times.job_median,
        )
        ratio = times.job_median / times.sql_median
        verdict = MET if ratio <= RATIO_GOAL else "NOT met"
        self.stdout.write(
            f"Job / its read statements: {ratio:.2f}x; goal <= {RATIO_GOAL:g}x: {verdict}"
        )
        verdict = MET if times.traced_mb <= MEMORY_GOAL_MB else "NOT met"
        self.stdout.write(
            f"Peak memory of one more steady night: {times.traced_mb:.1f} MB traced "
            f"(tracemalloc: Python objects and numpy arrays, not the interpreter's own nor "
            f"the database driver's buffers); goal <= {MEMORY_GOAL_MB} MB: {verdict}. This "
            f"process's peak resident set so far: {times.rss_mb:.0f} MB (ru_maxrss, with "
            "Django, the trials and any dataset built now)."
        )
        median = times.median_run
        self.stdout.write("\nThe job's median run, by its own clock (Report.seconds):")
        self.write_stages(median)
        self.stdout.write(
            f"\nThe first night of a month ({times.month_day:%Y-%m-%d}), once a month, run "
            f"last: {times.month_seconds:.2f} s."
        )
        self.write_stages(times.month)

    def write_stages(self, report):
        for name, took, at in stages(report.seconds):
            what = STAGES.get(name, "")
            self.stdout.write(f"  {name:<8}{took:>8.2f} s  (at {at:>6.2f} s)  {what}")
        self.stdout.write(f"  {report.summary()}")

    def write_runs(self, label, seconds, median):
        each = ", ".join(f"{value:.3f}" for value in seconds)
        self.stdout.write(f"  {label:<32} median {median:>8.3f} s   (runs: {each} s)")


# --- Checks and verdicts ---------------------------------------------------------------------


def refuse_sqlite(allowed):
    if connection.vendor == "sqlite" and not allowed:
        raise CommandError(
            "The job timing is meant for PostgreSQL: set DATABASE_URL=postgres://USER@HOST/DB "
            "(a scratch database). SQLite timings say little about production; pass "
            "--allow-sqlite to run it anyway (then --observations defaults to "
            f"{dataset.SQLITE_ROWS:,}), or --skip-job for the trials alone."
        )


def first_run_did(report):
    """What the untimed run changed, which the timed runs then find in place."""
    raised = sum(report.raised.values())
    if raised or report.momentum_written:
        return (
            f"it raised {raised:,} alerts and wrote {report.momentum_written:,} momentum rows, "
            "all of them, so each timed run below is a steady night."
        )
    return (
        "it raised no alert and wrote no momentum: an earlier run on this dataset had, "
        "so it was a steady night already."
    )


def trial_seeds(seed, count):
    """The seed asked for, else `count` fresh ones (printed, so a run can be repeated)."""
    if seed is not None:
        return [seed]
    return [drift_trials.fresh_seed() for _ in range(count)]


def goal_lines(rows):
    """(figure, goal, app's figure, verdict, (shift alone, EWMA, CUSUM)) for each goal of the
    benchmark, every seed's rows pooled. "shift alone" is shown only on the item series,
    where the app's detector is shift+items."""
    t = drift_trials

    def app(scenarios):
        item_rows = [s for s in scenarios if s in t.WITH_ITEMS]
        other = [s for s in scenarios if s not in t.WITH_ITEMS]
        return t.pick(rows, other, t.SHIFT) + t.pick(rows, item_rows, t.COMBINED)

    def figures(scenarios, figure):
        mine = figure(t.pooled(app(scenarios), detector="app"))
        items_only = all(s in t.WITH_ITEMS for s in scenarios)
        alone = figure(t.pooled(t.pick(rows, scenarios, t.SHIFT))) if items_only else None
        return mine, [alone, *(figure(t.pooled(t.pick(rows, scenarios, d))) for d in TEXTBOOK)]

    lines = []
    for label, scenarios in (
        ("false alarms /100, stable + bad day", (t.STABLE, t.BAD_DAY)),
        ("false alarms /100, items stable", (t.ITEMS_STABLE,)),
    ):
        mine, beside = figures(scenarios, lambda row: row.false_per_100)
        verdict = at_most(mine, FALSE_ALARM_GOAL)
        lines.append((label, f"<= {FALSE_ALARM_GOAL:g}", f"{mine:.2f}", verdict, beside, "{:.2f}"))
    for scenario, goal in DELAY_GOALS.items():
        mine, beside = figures((scenario,), lambda row: row.median_delay)
        verdict = f"{MISSED} (none caught)" if math.isnan(mine) else at_most(mine, goal)
        label = f"median delay, {scenario}"
        lines.append((label, f"<= {goal}", _shown(mine, "{:.1f}"), verdict, beside, "{:.1f}"))
    for label, scenarios, name, goal in (
        ("changes missed, step + slide", (t.STEP, t.SLIDE), "missed", 0),
        ("changes missed, items slip", (t.ITEMS_SLIP,), "missed", None),  # no goal
        ("silent nights, every scenario", t.SCENARIOS, "silent_nights", 0),
        ("flaps, every scenario", t.SCENARIOS, "flaps", 0),
    ):
        mine, beside = figures(scenarios, lambda row, name=name: getattr(row, name))
        verdict = NOT_APPLICABLE if goal is None else at_most(mine, goal)
        lines.append((label, _shown(goal, "{}"), str(mine), verdict, beside, "{}"))
    # No goal: how many in-control series end with a (false) alert still open.
    mine, beside = figures(t.IN_CONTROL, lambda row: row.open_at_end / max(row.series, 1))
    label = "open at the end %, in-control series"
    lines.append(
        (
            label,
            NOT_APPLICABLE,
            f"{100 * mine:.1f}",
            NOT_APPLICABLE,
            [None if value is None else 100 * value for value in beside],
            "{:.1f}",
        )
    )
    return [
        (label, goal, mine, verdict, tuple(_shown(value, form) for value in beside))
        for label, goal, mine, verdict, beside, form in lines
    ]


def at_most(figure, goal):
    return MET if figure <= goal else MISSED


def _shown(value, form):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_APPLICABLE
    return form.format(value)


# --- Dataset and timing ---------------------------------------------------------------------


def ensure_dataset(wanted, today, prefix):
    """bench_observations' people and observations, built when missing, else reused."""
    scale = "state" if wanted >= dataset.STATE_FROM_ROWS else "demo"
    orgs = demo.identities(dataset.SEED, demo.SCALES[scale].organizations)
    started = time.monotonic()
    people_built = bool(demo.missing_identities(orgs))
    dataset.ensure_people(orgs, scale, today)
    people_seconds = time.monotonic() - started
    total, generated, seconds, people = dataset.ensure_observations(wanted, today, prefix, orgs)
    return Dataset(total, people, generated, seconds, people_built, people_seconds)


def forget_the_nights():
    """Remove what the drift job's earlier nights left, so the next run is a first night."""
    with transaction.atomic():
        DriftAlert.history.all().delete()
        for model in (DriftAlert, Momentum, OrganizationItemMonth, ItemMonth):
            model.objects.all()._raw_delete(model.objects.db)
        ItemMonthsCounted.objects.all().delete()
        PooledSpread.objects.all().delete()
        generations.touched(everyone=True)  # raw deletes send no signals


def tidy_tables():
    """On PostgreSQL, VACUUM ANALYZE the tables the job writes and then reads; their names."""
    if connection.vendor != "postgresql":
        return []
    models = (DriftAlert, DriftAlert.history.model, Momentum, ItemMonth, OrganizationItemMonth)
    tables = [model._meta.db_table for model in models]
    # VACUUM cannot run in a transaction (as under a test): ANALYZE alone then.
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")
    return tables


def time_job(today, runs):
    """The first run, then the read statements and a steady night alternately, `runs` times
    each; one more steady night traced for its peak memory; last, the next month's first."""
    first_night = not (
        DriftAlert.objects.exists() or Momentum.objects.exists() or ItemMonth.objects.exists()
    )
    started = time.perf_counter()
    first = services.drift_detect(today=today)
    first_seconds = time.perf_counter() - started
    sql_seconds, job_runs = [], []
    for _ in range(runs):
        reads = time_read_statements(today)
        sql_seconds.append(reads.seconds)
        started = time.perf_counter()
        report = services.drift_detect(today=today)
        job_runs.append((time.perf_counter() - started, report))
    traced = traced_peak(lambda: services.drift_detect(today=today))
    # Last, as it moves the job on a month: the night a month is complete, when its item
    # sums are counted and every team and item series takes a step.
    month_day = levels.next_month(today)
    started = time.perf_counter()
    month = services.drift_detect(today=month_day)
    month_seconds = time.perf_counter() - started
    return JobTimes(
        reads,
        first,
        first_seconds,
        first_night,
        sql_seconds,
        job_runs,
        month_day,
        month_seconds,
        month,
        traced,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    )


def traced_peak(run):
    """MB at the peak of what tracemalloc sees allocated while `run` runs."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def time_read_statements(today):
    """The job's own read statements, each executed and fetched with the clock running,
    in the job's order: per organization, its observations (levels.read_observations'
    statement), then the item scores of the rows its items rule reads (item_cards').
    Working out which rows those are runs with the clock stopped."""
    night = levels.Night.of(today)
    rules = levels.rubric_rules()
    below = levels.below_adequate(rules)
    versions = dict(RubricVersion.objects.values_list("pk", "rubric_id"))
    seconds, observations, item_rows, series_count = 0.0, 0, 0, 0
    for organization in services.night_organizations():
        took, found = fetched(*levels.observations_query(None, below, night, organization))
        seconds += took
        observations += len(found)
        rows = levels.Rows.of(found, versions)
        series = Series.split([rows.person, rows.rubric])
        series_count += len(series)
        rubric_of = series.first(rows.rubric)
        for rubric in np.unique(rubric_of).tolist():
            codes = levels.item_codes(rubric)
            chosen = np.flatnonzero(rubric_of == rubric)
            _, _, picked = levels.recent_rows(series, chosen, rules[rubric].params())
            taken = np.concatenate(picked)
            if not codes or not len(taken):
                continue
            for sql, params in levels.item_values_queries(rows.obs[taken], codes):
                took, found = fetched(sql, params)
                seconds += took
                item_rows += len(found)
    return Reads(seconds, observations, item_rows, series_count)


def fetched(sql, params):
    """(seconds, rows): the statement executed and every row fetched."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return time.perf_counter() - started, rows


def stages(seconds):
    """(name, seconds the stage took, seconds since the start) from checkpoints that each
    count from the start of the run."""
    previous = 0.0
    for name, at in seconds.items():
        yield name, at - previous, at
        previous = at

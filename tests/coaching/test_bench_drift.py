"""bench_drift: the trials' table with its goals, then the nightly job timed on a dataset."""

import io
import math
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from coaching import drift_trials
from coaching.models import DriftAlert
from observations.models import Observation

TINY = ("--allow-sqlite", "--observations", "300", "--series", "50", "--runs", "1")
DAY = ("--today", "2026-06-30")
TRIAL_ROW = re.compile(
    r"^(\S+)\s+(ewma|cusum|run|band|any)\s+(—|[\d.]+)\s+(—|\d+%)\s+([\d.]+)$", re.MULTILINE
)
GOAL_ROW = re.compile(
    r"^(\S+)\s+(ewma|cusum|run|band|any)\s+(—|[\d.]+)\s+(met|MISSED(?: \(none caught\))?|—)"
    r"\s+([\d.]+)\s+(met|MISSED)$",
    re.MULTILINE,
)
GOAL_SUMMARY = re.compile(
    r"^(Delay|False-alarm) goal: met by (\d+) of (\d+) figures; by any rule in (\d+) of (\d+) "
    r"scenarios",
    re.MULTILINE,
)
DATASET_LINE = re.compile(
    r"^Dataset: ([\d,]+) observations of ([\d,]+) people \((built now|reused|topped up)",
    re.MULTILINE,
)
READ_LINE = re.compile(
    r"^Read by the job: ([\d,]+) submitted observations in ([\d,]+) series .*the raw query "
    r"fetched ([\d,]+) rows\.$",
    re.MULTILINE,
)
FIRST_LINE = re.compile(
    r"^First run, kept out of the medians: ([\d.]+) s; it raised ([\d,]+|no) alerts?", re.MULTILINE
)
TIMING_LINE = re.compile(
    r"^  (Raw SQL window query|drift_detect\(today=2026-06-30\))\s+median\s+([\d.]+) s\s+"
    r"\(runs: ([\d., ]+) s\)$",
    re.MULTILINE,
)
RATIO_LINE = re.compile(r"^Job / raw SQL: ([\d.]+)x; goal <= 3x: (met|NOT met)$", re.MULTILINE)
NIGHTLY_STAGES = ["read", "charts", "people", "sums", "teams", "items", "total"]
STAGE_LINE = re.compile(
    r"^  (read|charts|people|sums|teams|items|total)\s+([\d.]+) s  \(at\s+([\d.]+) s\)",
    re.MULTILINE,
)


def bench(*args):
    out = io.StringIO()
    call_command("bench_drift", *args, stdout=out)
    return out.getvalue()


def number(text):
    return int(text.replace(",", ""))


@pytest.fixture
def output(db):
    return bench(*TINY, *DAY, "--keep")


# --- The trials ------------------------------------------------------------------------------


def test_the_trials_need_no_database_and_print_every_scenario_and_rule():
    # No db fixture: any query would fail the test.
    text = bench("--skip-job", "--series", "50")
    rows = TRIAL_ROW.findall(text)
    assert [(row[0], row[1]) for row in rows] == [
        (scenario, rule)
        for scenario in drift_trials.SCENARIOS
        for rule in ("ewma", "cusum", "run", "band", "any")
    ]
    assert "Nightly drift job" not in text


def test_the_table_is_the_trials_own_for_the_seed_and_size_asked():
    text = bench("--skip-job", "--series", "50", "--seed", "7")
    expected = drift_trials.format_table(drift_trials.run_trials(50, 7))
    assert expected in text
    assert expected != drift_trials.format_table(drift_trials.run_trials(50, 1))


def test_each_figure_is_judged_against_its_goal_and_misses_are_marked():
    text = bench("--skip-job", "--series", "50")
    trials = {(r.scenario, r.rule): r for r in drift_trials.run_trials(50, 1)}
    goals = GOAL_ROW.findall(text)
    assert len(goals) == len(trials)
    for scenario, rule, delay, delay_goal, false_alarms, false_goal in goals:
        row = trials[(scenario, rule)]
        assert float(false_alarms) == pytest.approx(row.false_alarms_per_100, abs=0.005)
        assert false_goal == ("met" if row.false_alarms_per_100 <= 1 else "MISSED")
        if scenario == drift_trials.STABLE:
            assert (delay, delay_goal) == ("—", "—")
        elif math.isnan(row.median_delay):
            assert delay_goal == "MISSED (none caught)"
        else:
            assert float(delay) == row.median_delay
            assert delay_goal == ("met" if row.median_delay <= 5 else "MISSED")


def test_the_summary_counts_the_figures_that_meet_each_goal():
    text = bench("--skip-job", "--series", "50")
    goals = GOAL_ROW.findall(text)
    summary = {goal: tuple(map(int, rest)) for goal, *rest in GOAL_SUMMARY.findall(text)}
    delays = [g for g in goals if g[0] != drift_trials.STABLE]
    assert summary["Delay"] == (
        sum(g[3] == "met" for g in delays),
        20,
        sum(g[3] == "met" for g in delays if g[1] == "any"),
        4,
    )
    assert summary["False-alarm"] == (
        sum(g[5] == "met" for g in goals),
        25,
        sum(g[5] == "met" for g in goals if g[1] == "any"),
        5,
    )


def test_the_slow_slide_misses_the_delay_goal_and_says_so():
    # A fall of 0.1 sigma per observation is still under 1 sigma after 5 observations.
    text = bench("--skip-job", "--series", "200")
    slide = [g for g in GOAL_ROW.findall(text) if g[0] == drift_trials.SLIDE and g[1] == "any"]
    assert slide[0][3] == "MISSED"
    assert re.search(r"by any rule in \d of 4 scenarios \(missed: [^)]*slow-slide", text)


# --- The job -------------------------------------------------------------------------------


def test_it_builds_the_dataset_and_says_how_long_it_took(output):
    total, people, how = DATASET_LINE.search(output).groups()
    assert (number(total), how) == (300, "built now")
    assert number(people) > 100
    assert re.search(
        r"built now: 300 observations in [\d.]+ s; people and organizations built "
        r"now in [\d.]+ s\)",
        output,
    )
    assert f"Nightly drift job on {connection.vendor}, day 2026-06-30." in output


def test_the_job_and_the_raw_query_read_the_same_rows_and_series(output):
    read, series, fetched = map(number, READ_LINE.search(output).groups())
    submitted = Observation.objects.submitted()
    assert read == fetched == submitted.count()
    pairs = set(submitted.values_list("practitioner_id", "rubric_version__rubric_id"))
    assert series == len(pairs)


def test_it_prints_the_first_run_and_the_median_of_each_measure(output):
    seconds, raised = FIRST_LINE.search(output).groups()
    assert float(seconds) > 0
    assert number(raised) == DriftAlert.objects.count() > 0
    timings = {label: (float(m), r) for label, m, r in TIMING_LINE.findall(output)}
    assert list(timings) == ["Raw SQL window query", "drift_detect(today=2026-06-30)"]
    for median, runs in timings.values():
        assert runs == f"{median:.3f}"  # one run: its time is the median


def test_the_ratio_is_the_job_over_the_raw_query_against_three(output):
    sql, job = (float(m) for _, m, _ in TIMING_LINE.findall(output))
    ratio, verdict = RATIO_LINE.search(output).groups()
    assert verdict == ("met" if float(ratio) <= 3 else "NOT met")
    # The medians are printed to the millisecond, the ratio from the exact times.
    half = 0.0005
    assert (job - half) / (sql + half) <= float(ratio) + 0.01
    if sql > half:
        assert float(ratio) - 0.01 <= (job + half) / (sql - half)


def test_the_median_run_is_broken_down_by_the_jobs_own_stages(output):
    stages = STAGE_LINE.findall(output.split("The first night of a month")[0])
    assert [name for name, _, _ in stages] == NIGHTLY_STAGES
    took = [float(t) for _, t, _ in stages]
    at = [float(a) for _, _, a in stages]
    assert at == sorted(at)
    # Seven figures, each rounded to the hundredth, against one rounded total.
    assert sum(took) == pytest.approx(at[-1], abs=0.04)
    job = float(TIMING_LINE.findall(output)[1][1])
    assert at[-1] <= job + 0.01


def test_the_first_night_of_the_next_month_is_shown_with_its_stages(output):
    month = output.split("The first night of a month (2026-07-01), once a month, run last: ")
    assert len(month) == 2 and re.match(r"[\d.]+ s\.\n", month[1])
    assert [name for name, _, _ in STAGE_LINE.findall(month[1])] == NIGHTLY_STAGES
    assert "item sums recounted: 1 month(s)" in month[1]


def test_the_timed_runs_are_steady_nights_after_the_first_raised_the_alerts(output):
    steady = output.split("Report.seconds):")[1].split("The first night of a month")[0]
    assert re.search(r"alerts raised: 0 person, 0 team, 0 item;", steady)
    assert DriftAlert.objects.exists()


def test_a_second_run_reuses_the_kept_dataset(output):
    again = bench(*TINY, *DAY, "--skip-trials")
    assert DATASET_LINE.search(again).groups() == (
        "300",
        DATASET_LINE.search(output).group(2),
        "reused",
    )
    assert "Removed" not in again
    assert "Detection trials" not in again
    assert "it raised no alert and wrote no momentum: an earlier run" in again
    assert Observation.objects.count() == 300


def test_without_keep_the_rows_it_generated_are_removed(db):
    text = bench(*TINY, *DAY, "--skip-trials")
    assert "Removed the 300 observations generated by this run." in text
    assert not Observation.objects.exists()


# --- Refusals ------------------------------------------------------------------------------


def test_on_sqlite_the_job_is_refused_without_allow_sqlite(db, monkeypatch):
    # Runs on every database: the command only asks which vendor it is talking to.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"meant for PostgreSQL.*--allow-sqlite.*--skip-job"):
        bench("--observations", "10", "--series", "50")
    assert not Observation.objects.exists()


def test_skipping_both_halves_is_refused():
    with pytest.raises(CommandError, match="nothing to run"):
        bench("--skip-trials", "--skip-job")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--series", "0"], "'0' is not a whole number of 1 or more"),
        (["--runs", "many"], "'many' is not a whole number"),
        (["--observations", "-5"], "'-5' is not a whole number"),
        (["--seed", "1.5"], "'1.5' is not a whole number"),
        (["--today", "2026-13-01"], "--today must be a date such as 2026-06-30"),
    ],
)
def test_bad_numbers_are_refused_with_a_clear_error(db, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        bench(*args, "--allow-sqlite")
    assert not Observation.objects.exists()

"""bench_drift's nightly job on a kept dataset: one run, made once for these tests (its
trials alone take seconds), whose output and rows they read."""

import re

import pytest
from django.db import connection
from django.test import override_settings

from coaching.models import DriftAlert
from observations.models import Observation
from tests.coaching.test_bench_drift import (
    DAY,
    TINY,
    bench,
    number,
)
from tests.factories import FAST_HASHERS, wipe_world

DATASET_LINE = re.compile(
    r"^Dataset: ([\d,]+) observations of ([\d,]+) people \((built now|reused|topped up)",
    re.MULTILINE,
)
FIRST_LINE = re.compile(
    r"^First run, kept out of the medians: ([\d.]+) s; it raised ([\d,]+|no) alerts?", re.MULTILINE
)
MEMORY_LINE = re.compile(
    r"^Peak memory of one more steady night: ([\d.]+) MB traced \(tracemalloc: .*\); goal "
    r"<= 300 MB: (met|NOT met)\. This process's peak resident set so far: ([\d]+) MB "
    r"\(ru_maxrss",
    re.MULTILINE,
)
NIGHTLY_STAGES = ["read", "charts", "sums", "teams", "items", "people", "total"]
RATIO_LINE = re.compile(
    r"^Job / its read statements: ([\d.]+)x; goal <= 2x: (met|NOT met)$", re.MULTILINE
)
READ_LINE = re.compile(
    r"^Read by the job: ([\d,]+) submitted observations in ([\d,]+) series .*its read "
    r"statements fetched ([\d,]+) observations and the item scores of ([\d,]+)\.$",
    re.MULTILINE,
)
STAGE_LINE = re.compile(
    r"^  (read|charts|people|sums|teams|items|total)\s+([\d.]+) s  \(at\s+([\d.]+) s\)",
    re.MULTILINE,
)
TIMING_LINE = re.compile(
    r"^  (The job's read statements|drift_detect\(today=2026-06-30\))\s+median\s+([\d.]+) s\s+"
    r"\(runs: ([\d., ]+) s\)$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def kept_run(django_db_setup, django_db_blocker):
    """One run keeping its dataset, made once for the module's tests (its trials alone take
    seconds), which read its output and its rows; removed after them."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        text = bench(*TINY, *DAY, "--keep")
        yield text
        wipe_world()


@pytest.fixture
def output(kept_run, db):
    return kept_run


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


def test_the_job_and_its_read_statements_read_the_same_rows_and_series(output):
    read, series, fetched, item_rows = map(number, READ_LINE.search(output).groups())
    submitted = Observation.objects.submitted()
    assert read == fetched == submitted.count()
    assert 0 <= item_rows <= fetched  # only a series long enough to slip has its read
    pairs = set(submitted.values_list("practitioner_id", "rubric_version__rubric_id"))
    assert series == len(pairs)


def test_it_prints_the_first_run_and_the_median_of_each_measure(output):
    seconds, raised = FIRST_LINE.search(output).groups()
    assert float(seconds) > 0
    assert number(raised) == DriftAlert.objects.count() > 0
    timings = {label: (float(m), r) for label, m, r in TIMING_LINE.findall(output)}
    assert list(timings) == ["The job's read statements", "drift_detect(today=2026-06-30)"]
    for median, runs in timings.values():
        assert runs == f"{median:.3f}"  # one run: its time is the median


def test_the_ratio_is_the_job_over_its_read_statements_against_two(output):
    sql, job = (float(m) for _, m, _ in TIMING_LINE.findall(output))
    ratio, verdict = RATIO_LINE.search(output).groups()
    assert verdict == ("met" if float(ratio) <= 2 else "NOT met")
    # The medians are printed to the millisecond, the ratio from the exact times.
    half = 0.0005
    assert (job - half) / (sql + half) <= float(ratio) + 0.01
    if sql > half:
        assert float(ratio) - 0.01 <= (job + half) / (sql - half)


def test_it_prints_the_peak_memory_of_a_steady_night_traced_and_resident(output):
    traced, verdict, resident = MEMORY_LINE.search(output).groups()
    assert 0 < float(traced) <= int(resident)
    assert verdict == ("met" if float(traced) <= 300 else "NOT met")


def test_the_median_run_is_broken_down_by_the_jobs_own_stages(output):
    median = output.split("Report.seconds):")[1].split("The first night of a month")[0]
    stages = STAGE_LINE.findall(median)
    assert [name for name, _, _ in stages] == NIGHTLY_STAGES
    took = [float(t) for _, t, _ in stages]
    at = [float(a) for _, _, a in stages]
    assert at == sorted(at)
    # Seven figures, each rounded to the hundredth, against one rounded total.
    assert sum(took) == pytest.approx(at[-1], abs=0.04)
    job = float(TIMING_LINE.findall(output)[1][1])
    assert at[-1] <= job + 0.01


def test_a_first_night_is_shown_with_its_stages(output):
    first = output.split("First night (none of the job's outputs before it): ")[1]
    first = first.split("Timed runs")[0]
    assert [name for name, _, _ in STAGE_LINE.findall(first)] == NIGHTLY_STAGES
    assert "item sums recounted: every month" in first


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

"""bench_certification_jobs: builds a valid synthetic world, times the job, cleans up."""

import datetime as dt
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from certification import dates
from certification.management.commands.bench_certification_jobs import PREFIX, differing
from certification.models import CertificationEvent, CertificationPeriod, Reminder
from coaching.models import CoachAssignment
from miiwrap.notifications.models import Notification
from miiwrap.people.models import Organization, Person
from observations.models import Observation
from tests.factories import make_period

DAY = "2026-06-30"
TINY = ("--periods", "400", "--days", "2", "--today", DAY)
RUN_ROW = re.compile(
    r"^  (first|day \+\d|by zone)\s+(\d{4}-\d\d-\d\d)\s+([\d.]+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)"
    r"\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)$",
    re.MULTILINE,
)
DAILY = re.compile(
    r"over 2 days: median ([\d.]+) s, max ([\d.]+) s \(by zone ([\d.]+) s\); "
    r"goal <= 5 s: (met|NOT met)"
)


def bench(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("bench_certification_jobs", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def bench_rows():
    orgs = Organization.objects.filter(slug__startswith=PREFIX)
    return orgs.count() + Person.objects.filter(organization__in=orgs).count()


@pytest.fixture
def kept(db):
    return bench(*TINY, "--keep")


def test_it_prints_a_row_per_run_with_times_and_query_counts(kept):
    rows = RUN_ROW.findall(kept)
    assert [row[0] for row in rows] == ["first", "day +1", "day +2", "by zone"]
    assert [row[1] for row in rows] == ["2026-06-30", "2026-07-01", "2026-07-02", "2026-07-03"]
    for row in rows:
        assert float(row[2]) > 0 and float(row[4]) > 0
        assert int(row[3]) > 3 and int(row[6]) > 3
    first = rows[0]
    assert int(first[7].replace(",", "")) > 0  # the catch-up records historic transitions
    median, slowest, by_zone, verdict = DAILY.search(kept).groups()
    assert float(median) <= float(slowest)
    assert verdict == ("met" if max(float(slowest), float(by_zone)) <= 5 else "NOT met")
    assert re.search(r"Daily query counts equal at [\d,]+ and 400 periods: (yes|NO)", kept)
    assert "Slowest queries of the slowest daily run" in kept


def test_it_warns_off_postgresql_and_describes_the_dataset(kept):
    warned = "Warning: this database is sqlite" in kept
    assert warned == (connection.vendor == "sqlite")
    found = re.search(
        r"Dataset: 400 certification periods of ([\d,]+) people in 2 organizations "
        r"over 2 time zones, ([\d,]+) observations",
        kept,
    )
    assert found and int(found.group(2).replace(",", "")) > 0


def test_the_dataset_is_valid_and_spread_around_the_day(kept):
    periods = list(CertificationPeriod.objects.select_related("program", "person"))
    assert len(periods) == 400
    today = dt.date.fromisoformat(DAY)
    states = set()
    for period in periods:
        expected = dates.period_from(period.program.rules(), period.valid_from)
        assert period.as_period() == expected
        assert period.decided_on <= min(period.valid_from, today)
        assert period.person.hire_date <= period.decided_on
        states.add(period.state_on(today))
    assert {dates.State.CERTIFIED, dates.State.WINDOW_OPEN, dates.State.LAPSED} <= states
    assert any(p.valid_from > today for p in periods)  # renewed ahead of the start
    assert len({p.program.code for p in periods}) >= 2
    for assignment in CoachAssignment.objects.select_related("coach", "practitioner"):
        assert assignment.coach.organization_id == assignment.practitioner.organization_id
        assert assignment.coach.roles.filter(role="coach").exists()


def test_the_job_ran_and_its_rows_stay_with_keep(kept):
    assert CertificationEvent.objects.filter(kind="lapsed").exists()
    assert Reminder.objects.exists()
    assert Notification.objects.filter(status=Notification.Status.SENT).exists()


def test_a_second_run_reuses_the_kept_dataset(kept):
    made = set(CertificationPeriod.objects.values_list("pk", flat=True))
    again = bench(*TINY)
    assert "kept from an earlier run" in again
    rows = RUN_ROW.findall(again)
    assert rows[0][7] == RUN_ROW.findall(kept)[0][7]  # the job started again from scratch
    assert "Removed the benchmark's" in again
    assert not made & set(CertificationPeriod.objects.values_list("pk", flat=True))


def test_without_keep_everything_it_made_is_removed(db):
    output = bench(*TINY)
    assert re.search(r"Removed the benchmark's [\d,]+ rows\.", output)
    assert bench_rows() == 0
    assert not CertificationPeriod.objects.exists()
    assert not CertificationEvent.objects.exists()
    assert not Notification.objects.exists()
    assert not Observation.objects.exists()


def test_it_refuses_a_database_with_periods_of_its_own(world):
    make_period(world.practitioner, world.purveyor_admin)
    with pytest.raises(CommandError, match="scratch database"):
        bench(*TINY)
    assert bench_rows() == 0
    assert CertificationPeriod.objects.count() == 1


@pytest.mark.parametrize(
    "args", [["--periods", "0"], ["--days", "some"], ["--today", "30/06/2026"]]
)
def test_bad_options_are_refused(db, args):
    with pytest.raises(CommandError):
        bench(*args)


def test_differing_matches_queries_whatever_their_values():
    small = ["SELECT a FROM t WHERE id IN (1, 2)", 'SAVEPOINT "s1_x2"', "SELECT b FROM u"]
    full = ["SELECT a FROM t WHERE id IN (3, 4, 5)", 'SAVEPOINT "s9_x7"', "SELECT a FROM t"]
    assert differing(small, full) == [
        ("SELECT … FROM t", 0, 1),
        ("SELECT … FROM u", 1, 0),
    ]

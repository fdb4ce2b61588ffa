"""bench_dashboards: builds or reuses its dataset, times every page against its own SQL,
judges the goals, and takes away what it added unless told to keep it."""

import datetime as dt
import io
import re
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from certification.models import CertificationEvent, CertificationPeriod
from coaching.models import (
    DriftAlert,
    ItemMonth,
    ItemMonthsCounted,
    Momentum,
    OrganizationItemMonth,
    PooledSpread,
)
from miiwrap.dashboards.management.commands.bench_dashboards import (
    CERTIFIER_EMAIL,
    LEADER_EMAIL,
    Added,
    Measured,
    Page,
    Statement,
    capture,
    find_leader,
    make_leader,
    remove_added,
    replay,
)
from miiwrap.notifications.models import Notification
from miiwrap.people.models import Organization, Person
from observations.models import Observation
from tests.conftest import load_shipped_programs, load_shipped_rubrics
from tests.factories import make_org

TINY = ("--rows", "1000", "--runs", "2", "--allow-sqlite")
PAGES = [
    "Leader dashboard",
    "Leader, all organizations",
    "  after a write to one",
    "Coach dashboard",
    "Practitioner view",
    "Reliability, one org.",
    "  the largest org.",
]
PAGE_ROW = re.compile(
    r"^  (Leader dashboard|Leader, all organizations|  after a write to one|Coach dashboard"
    r"|Practitioner view|Reliability, one org\.|  the largest org\.)\s+"
    r"(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x  (.+)$",
    re.MULTILINE,
)
# A UNION of parenthesized SELECTs (observations.summaries.coach_counts) starts with "(".
SLOWEST_ROW = re.compile(
    r"^ +([\d.]+) ms  ([\w/]+\.py):(\w+)\n {17}\(?(SELECT|WITH) ", re.MULTILINE
)
DRIFT_LINE = re.compile(
    r"^Drift job \(coaching.services.drift_detect\) run now over every observation in "
    r"([\d.]+) s:\n  (\d+) observations read; alerts raised: ",
    re.MULTILINE,
)
ADDED_BY_A_RUN = (
    Observation,
    CertificationPeriod,
    CertificationEvent,
    DriftAlert,
    Momentum,
    ItemMonth,
    OrganizationItemMonth,
    PooledSpread,
    ItemMonthsCounted,
    Notification,
)


def bench(*args):
    out = io.StringIO()
    call_command("bench_dashboards", *args, stdout=out)
    return out.getvalue()


def counts():
    return {model.__name__: model.objects.count() for model in ADDED_BY_A_RUN}


def what_was_kept(output):
    """What the tests below read from the database after a run with --keep."""
    periods = CertificationPeriod.objects.select_related("person", "decided_by")
    org = re.search(r"Measured in (.+), the median organization", output).group(1)
    signed_in = re.findall(r"(?:leader|coach|practitioner|purveyor admin) (\S+@\S+)", output)
    return SimpleNamespace(
        counts=counts(),
        submitted=Observation.objects.submitted().count(),
        deciders={period.decided_by.email for period in periods},
        decided_after_hire=all(p.person.hire_date < p.decided_on for p in periods),
        decisions=CertificationEvent.objects.filter(kind="certified").count(),
        org_people=Person.objects.filter(organization__name=org).count(),
        with_login=Person.objects.filter(email__in=signed_in).exclude(user=None).count(),
        signed_in=len(signed_in),
    )


@pytest.fixture(scope="module")
def runs(django_db_setup, django_db_blocker):
    """Three runs on one database, each a few seconds a page, so made once a module and
    rolled back after: without --keep from nothing, then with --keep, then once more."""
    with django_db_blocker.unblock(), transaction.atomic():
        # A transactional test run before this module may have flushed them.
        load_shipped_rubrics()
        load_shipped_programs()
        removed = bench(*TINY)
        after_removal = SimpleNamespace(
            counts=counts(),
            certifier=Person.objects.filter(email=CERTIFIER_EMAIL).exists(),
            people=Person.objects.count(),
        )
        kept = bench(*TINY, "--keep")
        found = what_was_kept(kept)
        again = bench(*TINY)
        after_again = counts()
        transaction.set_rollback(True)
    return SimpleNamespace(
        removed=removed,
        after_removal=after_removal,
        kept=kept,
        found=found,
        again=again,
        after_again=after_again,
    )


# --- The figures -----------------------------------------------------------------------------


@pytest.mark.parametrize("run", ["removed", "kept", "again"])
def test_it_prints_a_row_of_figures_for_every_page(runs, run):
    rows = PAGE_ROW.findall(getattr(runs, run))
    assert [row[0] for row in rows] == PAGES
    for _, queries, median, p90, sql, ratio, _ in rows:
        assert int(queries) > 3
        assert 0 < float(median) <= float(p90)
        assert float(sql) > 0
        # The medians are printed to a tenth of a millisecond, the ratio from exact times.
        assert (float(median) - 0.05) / (float(sql) + 0.05) <= float(ratio) + 0.01
        assert float(ratio) - 0.01 <= (float(median) + 0.05) / (float(sql) - 0.05)


def test_each_goal_is_judged_from_the_figures_beside_it(runs):
    rows = {row[0]: row for row in PAGE_ROW.findall(runs.kept)}
    _, _, median, _, _, ratio, goals = rows["Leader dashboard"]
    verdict = {True: "met", False: "MISSED"}
    assert goals == (
        f"<= 150 ms: {verdict[float(median) <= 150]}, <= 1.5x SQL: {verdict[float(ratio) <= 1.5]}"
    )
    coach = rows["Coach dashboard"]
    assert coach[6] == f"<= 100 ms: {verdict[float(coach[2]) <= 100]}"
    assert rows["Leader, all organizations"][6] == rows["Practitioner view"][6] == "—"
    after = rows["  after a write to one"]
    assert after[6] == f"<= 300 ms: {verdict[float(after[2]) <= 300]}"


def test_it_lists_the_slowest_statements_of_each_page(runs):
    slowest = runs.kept.split("Slowest statements of each page (median of 2 replays):")[1]
    for name, following in zip(PAGES, [*PAGES[1:], None], strict=True):
        section = slowest.split(f"  {name}\n")[1]
        section = section.split(f"  {following}\n")[0] if following else section
        slowest_first = [float(row[0]) for row in SLOWEST_ROW.findall(section)]
        assert len(slowest_first) == 3, section
        assert slowest_first == sorted(slowest_first, reverse=True)
    # Each statement is named by the function of the project's that ran it.
    callers = {row[1] for row in SLOWEST_ROW.findall(slowest)}
    assert callers & {"miiwrap/dashboards/leader.py", "certification/models.py"}


def test_it_names_the_organization_and_the_people_it_signed_in_as(runs):
    size = re.search(r"the median organization \(([\d,]+) people\)", runs.kept).group(1)
    assert runs.found.org_people == int(size.replace(",", "")) > 0
    assert runs.found.signed_in == runs.found.with_login == 4


# --- The dataset -----------------------------------------------------------------------------


def test_it_builds_every_layer_the_dashboards_read_and_says_so(runs):
    kept, found = runs.kept, runs.found
    assert re.search(r"1,000 observations \(1,000 generated now in [\d.]+ s, 0 already", kept)
    periods = re.search(r"Certification periods: ([\d,]+) \(added now in [\d.]+ s\)", kept)
    assert int(periods.group(1).replace(",", "")) == found.counts["CertificationPeriod"] > 0
    assert re.search(r"practitioner: \d+ certified today, \d+ of them expiring within 90", kept)
    seconds, read = DRIFT_LINE.search(kept).groups()
    assert float(seconds) > 0 and int(read) == found.submitted
    for made in ("DriftAlert", "Momentum", "ItemMonth", "Notification"):
        assert found.counts[made] > 0, made
    # In a test's transaction VACUUM cannot run, so the tables are only analyzed.
    assert "\nTables the dashboards read analyzed.\n" in kept


def test_the_periods_it_adds_are_decided_by_its_certifier_after_hire(runs):
    assert runs.found.deciders == {CERTIFIER_EMAIL}
    assert runs.found.decided_after_hire
    assert runs.found.decisions > 0


def test_a_second_run_finds_what_was_kept_and_adds_nothing(runs):
    again = runs.again
    assert "1,000 observations (found: nothing generated)" in again
    assert "(found, none added)" in again
    assert "Drift job: it has run on this database before; its rows reused." in again
    assert "Removed" not in again
    assert runs.after_again == runs.found.counts


def test_without_keep_what_it_added_is_removed(runs):
    removed = runs.removed.split("Removed what this run added: ")[1]
    assert re.match(
        r"[\d,]+ drift job rows, [\d,]+ certification rows, 1,000 observations", removed
    )
    assert set(runs.after_removal.counts.values()) == {0}
    assert not runs.after_removal.certifier
    assert runs.after_removal.people > 100  # the people stay, as after bench_observations


# --- Its parts -------------------------------------------------------------------------------


def test_an_organization_without_a_leader_gets_one_that_goes_with_the_rest(db):
    org, today, added = make_org(), dt.date(2026, 6, 30), Added("bench:test:")
    assert find_leader(org, today) is None
    leader = make_leader(org, today, added)
    assert find_leader(org, today) == leader
    assert remove_added(added)["leader rows"] >= 3  # the person, its role, its login
    assert not Person.objects.filter(email=LEADER_EMAIL).exists()
    assert not get_user_model().objects.filter(username=LEADER_EMAIL).exists()


def test_an_organization_with_a_leader_keeps_it_and_nothing_is_added(world):
    leader = find_leader(world.leader.organization, timezone.localdate())
    assert leader == world.leader


def test_the_replay_runs_what_was_captured_with_its_parameters_and_rolls_back(db):
    org = make_org("Before")

    def fetch():
        list(Organization.objects.filter(pk=org.pk))
        Organization.objects.filter(pk=org.pk).update(name="After")

    queries, statements = capture(fetch)
    assert queries == len(statements) == 2
    assert [tuple(statement.params) for statement in statements] == [
        (org.pk,),
        ("After", org.pk),
    ]
    assert {statement.caller for statement in statements} == {
        "tests/dashboards/test_bench_command.py:fetch"
    }
    Organization.objects.filter(pk=org.pk).update(name="Before")
    took = replay(statements)
    assert len(took) == 2 and all(seconds >= 0 for seconds in took)
    org.refresh_from_db()
    assert org.name == "Before"


def test_the_figures_are_medians_and_the_ninetieth_percentile():
    page = Page("Leader dashboard", None, "/", goal_ms=150, goal_ratio=1.5)
    fetches = [n / 100 for n in range(1, 11)]  # 10 to 100 ms
    replays = [[0.01, 0.02]] * 9 + [[0.5, 0.5]]
    statements = [Statement(f"SELECT {n}", (), False, "here.py:f") for n in (1, 2)]
    measured = Measured(page, 2, fetches, replays, statements)
    assert measured.median_ms == pytest.approx(55)
    assert measured.p90_ms == pytest.approx(90)
    assert measured.sql_ms == pytest.approx(30)
    assert measured.goals() == [("<= 150 ms", True), ("<= 1.5x SQL", False)]
    assert [statement.sql for _, statement in measured.slowest()] == ["SELECT 2", "SELECT 1"]


# --- Refusals --------------------------------------------------------------------------------


def test_on_sqlite_it_refuses_to_run_without_allow_sqlite(db, monkeypatch):
    # Runs on every database: the command only asks which vendor it is talking to.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"meant for PostgreSQL.*--allow-sqlite"):
        bench("--rows", "10")
    assert not Observation.objects.exists()


@pytest.mark.parametrize("args", [["--rows", "0"], ["--runs", "many"], ["--observations", "-1"]])
def test_bad_options_are_refused(db, args):
    with pytest.raises(CommandError):
        bench(*args, "--allow-sqlite")

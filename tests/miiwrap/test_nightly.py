"""The night fanned out per organization gives what the single-process jobs give."""

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from certification import jobs
from certification.models import CertificationEvent, Program, Reminder
from coaching import services
from coaching.models import (
    DriftAlert,
    ItemMonth,
    ItemMonthsCounted,
    Momentum,
    OrganizationItemMonth,
    PooledSpread,
)
from miiwrap import generations
from miiwrap.celery import app as celery_app
from miiwrap.dashboards import leader
from miiwrap.nightly import runs, tasks
from miiwrap.nightly.models import NightlyPart, NightlyRun
from miiwrap.notifications import delivery
from miiwrap.notifications.models import Notification
from tests.certification.test_jobs_services import period_ending, turns_on
from tests.coaching.test_drift_job import level, observe
from tests.conftest import port_open, require, wait_until

TODAY = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 3, 0, tzinfo=dt.UTC)
WEEKS = 40
NEEDS_REDIS = "needs a Redis broker: set REDIS_URL=redis://HOST:6379/0 to run it"
NEEDS_SHARED_DB = "needs a database other processes can open: set DATABASE_URL=postgres://..."


def night_world(world):
    """Both organizations with work for each job: a practitioner whose scores fell (a
    drift alert), steady ones (momentum, pooled spreads), and certifications at a turn
    of their cycle (transitions, reminders, a leader's digest)."""
    start = TODAY - dt.timedelta(weeks=WEEKS)
    observe(world.coach, world.practitioner, level(88, WEEKS - 8) + level(70, 8), start=start)
    observe(world.coach, world.unassigned, level(80, WEEKS), start=start)
    observe(
        world.outsider, world.away_practitioner, level(84, WEEKS - 6) + level(68, 6), start=start
    )
    turns_on(world, TODAY)
    window = Program.objects.get(code="practitioner").window_days
    period_ending(world.away_practitioner, world.purveyor_admin, TODAY + dt.timedelta(window))


def outcome():
    """What a night leaves, without ids made during it nor the clock it ran at."""
    alerts = DriftAlert.objects.values_list(
        "scope",
        "subject",
        "rubric_id",
        "status",
        "rule",
        "rules",
        "began_on",
        "baseline",
        "current",
        "sigma",
        "points",
        "moved",
        "raised_on",
        "checked_on",
    )
    notifications = Notification.objects.values_list(
        "recipient_id", "kind", "delivery", "subject", "status", "digest__recipient_id"
    )
    return {
        "alerts": sorted(map(repr, alerts)),
        "momentum": sorted(
            Momentum.objects.values_list(
                "person_id", "rubric_id", "direction", "slope", "last_observed_on", "computed_on"
            )
        ),
        "pooled": sorted(
            map(
                repr,
                PooledSpread.objects.values_list(
                    "rubric_version_id",
                    "sigma",
                    "moving_ranges",
                    "level",
                    "between",
                    "item_spreads",
                    "computed_on",
                ),
            )
        ),
        "item months": sorted(ItemMonth.objects.flat()),
        "organization months": sorted(
            OrganizationItemMonth.objects.values_list(
                "organization_id", "rubric_id", "item_code", "month", "total", "count"
            )
        ),
        "events": sorted(
            CertificationEvent.objects.values_list("period_id", "kind", "happened_on", "note")
        ),
        "reminders": sorted(
            Reminder.objects.values_list(
                "period_id", "recipient_id", "role", "due_on", "notification__subject"
            )
        ),
        "notifications": sorted(notifications),
    }


def forget_the_night():
    """Remove what a night made, so that another starts from the same world."""
    DriftAlert.history.all().delete()
    for model in (
        DriftAlert,
        Momentum,
        PooledSpread,
        ItemMonth,
        OrganizationItemMonth,
        ItemMonthsCounted,
        Reminder,
        Notification,
        NightlyRun,
    ):
        model.objects.all().delete()
    CertificationEvent.objects.filter(recorded_at=NOW).delete()
    mail.outbox.clear()


def single_process_night():
    """The jobs as the commands run them: the drift job, then the certification job."""
    services.drift_detect(today=TODAY)
    jobs.run(today=TODAY, now=NOW)


def mail_sent():
    return sorted((message.to[0], message.subject) for message in mail.outbox)


@pytest.fixture
def broker(monkeypatch):
    """Messages kept in a list instead of queued: the test delivers them, in its order."""
    queued = []
    monkeypatch.setattr(runs, "_queue", lambda name, *args: queued.append((name, args)))
    return queued


def deliver_all(queued, *, last_first=False, twice=False):
    """Run every queued task until none is left (each twice: a broker redelivering)."""
    while queued:
        name, args = queued.pop() if last_first else queued.pop(0)
        for _ in range(2 if twice else 1):
            getattr(tasks, name).run(*args)


def run_the_night(queued, **how):
    tasks.nightly.run(TODAY.isoformat(), NOW.isoformat(), True)
    deliver_all(queued, **how)


@pytest.fixture
def expected(world):
    """The single-process night's outcome on the night world, then the world as before."""
    night_world(world)
    single_process_night()
    found, sent = outcome(), mail_sent()
    forget_the_night()
    assert found["alerts"] and found["momentum"] and found["reminders"], "a night with work"
    assert any(kind == Notification.Kind.DIGEST for _, kind, *_ in found["notifications"])
    return found, sent


def test_the_night_fanned_out_gives_the_single_process_result(expected, broker):
    run_the_night(broker)
    assert (outcome(), mail_sent()) == expected
    drift, certification = NightlyRun.objects.order_by("pk")
    assert (drift.job, certification.job) == (NightlyRun.Job.DRIFT, NightlyRun.Job.CERTIFICATION)
    organizations = 3  # the purveyor, home and away
    for run in (drift, certification):
        assert (run.state, run.expected, run.done) == ("done", organizations, organizations)
        assert run.parts.count() == organizations
        assert run.finished_at is not None


def test_the_night_in_any_order_with_every_task_sent_twice_gives_the_same(expected, broker):
    run_the_night(broker, last_first=True, twice=True)
    assert (outcome(), mail_sent()) == expected
    assert set(NightlyRun.objects.values_list("done", flat=True)) == {3}


def test_a_night_run_twice_changes_nothing(expected, broker):
    run_the_night(broker)
    run_the_night(broker)
    assert (outcome(), mail_sent()) == expected
    assert NightlyRun.objects.count() == 2


def test_an_organization_task_sent_again_after_the_night_changes_nothing(expected, broker, world):
    run_the_night(broker)
    run = NightlyRun.objects.get(job=NightlyRun.Job.DRIFT)
    tasks.nightly_part.run(run.pk, world.home.pk)
    tasks.nightly_close.run(run.pk)
    deliver_all(broker)
    assert (outcome(), mail_sent()) == expected
    assert NightlyPart.objects.filter(run=run).count() == 3


def test_the_digests_wait_for_the_last_organization(world, broker):
    night_world(world)
    tasks.nightly.run(TODAY.isoformat(), NOW.isoformat(), True)
    drift = NightlyRun.objects.get()
    parts = [message for message in broker if message[0] == "nightly_part"]
    assert len(parts) == drift.expected == 3
    for name, args in parts[:-1]:
        getattr(tasks, name).run(*args)
    drift.refresh_from_db()
    assert (drift.state, drift.done) == ("running", 2)
    assert not NightlyRun.objects.filter(job=NightlyRun.Job.CERTIFICATION).exists()
    assert not Notification.objects.filter(kind=Notification.Kind.DIGEST).exists()
    name, args = parts[-1]
    getattr(tasks, name).run(*args)
    drift.refresh_from_db()
    assert drift.state == "closing"
    broker[:] = [("nightly_close", (drift.pk,))]
    deliver_all(broker)
    assert Notification.objects.filter(kind=Notification.Kind.DIGEST).exists()


def test_after_the_night_the_sections_leaders_land_on_are_kept(world, broker, monkeypatch):
    night_world(world)
    run_the_night(broker)

    def computed_again(*args, **kwargs):
        raise AssertionError("a section the night kept was computed again")

    def each_kept(kept, section, compute):
        def read_again(ids):
            raise AssertionError(f"{section} of organizations {ids} was read again")

        return each(kept, section, read_again)

    scopes = list(leader.landing_scopes())
    # Every organization compared (the purveyor, home and away), then each one's own.
    assert [len(scope.organizations) for scope in scopes] == [3, 1, 1, 1]
    # The comparison is put together from parts kept one organization apiece.
    each = generations.Kept.each
    monkeypatch.setattr(generations.Kept, "each", each_kept)
    with CaptureQueriesContext(connection) as comparing:
        leader.build(scopes[0])
    assert not [q for q in comparing if "observations_dispute" in q["sql"]]  # kept whole
    for section in SECTIONS:
        monkeypatch.setattr(leader, section, computed_again)
    for scope in scopes[1:]:
        leader.build(scope)  # read from the cache, or computed_again says which


# What leader.build computes, section by section.
SECTIONS = (
    "pipeline",
    "trend",
    "bands",
    "alerts",
    "open_disputes",
    "heat_map",
    "coach_activity",
    "coach_sessions",
    "feedback_quality",
    "overdue",
)


@pytest.fixture
def eager():
    """Tasks run in the caller, as with CELERY_TASK_ALWAYS_EAGER."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.mark.usefixtures("eager")
def test_the_night_runs_eagerly_in_process(expected):
    tasks.nightly.delay(TODAY.isoformat(), NOW.isoformat(), True)
    assert (outcome(), mail_sent()) == expected
    assert set(NightlyRun.objects.values_list("state", flat=True)) == {"done"}


def test_a_night_without_organizations_goes_straight_to_the_digests(db, broker):
    run_the_night(broker)
    assert set(NightlyRun.objects.values_list("job", "expected", "state")) == {
        ("drift", 0, "done"),
        ("certification", 0, "done"),
    }


def test_beat_starts_the_night_once(settings):
    from miiwrap.celery import app

    entry = app.conf.beat_schedule["nightly"]
    assert entry["task"] == tasks.nightly.name
    assert [e for e in app.conf.beat_schedule.values() if "digest" in e["task"]] == []


# Two real workers on Redis --------------------------------------------------------------


def shared_database_url():
    """The test database as a URL another process can open, or None (in-memory SQLite)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db["USER"] or ""
        host = db["HOST"] or "127.0.0.1"
        return f"postgres://{user}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
    if connection.vendor == "sqlite" and "memory" not in str(db["NAME"]):
        return f"sqlite:///{db['NAME']}"
    return None


def start_workers(count, database_url):
    """Real Celery worker processes on this test run's queue, each with one process."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    root = Path(settings.BASE_DIR)
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "miiwrap",
                "worker",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "-n",
                f"nightly{n}@%h",
                "--prefetch-multiplier",
                "1",
                "--loglevel",
                "WARNING",
            ],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n in range(count)
    ]


def stop(workers):
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def sent_and_seen():
    """The outcome once whatever is still waiting is sent: with a worker running, the
    nudge that each new notification queues sends the drift job's emails before the
    night's own sending, which without one leaves them for the next scheduled delivery."""
    delivery.deliver()
    return outcome()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("shipped_programs", "threads_close_connections")
def test_two_real_workers_share_the_night_and_give_the_single_process_result(world):
    url = settings.CELERY_BROKER_URL
    require(url.startswith("redis") and port_open(url, 6379), NEEDS_REDIS)
    database_url = shared_database_url()
    require(database_url, NEEDS_SHARED_DB)
    night_world(world)
    single_process_night()
    want = sent_and_seen()
    forget_the_night()
    workers = start_workers(2, database_url)
    try:
        tasks.nightly.delay(TODAY.isoformat(), NOW.isoformat(), True)
        done = NightlyRun.objects.filter(job=NightlyRun.Job.CERTIFICATION, state="done")
        finished = wait_until(done.exists, seconds=240, every=0.5)
    finally:
        stop(workers)
    errors = b"".join(worker.stderr.read() for worker in workers).decode(errors="replace")
    assert finished, f"the night never finished; the workers said:\n{errors}"
    assert sent_and_seen() == want
    parts = NightlyPart.objects.values_list("run__job", "worker")
    assert {job for job, _ in parts} == {"drift", "certification"}
    assert all(worker.startswith("nightly") for _, worker in parts)


def test_an_organization_task_reads_only_its_organization_rows(world, broker, monkeypatch):
    from coaching import levels

    night_world(world)
    tasks.nightly.run(TODAY.isoformat(), NOW.isoformat(), True)
    read = []
    real = levels.read_observations

    def spy(*args, **kwargs):
        rows = real(*args, **kwargs)
        read.append(set(rows.person.tolist()))
        return rows

    monkeypatch.setattr(levels, "read_observations", spy)
    run = NightlyRun.objects.get()
    tasks.nightly_part.run(run.pk, world.away.pk)
    assert read == [{world.away_practitioner.pk}]


def test_the_purveyor_sees_how_each_night_went_and_an_organization_admin_does_not(
    world, broker, login
):
    from django.urls import reverse

    run_the_night(broker)
    run = NightlyRun.objects.get(job=NightlyRun.Job.DRIFT)
    runs_list = reverse("admin:nightly_nightlyrun_changelist")
    page = reverse("admin:nightly_nightlyrun_change", args=[run.pk])
    purveyor = login(world.purveyor_admin)
    assert purveyor.get(runs_list).status_code == 200
    shown = purveyor.get(page)
    assert shown.status_code == 200
    assert b"Drift job" in shown.content
    assert purveyor.post(page, {"state": "running"}).status_code == 403
    organization_admin = login(world.org_admin)
    assert organization_admin.get(runs_list).status_code == 403


def test_an_organization_whose_part_fails_for_good_is_marked_and_the_night_goes_on(
    world, broker, monkeypatch, caplog
):
    """One organization's bad row must not hold back everyone's reminders and digests."""
    night_world(world)
    drift_part = runs.JOBS[NightlyRun.Job.DRIFT].part

    def part(run, organization):
        if organization == world.away.pk:
            raise ValueError("a score card no rubric can read")
        drift_part(run, organization)

    steps = runs.JOBS[NightlyRun.Job.DRIFT]
    monkeypatch.setitem(
        runs.JOBS, NightlyRun.Job.DRIFT, runs.Steps(steps.first, part, steps.close, steps.then)
    )
    run_the_night(broker)
    assert set(NightlyRun.objects.values_list("job", "state")) == {
        ("drift", "done"),
        ("certification", "done"),
    }
    failed = NightlyPart.objects.exclude(error="")
    assert list(failed.values_list("run__job", "organization_id", "error")) == [
        ("drift", world.away.pk, "ValueError: a score card no rubric can read")
    ]
    assert "failed for organization" in caplog.text
    assert Notification.objects.filter(kind=Notification.Kind.DIGEST).exists()
    # The others' drift was judged: the home practitioner's fall raised its alert.
    assert DriftAlert.objects.filter(practitioner=world.practitioner).exists()
    assert not DriftAlert.objects.filter(practitioner=world.away_practitioner).exists()


def test_a_database_error_with_retries_left_is_raised_for_the_task_to_retry(
    world, broker, monkeypatch
):
    night_world(world)
    tasks.nightly.run(TODAY.isoformat(), NOW.isoformat(), True)
    run = NightlyRun.objects.get()
    steps = runs.JOBS[NightlyRun.Job.DRIFT]

    def part(run, organization):
        raise OperationalError("the server closed the connection")

    monkeypatch.setitem(
        runs.JOBS, NightlyRun.Job.DRIFT, runs.Steps(steps.first, part, steps.close, steps.then)
    )
    with pytest.raises(OperationalError):
        runs.do_part(run.pk, world.home.pk, final=False)
    assert not run.parts.exists()
    assert runs.do_part(run.pk, world.home.pk, final=True) == runs.FAILED
    assert run.parts.get().error == "OperationalError: the server closed the connection"

"""The certification job and its notifications against the real services, and without them.

On PostgreSQL, several runs of the daily job at once record each transition, each reminder and
each email once. On Redis, a real worker runs the job queued by its name. With Redis down
(run everywhere, no server needed), saves and pages still work, and the next delivery run
sends what could not be queued.
"""

import contextlib
import datetime as dt
import threading
import time
from collections import Counter

import pytest
from celery import current_app
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection, connections
from django.urls import reverse

import miiwrap.celery as queueing
from certification import jobs
from certification.models import CertificationEvent, CertificationPeriod, Program, Reminder
from miiwrap.celery import app as celery_app
from miiwrap.notifications import delivery
from miiwrap.notifications.models import Notification
from miiwrap.notifications.tasks import deliver_notifications
from observations.models import Observation
from tests.certification.conftest import TODAY, evidence
from tests.conftest import port_open, require, wait_until
from tests.factories import full_scores, make_assignment, make_period, make_person, rubric_version
from tests.observations.page import post_data

DAY = dt.timedelta(days=1)
Kind = CertificationEvent.Kind
TRANSITIONS = [Kind.WINDOW_OPENED, Kind.EXPIRED, Kind.LAPSED]
JOB = "certification.tasks.run_certification_jobs"
# Port 1 is never a broker: connecting is refused at once, as when Redis is down.
DEAD_BROKER = "redis://127.0.0.1:1/0"
# Daily jobs run at once in the concurrency test.
RUNS = 3
NEEDS_POSTGRES = "needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/DB to run it"
NEEDS_REDIS = "needs a Redis broker: set REDIS_URL=redis://HOST:6379/0 to run it"


def period_ending(person, decided_by, valid_until):
    """A MiiWrap Practitioner period ending on `valid_until`, with the program's own window
    and grace around that end."""
    program = Program.objects.get(code="practitioner")
    return make_period(
        person,
        decided_by,
        "practitioner",
        valid_from=valid_until - dt.timedelta(days=700),
        valid_until=valid_until,
        window_opens=valid_until - dt.timedelta(days=program.window_days),
        grace_ends=valid_until + dt.timedelta(days=program.grace_days),
    )


# Runs at once, on PostgreSQL ------------------------------------------------------------


def turns_on(world, day):
    """Three of Cora's practitioners on Lee's team, each at a turn of the cycle on `day`:
    a window opens, a certification expired the day before, a grace ended the day before.
    Each has one reminder due that day, to the practitioner, to Cora and to Lee."""
    program = Program.objects.get(code="practitioner")
    ends = [
        day + dt.timedelta(days=program.window_days),
        day - DAY,
        day - DAY - dt.timedelta(days=program.grace_days),
    ]
    for valid_until in ends:
        person = make_person(world.home, "practitioner", team=world.team_a)
        make_assignment(world.coach, person)
        period_ending(person, world.purveyor_admin, valid_until)


def run_at_once(day, runs):
    """`runs` daily jobs started together in their own threads; (reports, errors).

    A run waits on another's reminder inserts, so by the time they send they have drifted
    apart: each run's first claim of emails waits for the others' too, so that the claims,
    where a duplicate email would come from, overlap as well.
    """
    start, meet, reports, errors = threading.Barrier(runs), threading.Barrier(runs), [], []
    first_claim = threading.local()
    claim = delivery._claim

    def claim_together(now, batch_size):
        if not getattr(first_claim, "done", False):
            first_claim.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait(timeout=10)
        return claim(now, batch_size)

    def job():
        try:
            start.wait(timeout=10)
            reports.append(jobs.run(today=day))
        except Exception as error:  # the test reports it; a thread would only print it
            errors.append(error)
        finally:
            connections.close_all()  # this thread's connections only

    threads = [threading.Thread(target=job) for _ in range(runs)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(delivery, "_claim", claim_together)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a job run never finished"
    return reports, errors


def forget_the_run():
    """Remove what a run made, so the next iteration starts from the same due work."""
    Reminder.objects.all().delete()
    Notification.objects.all().delete()
    CertificationEvent.objects.filter(kind__in=TRANSITIONS).delete()
    mail.outbox.clear()


def assert_everything_once(world):
    # A window opening: one transition; an expiry: two (the window's too); a grace end: three.
    recorded = Counter(
        CertificationEvent.objects.filter(kind__in=TRANSITIONS).values_list("period_id", "kind")
    )
    assert sorted(Counter(kind for _, kind in recorded).values()) == [1, 2, 3]
    assert set(recorded.values()) == {1}

    reminders = list(Reminder.objects.select_related("recipient", "notification"))
    assert Counter(r.role for r in reminders) == {"practitioner": 3, "coach": 3, "leader": 3}
    assert len({(r.period_id, r.recipient_id) for r in reminders}) == 9

    [digest] = Notification.objects.filter(kind=Notification.Kind.DIGEST)
    assert digest.recipient == world.leader
    assert digest.items.count() == 3
    expected = Counter(
        (r.recipient.email, r.notification.subject)
        for r in reminders
        if r.role != Reminder.Role.LEADER
    )
    expected[(world.leader.email, digest.subject)] += 1
    sent = Counter((message.to[0], message.subject) for message in mail.outbox)
    assert sent == expected, "an email went out twice, or not at all"
    assert len(mail.outbox) == 7
    assert not Notification.objects.exclude(status__in=["sent", "in_digest"]).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("shipped_programs", "threads_close_connections")
def test_daily_jobs_run_at_once_do_each_thing_once(world):
    require(connection.vendor == "postgresql", NEEDS_POSTGRES)
    turns_on(world, TODAY)
    for _ in range(10):  # races are timing: give them several chances to show
        reports, errors = run_at_once(TODAY, RUNS)
        assert errors == []
        assert [r.failed_rows for r in reports] == [[]] * RUNS
        assert_everything_once(world)
        # What each run says it made adds up to what was made. (Not the transitions: a run
        # counts those it tried, since an insert that skips conflicts does not say which.)
        assert sum(r.reminders for r in reports) == 9
        assert sum(r.digests for r in reports) == 1
        assert sum(r.delivered.sent for r in reports) == 7
        forget_the_run()


# A real worker on Redis -----------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("shipped_programs", "threads_close_connections")
def test_a_real_worker_runs_the_daily_job_queued_by_name(world):
    url = settings.CELERY_BROKER_URL
    require(url.startswith("redis") and port_open(url, 6379), NEEDS_REDIS)
    yesterday = world.home.local_today() - DAY
    program = Program.objects.get(code="practitioner")
    period = period_ending(
        world.practitioner,
        world.purveyor_admin,
        yesterday + dt.timedelta(days=program.window_days),
    )
    opened = CertificationEvent.objects.filter(period=period, kind=Kind.WINDOW_OPENED)
    reminded = Reminder.objects.filter(period=period, recipient=world.practitioner)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        celery_app.send_task(JOB)
        assert wait_until(opened.exists)
        assert wait_until(lambda: reminded.filter(notification__status="sent").exists())
    assert opened.get().happened_on == yesterday


# Redis down: everywhere, no server needed -----------------------------------------------------


@contextlib.contextmanager
def broker_at(url):
    """Point the Celery app at `url` for a while, then back at its own broker.

    The app keeps its connection pool (app.pool, cached as app._pool) and its producer pool
    (app.amqp.producer_pool, cached as app.amqp._producer_pool), both made for the URL in
    force when first used: they are dropped so that the next message uses the new URL, and
    dropped again on the way back. kombu keeps one pool per URL, so the way back finds the
    original pools again.
    """
    before = celery_app.conf.broker_url

    def use(broker):
        celery_app.conf.broker_url = broker
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    use(url)
    try:
        yield
    finally:
        use(before)


def broker_in_use():
    return celery_app.amqp.producer_pool.connections.connection.as_uri()


@pytest.fixture
def broker_down(monkeypatch):
    """Redis is down. The environment's broker variables would win over the app's setting.

    Shared tasks queue through the current Celery app, and a test that started a worker
    for another app leaves that app current: ours is made current for the test.
    """
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    previous = current_app._get_current_object()
    celery_app.set_current()
    try:
        with broker_at(DEAD_BROKER):
            yield
    finally:
        previous.set_current()


@pytest.fixture
def queued(monkeypatch):
    """What each enqueue() returned: True when the broker took the task, False when not."""
    results = []
    real = queueing.enqueue

    def spy(task, *args, **kwargs):
        results.append(real(task, *args, **kwargs))
        return results[-1]

    monkeypatch.setattr(queueing, "enqueue", spy)
    return results


def could_not_queue(caplog):
    return [
        record
        for record in caplog.records
        if record.name == "miiwrap.celery"
        and record.levelname == "WARNING"
        and deliver_notifications.name in record.getMessage()
    ]


def test_the_app_returns_to_its_own_broker_after_an_outage(monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    own = broker_in_use()
    with broker_at(DEAD_BROKER):
        assert "127.0.0.1:1/" in broker_in_use()
    assert broker_in_use() == own
    assert celery_app.conf.broker_url == settings.CELERY_BROKER_URL


def test_with_the_broker_down_enqueue_says_no_quickly_and_logs_why(broker_down, caplog):
    started = time.perf_counter()
    assert queueing.enqueue(deliver_notifications) is False
    assert time.perf_counter() - started < 5
    [warning] = could_not_queue(caplog)
    assert "its scheduled run will do it" in warning.getMessage()


def test_with_the_broker_down_feedback_is_saved_and_the_next_run_sends_it(
    world, login, broker_down, queued, django_capture_on_commit_callbacks, caplog
):
    version = rubric_version()
    data = post_data(world.practitioner, version, full_scores(version))
    client = login(world.coach)
    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("observations:new"), data)
    assert time.perf_counter() - started < 5
    observation = Observation.objects.get()
    assert response.status_code == 302
    assert response.url == observation.get_absolute_url()
    assert observation.status == Observation.Status.SUBMITTED
    # Neither the feedback email nor the drift check could be queued.
    assert queued == [False, False]
    assert len(could_not_queue(caplog)) == 1

    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.status) == (world.practitioner, "feedback", "pending")
    assert note.subject == f"New feedback from {world.coach} to acknowledge"
    assert note.link == observation.get_absolute_url()
    assert mail.outbox == []

    # The next run of the scheduled delivery picks it up.
    assert delivery.deliver().sent == 1
    [email] = mail.outbox
    assert email.to == [world.practitioner.email]
    assert email.subject == note.subject
    assert observation.get_absolute_url() in email.body
    note.refresh_from_db()
    assert note.status == Notification.Status.SENT


def test_a_draft_tells_nobody(world, login, django_capture_on_commit_callbacks, queued):
    version = rubric_version()
    data = post_data(world.practitioner, version, {"ep-voice": "2"}, action="draft")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert login(world.coach).post(reverse("observations:new"), data).status_code == 302
    assert Observation.objects.get().status == Observation.Status.DRAFT
    assert not Notification.objects.exists()
    # Only the dashboards' cache is told (miiwrap.generations): nothing is queued or sent.
    assert {callback.__name__ for callback in callbacks} <= {"_bump_pending"}
    assert queued == []


def test_with_the_broker_down_a_decision_is_saved_and_the_next_run_sends_it(
    world, certified_coach, login, broker_down, queued, django_capture_on_commit_callbacks, caplog
):
    evidence(certified_coach, world.practitioner)
    url = reverse("certification:decide", args=[world.practitioner.pk, "practitioner"])
    client = login(certified_coach)
    assert client.get(url).status_code == 200
    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"decided_on": TODAY.isoformat()})
    assert time.perf_counter() - started < 5
    assert response.status_code == 302
    assert response.url == world.practitioner.get_absolute_url()
    period = CertificationPeriod.objects.get(person=world.practitioner)
    assert queued == [False]
    assert len(could_not_queue(caplog)) == 1

    note = Notification.objects.get(kind=Notification.Kind.DECISION)
    assert (note.recipient, note.status) == (world.practitioner, "pending")
    assert note.subject == "You are certified in MiiWrap Practitioner until 2028-06-29"
    assert note.link == period.get_absolute_url()

    # The next run sends it, with the feedback the evidence's observations left waiting.
    assert delivery.deliver().sent == Notification.objects.count()
    decided = [email for email in mail.outbox if email.subject == note.subject]
    assert [email.to for email in decided] == [[world.practitioner.email]]
    assert period.get_absolute_url() in decided[0].body

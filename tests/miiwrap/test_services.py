"""The real services: PostgreSQL and a Redis broker on CI, skipped (with the reason) elsewhere."""

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from miiwrap.celery import app as celery_app
from miiwrap.people import tasks
from tests.conftest import port_open, require, wait_until

TASK = tasks.clear_expired_sessions.name


def make_expired_session():
    store = SessionStore()
    store["note"] = "stale"
    store.create()
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(days=1))


@pytest.mark.postgres
@pytest.mark.django_db
def test_suite_runs_on_postgresql():
    require(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/DB to run it",
    )
    with connection.cursor() as cursor:
        cursor.execute("show server_version_num")
        assert int(cursor.fetchone()[0]) >= 130000


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("threads_close_connections")
def test_a_real_worker_on_redis_runs_a_queued_job():
    url = settings.CELERY_BROKER_URL
    require(
        url.startswith("redis") and port_open(url, 6379),
        "needs a Redis broker: set REDIS_URL=redis://HOST:6379/0 to run it",
    )
    make_expired_session()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        celery_app.send_task(TASK)
        assert wait_until(lambda: not Session.objects.exists())
    assert celery_app.connection_for_write().transport.driver_type == "redis"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("threads_close_connections")
def test_embedded_transport_runs_a_job_with_no_server(tmp_path):
    folder = str(tmp_path / "queue")
    app = Celery("embedded", broker="filesystem://", set_as_current=False)
    control = str(tmp_path / "control")
    app.conf.broker_transport_options = {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "control_folder": control,
    }
    app.conf.task_ignore_result = True
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    make_expired_session()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            app.send_task(TASK)
            assert wait_until(lambda: not Session.objects.exists())
    finally:
        # start_worker makes its app the current one; later tasks must queue through ours.
        celery_app.set_current()
        celery_app.set_default()


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit():
    require(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/DB to run it",
    )
    with connection.cursor() as cursor:
        cursor.execute("show jit")
        assert cursor.fetchone()[0] == "off"

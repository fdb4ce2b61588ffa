"""A test run keeps its files and its Celery messages to itself (tests/isolation.py)."""

import os
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from miiwrap.celery import app as celery_app
from miiwrap.people import tasks

ROOT = Path(__file__).resolve().parents[2]


def written_paths():
    """Every place the settings would have a process write a file."""
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    folders = [
        options[k]
        for k in ("data_folder_out", "processed_folder", "control_folder")
        if k in options
    ]
    return [
        settings.VAR_DIR,
        settings.STATIC_ROOT,
        settings.MEDIA_ROOT,
        settings.CELERY_BEAT_SCHEDULE_FILENAME,
        *folders,
    ]


def test_tests_write_their_files_in_a_temporary_folder_not_in_var():
    temporary = Path(tempfile.gettempdir()).resolve()
    assert Path(settings.VAR_DIR).resolve().is_relative_to(temporary)
    for path in written_paths():
        assert not Path(path).resolve().is_relative_to(ROOT / "var"), path
        assert Path(path).resolve().is_relative_to(Path(settings.VAR_DIR).resolve()), path


@pytest.fixture
def own_queue():
    """The run's queue, empty before and after."""
    celery_app.control.purge()
    yield settings.CELERY_TASK_DEFAULT_QUEUE
    celery_app.control.purge()


def queued_on(queue):
    with celery_app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue=queue, passive=True).message_count


def test_a_queued_task_waits_on_this_test_processs_own_queue(own_queue):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert own_queue == f"miiwrap-tests-{worker}"

    tasks.clear_expired_sessions.delay()

    assert queued_on(own_queue) == 1

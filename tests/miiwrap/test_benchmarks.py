"""Every benchmark command refuses a database that is not migrated, saying what to run,
and pages are timed in the process as a web worker runs them."""

import gc
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.migrations.recorder import MigrationRecorder

from miiwrap.benchmarks import as_a_web_worker, require_migrated

COMMANDS = [
    ("bench_dashboards", "--allow-sqlite"),
    ("bench_observations", "--allow-sqlite"),
    ("bench_drift", "--skip-trials", "--allow-sqlite"),
    ("bench_certification_jobs",),
]


def test_a_migrated_database_passes(db):
    assert require_migrated() is None


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
def test_an_unmigrated_database_is_refused_before_anything_is_built(db, monkeypatch, command):
    # As on a scratch database just created: no migration recorded as applied.
    monkeypatch.setattr(MigrationRecorder, "applied_migrations", lambda recorder: {})
    with pytest.raises(CommandError, match=r"missing \d+ migrations: run manage.py migrate"):
        call_command(*command)


def test_a_web_worker_freezes_what_it_loaded_out_of_the_collectors_passes():
    found = subprocess.run(
        [sys.executable, "-c", "import gc, miiwrap.wsgi; print(gc.get_freeze_count())"],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert int(found.stdout) > 10_000  # Django, the apps and their models


def test_pages_are_timed_as_a_web_worker_runs_them_and_the_process_is_left_as_it_was():
    assert gc.get_freeze_count() == 0
    with as_a_web_worker():
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0

"""Every benchmark command refuses a database that is not migrated, saying what to run."""

import pytest
from django.core.management import CommandError, call_command
from django.db.migrations.recorder import MigrationRecorder

from miiwrap.benchmarks import require_migrated

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

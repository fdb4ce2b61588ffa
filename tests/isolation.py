"""Keeps a test run's files and Celery messages away from the development ones.

A pytest plugin rather than part of conftest.py because it must act before
pytest-django imports the settings, which read these variables once
(`-p tests.isolation` in pyproject.toml's addopts loads it that early).
"""

import os
import shutil
import tempfile

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config):
    # The SQLite file, the broker folder, beat's schedule, static and media files: all in
    # a folder of this run's own, so a test never writes into var/ and the next
    # `dev.py run` never picks up a message a test queued for rows long gone.
    var_dir = tempfile.mkdtemp(prefix="miiwrap-tests-")
    early_config.add_cleanup(lambda: shutil.rmtree(var_dir, ignore_errors=True))
    os.environ["MIIWRAP_VAR_DIR"] = var_dir
    for name in ("STATIC_ROOT", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    # Parallel workers share one Redis: each queues on its own, so that one worker's
    # Celery worker never runs the tasks another's test is waiting for.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["CELERY_QUEUE"] = f"miiwrap-tests-{worker}"
    # ...and keeps its cached dashboard sections under a prefix of its own.
    os.environ["CACHE_KEY_PREFIX"] = f"miiwrap-tests-{worker}"

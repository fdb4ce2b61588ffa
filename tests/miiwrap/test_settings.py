"""The settings file: environment variables switch each deploy-time knob."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code, **env):
    """Import the settings in a fresh interpreter with exactly these variables set."""
    clean = {k: v for k, v in os.environ.items() if k not in KNOBS}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "miiwrap.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


KNOBS = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_HOST"}
SHOW = "from django.conf import settings as s; print({!r}.format(s))"


def setting(expression, **env):
    result = run_python(SHOW.replace("{!r}", repr("{0." + expression + "}")), **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_default_database_is_a_sqlite_file(tmp_path):
    engine = setting("DATABASES[default][ENGINE]", MIIWRAP_VAR_DIR=str(tmp_path))
    assert engine == "django.db.backends.sqlite3"


def test_database_url_switches_to_postgresql(tmp_path):
    url = "postgres://someone@db.internal:5433/fidelity"
    assert setting("DATABASES[default][ENGINE]", DATABASE_URL=url) == (
        "django.db.backends.postgresql"
    )
    assert setting("DATABASES[default][PORT]", DATABASE_URL=url) == "5433"
    assert setting("DATABASES[default][OPTIONS][options]", DATABASE_URL=url) == "-c jit=off"


def test_default_broker_needs_no_server(tmp_path):
    assert setting("CELERY_BROKER_URL", MIIWRAP_VAR_DIR=str(tmp_path)).startswith("filesystem:")


def test_redis_url_switches_the_broker_to_redis():
    url = "redis://cache.internal:6380/2"
    assert setting("CELERY_BROKER_URL", REDIS_URL=url) == url


def test_email_goes_to_the_console_unless_a_smtp_host_is_set():
    assert setting("EMAIL_BACKEND").endswith("console.EmailBackend")
    assert setting("EMAIL_BACKEND", EMAIL_HOST="smtp.internal").endswith("smtp.EmailBackend")


def test_secret_key_is_required_when_debug_is_off():
    result = run_python("import django; django.setup()", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_deploy_check_is_clean_with_debug_off(tmp_path):
    key = "k" * 20 + "-production-key-with-plenty-of-entropy-2f9a7c1e5b3d"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in KNOBS},
            "DEBUG": "0",
            "SECRET_KEY": key,
            "ALLOWED_HOSTS": "fidelity.example.org",
            "MIIWRAP_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_every_scheduled_job_names_a_registered_task():
    from miiwrap.celery import app

    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {"nightly", "deliver-notifications", "clear-expired-sessions"} <= set(schedule)
    # The digests wait for the drift job by the nightly chain, not by a time of their own.
    assert not {"detect-drift", "certification-jobs"} & set(schedule)
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, name

"""The daily calibration job: its command, its task and its place in beat's schedule."""

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from observations import tasks
from tests.observations.calibration_data import make_case

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def due(version, media):
    """A case kept until 5 January 2027, with a transcript and a recording link."""
    case = make_case(
        version, retain_until=dt.date(2027, 1, 5), recording_url="https://rec.example.org/1"
    )
    case.transcript.save("visit.txt", ContentFile(b"transcript"))
    return case


def run(*args):
    out = io.StringIO()
    call_command("expire_calibration_material", *args, stdout=out)
    return out.getvalue()


def test_the_command_clears_what_is_due_on_the_day_given_and_says_how_many(due):
    stored = Path(due.transcript.path)
    output = run("--today", "2027-01-06")
    assert output == (
        "Cleared the material of 1 calibration case(s) kept past their retention day, "
        "as of 2027-01-06.\n"
    )
    assert not stored.exists()
    due.refresh_from_db()
    assert (due.transcript.name, due.recording_url) == ("", "")
    assert due.material_removed_on == dt.date(2027, 1, 6)


def test_the_command_on_the_retention_day_itself_clears_nothing(due):
    assert "of 0 calibration case(s)" in run("--today", "2027-01-05")
    due.refresh_from_db()
    assert Path(due.transcript.path).exists()


def test_the_command_run_twice_clears_once(due):
    assert "of 1 calibration" in run("--today", "2027-01-06")
    assert "of 0 calibration" in run("--today", "2027-01-06")


def test_the_command_without_a_date_runs_as_of_today(due, time_machine):
    time_machine.move_to(dt.datetime(2027, 1, 6, 9, tzinfo=NEW_YORK), tick=False)
    assert "of 1 calibration case(s)" in run()
    assert "as of 2027-01-06" in run()


@pytest.mark.parametrize("value", ["2027-13-01", "tomorrow", ""])
def test_the_command_refuses_a_date_it_cannot_read(db, value):
    with pytest.raises(CommandError, match="--today must be a date such as"):
        run("--today", value)


def test_the_task_clears_what_is_due_today_and_returns_how_many(due, time_machine):
    time_machine.move_to(dt.datetime(2027, 1, 5, 9, tzinfo=NEW_YORK), tick=False)
    assert tasks.expire_calibration_material() == 0
    time_machine.move_to(dt.datetime(2027, 1, 6, 9, tzinfo=NEW_YORK), tick=False)
    assert tasks.expire_calibration_material() == 1
    due.refresh_from_db()
    assert due.material_removed_on == dt.date(2027, 1, 6)


def test_beat_runs_the_job_once_a_day_early_and_apart_from_the_night():
    from miiwrap.celery import app

    entry = app.conf.beat_schedule["expire-calibration-material"]
    assert entry["task"] == tasks.expire_calibration_material.name
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert len(schedule.hour) == len(schedule.minute) == 1
    assert schedule.day_of_week == set(range(7))
    [hour] = schedule.hour
    night = app.conf.beat_schedule["nightly"]["schedule"]
    assert hour < 7 and schedule.hour != night.hour

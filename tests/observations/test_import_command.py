"""`manage.py import_observations FILE [--dry-run] [--by EMAIL]`: summary, progress bar, errors
by line, and who imported."""

import io

import pytest
from django.core.management import CommandError, call_command

from observations import imports
from observations.models import Observation
from tests.observations.test_imports import csv_file, row_for


def write(tmp_path, rows, name="observations.csv"):
    path = tmp_path / name
    path.write_bytes(csv_file(rows).getvalue())
    return str(path)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_observations", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_the_file_and_says_how_many(world, tmp_path):
    path = write(tmp_path, [row_for(world.practitioner, world.coach)])
    out, err = run(path)
    assert out == "Imported 1 of 1 rows.\n"
    assert err == ""
    assert Observation.objects.count() == 1


def test_a_second_run_skips_what_is_already_there(world, tmp_path):
    path = write(tmp_path, [row_for(world.practitioner, world.coach)] * 2)
    assert run(path)[0] == (
        "Imported 1 of 2 rows; 1 skipped (imported before or meanwhile, or repeated in the file).\n"
    )
    assert run(path)[0] == (
        "Imported 0 of 2 rows; 2 skipped (imported before or meanwhile, or repeated in the file).\n"
    )
    assert Observation.objects.count() == 1


def test_dry_run_saves_nothing(world, tmp_path):
    path = write(tmp_path, [row_for(world.practitioner, world.coach)])
    out, _ = run(path, "--dry-run")
    assert out == "Would import 1 of 1 rows. Dry run: nothing was saved.\n"
    assert not Observation.objects.exists()


def test_errors_are_listed_by_line_and_the_command_fails(world, tmp_path):
    good = row_for(world.practitioner, world.coach)
    path = write(tmp_path, [good, {**good, "date": "tomorrow"}, {**good, "ep-voice": "7"}])
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"^2 problems found; nothing was imported\.$"):
        call_command("import_observations", path, stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == (
        "line 3: date: “tomorrow” is not a date written YYYY-MM-DD.\n"
        "line 4: ep-voice: Choose a rating from 0 to 3.\n"
    )
    assert not Observation.objects.exists()


def test_a_file_that_is_not_utf8_fails_with_one_clear_line(world, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("practitioner\nJosé\n".encode("latin-1"))
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 problem found"):
        call_command("import_observations", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().startswith("line 2: The file is not UTF-8 text.")


def test_a_missing_file_is_named(db, tmp_path):
    with pytest.raises(CommandError, match=r"^Cannot read .*nowhere\.csv: No such file"):
        run(str(tmp_path / "nowhere.csv"))


def test_large_files_show_a_progress_bar_on_stderr(world, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    good = row_for(world.practitioner, world.coach)
    path = write(tmp_path, [{**good, "date": f"2024-05-0{day}"} for day in range(1, 6)])
    out, err = run(path)
    assert err == (
        "\r[############..................] 2/5 rows"
        "\r[########################......] 4/5 rows"
        "\r[##############################] 5/5 rows\n"
    )
    assert out == "Imported 5 of 5 rows.\n"


def test_small_files_show_no_progress_bar(world, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 5)
    good = row_for(world.practitioner, world.coach)
    path = write(tmp_path, [{**good, "date": f"2024-05-0{day}"} for day in range(1, 6)])
    assert run(path)[1] == ""


def test_by_records_the_importer_in_each_observations_history(world, tmp_path):
    path = write(tmp_path, [row_for(world.practitioner, world.coach)])
    run(path, "--by", world.org_admin.email.upper())
    created = Observation.objects.get().history.get()
    assert (created.history_user, created.history_change_reason) == (
        world.org_admin.user,
        "Imported from a CSV file",
    )


def test_by_limits_the_rows_to_the_people_that_login_sees(world, tmp_path):
    path = write(tmp_path, [row_for(world.away_practitioner, world.outsider)])
    with pytest.raises(CommandError):
        run(path, "--by", world.org_admin.email)
    assert Observation.objects.count() == 0


def test_without_by_the_importer_is_nobody(world, tmp_path):
    run(write(tmp_path, [row_for(world.practitioner, world.coach)]))
    assert Observation.objects.get().history.get().history_user is None


def test_by_an_unknown_login_is_refused(world, tmp_path):
    path = write(tmp_path, [row_for(world.practitioner, world.coach)])
    with pytest.raises(CommandError) as refused:
        run(path, "--by", "nobody@example.org")
    assert str(refused.value) == "No active login has the email or username “nobody@example.org”."
    assert Observation.objects.count() == 0

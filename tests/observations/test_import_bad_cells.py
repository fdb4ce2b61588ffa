"""Importing observations: a cell no column can use is a row error, never a crash."""

import pytest

from observations.models import Observation
from tests.observations.test_imports import row_for, run


def only_error(result):
    assert (result.ok, result.created) == (False, 0)
    assert len(result.errors) == 1
    return result.errors[0]


@pytest.mark.parametrize("value", ["²", "٣", str(2**63), "9" * 5000, "-1", "0"])
def test_a_version_that_is_no_number_is_a_row_error(world, value):
    line, message = only_error(run([row_for(world.practitioner, world.coach, version=value)]))
    assert line == 2
    assert message.startswith("version: miiwrap-fidelity has no version")


@pytest.mark.parametrize("value", ["²", "٣", "0", "721", "32767", "99999", "9" * 5000, "-5", "4.5"])
def test_a_duration_that_is_no_number_of_minutes_is_a_row_error(world, value):
    row = row_for(world.practitioner, world.coach, duration=value)
    line, message = only_error(run([row]))
    assert line == 2
    assert message.startswith("duration:")
    assert "is not a number of minutes" in message


@pytest.mark.parametrize("column", ["practitioner", "coach", "rubric", "strengths", "mi-open"])
def test_a_nul_in_any_cell_is_a_row_error_naming_the_column(world, column):
    row = row_for(world.practitioner, world.coach)
    row[column] = row.get(column, "") + "\x00"
    line, message = only_error(run([row]))
    assert line == 2
    assert message.startswith(f"{column}: Remove a NUL byte")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0001-01-01", "date: Choose a date between 1900 and 2200."),
        ("1899-12-31", "date: Choose a date between 1900 and 2200."),
        ("9999-12-31", "date: The observation date cannot be in the future."),
    ],
)
def test_a_far_date_is_a_row_error(world, value, error):
    line, message = only_error(run([row_for(world.practitioner, world.coach, date=value)]))
    assert (line, message) == (2, error)


def test_a_score_of_thousands_of_digits_is_named_not_crashed_on(world):
    row = row_for(world.practitioner, world.coach, **{"mi-open": "9" * 5000})
    result = run([row])
    assert not result.ok
    assert any(message.startswith("mi-open:") for _, message in result.errors)


def test_the_good_rows_of_a_file_still_import_once_its_bad_cell_is_fixed(world):
    assert run([row_for(world.practitioner, world.coach, duration="45")]).created == 1
    assert Observation.objects.get().duration_minutes == 45


@pytest.mark.parametrize(("value", "minutes"), [("1", 1), ("045", 45), ("720", 720)])
def test_a_duration_of_ascii_digits_is_read_as_minutes(world, value, minutes):
    assert run([row_for(world.practitioner, world.coach, duration=value)]).created == 1
    assert Observation.objects.get().duration_minutes == minutes

"""The one id parser and the one date window every page reads untrusted text through."""

import datetime as dt

import pytest

from miiwrap.parsing import (
    BIGGEST_ID,
    SaneDateField,
    as_id,
    date_problem,
    date_range_problems,
    declared_parameters,
    local_path,
    reads,
)

D = dt.date


@pytest.mark.parametrize("text", ["1", "42", " 7 ", str(BIGGEST_ID), "007"])
def test_ascii_digits_within_a_bigint_are_ids(text):
    assert as_id(text) == int(text)


@pytest.mark.parametrize(
    "text",
    [None, "", "0", "-1", "+1", "1.0", "²", "٣", "1²", "1\x00", str(BIGGEST_ID + 1), "9" * 40],
)
def test_anything_else_is_no_id(text):
    assert as_id(text) is None


def test_an_int_is_read_as_its_digits():
    assert (as_id(5), as_id(0)) == (5, None)


@pytest.mark.parametrize("day", [D(1900, 1, 1), D(2025, 6, 16), D(2200, 12, 31)])
def test_dates_in_the_window_are_fine(day):
    assert date_problem(day) is None


@pytest.mark.parametrize("day", [D(1, 1, 1), D(1899, 12, 31), D(2201, 1, 1), D(9999, 12, 31)])
def test_far_dates_are_refused_with_the_window(day):
    assert date_problem(day) == "Choose a date between 1900 and 2200."


def test_a_range_must_run_forward():
    assert date_range_problems(D(2025, 2, 1), D(2025, 1, 1)) == [
        ("start", "The start must be on or before the end.")
    ]


def test_a_range_may_be_open_at_either_end():
    assert date_range_problems(None, D(2025, 1, 1)) == []
    assert date_range_problems(D(2025, 1, 1), None) == []


def test_a_range_counts_calendar_months():
    assert date_range_problems(D(2023, 1, 31), D(2025, 12, 1), most_months=36) == []
    assert date_range_problems(D(2022, 12, 31), D(2025, 12, 1), most_months=36) == [
        ("start", "Choose at most 36 months.")
    ]


def test_each_far_end_is_named():
    assert date_range_problems(D(1, 1, 1), D(9999, 1, 1)) == [
        ("start", "Choose a date between 1900 and 2200."),
        ("end", "Choose a date between 1900 and 2200."),
    ]


def test_the_date_field_refuses_a_far_date_as_a_form_error():
    field = SaneDateField(required=False)
    assert field.clean("2025-06-16") == D(2025, 6, 16)
    assert field.clean("") is None
    with pytest.raises(Exception, match="between 1900 and 2200"):
        field.clean("0002-01-01")


def test_a_view_declares_what_it_reads_with_its_forms_fields():
    from django import forms

    class Form(forms.Form):
        start = forms.DateField()

    @reads("page", forms=[Form])
    def view(request):
        pass

    assert declared_parameters(view) == ["page", "start"]
    assert declared_parameters(lambda request: None) == []


@pytest.mark.parametrize("target", ["/people/", "/observations/?page=2"])
def test_a_path_on_this_site_is_a_local_path(rf, target):
    assert local_path(rf.get("/"), target) == target


@pytest.mark.parametrize(
    "target", [None, "", "0", "²", "people", "//elsewhere.example/", "https://elsewhere.example/"]
)
def test_anything_else_is_no_local_path(rf, target):
    assert local_path(rf.get("/"), target) is None

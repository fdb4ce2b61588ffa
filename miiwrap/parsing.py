"""Reading untrusted text: ids and dates, the same way on every page, filter and admin.

Every page that takes an id or a date from a query string or a form reads it here, so that
`²`, `٣`, `99999999999999999999`, `0001-01-01` or `9999-12-31` is refused once, the same way,
instead of reaching the database (which raises on an out-of-range integer) or date arithmetic
(which overflows at year 1 and 9999).
"""

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.http import url_has_allowed_host_and_scheme

# The largest value of a signed 64-bit integer: PostgreSQL's bigint and SQLite's INTEGER.
BIGGEST_ID = 2**63 - 1

# Dates anyone means in this application, with room on both sides for month arithmetic
# (a dashboard reaches 36 months back; a certification runs for years after its start).
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 12, 31)


def local_path(request, target):
    """`target` when it is a path on this site ("/…"), else None.

    A `next` taken from a form or a query string is followed only that far: another host is
    refused, and so is a bare word such as `0` or `²`, which `redirect()` would try, and
    fail, to reverse as the name of a view."""
    target = str(target or "")
    if not target.startswith("/") or target.startswith("//"):
        return None
    allowed = {request.get_host()}
    safe = url_has_allowed_host_and_scheme(target, allowed, require_https=request.is_secure())
    return target if safe else None


def as_id(text):
    """A primary key from user input, or None.

    ASCII digits only (`str.isdigit` also accepts `²`, which `int` refuses), at least 1, and
    no bigger than the database stores."""
    text = str(text if text is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(BIGGEST_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= BIGGEST_ID else None


def date_problem(day):
    """Why `day` cannot be used, or None when it lies in the window the application handles."""
    if day is not None and not EARLIEST <= day <= LATEST:
        return f"Choose a date between {EARLIEST.year} and {LATEST.year}."
    return None


def date_range_problems(start, end, *, most_months=None):
    """[(field, message)] for a start/end pair: each in the window, start ≤ end, and the span
    at most `most_months` calendar months when given. Either end may be None (open)."""
    problems = [(name, date_problem(day)) for name, day in (("start", start), ("end", end))]
    problems = [(name, message) for name, message in problems if message]
    if problems or start is None or end is None:
        return problems
    if start > end:
        return [("start", "The start must be on or before the end.")]
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if most_months is not None and months > most_months:
        return [("start", f"Choose at most {most_months} months.")]
    return []


class SaneDateField(forms.DateField):
    """A DateField that refuses dates outside the window the application's arithmetic handles."""

    def validate(self, value):
        super().validate(value)
        if problem := date_problem(value):
            raise ValidationError(problem, code="date_out_of_range")


def reads(*names, forms=()):
    """Declare the query or form parameters a view reads, by name or through the forms and
    filter sets it binds. The hostile-input sweep (miiwrap.sweep) sends bad values in each."""

    def declare(view):
        view.reads = tuple(names)
        view.reads_forms = tuple(forms)
        return view

    return declare


def declared_parameters(view):
    """The parameter names a view declared with @reads, its forms' fields included."""
    names = list(getattr(view, "reads", ()))
    for form_class in getattr(view, "reads_forms", ()):
        names += form_parameters(form_class)
    return list(dict.fromkeys(names))


def form_parameters(form_class):
    """The names a Form or a django-filter FilterSet reads from its data."""
    if hasattr(form_class, "base_filters"):
        return list(form_class.base_filters)
    return list(getattr(form_class, "base_fields", {}))


class SaneDateFilter(django_filters.DateFilter):
    """A django-filter date filter with SaneDateField's window."""

    field_class = SaneDateField

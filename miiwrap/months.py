"""Calendar months as the dashboards draw and compare them, with the one rule for a month
still running.

A month is partial while today (where the organization works) is inside it, or when the
range asked for starts or ends inside it: its counts are of a few days, not of a month,
so a chart draws it apart and labels it "so far", and no table judges it short or
compares it with whole months. Plain functions of dates; no database.
"""

import calendar
import datetime as dt

PARTIAL = "so far"


def first_day(day):
    return day.replace(day=1)


def last_day(month):
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def months_between(start, end):
    """The first day of each month from `start`'s to `end`'s."""
    months, day = [], first_day(start)
    while day <= end:
        months.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def covered_share(month, start, end, today):
    """The share (0 to 1) of `month`'s days that are counted: those from `start` to
    `end` that are before today. Today's own day is still running, so does not count."""
    first, last = max(first_day(month), start), min(last_day(month), end, today - dt.timedelta(1))
    days = (last - first).days + 1
    return max(days, 0) / last_day(month).day


def is_partial(month, start, end, today):
    """Whether `month` is drawn and judged as partial: some of its days are not counted,
    because the month is still running or the range cuts it."""
    return covered_share(month, start, end, today) < 1


def month_label(day, partial=False):
    """ "Dec 2026", or "Dec 2026 (so far)" for a partial month."""
    return f"{day:%b %Y} ({PARTIAL})" if partial else f"{day:%b %Y}"


def last_complete_day(today):
    """The last day of the last month that is over on `today`."""
    return first_day(today) - dt.timedelta(days=1)

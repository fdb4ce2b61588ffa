"""The roster as CSV: one row per person, every filtered row, streamed."""

from certification.dates import LABELS, State
from certification.models import roster_next_date
from miiwrap.spreadsheet import csv_download, csv_lines

COLUMNS = [
    "name",
    "email",
    "staff id",
    "organization",
    "team",
    "program",
    "state",
    "next",
    "next date",
    "valid from",
    "valid until",
    "window opens",
    "grace ends",
]


def _iso(day):
    return day.isoformat() if day else ""


def roster_cells(row, program):
    next_date = roster_next_date(row) or ("", None)
    renewed = row.ahead_until is not None
    return [
        row.full_name,
        row.email,
        row.staff_id,
        row.organization.name,
        row.team.name if row.team_id else "",
        program.name,
        LABELS[State(row.state)],
        next_date[0],
        _iso(next_date[1]),
        _iso(row.cur_valid_from),
        _iso(row.ahead_until if renewed else row.cur_valid_until),
        _iso(row.cur_window_opens),
        _iso(row.cur_grace_ends),
    ]


def roster_csv(rows, program):
    lines = csv_lines(COLUMNS, (roster_cells(row, program) for row in rows.iterator(2000)))
    return csv_download(lines, f"{program.code}-roster")

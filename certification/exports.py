"""The roster as CSV: one row per person, every filtered row, streamed in chunks."""

from certification import roster
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
DATES = ["valid_from", "valid_until", "window_opens", "grace_ends"]  # of the period shown
CHUNK = 2000


def _iso(day):
    return day.isoformat() if day else ""


def roster_cells(row, program):
    person, held = row.person, row.standing.held
    label, day = row.next_date or ("", None)
    period = held.period if held else None
    return [
        person.full_name,
        person.email,
        person.staff_id,
        person.organization.name,
        person.team.name if person.team_id else "",
        program.name,
        row.standing.label,
        label,
        _iso(day),
        *(_iso(getattr(period, name, None)) for name in DATES),
    ]


def _cells(read, program):
    rows = read()
    for start in range(0, len(rows), CHUNK):
        for row in roster.with_people(rows[start : start + CHUNK]):
            yield roster_cells(row, program)


def roster_csv(read, program):
    """The download of the rows `read()` returns, read once its heading line is sent."""
    return csv_download(csv_lines(COLUMNS, _cells(read, program)), f"{program.code}-roster")

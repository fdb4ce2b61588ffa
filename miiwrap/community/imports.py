"""Attendance from a CSV file, checked row by row, all or nothing, as observations are
imported (observations.imports: the same file reading, the same result and messages).

Columns (the first line names them; order is free, case and spaces do not matter): the
event, by `event` (its id) or by `title` and `date` (YYYY-MM-DD); `person` (email or staff
ID), with `organization` (its name) when a staff ID is used in several organizations;
optionally `status` (attended, absent or registered; attended when empty).

Each row sets one person's status on one event (services.attendance_record): a row that
says what is already recorded changes nothing, so importing the same file twice stores one
record. Events and people are read with a few queries before the rows.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from miiwrap import text
from miiwrap.community import services
from miiwrap.community.models import Attendance, Event, people_to_mark
from miiwrap.parsing import as_id
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person
from observations.imports import FileProblem, ImportResult, Table, column_name, read_text


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    holds: str


COLUMNS = (
    Column("event", False, "The event's number (shown in its address); or give title and date."),
    Column("title", False, "The event's title, exactly, with its date."),
    Column("date", False, "The event's date, written YYYY-MM-DD, with its title."),
    Column("person", True, "Who: their email, or their staff ID."),
    Column(
        "organization",
        False,
        "Their organization's name, when a staff ID is used in several organizations.",
    ),
    Column(
        "status",
        False,
        f"{', '.join(Attendance.Status.values)}; {Attendance.Status.ATTENDED.value} when empty.",
    ),
)
KNOWN = {column.name for column in COLUMNS}


class AttendanceTable(Table):
    """observations.imports.Table, checking this file's columns."""

    def __init__(self, text):
        self.text = text
        first_line = text.split("\n", 1)[0]
        self.delimiter = max(",;\t", key=first_line.count)
        self.columns = [column_name(heading) for heading in self._header()]
        self._check_columns()
        self.total = sum(1 for _ in self.rows())
        if not self.total:
            raise FileProblem(2, "The file names its columns but has no rows after them.")

    def _check_columns(self):
        if "person" not in self.columns:
            raise FileProblem(1, "Missing column: person. The first line must name it.")
        if "event" not in self.columns and not {"title", "date"} <= set(self.columns):
            raise FileProblem(1, "Name the event: give an event column, or title and date columns.")
        unknown = [c for c in self.columns if c and c not in KNOWN]
        if unknown:
            raise FileProblem(
                1, f"Unknown columns: {', '.join(unknown)}; use {', '.join(sorted(KNOWN))}."
            )
        twice = sorted({c for c in self.columns if c and self.columns.count(c) > 1})
        if twice:
            raise FileProblem(1, f"Columns named twice: {', '.join(twice)}; keep one of each.")


def import_attendance(file, *, imported_by=None, dry_run=False):
    """Check every row, then record them all, or none. `imported_by` (a user) limits the
    events and people rows may name to those the user may record attendance for."""
    result = ImportResult(dry_run=dry_run)
    try:
        table = AttendanceTable(read_text(file))
    except FileProblem as problem:
        result.errors.append((problem.line, str(problem)))
        return result
    result.rows = table.total
    reader = RowReader(table, imported_by)
    marks = {}
    for line, cells in table.rows():
        found, problems = reader.build(cells)
        result.errors += [(line, problem) for problem in problems]
        if found is not None:
            event, person, status = found
            marks.setdefault(event, {})[person] = status
    if result.errors:
        return result
    _record(marks, result, reader.by, dry_run)
    return result


def _record(marks, result, by, dry_run):
    with transaction.atomic():
        for event, chosen in marks.items():
            result.created += services.attendance_record(event=event, marks=chosen, by=by)
        if dry_run:
            transaction.set_rollback(True)
    result.skipped = result.rows - result.created


class RowReader:
    """Turns rows into (event, person, status), resolving names with dictionaries read once."""

    def __init__(self, table, imported_by):
        rows = list(table.rows())
        self.scoped = imported_by is not None and not viewer_for(imported_by).sees_everything
        self.user = imported_by
        self.by = Person.objects.signed_in_as(imported_by) if imported_by else None
        events = Event.objects.all()
        if imported_by is not None:
            events = events.visible_to(imported_by)
        events = list(events.prefetch_related("organizations"))
        self.events = {event.pk: event for event in events}
        self.by_title = {(e.title.strip().lower(), e.held_on): e for e in events}
        self._load_people({cells.get("person", "").strip() for _, cells in rows})
        self.markable = {}

    def _load_people(self, values):
        people = Person.objects.select_related("organization")
        values = {value for value in values if value and _one_line(value)}
        emails = sorted({value.lower() for value in values if "@" in value})
        found = people.annotate(email_lower=Lower("email")).filter(email_lower__in=emails)
        self.by_email = {person.email.lower(): person for person in found}
        self.by_staff_id = {}
        for person in people.filter(staff_id__in=[v for v in values if "@" not in v]):
            self.by_staff_id.setdefault(person.staff_id, []).append(person)

    def build(self, cells):
        """((event, person, status) or None, problems) for one row."""
        problems = _cell_problems(cells)
        if problems:
            return None, problems
        event = self._event(cells, problems)
        person = self._person(cells, problems)
        status = self._status(cells, problems)
        if event is not None and person is not None:
            self._check_markable(event, person, problems)
        if problems:
            return None, problems
        return (event, person, status), []

    def _event(self, cells, problems):
        value = cells.get("event", "").strip()
        if value:
            event = self.events.get(as_id(value) or 0)
            if event is None:
                problems.append(f"event: no event you may see has the number “{value}”.")
            return event
        title, day = cells.get("title", "").strip(), cells.get("date", "").strip()
        try:
            held_on = dt.date.fromisoformat(day)
        except ValueError:
            problems.append(f"date: “{day}” is not a date written YYYY-MM-DD.")
            return None
        event = self.by_title.get((title.lower(), held_on))
        if event is None:
            problems.append(f"title: no event you may see is called “{title}” on {day}.")
        return event

    def _person(self, cells, problems):
        value = cells.get("person", "").strip()
        if not value:
            problems.append("person: empty; give their email or staff ID.")
            return None
        if "@" in value:
            person = self.by_email.get(value.lower())
            if person is None:
                problems.append(f"person: nobody has the email {value}; check it.")
            return person
        matches = self.by_staff_id.get(value, [])
        organization = cells.get("organization", "").strip().lower()
        if organization:
            matches = [p for p in matches if p.organization.name.lower() == organization]
        if len(matches) == 1:
            return matches[0]
        if matches:
            problems.append(
                f"person: staff ID “{value}” is used in {len(matches)} organizations; "
                "give their organization, or their email."
            )
        else:
            problems.append(f"person: nobody has the staff ID “{value}”; check it.")
        return None

    def _status(self, cells, problems):
        value = cells.get("status", "").strip().lower()
        if not value:
            return Attendance.Status.ATTENDED
        if value in Attendance.Status.values:
            return value
        problems.append(f"status: “{value}” is not one of {', '.join(Attendance.Status.values)}.")
        return None

    def _check_markable(self, event, person, problems):
        if not any(o.pk == person.organization_id for o in event.organizations.all()):
            problems.append(f"person: {person.organization} is not invited to {event}.")
        elif self.user is not None and person.pk not in self._markable(event):
            problems.append(f"person: you may not record {person}'s attendance at {event}.")

    def _markable(self, event):
        if event.pk not in self.markable:
            people = people_to_mark(event, self.user)
            self.markable[event.pk] = set(people.values_list("pk", flat=True))
        return self.markable[event.pk]


def _cell_problems(cells):
    problems = []
    for column, value in cells.items():
        for one in value if column is None else [value]:
            if not _one_line(one):
                problems.append(f"{column or 'an extra cell'}: holds a control character.")
                break
    if None in cells:
        problems.append("This row has more cells than the first line names columns.")
    return problems


def _one_line(value):
    try:
        text.validate_one_line(value)
    except ValidationError:
        return False
    return True

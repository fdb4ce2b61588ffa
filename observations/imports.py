"""Observations from a CSV file, checked row by row with the coach's form rules, all or nothing.

Columns (the first line names them; order is free, case and spaces do not matter):
practitioner and coach (email or staff ID), rubric (its code), version (its number),
date (YYYY-MM-DD), activity (an activity type's name); optionally mode (live, recorded,
document), duration (minutes), strengths, growth_areas, next_steps; then one column per
item code: a whole number, "na" for not applicable, or empty for unscored.

People, rubric versions and activity types are read with a few queries before the rows,
so a large file costs the same queries as a small one. Rows are written in batches inside
one transaction that is rolled back when any row is wrong (or on a dry run). Each row's
import_key is a hash of what it says, so importing the same rows again adds nothing, even
while another import of them is still running (they are skipped, see _insert).
"""

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from miiwrap import generations, text
from miiwrap.parsing import EARLIEST, as_id, date_problem
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person
from observations import scoring, services
from observations.models import ActivityType, Observation, RubricVersion


@dataclass(frozen=True)
class Column:
    """A column the importer reads besides the item codes, as the import page explains it."""

    name: str
    required: bool
    holds: str


_FEEDBACK_TEXT = f"text of up to {text.FEEDBACK:,} characters; it may hold line breaks."
# The import page's table and example file are read from here, so they list what is read.
COLUMNS = (
    Column("practitioner", True, "The person observed: their email, or their staff ID."),
    Column(
        "coach",
        True,
        "The observer: email or staff ID. They hold the coach role, in the practitioner's "
        "organization or the purveyor's.",
    ),
    Column("rubric", True, "The rubric's code (listed below)."),
    Column("version", True, "The rubric version's number (listed below); it must be published."),
    Column(
        "date",
        True,
        "The day observed, written YYYY-MM-DD: not in the future, not before the "
        "practitioner's hire date nor after they left.",
    ),
    Column("activity", True, "An activity type in use, by its name (listed below)."),
    Column(
        "mode",
        False,
        f"How it was observed: {', '.join(m.value for m in Observation.Mode)}; "
        f"{Observation.Mode.LIVE.value} when empty.",
    ),
    Column(
        "duration",
        False,
        f"Minutes observed: a whole number from {text.DURATION_MIN} to {text.DURATION_MAX}.",
    ),
    Column("strengths", False, f"Feedback: strengths seen, as {_FEEDBACK_TEXT}"),
    Column("growth_areas", False, f"Feedback: areas to grow, as {_FEEDBACK_TEXT}"),
    Column("next_steps", False, f"Feedback: the next steps agreed, as {_FEEDBACK_TEXT}"),
)
REQUIRED = [column.name for column in COLUMNS if column.required]
OPTIONAL = [column.name for column in COLUMNS if not column.required]
FEEDBACK = ["strengths", "growth_areas", "next_steps"]
BATCH_SIZE = 1000
PROGRESS_EVERY = 500
CHUNK = 900  # identifiers per query, under SQLite's oldest limit on parameters
WHOLE_NUMBER = re.compile(r"[+-]?\d+")


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self):
        return not self.errors


class FileProblem(ValueError):
    """The whole file cannot be read; nothing after it is checked."""

    def __init__(self, line, reason):
        super().__init__(reason)
        self.line = line


def import_observations(file, *, imported_by=None, progress=None, dry_run=False):
    """Check every row, then save them all as submitted observations, or none.

    `imported_by` (a user) limits the people rows may name to those the user sees;
    `progress(done, total)` is called every PROGRESS_EVERY rows.
    """
    result = ImportResult(dry_run=dry_run)
    try:
        table = Table(read_text(file))
        rows = RowReader(table, imported_by)
    except FileProblem as problem:
        result.errors.append((problem.line, str(problem)))
        return result
    result.rows = table.total
    result.errors += rows.header_problems()
    with transaction.atomic():
        _import_rows(table, rows, result, progress, imported_by)
        if result.errors or dry_run:
            transaction.set_rollback(True)
    if result.errors:
        result.created = result.skipped = 0
    result.errors.sort(key=lambda error: error[0])
    return result


def _import_rows(table, rows, result, progress, imported_by):
    seen, batch = set(), []
    for done, (line, cells) in enumerate(table.rows(), 1):
        observation, problems = rows.build(line, cells)
        result.errors += [(line, problem) for problem in problems]
        if observation is not None and observation.import_key in seen:
            result.skipped += 1  # the same row twice in one file
        elif observation is not None:
            seen.add(observation.import_key)
            batch.append(observation)
        if len(batch) >= BATCH_SIZE:
            _save(batch, rows.definitions, result, imported_by)
            batch = []
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, table.total)
    _save(batch, rows.definitions, result, imported_by)
    if progress:
        progress(table.total, table.total)


IMPORTED = "Imported from a CSV file"


def _save(batch, definitions, result, imported_by):
    """Write one batch, leaving out rows imported before; nothing once any row is wrong.
    Each row's first history row names the importer (None from the command line)."""
    if result.errors or not batch:
        return
    done = imported_keys(batch)
    new = [observation for observation in batch if observation.import_key not in done]
    now = timezone.now()
    for observation in new:
        services.apply_scores(observation, definitions[observation.rubric_version_id], now)
        observation.submitted_at = now
    created = _insert(new, imported_by)
    result.created += created
    result.skipped += len(batch) - created
    if created:
        # bulk_create sends no post_save: the dashboards' inputs would not hear of these.
        generations.touched(*_organizations_of(new))


def _organizations_of(observations):
    """The organizations whose figures the rows feed: each practitioner's and coach's, as
    miiwrap.dashboards.inputs registers an observation (both are loaded on the rows)."""
    found = set()
    for observation in observations:
        found |= {observation.organization_id, observation.coach.organization_id}
    return found


def imported_keys(observations):
    """The import keys of these observations that are already saved."""
    keys = [observation.import_key for observation in observations]
    return set(Observation.objects.filter(import_key__in=keys).values_list("import_key", flat=True))


def _insert(new, imported_by):
    """Insert the rows, leaving out those another import saved meanwhile; how many went in.

    Two imports of the same file at once both find the rows new. The unique import_key
    settles it: on PostgreSQL the later insert waits for the earlier import to commit (or
    roll back), then fails on the rows it saved; those are left out and the rest inserted.
    """
    while new:
        try:
            with transaction.atomic():
                bulk_create_with_history(
                    new, Observation, default_user=imported_by, default_change_reason=IMPORTED
                )
        except IntegrityError:
            done = imported_keys(new)
            if not done:
                raise  # not the import key: a real fault, not a concurrent import
            new = [observation for observation in new if observation.import_key not in done]
        else:
            return len(new)
    return 0


# Reading the file ---------------------------------------------------------------------------


def read_text(file):
    """The file's text: UTF-8, with or without a byte order mark."""
    raw = file.read()
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            raise FileProblem(
                line,
                "The file is not UTF-8 text. Save it again as “CSV UTF-8” "
                "(in Excel: Save As, then CSV UTF-8).",
            ) from error
    text = raw.removeprefix("\ufeff")
    if not text.strip():
        raise FileProblem(1, "The file is empty. The first line must name the columns.")
    return text


def column_name(heading):
    return heading.strip().lower().replace(" ", "_")


class Table:
    """The CSV text: its columns, and its rows read on demand (the file is read twice)."""

    def __init__(self, text):
        self.text = text
        first_line = text.split("\n", 1)[0]
        self.delimiter = max(",;\t", key=first_line.count)
        self.columns = [column_name(heading) for heading in self._header()]
        self._check_columns()
        self.total = 0
        self.values = {name: set() for name in ("practitioner", "coach")}
        for _, cells in self.rows():
            self.total += 1
            for name, found in self.values.items():
                found.add(cells.get(name, "").strip())
        if not self.total:
            raise FileProblem(2, "The file names its columns but has no rows after them.")

    def _check_columns(self):
        missing = [name for name in REQUIRED if name not in self.columns]
        if missing:
            raise FileProblem(
                1,
                f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
                f"The first line must name at least {', '.join(REQUIRED)}.",
            )
        twice = sorted({c for c in self.columns if c and self.columns.count(c) > 1})
        if twice:
            raise FileProblem(1, f"Columns named twice: {', '.join(twice)}; keep one of each.")

    def _reader(self):
        return csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)

    def _header(self):
        try:
            return next(self._reader())
        except csv.Error as error:
            raise FileProblem(1, f"The first line cannot be read as CSV: {error}.") from error

    def rows(self):
        """(line number, {column: cell}) for each row with something in it."""
        reader = self._reader()
        last_line = 1
        try:
            next(reader)
            for cells in reader:
                line, last_line = last_line + 1, reader.line_num
                if any(cell.strip() for cell in cells):
                    yield line, self._named(cells)
        except csv.Error as error:
            raise FileProblem(
                reader.line_num, f"This line cannot be read as CSV: {error}."
            ) from error

    def _named(self, cells):
        named = dict(zip(self.columns, cells, strict=False))
        if len(cells) > len(self.columns):
            named[None] = cells[len(self.columns) :]
        return named


# Checking rows ------------------------------------------------------------------------------


class RowReader:
    """Turns rows into unsaved observations, resolving names with dictionaries read once."""

    def __init__(self, table, imported_by):
        self.columns = table.columns
        self.scoped = imported_by is not None and not viewer_for(imported_by).sees_everything
        people = (
            Person.objects.all() if imported_by is None else Person.objects.visible_to(imported_by)
        )
        # A cell with a control character (a NUL, which PostgreSQL refuses) is never looked
        # up: build() names it as the row's problem.
        identifiers = {value for value in set().union(*table.values.values()) if _one_line(value)}
        self._load_people(people, identifiers - {""})
        versions = RubricVersion.objects.of_people().with_structure()
        self.versions = {(v.rubric.code.lower(), v.number): v for v in versions}
        self.definitions = {v.pk: v.definition() for v in self.versions.values()}
        self.items = {v.pk: {i.code.lower(): i.code for i in v.items.all()} for v in versions}
        self.activities = {a.name.lower(): a for a in ActivityType.objects.all()}
        self.item_columns = set(self.columns) & set().union(*self.items.values())

    def _load_people(self, people, identifiers):
        people = people.select_related("organization").prefetch_related("roles")
        emails = sorted({value.lower() for value in identifiers if "@" in value})
        staff_ids = sorted(value for value in identifiers if "@" not in value)
        self.by_email, self.by_staff_id = {}, {}
        for start in range(0, len(emails), CHUNK):
            chunk = emails[start : start + CHUNK]
            for person in people.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk):
                self.by_email[person.email.lower()] = person
        for start in range(0, len(staff_ids), CHUNK):
            for person in people.filter(staff_id__in=staff_ids[start : start + CHUNK]):
                self.by_staff_id.setdefault(person.staff_id, []).append(person)

    def header_problems(self):
        """Columns that are neither known nor an item code (their cells are not read)."""
        unknown = set(self.columns) - FIXED - self.item_columns - {""}
        return [
            (
                1,
                f"Column “{name}” is neither a known column nor an item code of any rubric "
                "version; fix its name or remove it.",
            )
            for name in self.columns
            if name in unknown
        ]

    def build(self, line, cells):
        """(unsaved observation or None, problems) for one row."""
        problems = _cell_problems(cells)
        if problems:
            return None, problems  # a cell that cannot be stored is not looked up
        if None in cells:
            problems.append(
                f"This row has {len(self.columns) + len(cells[None])} cells but the first "
                f"line names {len(self.columns)} columns; check for a stray separator."
            )
        found = {
            "practitioner": self._person(cells, "practitioner", problems),
            "coach": self._person(cells, "coach", problems),
            "rubric_version": self._version(cells, problems),
            "observed_on": self._date(cells, problems),
            "activity": self._activity(cells, problems),
            "mode": self._mode(cells, problems),
            "duration_minutes": self._duration(cells, problems),
        }
        version = found["rubric_version"]
        scores = self._scores(cells, version, problems) if version else {}
        if any(found[name] is None for name in REQUIRED_FOUND):
            if version:
                problems += self._score_problems(version, scores)
            return None, problems
        observation = Observation(
            **found,
            scores=scores,
            status=Observation.Status.SUBMITTED,
            **{name: _text(cells.get(name, "")) for name in FEEDBACK},
        )
        problems += self._rule_problems(observation)
        if problems:
            return None, problems
        observation.import_key = import_key(observation)
        return observation, problems

    def _person(self, cells, column, problems):
        value = cells.get(column, "").strip()
        where = " in your organization" if self.scoped else ""
        if not value:
            problems.append(f"{column}: empty; give their email or staff ID.")
            return None
        if "@" in value:
            person = self.by_email.get(value.lower())
            if person is None:
                problems.append(f"{column}: nobody{where} has the email {value}; check it.")
            return person
        matches = self.by_staff_id.get(value, [])
        if len(matches) > 1:
            problems.append(
                f"{column}: staff ID “{value}” is used in {len(matches)} organizations; "
                "give their email instead."
            )
        elif not matches:
            problems.append(
                f"{column}: nobody{where} has the staff ID “{value}”; check it, or give "
                "their email."
            )
        return matches[0] if len(matches) == 1 else None

    def _version(self, cells, problems):
        code = cells.get("rubric", "").strip().lower()
        number = cells.get("version", "").strip()
        known = sorted({c for c, _ in self.versions})
        if code not in known:
            problems.append(
                f"rubric: no rubric has the code “{code}”; use one of {', '.join(known)}."
            )
            return None
        numbers = sorted(n for c, n in self.versions if c == code)
        version = self.versions.get((code, as_id(number)))
        if version is None:
            listed = ", ".join(str(n) for n in numbers)
            problems.append(f"version: {code} has no version “{number}”; it has {listed}.")
        return version

    def _date(self, cells, problems):
        value = cells.get("date", "").strip()
        try:
            day = dt.datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 a date only
        except ValueError:
            problems.append(f"date: “{value}” is not a date written YYYY-MM-DD.")
            return None
        # A later date gets the observation rule's own message: it cannot be in the future.
        if day < EARLIEST:
            problems.append(f"date: {date_problem(day)}")
            return None
        return day

    def _activity(self, cells, problems):
        value = cells.get("activity", "").strip()
        activity = self.activities.get(value.lower())
        if activity is None or not activity.is_active:
            names = ", ".join(a.name for a in self.activities.values() if a.is_active)
            problems.append(f"activity: “{value}” is not an activity type in use; use {names}.")
            return None
        return activity

    def _mode(self, cells, problems):
        value = cells.get("mode", "").strip().lower()
        if not value:
            return Observation.Mode.LIVE
        for mode in Observation.Mode:
            if value in (mode.value, mode.label.lower()):
                return mode.value
        problems.append(f"mode: “{value}” is not one of {', '.join(Observation.Mode.values)}.")
        return Observation.Mode.LIVE

    def _duration(self, cells, problems):
        value = cells.get("duration", "").strip()
        minutes = as_id(value)  # ASCII digits only, and never thousands of them for int()
        if minutes is not None and text.DURATION_MIN <= minutes <= text.DURATION_MAX:
            return minutes
        if value:
            problems.append(
                f"duration: “{value}” is not a number of minutes from {text.DURATION_MIN} "
                f"to {text.DURATION_MAX}, such as 45."
            )
        return None

    def _scores(self, cells, version, problems):
        items = self.items[version.pk]
        scores = {}
        for column, raw in cells.items():
            value = raw.strip() if column in self.item_columns else ""
            if not value:
                continue
            if column not in items:
                problems.append(
                    f"{column}: not an item of {version}; leave this cell empty for this rubric."
                )
                continue
            scores[items[column]] = _score(value)
        return scores

    def _score_problems(self, version, scores):
        found = scoring.problems(self.definitions[version.pk], scores, complete=True)
        return [f"{code}: {message}" for code, message in found.items()]

    def _rule_problems(self, observation):
        version = observation.rubric_version
        try:
            services.check_observation(observation, self.definitions[version.pk], complete=True)
        except ValidationError as error:
            return [_reason(key, messages, version) for key, messages in error.message_dict.items()]
        return []


REQUIRED_FOUND = ["practitioner", "coach", "rubric_version", "observed_on", "activity"]
FIXED = set(REQUIRED + OPTIONAL)


def _reason(key, messages, version):
    """A check_observation error, named by the column that holds the problem."""
    message = " ".join(messages)
    if key == "rubric_version":
        return f"version: {version} is {version.get_status_display().lower()}; {message}"
    if key.startswith("item__"):
        return f"{key.removeprefix('item__')}: {message}"
    return {"observed_on": "date: "}.get(key, "") + message


def _score(value):
    if value.lower() == scoring.NA:
        return scoring.NA
    # Anything not a whole number is kept as written, for scoring.problems to name.
    return int(value) if WHOLE_NUMBER.fullmatch(value) and len(value) < 20 else value


def _cell_problems(cells):
    """What no column may hold: control characters (line breaks and tabs only in feedback)
    and feedback longer than the form allows."""
    problems = []
    for column, value in cells.items():
        values = value if column is None else [value]
        for one in values:
            check = text.validate_prose if column in FEEDBACK else text.validate_one_line
            try:
                check(one)
            except ValidationError as error:
                problems.append(f"{column or 'an extra cell'}: {' '.join(error.messages)}")
                break
        if column in FEEDBACK and len(_text(value)) > text.FEEDBACK:
            problems.append(
                f"{column}: {len(_text(value)):,} characters; keep it to {text.FEEDBACK:,}."
            )
    return problems


def _one_line(value):
    try:
        text.validate_one_line(value)
    except ValidationError:
        return False
    return True


def _text(value):
    return value.replace("\r\n", "\n").strip()


def import_key(observation):
    """A hash of what the row says, so that the same row imported twice is found."""
    content = [
        observation.practitioner_id,
        observation.coach_id,
        observation.rubric_version_id,
        observation.observed_on.isoformat(),
        observation.activity_id,
        sorted(observation.scores.items()),
        [getattr(observation, name) for name in FEEDBACK],
    ]
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()

"""Importing observations from CSV: every rule of the form, line numbers, all or nothing, once."""

import csv
import datetime as dt
import io
import threading
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from miiwrap.people.models import Person, RoleGrant
from observations import imports
from observations.models import ActivityType, Observation, Rubric, RubricVersion
from tests.conftest import require
from tests.factories import full_scores, make_period, make_person, rubric_version


def fidelity_items():
    return [item.code for item in rubric_version().items.all()]


def row_for(observed, observer, **cells):
    """One valid row for the MiiWrap fidelity tool, every item at its top score."""
    return {
        "practitioner": observed.email,
        "coach": observer.email,
        "rubric": "miiwrap-fidelity",
        "version": "1",
        "date": "2024-05-01",
        "activity": "Home visit",
        **{code: str(value) for code, value in full_scores(rubric_version()).items()},
        **cells,
    }


def csv_file(rows, columns=None, delimiter=",", encoding="utf-8"):
    columns = columns or list(dict.fromkeys(name for row in rows for name in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, delimiter=delimiter, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return io.BytesIO(out.getvalue().encode(encoding))


def run(rows, **options):
    return imports.import_observations(csv_file(rows), **options)


# The happy path


def test_rows_become_submitted_scored_observations(world):
    result = run(
        [
            row_for(world.practitioner, world.coach, strengths="Warm start", duration="45"),
            row_for(world.unassigned, world.coach, **{"wp-team": "na", "mi-open": "1"}),
        ]
    )
    assert (result.ok, result.created, result.skipped, result.rows) == (True, 2, 0, 2)
    first, second = Observation.objects.order_by("pk")
    assert first.status == Observation.Status.SUBMITTED
    assert first.submitted_at is not None and first.computed_at is not None
    assert (first.strengths, first.duration_minutes, first.mode) == ("Warm start", 45, "live")
    assert first.overall_score == Decimal("100.00") and first.band == "high"
    assert second.scores["wp-team"] == "na"
    assert second.overall_score == Decimal("95.00")  # 38 of 40 points
    assert len(first.import_key) == 64


def test_people_are_found_by_staff_id_and_email_in_any_case(world):
    Person.objects.filter(pk=world.practitioner.pk).update(staff_id="RB-42")
    result = run(
        [
            row_for(
                world.practitioner,
                world.coach,
                practitioner="RB-42",
                coach=world.coach.email.upper(),
            )
        ]
    )
    assert result.ok, result.errors
    assert Observation.objects.get().practitioner == world.practitioner


def test_rubric_activity_and_mode_are_read_in_any_case(world):
    row = row_for(
        world.practitioner,
        world.coach,
        rubric="MiiWrap-Fidelity",
        activity="home VISIT",
        mode="Document review",
    )
    assert run([row]).ok
    observation = Observation.objects.get()
    assert observation.activity.name == "Home visit"
    assert observation.mode == Observation.Mode.DOCUMENT


def test_column_names_ignore_case_and_spaces(world):
    row = row_for(world.practitioner, world.coach)
    row = {key.upper() if key == "coach" else key: value for key, value in row.items()}
    row["Growth Areas"] = "Reflections"
    assert run([row]).ok
    assert Observation.objects.get().growth_areas == "Reflections"


def test_a_file_may_mix_rubrics(world):
    mi = rubric_version("mi-coding")
    mi_row = {**row_for(world.practitioner, world.coach), "rubric": "mi-coding"}
    for code in fidelity_items():
        mi_row[code] = ""
    mi_row.update({code: str(value) for code, value in full_scores(mi, rating=4).items()})
    result = run([row_for(world.practitioner, world.coach), mi_row])
    assert result.ok, result.errors
    assert {o.rubric_version for o in Observation.objects.all()} == {rubric_version(), mi}


def test_a_byte_order_mark_and_semicolons_are_understood(world):
    rows = [row_for(world.practitioner, world.coach)]
    data = csv_file(rows, delimiter=";", encoding="utf-8-sig")
    assert data.getvalue().startswith(b"\xef\xbb\xbf")
    result = imports.import_observations(data)
    assert result.ok, result.errors
    assert result.created == 1


def test_text_files_and_blank_lines_are_accepted(world):
    text = csv_file([row_for(world.practitioner, world.coach)]).getvalue().decode()
    result = imports.import_observations(io.StringIO(text + "\r\n,,,\r\n\r\n"))
    assert (result.ok, result.created, result.rows) == (True, 1, 1)


def test_feedback_may_span_lines(world):
    row = row_for(world.practitioner, world.coach, next_steps="First\nSecond")
    assert run([row]).ok
    assert Observation.objects.get().next_steps == "First\nSecond"


# Importing again adds nothing


def test_a_second_import_of_the_same_file_adds_nothing(world):
    rows = [row_for(world.practitioner, world.coach), row_for(world.unassigned, world.coach)]
    assert run(rows).created == 2
    again = run(rows)
    assert (again.ok, again.created, again.skipped) == (True, 0, 2)
    assert Observation.objects.count() == 2


def test_a_file_with_old_and_new_rows_adds_only_the_new(world):
    old = row_for(world.practitioner, world.coach)
    run([old])
    result = run([old, row_for(world.practitioner, world.coach, date="2024-05-02")])
    assert (result.created, result.skipped) == (1, 1)


def test_identical_rows_in_one_file_are_imported_once(world):
    row = row_for(world.practitioner, world.coach)
    result = run([row, row, dict(row)])
    assert (result.created, result.skipped) == (1, 2)
    assert Observation.objects.count() == 1


def test_a_row_that_differs_in_feedback_is_another_observation(world):
    result = run(
        [
            row_for(world.practitioner, world.coach),
            row_for(world.practitioner, world.coach, strengths="Clear agenda"),
        ]
    )
    assert result.created == 2


def test_the_key_ignores_surrounding_spaces_and_line_endings(world):
    run([row_for(world.practitioner, world.coach, strengths="A\nB")])
    result = run([row_for(world.practitioner, world.coach, strengths="  A\r\nB ")])
    assert (result.created, result.skipped) == (0, 1)


def test_a_dry_run_checks_and_counts_but_saves_nothing(world):
    result = run([row_for(world.practitioner, world.coach)], dry_run=True)
    assert (result.ok, result.created, result.dry_run) == (True, 1, True)
    assert not Observation.objects.exists()


# Every kind of error, with its line


def errors_for(rows, **options):
    result = run(rows, **options)
    assert not result.ok
    assert result.created == 0
    assert not Observation.objects.exists()
    return result.errors


@pytest.mark.parametrize(
    "cells, reason",
    [
        (
            {"practitioner": "nobody@example.org"},
            "practitioner: nobody has the email nobody@example.org; check it.",
        ),
        (
            {"practitioner": "RB-404"},
            "practitioner: nobody has the staff ID “RB-404”; check it, or give their email.",
        ),
        ({"practitioner": ""}, "practitioner: empty; give their email or staff ID."),
        (
            {"coach": "ghost@example.org"},
            "coach: nobody has the email ghost@example.org; check it.",
        ),
        (
            {"rubric": "miti"},
            "rubric: no rubric has the code “miti”; use one of coaching-feedback, mi-coding, "
            "miiwrap-fidelity.",
        ),
        ({"version": "7"}, "version: miiwrap-fidelity has no version “7”; it has 1."),
        ({"version": "one"}, "version: miiwrap-fidelity has no version “one”; it has 1."),
        ({"date": "01/05/2024"}, "date: “01/05/2024” is not a date written YYYY-MM-DD."),
        ({"date": "2999-01-01"}, "date: The observation date cannot be in the future."),
        (
            {"activity": "Lunch"},
            "activity: “Lunch” is not an activity type in use; use "
            "Family team meeting, One-to-one session, Home visit, Crisis or safety planning, "
            "Transition meeting, Plan document review, Coaching feedback conversation.",
        ),
        ({"mode": "telepathy"}, "mode: “telepathy” is not one of live, recorded, document."),
        (
            {"duration": "1h"},
            "duration: “1h” is not a number of minutes from 1 to 720, such as 45.",
        ),
        (
            {"duration": "0"},
            "duration: “0” is not a number of minutes from 1 to 720, such as 45.",
        ),
        (
            {"duration": "721"},
            "duration: “721” is not a number of minutes from 1 to 720, such as 45.",
        ),
        (
            {"duration": "99999999999"},
            "duration: “99999999999” is not a number of minutes from 1 to 720, such as 45.",
        ),
        ({"duration": "²"}, "duration: “²” is not a number of minutes from 1 to 720, such as 45."),
        (
            {"strengths": "Warm\x00"},
            "strengths: Remove a NUL byte: it cannot be stored or shown.",
        ),
        (
            {"practitioner": "pat\x00@example.org"},
            "practitioner: Remove a NUL byte: this field holds a single line of text.",
        ),
        (
            {"activity": "Home\nvisit"},
            "activity: Remove a line break: this field holds a single line of text.",
        ),
        (
            {"next_steps": "x" * 4001},
            "next_steps: 4,001 characters; keep it to 4,000.",
        ),
        ({"ep-voice": ""}, "ep-voice: Score this item."),
        ({"ep-voice": "4"}, "ep-voice: Choose a rating from 0 to 3."),
        ({"ep-voice": "2.5"}, "ep-voice: Enter a whole number."),
        ({"ep-voice": "na"}, "ep-voice: This item cannot be marked not applicable."),
        ({"ind-agenda": "2"}, "ind-agenda: Answer yes or no."),
    ],
)
def test_each_bad_cell_is_named_with_its_line(world, cells, reason):
    good = row_for(world.practitioner, world.coach)
    errors = errors_for([good, {**good, "date": "2024-05-02", **cells}])
    assert errors == [(3, reason)]


def test_the_longest_feedback_and_duration_allowed_are_taken(world):
    row = row_for(world.practitioner, world.coach, duration="720", strengths="x" * 4000)
    assert run([row]).created == 1
    assert Observation.objects.get().duration_minutes == 720


def test_feedback_keeps_its_line_breaks_and_tabs(world):
    assert run([row_for(world.practitioner, world.coach, strengths="One\n\tTwo")]).ok
    assert Observation.objects.get().strengths == "One\n\tTwo"


def test_only_someone_the_rubric_observes_is_observed(world):
    # The leader is in the coach's organization, but holds no practitioner role.
    errors = errors_for([row_for(world.leader, world.coach)])
    assert errors == [
        (2, f"{world.leader} does not hold the practitioner role this rubric observes.")
    ]


def test_a_coaching_rubric_observes_coaches_only(world):
    Rubric.objects.filter(code="miiwrap-fidelity").update(audience="coach")
    errors = errors_for([row_for(world.practitioner, world.coach)])
    assert errors == [
        (2, f"{world.practitioner} does not hold the coach role this rubric observes.")
    ]
    observer = make_person(world.home, "coach", first_name="Olive")
    errors = errors_for([row_for(world.coach, observer)])
    assert errors == [
        (
            2,
            f"Only a certified MiiWrap Trainer observes coaching: {observer} holds no current "
            "Trainer certification on 2024-05-01.",
        )
    ]
    make_period(observer, world.purveyor_admin, "trainer", valid_from=dt.date(2024, 1, 2))
    assert run([row_for(world.coach, observer)]).created == 1


def test_a_coach_may_not_observe_themselves(world):
    errors = errors_for([row_for(world.coach, world.coach)])
    assert errors == [(2, "A coach cannot observe themselves.")]


def test_the_coach_must_hold_the_coach_role(world):
    errors = errors_for([row_for(world.practitioner, world.leader)])
    assert errors == [(2, f"{world.leader} does not hold the coach role.")]


def test_a_coach_from_another_organization_is_refused(world):
    errors = errors_for([row_for(world.practitioner, world.outsider)])
    assert errors == [
        (2, f"{world.outsider} coaches in another organization than {world.practitioner}.")
    ]


def test_the_date_must_fall_within_employment(world):
    errors = errors_for([row_for(world.practitioner, world.coach, date="2019-12-31")])
    assert errors == [
        (2, f"date: {world.practitioner} was hired on 2020-01-06; pick a later date.")
    ]


def test_a_draft_or_retired_version_takes_no_observations(world):
    RubricVersion.objects.filter(rubric__code="miiwrap-fidelity").update(status="retired")
    errors = errors_for([row_for(world.practitioner, world.coach)])
    assert errors == [
        (2, "version: MiiWrap fidelity tool v1 is retired; Pick a published rubric version.")
    ]


def test_an_inactive_activity_type_is_refused(world):
    ActivityType.objects.filter(name="Home visit").update(is_active=False)
    [(line, reason)] = errors_for([row_for(world.practitioner, world.coach)])
    assert line == 2 and reason.startswith("activity: “Home visit” is not an activity type in use")


def test_a_staff_id_used_in_two_organizations_asks_for_the_email(world):
    Person.objects.filter(pk__in=[world.practitioner.pk, world.away_practitioner.pk]).update(
        staff_id="S-1"
    )
    errors = errors_for([row_for(world.practitioner, world.coach, practitioner="S-1")])
    assert errors == [
        (2, "practitioner: staff ID “S-1” is used in 2 organizations; give their email instead.")
    ]


def test_a_score_for_another_rubrics_item_is_refused(world):
    errors = errors_for([row_for(world.practitioner, world.coach, cct="3")])
    assert errors == [
        (2, "cct: not an item of MiiWrap fidelity tool v1; leave this cell empty for this rubric.")
    ]


def test_an_unknown_column_is_named_on_line_one(world):
    errors = errors_for([row_for(world.practitioner, world.coach, **{"ep-voise": "3"})])
    assert errors == [
        (
            1,
            "Column “ep-voise” is neither a known column nor an item code of any rubric "
            "version; fix its name or remove it.",
        )
    ]


def test_a_row_with_too_many_cells_is_named(world):
    data = csv_file([row_for(world.practitioner, world.coach)]).getvalue()
    data += csv_file([row_for(world.unassigned, world.coach)]).getvalue().splitlines()[1]
    data += b",extra,cells"
    result = imports.import_observations(io.BytesIO(data))
    columns = len(data.splitlines()[0].split(b","))
    assert result.errors == [
        (
            3,
            f"This row has {columns + 2} cells but the first line names {columns} columns; "
            "check for a stray separator.",
        )
    ]


def test_every_problem_of_every_bad_row_is_reported_and_nothing_saved(world):
    good = row_for(world.practitioner, world.coach)
    rows = [
        good,
        {**good, "date": "soon", "ep-voice": "9"},
        good,
        {**good, "coach": "x@example.org"},
    ]
    errors = errors_for(rows)
    assert errors == [
        (3, "date: “soon” is not a date written YYYY-MM-DD."),
        (3, "ep-voice: Choose a rating from 0 to 3."),
        (5, "coach: nobody has the email x@example.org; check it."),
    ]


def test_nothing_is_saved_when_the_bad_row_comes_after_a_full_batch(world, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    good = row_for(world.practitioner, world.coach)
    rows = [{**good, "date": f"2024-05-0{day}"} for day in range(1, 6)]
    rows.append({**good, "ep-voice": ""})
    errors = errors_for(rows)
    assert errors == [(7, "ep-voice: Score this item.")]


def test_line_numbers_count_lines_inside_quoted_cells(world):
    good = row_for(world.practitioner, world.coach)
    errors = errors_for([{**good, "strengths": "one\ntwo\nthree"}, {**good, "date": "x"}])
    assert errors == [(5, "date: “x” is not a date written YYYY-MM-DD.")]


# Files that are not CSV at all


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", (1, "The file is empty. The first line must name the columns.")),
        (b"  \r\n\r\n", (1, "The file is empty. The first line must name the columns.")),
        (b"\xef\xbb\xbf", (1, "The file is empty. The first line must name the columns.")),
        (
            "practitioner,coach\nJosé,Zoë\n".encode("latin-1"),
            (
                2,
                "The file is not UTF-8 text. Save it again as “CSV UTF-8” "
                "(in Excel: Save As, then CSV UTF-8).",
            ),
        ),
        (
            b"practitioner,coach,date\na,b,c\n",
            (
                1,
                "Missing columns: rubric, version, activity. The first line must name at "
                "least practitioner, coach, rubric, version, date, activity.",
            ),
        ),
        (
            b"practitioner,coach,rubric,version,date,activity,Date\n",
            (1, "Columns named twice: date; keep one of each."),
        ),
        (
            b"practitioner,coach,rubric,version,date,activity\n",
            (2, "The file names its columns but has no rows after them."),
        ),
        (
            b"practitioner,coach,rubric,version,date,activity\n\n\na," + b"x" * 200_000,
            (4, "This line cannot be read as CSV: field larger than field limit (131072)."),
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00",
            (
                1,
                "The file is not UTF-8 text. Save it again as "
                "“CSV UTF-8” (in Excel: Save As, then CSV UTF-8).",
            ),
        ),
    ],
)
def test_files_that_cannot_be_read_say_why(world, data, error):
    result = imports.import_observations(io.BytesIO(data))
    assert result.errors == [error]
    assert result.created == 0


# Scope


def test_an_importer_may_name_only_people_they_see(world):
    rows = [
        row_for(world.practitioner, world.coach),
        row_for(world.away_practitioner, world.outsider),
    ]
    errors = errors_for(rows, imported_by=world.org_admin.user)
    assert errors == [
        (
            3,
            f"practitioner: nobody in your organization has the email "
            f"{world.away_practitioner.email}; check it.",
        ),
        (3, f"coach: nobody in your organization has the email {world.outsider.email}; check it."),
    ]


def test_an_org_admin_imports_their_own_organization(world):
    result = run([row_for(world.practitioner, world.coach)], imported_by=world.org_admin.user)
    assert result.ok and result.created == 1


def test_a_purveyor_admin_imports_anywhere(world):
    rows = [
        row_for(world.practitioner, world.coach),
        row_for(world.away_practitioner, world.outsider),
    ]
    assert run(rows, imported_by=world.purveyor_admin.user).created == 2


# Large files


def test_progress_is_reported_every_few_hundred_rows_and_at_the_end(world, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    good = row_for(world.practitioner, world.coach)
    calls = []
    rows = [{**good, "date": f"2024-05-0{day}"} for day in range(1, 6)]
    run(rows, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def make_staff(org, count):
    people = Person.objects.bulk_create(
        Person(
            organization=org,
            first_name="Bulk",
            last_name=f"P{i}",
            staff_id=f"B-{i}",
            email=f"bulk{i}@example.org",
            hire_date="2020-01-06",
        )
        for i in range(count)
    )
    RoleGrant.objects.bulk_create(RoleGrant(person=p, role="practitioner") for p in people)
    return people


def test_queries_do_not_grow_with_the_rows(world):
    staff = make_staff(world.home, 300)
    good = row_for(world.practitioner, world.coach)

    def queries(count):
        rows = [
            {**good, "practitioner": f"B-{i}", "date": f"2024-0{1 + i % 9}-1{i % 10}"}
            for i in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            result = run(rows)
        assert result.ok and result.created == count, result.errors[:3]
        Observation.objects.all().delete()
        # Inserts come in batches the database sets (SQLite: a few dozen rows); reads must not.
        return len([q for q in captured if not q["sql"].startswith("INSERT")])

    assert queries(5) == queries(300)
    assert len(staff) == 300


def test_ten_thousand_rows_import_in_batches(world):
    """Ten thousand rows cost a few queries per batch, not one per row (the time is the
    benchmarks' to measure, not a test's on a shared machine)."""
    make_staff(world.home, 2000)
    good = row_for(world.practitioner, world.coach)
    rows = [
        {
            **good,
            "practitioner": f"bulk{i % 2000}@example.org",
            "date": f"202{1 + i % 3}-0{1 + i % 9}-{1 + i % 28:02}",
            "strengths": f"row {i}",
        }
        for i in range(10_000)
    ]
    data = csv_file(rows)
    with CaptureQueriesContext(connection) as captured:
        result = imports.import_observations(data)
    assert result.ok, result.errors[:3]
    assert result.created == 10_000
    assert len(captured) < 10_000 // 10  # 625 when written


# Two imports of the same file at once


def test_rows_another_import_saved_meanwhile_are_skipped_not_a_crash(world, monkeypatch):
    """The second import looked before the first committed: only the constraint sees it."""
    rows = [row_for(world.practitioner, world.coach), row_for(world.unassigned, world.coach)]
    assert run(rows[:1]).created == 1
    real, calls = imports.imported_keys, []

    def misses_first(batch):
        calls.append(batch)
        return set() if len(calls) == 1 else real(batch)

    monkeypatch.setattr(imports, "imported_keys", misses_first)
    result = run(rows)
    assert (result.ok, result.created, result.skipped) == (True, 1, 1)
    assert Observation.objects.count() == 2
    assert len(calls) == 2  # the insert failed on the saved row, which was then left out


def test_a_constraint_other_than_the_import_key_still_fails(world, monkeypatch):
    def clash(*args, **kwargs):
        raise IntegrityError("another constraint")

    monkeypatch.setattr(Observation.objects, "bulk_create", clash)
    with pytest.raises(IntegrityError):
        run([row_for(world.practitioner, world.coach)])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_save_each_row_once(
    shipped_rubrics, world, threads_close_connections
):
    require(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/DB to run it",
    )
    rows = [row_for(world.practitioner, world.coach), row_for(world.unassigned, world.coach)]
    inserted, results = threading.Event(), {}

    def hold(done, total):
        # The first import has inserted its rows; it commits once the second is under way.
        inserted.set()
        time.sleep(1)

    def first():
        try:
            results["first"] = run(rows, progress=hold)
        finally:
            close_old_connections()

    def second():
        inserted.wait(10)
        try:
            results["second"] = run(rows)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (results["first"].created, results["second"].created) == (2, 0)
    assert (results["second"].ok, results["second"].skipped) == (True, 2)
    assert Observation.objects.count() == 2

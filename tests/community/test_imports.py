"""Attendance from a CSV file: all rows or none, problems named by line, the same file
twice stores one record; on the admin's import page and from the command line."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from miiwrap.community.imports import import_attendance
from miiwrap.community.models import Attendance


def csv_file(text):
    return io.BytesIO(text.encode())


@pytest.fixture
def named(world, events):
    """Staff IDs for the people the files name; Pat's is also used at Elsewhere."""
    for person, staff_id in (
        (world.practitioner, "R-1"),
        (world.unassigned, "R-2"),
        (world.away_practitioner, "R-1"),
    ):
        person.staff_id = staff_id
        person.save()
    return events


def good_file(world, events):
    return (
        "title,date,person,organization,status\n"
        f"Spring learning community,2026-03-12,{world.practitioner.email},,attended\n"
        "Spring learning community,2026-03-12,R-2,Riverbend Family Services,absent\n"
        f"Spring learning community,2026-03-12,{world.away_practitioner.email.upper()},,\n"
    )


def statuses(event):
    return {row.person.first_name: row.status for row in event.attendances.select_related("person")}


def test_a_good_file_records_every_row(world, named):
    result = import_attendance(csv_file(good_file(world, named)))
    assert result.ok and (result.rows, result.created, result.skipped) == (3, 3, 0)
    assert statuses(named.past) == {"Pat": "attended", "Uma": "absent", "Ari": "attended"}


def test_the_same_file_twice_stores_one_record_each(world, named):
    import_attendance(csv_file(good_file(world, named)))
    again = import_attendance(csv_file(good_file(world, named)))
    assert (again.created, again.skipped) == (0, 3)
    assert Attendance.objects.filter(event=named.past).count() == 3
    pat = Attendance.objects.get(event=named.past, person=world.practitioner)
    assert pat.history.count() == 1


def test_a_later_file_with_another_status_changes_the_record(world, named):
    attend_file = f"event,person,status\n{named.past.pk},{world.practitioner.email},registered\n"
    import_attendance(csv_file(attend_file))
    result = import_attendance(csv_file(attend_file.replace("registered", "attended")))
    assert result.created == 1
    assert statuses(named.past) == {"Pat": "attended"}


def test_one_bad_row_saves_nothing_and_every_problem_names_its_line(world, named):
    text = (
        "event,person,status\n"
        f"{named.past.pk},{world.practitioner.email},attended\n"
        f"{named.past.pk},nobody@example.org,attended\n"
        f"999999,{world.unassigned.email},maybe\n"
        f"{named.past.pk},R-1,attended\n"
        f"{named.away_only.pk},{world.practitioner.email},attended\n"
    )
    result = import_attendance(csv_file(text))
    assert not result.ok
    assert result.errors == [
        (3, "person: nobody has the email nobody@example.org; check it."),
        (4, "event: no event you may see has the number “999999”."),
        (4, "status: “maybe” is not one of registered, attended, absent."),
        (
            5,
            "person: staff ID “R-1” is used in 2 organizations; give their organization, "
            "or their email.",
        ),
        (6, f"person: Riverbend Family Services is not invited to {named.away_only}."),
    ]
    assert Attendance.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "The file is empty"),
        ("title,person\nX,a@example.org\n", "Name the event"),
        ("event,date\n1,2026-01-01\n", "Missing column: person"),
        ("event,person,colour\n1,a@example.org,red\n", "Unknown columns: colour"),
        ("event,person\n", "has no rows"),
    ],
)
def test_a_file_that_cannot_be_read_says_why_on_its_line(world, named, text, problem):
    result = import_attendance(csv_file(text))
    assert len(result.errors) == 1
    assert problem in result.errors[0][1]


def test_a_title_with_a_bad_date_is_named(world, named):
    text = f"title,date,person\nSpring learning community,12/03/2026,{world.practitioner.email}\n"
    assert import_attendance(csv_file(text)).errors == [
        (2, "date: “12/03/2026” is not a date written YYYY-MM-DD.")
    ]


def test_a_control_character_is_refused_not_looked_up(world, named):
    text = f"event,person\n{named.past.pk},a\x01b@example.org\n"
    result = import_attendance(csv_file(text))
    assert result.errors == [(2, "person: holds a control character.")]


def test_a_dry_run_saves_nothing(world, named):
    result = import_attendance(csv_file(good_file(world, named)), dry_run=True)
    assert result.ok and result.created == 3
    assert Attendance.objects.count() == 0


def test_an_organization_admin_names_only_their_own_people(world, named):
    result = import_attendance(csv_file(good_file(world, named)), imported_by=world.org_admin.user)
    assert result.errors == [
        (
            4,
            f"person: you may not record {world.away_practitioner}'s attendance at {named.past}.",
        )
    ]
    assert Attendance.objects.count() == 0


def test_the_outsider_cannot_name_riverbends_event(world, named):
    text = f"event,person\n{named.home_only.pk},{world.away_practitioner.email}\n"
    result = import_attendance(csv_file(text), imported_by=world.outsider.user)
    assert result.errors == [
        (2, f"event: no event you may see has the number “{named.home_only.pk}”.")
    ]


def test_the_importer_is_recorded_and_named_in_the_history(world, named):
    import_attendance(csv_file(good_file(world, named)), imported_by=world.purveyor_admin.user)
    row = Attendance.objects.get(event=named.past, person=world.practitioner)
    assert row.recorded_by == world.purveyor_admin


# The admin's import page


IMPORT = "/admin/community/attendance/import/"


def upload(client, text, **data):
    return client.post(IMPORT, {"file": SimpleUploadedFile("a.csv", text.encode()), **data})


def test_the_purveyor_imports_on_the_admin_page(login, world, named):
    response = upload(login(world.purveyor_admin), good_file(world, named))
    assert response.status_code == 200
    assert "Recorded 3 of 3 rows" in response.content.decode()
    assert Attendance.objects.count() == 3


def test_the_page_lists_the_problems_by_line(login, world, named):
    text = f"event,person\n{named.past.pk},nobody@example.org\n"
    page = upload(login(world.purveyor_admin), text).content.decode()
    assert "1 problem found; nothing was imported" in page
    assert "<tr><td>2</td><td>person: nobody has the email nobody@example.org" in page


def test_an_organization_admin_reaches_the_import_page(login, world, named):
    assert login(world.org_admin).get(IMPORT).status_code == 200


@pytest.mark.parametrize("who", ["leader", "coach", "practitioner"])
def test_others_may_not_import(login, world, named, who):
    assert login(getattr(world, who)).get(IMPORT).status_code in {302, 403}


def test_the_example_file_downloads(login, world, named):
    response = login(world.purveyor_admin).get(IMPORT + "example.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().startswith("event,title,date,person,organization,status")


def test_the_events_list_links_to_the_import_for_admins(login, world, named):
    assert IMPORT in login(world.org_admin).get("/events/").content.decode()
    assert IMPORT not in login(world.leader).get("/events/").content.decode()


# The command


def test_the_command_imports_a_file(world, named, tmp_path, capsys):
    path = tmp_path / "attendance.csv"
    path.write_text(good_file(world, named))
    call_command("import_attendance", str(path))
    assert "Recorded 3 of 3 rows; 0 already said what is recorded." in capsys.readouterr().out
    call_command("import_attendance", str(path))
    assert "Recorded 0 of 3 rows; 3 already said what is recorded." in capsys.readouterr().out


def test_the_command_lists_problems_and_saves_nothing(world, named, tmp_path, capsys):
    path = tmp_path / "attendance.csv"
    path.write_text(f"event,person\n{named.past.pk},nobody@example.org\n")
    with pytest.raises(CommandError, match="1 problem found; nothing was imported"):
        call_command("import_attendance", str(path))
    assert "line 2: person: nobody has the email" in capsys.readouterr().err
    assert Attendance.objects.count() == 0

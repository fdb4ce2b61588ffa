"""The roster of a program: who opens it, what each row says, filters, CSV, queries."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from certification import dates
from certification.models import CertificationPeriod, Program
from miiwrap import generations
from miiwrap.people.models import Person, RoleGrant
from tests.certification.conftest import D, observe
from tests.factories import make_org, make_period, make_person

URL = reverse("certification:roster", args=["practitioner"])
OPENS = {"leader", "org_admin", "purveyor_admin", "outsider"}
PERSONAS = ["coach", "practitioner", "unassigned", "leader", "org_admin", "purveyor_admin"]


@pytest.fixture
def roster(world, certified_coach):
    """Pat in the window (expires 2026-08-31), Uma lapsed, the away practitioner certified."""
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 9, 1))
    make_period(world.unassigned, world.purveyor_admin, valid_from=D(2023, 1, 2))
    make_period(world.away_practitioner, world.outsider, valid_from=D(2026, 1, 5))
    return world


def rows(response):
    return {row.person_id: row.state for row in response.context["page"].object_list}


@pytest.mark.parametrize("persona", [*PERSONAS, "outsider", "away_practitioner"])
def test_leaders_and_admins_open_the_roster_and_others_get_404(roster, login, persona):
    response = login(getattr(roster, persona)).get(URL)
    assert response.status_code == (200 if persona in OPENS else 404)


def test_anonymous_is_sent_to_sign_in(client, roster):
    assert client.get(URL)["Location"] == f"{reverse('login')}?next={URL}"


def test_an_unknown_program_is_404(roster, login):
    assert login(roster.leader).get("/certification/nothing-here/").status_code == 404


def test_a_leader_sees_everyone_at_home_with_their_state(roster, login):
    found = rows(login(roster.leader).get(URL))
    assert found == {
        roster.coach.pk: "certified",
        roster.practitioner.pk: "window_open",
        roster.unassigned.pk: "lapsed",
    }


def test_the_outsider_sees_only_their_own_organization(roster, login):
    assert rows(login(roster.outsider).get(URL)) == {roster.away_practitioner.pk: "certified"}


def test_the_purveyor_sees_every_organization(roster, login):
    assert set(rows(login(roster.purveyor_admin).get(URL))) == {
        roster.coach.pk,
        roster.practitioner.pk,
        roster.unassigned.pk,
        roster.away_practitioner.pk,
    }


def test_each_row_shows_the_one_date_that_matters(roster, login):
    content = login(roster.leader).get(URL).content.decode()
    assert "Window open until 2026-08-31" in content
    assert "Lapsed since 2025-02-01" in content
    assert "Expires 2027-01-01" in content  # Cora's practitioner period from 2025-01-02


def test_someone_observed_but_never_certified_is_in_progress(roster, login):
    newcomer = make_person(roster.home, "practitioner", team=roster.team_a)
    observe(roster.coach, newcomer, D(2026, 6, 1))
    silent = make_person(roster.home, "practitioner")
    found = rows(login(roster.leader).get(URL))
    assert (found[newcomer.pk], found[silent.pk]) == ("in_progress", "not_certified")


def test_people_who_left_are_not_on_the_roster(roster, login):
    Person.objects.filter(pk=roster.unassigned.pk).update(leave_date=D(2026, 1, 1))
    assert roster.unassigned.pk not in rows(login(roster.leader).get(URL))


def test_the_counts_by_state_cover_the_whole_roster(roster, login):
    counts = login(roster.leader).get(URL + "?state=lapsed").context["counts"]
    assert {state: n for state, _, n in counts if n} == {
        "certified": 1,
        "window_open": 1,
        "lapsed": 1,
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ("state=window_open", {"practitioner"}),
        ("state=lapsed", {"unassigned"}),
        ("expires=2026-08", {"practitioner"}),
        ("expires=2026-12", set()),
        ("expires=2027-01", {"coach"}),
        ("q=Uma", {"unassigned"}),
    ],
)
def test_filters_narrow_the_roster(roster, login, query, expected):
    found = rows(login(roster.leader).get(f"{URL}?{query}"))
    assert found.keys() == {getattr(roster, name).pk for name in expected}


@pytest.mark.parametrize("bad", ["2026-13", "August", "2026-8-1"])
def test_a_bad_month_says_what_to_write_and_keeps_the_list(roster, login, bad):
    response = login(roster.leader).get(f"{URL}?expires={bad}")
    assert response.status_code == 200
    assert response.context["filter"].errors["expires"] == [
        f"“{bad}” is not a month such as 2027-05."
    ]
    assert len(rows(response)) == 3


def test_an_unknown_state_is_a_form_error_not_a_crash(roster, login):
    response = login(roster.leader).get(f"{URL}?state=dreaming")
    assert response.status_code == 200
    assert "state" in response.context["filter"].errors


def test_a_renewal_decided_ahead_shows_the_new_expiry(roster, login):
    make_period(
        roster.practitioner,
        roster.coach,
        valid_from=D(2026, 9, 1),
        decided_on=D(2026, 6, 20),
        is_renewal=True,
    )
    response = login(roster.leader).get(f"{URL}?expires=2028-08")
    assert rows(response) == {roster.practitioner.pk: "certified"}
    assert "Expires 2028-08-31" in response.content.decode()


def test_the_csv_has_every_filtered_row(roster, login):
    response = login(roster.leader).get(f"{URL}?state=window_open&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="practitioner-roster-' in response["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines == [
        {
            "name": roster.practitioner.full_name,
            "email": roster.practitioner.email,
            "staff id": "",
            "organization": "Riverbend Family Services",
            "team": "North",
            "program": "MiiWrap Practitioner",
            "state": "Window open",
            "next": "Window open until",
            "next date": "2026-08-31",
            "valid from": "2024-09-01",
            "valid until": "2026-08-31",
            "window opens": "2026-06-02",
            "grace ends": "2026-09-30",
        }
    ]


def test_csv_cells_a_spreadsheet_would_run_are_escaped(roster, login):
    Person.objects.filter(pk=roster.practitioner.pk).update(first_name="=HYPERLINK(1)")
    response = login(roster.leader).get(f"{URL}?state=window_open&format=csv")
    assert b"'=HYPERLINK(1)" in b"".join(response.streaming_content)


def test_the_roster_takes_the_same_queries_for_ten_people_and_a_thousand(roster, login):
    program = Program.objects.get(code="practitioner")
    client = login(roster.leader)

    def count_queries():
        # Computed afresh: the page is otherwise kept (and these rows are made in bulk).
        with generations.uncached(), CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    add_people(roster, program, 10)
    few = count_queries()
    add_people(roster, program, 990)
    assert count_queries() == few


def test_a_roster_read_again_is_served_as_kept(roster, login):
    client = login(roster.leader)
    first = client.get(URL)
    with CaptureQueriesContext(connection) as captured:
        again = client.get(URL)
    assert again.context["body"] == first.context["body"]
    # The sign-in (3), the program, the organizations and their zones, the unread count.
    assert len(captured) == 6


def add_people(world, program, count):
    people = Person.objects.bulk_create(
        Person(
            organization=world.home, first_name="Bulk", last_name=f"{n:04}", hire_date=D(2020, 1, 6)
        )
        for n in range(count)
    )
    RoleGrant.objects.bulk_create(RoleGrant(person=p, role="practitioner") for p in people)
    dated = dates.period_from(program.rules(), D(2025, 3, 3))
    CertificationPeriod.objects.bulk_create(
        CertificationPeriod(
            person=p,
            program=program,
            decided_by=world.purveyor_admin,
            decided_on=D(2025, 3, 3),
            valid_from=dated.valid_from,
            valid_until=dated.valid_until,
            window_opens=dated.window_opens,
            grace_ends=dated.grace_ends,
            override_reason="Bulk.",
        )
        for p in people
    )


def test_program_tabs_link_every_roster(roster, login):
    content = login(roster.leader).get(URL).content.decode()
    for code in ("practitioner", "coach", "trainer"):
        assert f'href="/certification/{code}/"' in content


def test_each_row_reads_today_in_its_own_organizations_zone(world, login, time_machine):
    # 04:30 UTC on 2026-09-01: 1 September in New York, still 31 August in Honolulu.
    time_machine.move_to(dt.datetime(2026, 9, 1, 4, 30, tzinfo=ZoneInfo("UTC")), tick=False)
    islands = make_org("Windward Youth Services", time_zone="Pacific/Honolulu")
    islander = make_person(islands, "practitioner")
    for person in (world.practitioner, islander):
        make_period(person, world.purveyor_admin, valid_from=D(2024, 9, 1))
    found = rows(login(world.purveyor_admin).get(URL))
    assert (found[world.practitioner.pk], found[islander.pk]) == ("grace", "window_open")

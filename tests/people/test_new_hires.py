"""New hires' learning paths read from the records: a small world, the list page and the
person page for every persona, and their queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from certification.models import Program
from coaching.models import CoachingPlan
from miiwrap.community.models import Event
from miiwrap.dashboards import capacity
from miiwrap.dashboards import learning_path as read_path
from tests.community.conftest import attend, make_event
from tests.dashboards.conftest import NOW, TODAY
from tests.factories import (
    make_assignment,
    make_observation,
    make_org,
    make_period,
    make_person,
)

pytestmark = pytest.mark.usefixtures("shipped_programs")

D = dt.date
URL = "/people/new-hires/"


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


@pytest.fixture
def hires(world, frozen):
    """Nia, hired 2026-05-01 (60 days before today, 2026-06-30), coached by Cora: trained
    2026-05-05, observed 2026-05-20, a plan from 2026-06-01, no certification past the
    45-day deadline (2026-06-15), no learning community event yet (due 2026-07-30).
    Ned, hired 2026-06-20, on the South team with no coach and nothing yet. Eli, hired
    2026-06-01 at Elsewhere."""
    Program.objects.filter(code="practitioner").update(deadline_days_after_hire=45)
    home = world.home
    nia = make_person(
        home, "practitioner", team=world.team_a, first_name="Nia", hire_date=D(2026, 5, 1)
    )
    make_assignment(world.coach, nia, starts_on=D(2026, 5, 1))
    training = make_event(
        home, title="Foundations", held_on=D(2026, 5, 5), kind=Event.Kind.TRAINING
    )
    attend(training, nia)
    world.observation = make_observation(world.coach, nia, observed_on=D(2026, 5, 20))
    world.plan = CoachingPlan.objects.create(
        practitioner=nia, organization=home, started_on=D(2026, 6, 1)
    )
    world.training = training
    world.nia = nia
    world.ned = make_person(
        home, "practitioner", team=world.team_b, first_name="Ned", hire_date=D(2026, 6, 20)
    )
    world.eli = make_person(
        world.away, "practitioner", team=world.away_team, first_name="Eli", hire_date=D(2026, 6, 1)
    )
    return world


def states(checklist):
    return {p.step.key: p.state.value for p in checklist.steps}


def test_a_trained_observed_and_planned_new_hire_past_45_days_is_overdue_on_certification(hires):
    groups, deadline = read_path.new_hires([hires.home], TODAY)
    ((_org, rows),) = groups
    by_name = {row.hire.person.name.split()[0]: row.checklist for row in rows}
    assert deadline == 45 and set(by_name) == {"Nia", "Ned"}
    nia = by_name["Nia"]
    assert states(nia) == {
        "training": "done",
        "observation": "done",
        "plan": "done",
        "certification": "overdue",
        "community": "due",
    }
    links = [p.evidence.url for p in nia.steps if p.evidence]
    assert links == [
        reverse("community:event", args=[hires.training.pk]),
        reverse("observations:detail", args=[hires.observation.pk]),
        reverse("coaching:plan", args=[hires.plan.pk]),
    ]
    assert set(states(by_name["Ned"]).values()) == {"due"}


def test_a_learning_community_event_and_a_certification_complete_the_path(hires):
    event = make_event(hires.home, title="Spring gathering", held_on=D(2026, 6, 10))
    attend(event, hires.nia)
    period = make_period(hires.nia, hires.coach, valid_from=D(2026, 6, 20))
    checklist = read_path.read([(hires.nia.pk, hires.nia.hire_date)], TODAY, 45)[hires.nia.pk]
    assert set(states(checklist).values()) == {"done"}
    certification = checklist.steps[3]
    assert certification.done_late and certification.evidence.url.endswith(
        f"/periods/{period.pk}/certificate/"
    )


def test_a_certified_new_hire_leaves_the_list_as_capacity_counts(hires):
    make_period(hires.nia, hires.coach, valid_from=D(2026, 6, 20))
    groups, _ = read_path.new_hires([hires.home], TODAY)
    ((_, rows),) = groups
    assert [row.hire.person.id for row in rows] == [hires.ned.pk]


def test_the_new_hires_are_those_of_the_capacity_section(hires):
    found, deadline = capacity.new_hires([hires.home, hires.away], TODAY)
    section = capacity.read([hires.home, hires.away], TODAY)
    for org in (hires.home, hires.away):
        assert found[org.pk] == section[org.pk].new_hires
    assert deadline == section[hires.home.pk].deadline_days


def test_an_attendance_only_registered_or_absent_does_not_count(hires):
    event = make_event(hires.home, title="Missed", held_on=D(2026, 6, 22), kind=Event.Kind.TRAINING)
    attend(event, hires.ned, status="absent")
    checklist = read_path.read([(hires.ned.pk, hires.ned.hire_date)], TODAY, 45)[hires.ned.pk]
    assert states(checklist)["training"] == "due"


# The list page


def names_on(response):
    return {
        row.hire.person.name.split()[0] for _, rows in response.context["groups"] for row in rows
    }


@pytest.mark.parametrize("persona", ["leader", "org_admin"])
def test_leaders_and_admins_see_their_organizations_new_hires(hires, login, persona):
    response = login(getattr(hires, persona)).get(URL)
    assert response.status_code == 200
    assert names_on(response) == {"Nia", "Ned"}
    assert b'data-state="overdue"' in response.content
    assert reverse("coaching:plan", args=[hires.plan.pk]).encode() in response.content


def test_the_purveyor_sees_every_organizations_new_hires_grouped(hires, login):
    response = login(hires.purveyor_admin).get(URL)
    assert names_on(response) == {"Nia", "Ned", "Eli"}
    assert response.context["grouped"]
    assert f'data-organization="{hires.away.pk}"'.encode() in response.content


def test_a_coach_sees_the_new_hires_they_coach_only(hires, login):
    assert names_on(login(hires.coach).get(URL)) == {"Nia"}


def test_an_outsider_sees_only_their_own_organizations_new_hires(hires, login):
    response = login(hires.outsider).get(URL)
    assert names_on(response) == {"Eli"}
    assert b"Nia" not in response.content


@pytest.mark.parametrize("persona", ["practitioner", "nia"])
def test_a_practitioner_gets_404(hires, login, persona):
    assert login(getattr(hires, persona)).get(URL).status_code == 404


def test_signed_out_the_list_asks_for_a_sign_in(hires, client):
    assert client.get(URL).status_code == 302


def count_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_list_reads_the_same_number_of_queries_for_more_new_hires_and_organizations(
    hires, login
):
    client = login(hires.purveyor_admin)
    few = count_queries(client)
    for n in range(4):
        person = make_person(
            hires.home, "practitioner", team=hires.team_a, hire_date=D(2026, 6, 1 + n)
        )
        attend(hires.training, person)
        make_observation(hires.coach, person, observed_on=D(2026, 6, 10 + n))
        CoachingPlan.objects.create(
            practitioner=person, organization=hires.home, started_on=D(2026, 6, 12)
        )
    third = make_org("Lakeside Youth")
    make_person(third, "practitioner", first_name="Lia", hire_date=D(2026, 6, 2))
    assert len(names_on(client.get(URL))) == 8
    assert count_queries(client) == few


# The person page


def test_a_new_hire_reads_their_own_learning_path(hires, login):
    response = login(hires.nia).get(reverse("people:detail", args=[hires.nia.pk]))
    assert states(response.context["learning_path"])["certification"] == "overdue"
    assert b'id="learning-path"' in response.content
    assert b"3 of 5 done" in response.content


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "purveyor_admin"])
def test_whoever_sees_the_new_hire_sees_their_path_with_its_links(hires, login, persona):
    response = login(getattr(hires, persona)).get(reverse("people:detail", args=[hires.nia.pk]))
    assert response.status_code == 200
    assert reverse("observations:detail", args=[hires.observation.pk]).encode() in response.content


def test_an_outsider_gets_404_on_the_new_hires_page(hires, login):
    assert (
        login(hires.outsider).get(reverse("people:detail", args=[hires.nia.pk])).status_code == 404
    )


def test_someone_hired_years_ago_has_no_learning_path_on_their_page(hires, login):
    response = login(hires.leader).get(reverse("people:detail", args=[hires.practitioner.pk]))
    assert response.context["learning_path"] is None
    assert b'id="learning-path"' not in response.content


def test_a_coach_hired_recently_is_not_a_new_hire_on_the_path(hires, login):
    coach = make_person(
        hires.home, "coach", "practitioner", team=hires.team_a, hire_date=D(2026, 6, 1)
    )
    response = login(hires.leader).get(reverse("people:detail", args=[coach.pk]))
    assert response.context["learning_path"] is None


def test_the_leader_dashboards_capacity_section_links_to_the_learning_paths(hires, login):
    page = login(hires.leader).get(reverse("dashboards:leader")).content.decode()
    assert f'href="{URL}"' in page


def count_page_queries(client, person):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("people:detail", args=[person.pk]))
    assert response.context["learning_path"] is not None
    return len(queries)


def test_the_person_page_reads_the_path_in_the_same_queries_for_more_evidence(hires, login):
    client = login(hires.leader)
    few = count_page_queries(client, hires.nia)
    for n in range(3):
        event = make_event(hires.home, title=f"More {n}", held_on=D(2026, 6, 2 + n))
        attend(event, hires.nia)
        make_observation(hires.coach, hires.nia, observed_on=D(2026, 6, 5 + n))
    assert count_page_queries(client, hires.nia) == few


@pytest.mark.parametrize("persona", ["coach", "leader", "purveyor_admin"])
def test_the_directory_links_to_the_new_hires(hires, login, persona):
    page = login(getattr(hires, persona)).get(reverse("people:directory")).content.decode()
    assert f'href="{URL}"' in page

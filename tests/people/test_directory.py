"""The people directory: who may open it, search, filters, pages and query count."""

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching.models import CoachAssignment
from miiwrap.people.models import Person, RoleGrant
from tests.factories import make_person

URL = reverse("people:directory")
_batch = itertools.count(1)


def names(response):
    return {person.full_name for person in response.context["page"].object_list}


def add_people(org, count, team=None, role="practitioner", **fields):
    """Make `count` people with one role each in two queries, however many there are."""
    batch = next(_batch)
    people = Person.objects.bulk_create(
        Person(
            organization=org,
            team=team,
            first_name=f"Bulk{batch}",
            last_name=f"Person{i:04}",
            email=f"bulk{batch}-{i}@example.org",
            hire_date=dt.date(2021, 3, 1),
            **fields,
        )
        for i in range(count)
    )
    RoleGrant.objects.bulk_create(RoleGrant(person=p, role=role) for p in people)
    return people


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "purveyor_admin", "outsider"])
def test_coaches_leaders_and_admins_can_open_the_directory(world, login, persona):
    response = login(getattr(world, persona)).get(URL)
    assert response.status_code == 200
    assert b'<h1 class="h3 mb-0">People</h1>' in response.content


@pytest.mark.parametrize("persona", ["practitioner", "unassigned", "away_practitioner"])
def test_practitioner_gets_404(world, login, persona):
    assert login(getattr(world, persona)).get(URL).status_code == 404


def test_anonymous_is_redirected_to_login(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={URL}"


def test_a_leader_who_left_gets_404(world, login):
    Person.objects.filter(pk=world.leader.pk).update(leave_date=dt.date(2024, 1, 1))
    assert login(world.leader).get(URL).status_code == 404


def test_coach_sees_self_and_caseload_only(world, login):
    response = login(world.coach).get(URL)
    assert names(response) == {world.coach.full_name, world.practitioner.full_name}
    assert world.unassigned.full_name.encode() not in response.content


def test_leader_sees_the_whole_organization_and_nobody_else(world, login):
    response = login(world.leader).get(URL)
    home = Person.objects.filter(organization=world.home)
    assert names(response) == {p.full_name for p in home}
    assert world.outsider.full_name.encode() not in response.content


def test_purveyor_sees_every_organization(world, login):
    response = login(world.purveyor_admin).get(URL)
    assert names(response) == {p.full_name for p in Person.objects.all()}
    assert b"Elsewhere County" in response.content


def test_rows_show_roles_team_and_link_to_the_person(world, login):
    response = login(world.leader).get(URL)
    assert response.context["page"].paginator.count == 5
    content = response.content.decode()
    # A leader opens a coach's dashboard, anyone else's page.
    assert f'href="{reverse("dashboards:coach", args=[world.coach.pk])}"' in content
    assert f'href="{world.org_admin.get_absolute_url()}"' in content
    assert ">Coach</span>" in content
    assert ">Supervisor / leader</span>" in content
    assert "South" in content


@pytest.mark.parametrize("text", ["Uma", "uma", "LASTLY", "uma lastly", "astl"])
def test_search_by_name_in_any_case_and_part(world, login, text):
    world.unassigned.last_name = "Lastly"
    world.unassigned.save()
    response = login(world.leader).get(URL, {"q": text})
    assert names(response) == {world.unassigned.full_name}


def test_every_word_of_a_search_must_match(world, login):
    response = login(world.leader).get(URL, {"q": "Uma Pat"})
    assert names(response) == set()


def test_search_by_email(world, login):
    response = login(world.leader).get(URL, {"q": world.practitioner.email.upper()})
    assert names(response) == {world.practitioner.full_name}


def test_search_by_exact_staff_id(world, login):
    make_person(world.home, "practitioner", first_name="Sam", staff_id="RB-0042")
    make_person(world.home, "practitioner", first_name="Sid", staff_id="RB-00421")
    response = login(world.leader).get(URL, {"q": "rb-0042"})
    assert {n.split()[0] for n in names(response)} == {"Sam"}


def test_search_never_reaches_outside_what_the_viewer_sees(world, login):
    response = login(world.coach).get(URL, {"q": world.unassigned.first_name})
    assert names(response) == set()
    assert b"Nobody matches these filters." in response.content


def test_filter_by_team(world, login):
    response = login(world.leader).get(URL, {"team": world.team_b.pk})
    assert names(response) == {world.unassigned.full_name}


def test_filter_by_role(world, login):
    response = login(world.leader).get(URL, {"role": "practitioner"})
    expected = {world.coach, world.practitioner, world.unassigned}
    assert names(response) == {p.full_name for p in expected}


def test_people_who_left_are_hidden_by_default_and_shown_by_status(world, login):
    Person.objects.filter(pk=world.unassigned.pk).update(leave_date=dt.date(2024, 5, 1))
    client = login(world.leader)
    assert world.unassigned.full_name not in names(client.get(URL))
    assert names(client.get(URL, {"status": "left"})) == {world.unassigned.full_name}
    everyone = names(client.get(URL, {"status": "all"}))
    assert world.unassigned.full_name in everyone
    assert len(everyone) == 5


def test_a_bad_status_is_reported_and_the_list_keeps_hiding_people_who_left(world, login):
    Person.objects.filter(pk=world.unassigned.pk).update(leave_date=dt.date(2024, 5, 1))
    response = login(world.leader).get(URL, {"status": "sideways"})
    assert "status" in response.context["filter"].form.errors
    assert world.unassigned.full_name not in names(response)
    assert world.practitioner.full_name in names(response)


def test_left_badge_is_shown_for_people_who_left(world, login):
    Person.objects.filter(pk=world.unassigned.pk).update(leave_date=dt.date(2024, 5, 1))
    response = login(world.leader).get(URL, {"status": "left"})
    assert b"left 2024-05-01" in response.content


def test_purveyor_filters_by_organization(world, login):
    response = login(world.purveyor_admin).get(URL, {"organization": world.away.pk})
    assert names(response) == {world.outsider.full_name, world.away_practitioner.full_name}


def test_organization_filter_is_offered_to_purveyor(world, login):
    response = login(world.purveyor_admin).get(URL)
    assert "organization" in response.context["filter"].form.fields
    assert b'name="organization"' in response.content


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin"])
def test_organization_filter_is_not_offered_to_others(world, login, persona):
    response = login(getattr(world, persona)).get(URL)
    assert "organization" not in response.context["filter"].form.fields
    assert b'name="organization"' not in response.content
    assert b"Elsewhere County" not in response.content


def test_leader_cannot_reach_another_organization_through_the_organization_parameter(world, login):
    response = login(world.leader).get(URL, {"organization": world.away.pk})
    assert world.outsider.full_name not in names(response)


def test_team_choices_are_only_teams_the_viewer_sees(world, login):
    response = login(world.coach).get(URL)
    choices = set(response.context["filter"].form.fields["team"].queryset)
    assert choices == {world.team_a}
    assert b"South" not in response.content


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("team", "not-a-number"),
        ("team", "999999"),
        ("role", "wizard"),
        ("status", "sideways"),
    ],
)
def test_a_bad_filter_value_shows_a_form_error_not_a_500(world, login, param, value):
    response = login(world.leader).get(URL, {param: value})
    assert response.status_code == 200
    assert param in response.context["filter"].form.errors
    assert b'class="text-danger small"' in response.content


def test_a_nul_in_the_search_is_refused_before_the_page(world, login):
    response = login(world.leader).get(URL, {"q": "nul\x00byte"})
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_another_organizations_team_is_a_form_error(world, login):
    response = login(world.leader).get(URL, {"team": world.away_team.pk})
    assert "team" in response.context["filter"].form.errors
    assert world.outsider.full_name not in names(response)


@pytest.mark.parametrize("page", ["0", "abc", "9999"])
def test_a_bad_page_number_shows_a_page_not_an_error(world, login, page):
    response = login(world.leader).get(URL, {"page": page})
    assert response.status_code == 200
    assert len(names(response)) == 5


def test_directory_shows_50_people_a_page(world, login):
    add_people(world.home, 60, team=world.team_a)
    client = login(world.leader)
    first = client.get(URL)
    assert len(first.context["page"].object_list) == 50
    assert b"Page 1 of 2" in first.content
    second = client.get(URL, {"page": 2})
    assert len(second.context["page"].object_list) == 15
    assert names(first).isdisjoint(names(second))


def test_page_links_keep_the_filters(world, login):
    add_people(world.home, 55, team=world.team_b)
    response = login(world.leader).get(URL, {"team": world.team_b.pk, "page": 1})
    assert response.context["page"].paginator.count == 56
    assert f'href="?team={world.team_b.pk}&amp;page=2"'.encode() in response.content


def assign_all(coach, people):
    CoachAssignment.objects.bulk_create(
        CoachAssignment(coach=coach, practitioner=p, starts_on=dt.date(2022, 1, 1)) for p in people
    )


@pytest.mark.parametrize("persona", ["leader", "purveyor_admin", "coach"])
def test_query_count_does_not_grow_with_the_number_of_people(world, login, persona):
    viewer = getattr(world, persona)
    client = login(viewer)

    def people_added(count):
        people = add_people(world.home, count, team=world.team_a)
        if persona == "coach":
            assign_all(viewer, people)

    people_added(10)
    with CaptureQueriesContext(connection) as few:
        assert len(names(client.get(URL))) > 10
    people_added(1000)
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
    assert response.context["page"].paginator.count > 1000
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_purveyor_picks_an_organization_before_its_teams(world, login):
    client = login(world.purveyor_admin)
    assert not client.get(URL).context["filter"].form.fields["team"].queryset.exists()
    response = client.get(URL, {"organization": world.home.pk})
    choices = set(response.context["filter"].form.fields["team"].queryset)
    assert choices == {world.team_a, world.team_b}


@pytest.mark.parametrize("organization", ["99999999999999999999", "٣", "-1"])
def test_an_odd_organization_leaves_no_team_to_pick_and_no_error_page(world, login, organization):
    response = login(world.purveyor_admin).get(URL, {"organization": organization})
    assert response.status_code == 200
    assert not response.context["filter"].form.fields["team"].queryset.exists()

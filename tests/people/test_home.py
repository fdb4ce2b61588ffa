"""The home page sends each person where their role starts."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from miiwrap.people.models import Person
from tests.factories import make_person

DIRECTORY = reverse("people:directory")
LEADER = reverse("dashboards:leader")


@pytest.mark.parametrize("persona", ["leader", "org_admin", "purveyor_admin", "outsider"])
def test_leaders_and_admins_go_to_the_leader_dashboard(world, login, persona):
    response = login(getattr(world, persona)).get("/")
    assert response.status_code == 302
    assert response.url == LEADER


def test_coaches_go_to_their_caseload(world, login):
    response = login(world.coach).get("/")
    assert response.status_code == 302
    assert response.url == reverse("dashboards:coach")


@pytest.mark.parametrize("persona", ["practitioner", "unassigned", "away_practitioner"])
def test_practitioners_go_to_where_they_stand(world, login, persona):
    response = login(getattr(world, persona)).get("/")
    assert response.status_code == 302
    assert response.url == reverse("dashboards:practitioner")


def test_a_person_with_no_role_goes_to_their_own_page(world, login):
    person = make_person(world.home)
    response = login(person).get("/")
    assert response.url == person.get_absolute_url()


def test_a_superuser_without_a_person_goes_to_the_leader_dashboard(client, world):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.org", "pw"))
    assert client.get("/").url == LEADER


def test_a_user_without_a_person_sees_the_not_linked_page(client, world):
    client.force_login(get_user_model().objects.create_user("loose", "l@example.org", "pw"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"Your login is not linked to anyone yet" in response.content
    assert b"My page" not in response.content
    assert f'href="{DIRECTORY}"'.encode() not in response.content


def test_a_person_who_left_sees_the_not_linked_page(world, login):
    Person.objects.filter(pk=world.leader.pk).update(leave_date=dt.date(2024, 1, 1))
    response = login(world.leader).get("/")
    assert response.status_code == 200
    assert b"Your login is not linked to anyone yet" in response.content


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_navigation_follows_the_role(world, login):
    leader_page = login(world.org_admin).get(DIRECTORY).content.decode()
    assert f'href="{DIRECTORY}">People</a>' in leader_page
    assert f'href="{world.org_admin.get_absolute_url()}">My page</a>' in leader_page
    assert 'href="/admin/">Admin</a>' in leader_page

    assert ">Dashboard</a>" in leader_page
    assert ">Caseload</a>" not in leader_page

    practitioner_page = login(world.practitioner).get(world.practitioner.get_absolute_url())
    content = practitioner_page.content.decode()
    assert ">People</a>" not in content
    assert ">Admin</a>" not in content
    assert ">Dashboard</a>" not in content
    assert ">My page</a>" in content
    assert ">Where I stand</a>" in content


def test_a_coach_is_not_offered_the_admin(world, login):
    assert b">Admin</a>" not in login(world.coach).get(DIRECTORY).content

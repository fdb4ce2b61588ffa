"""Every dashboard for every role: who sees it, and the outsider's 404."""

import pytest
from django.urls import reverse

LEADER = reverse("dashboards:leader")
OWN_COACH = reverse("dashboards:coach")
OWN_VIEW = reverse("dashboards:practitioner")


def coach_of(world):
    return reverse("dashboards:coach", args=[world.coach.pk])


def view_of(person):
    return reverse("dashboards:practitioner", args=[person.pk])


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("leader", 200),
        ("org_admin", 200),
        ("purveyor_admin", 200),
        ("outsider", 200),  # their own organization's
        ("coach", 404),
        ("practitioner", 404),
        ("unassigned", 404),
    ],
)
def test_the_leader_dashboard_is_for_leaders_and_admins(world, login, persona, status):
    assert login(getattr(world, persona)).get(LEADER).status_code == status


def test_the_outsider_leads_only_their_own_organization(world, login):
    client = login(world.outsider)
    page = client.get(LEADER, {"organization": world.home.pk}).content.decode()
    assert "Elsewhere County" in page
    assert "Riverbend" not in page
    response = client.get(LEADER, {"team": world.team_a.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("coach", 200),
        ("outsider", 200),  # they coach at Elsewhere
        ("leader", 404),
        ("org_admin", 404),
        ("purveyor_admin", 404),
        ("practitioner", 404),
    ],
)
def test_ones_own_coach_dashboard_is_for_coaches(world, login, persona, status):
    assert login(getattr(world, persona)).get(OWN_COACH).status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("coach", 200),  # their own
        ("leader", 200),
        ("org_admin", 200),
        ("purveyor_admin", 200),
        ("practitioner", 404),
        ("unassigned", 404),
        ("outsider", 404),
    ],
)
def test_a_coachs_dashboard_opens_to_them_and_those_above(world, login, persona, status):
    assert login(getattr(world, persona)).get(coach_of(world)).status_code == status


def test_a_coach_cannot_open_another_coachs_dashboard(world, login):
    from tests.factories import make_person

    other = make_person(world.home, "coach", team=world.team_b)
    assert login(world.coach).get(reverse("dashboards:coach", args=[other.pk])).status_code == 404


def test_a_leader_cannot_open_a_coach_dashboard_for_someone_who_does_not_coach(world, login):
    url = reverse("dashboards:coach", args=[world.unassigned.pk])
    assert login(world.leader).get(url).status_code == 404


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("practitioner", 200),
        ("coach", 200),  # they are also a practitioner
        ("unassigned", 200),
        ("leader", 404),
        ("org_admin", 404),
        ("purveyor_admin", 404),
    ],
)
def test_ones_own_view_is_for_practitioners(world, login, persona, status):
    assert login(getattr(world, persona)).get(OWN_VIEW).status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("practitioner", 200),  # their own
        ("coach", 200),  # their coach
        ("leader", 200),
        ("org_admin", 200),
        ("purveyor_admin", 200),
        ("unassigned", 404),  # another practitioner
        ("outsider", 404),
    ],
)
def test_a_practitioners_view_opens_to_them_their_coach_and_those_above(
    world, login, persona, status
):
    assert login(getattr(world, persona)).get(view_of(world.practitioner)).status_code == status


def test_a_coach_cannot_open_the_view_of_someone_they_do_not_coach(world, login):
    assert login(world.coach).get(view_of(world.unassigned)).status_code == 404


def test_the_outsider_gets_404_for_home_peoples_dashboards(world, login):
    client = login(world.outsider)
    for url in (coach_of(world), view_of(world.practitioner), view_of(world.coach)):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", [LEADER, OWN_COACH, OWN_VIEW])
def test_anonymous_is_sent_to_sign_in(client, world, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))

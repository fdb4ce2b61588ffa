"""Coach assignments in the admin: scoped for organization admins, validated for everyone."""

import datetime as dt

import pytest
from django.urls import reverse

from coaching.models import CoachAssignment
from tests.factories import make_assignment, make_person

CHANGELIST = reverse("admin:coaching_coachassignment_changelist")
ADD = reverse("admin:coaching_coachassignment_add")
OVERLAP = "This coach is already assigned to this practitioner for part of these dates."


def rows(response):
    return set(response.context["cl"].result_list)


def change_url(assignment):
    return reverse("admin:coaching_coachassignment_change", args=[assignment.pk])


def assignment_fields(coach, practitioner, starts_on="2025-01-06", ends_on=""):
    return {
        "coach": coach.pk,
        "practitioner": practitioner.pk,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }


def form_errors(response):
    assert response.status_code == 200
    form = response.context["adminform"].form
    return {field: list(errors) for field, errors in form.errors.items()}


@pytest.fixture
def home_assignment(world):
    return CoachAssignment.objects.get(practitioner=world.practitioner)


@pytest.fixture
def away_assignment(world):
    return CoachAssignment.objects.get(practitioner=world.away_practitioner)


def test_org_admin_sees_only_their_organizations_assignments(world, login, home_assignment):
    response = login(world.org_admin).get(CHANGELIST)
    assert rows(response) == {home_assignment}
    assert world.outsider.full_name.encode() not in response.content
    assert b"Elsewhere County" not in response.content


def test_purveyor_admin_sees_every_assignment(world, login):
    response = login(world.purveyor_admin).get(CHANGELIST)
    assert rows(response) == set(CoachAssignment.objects.all())


def test_org_admin_gets_another_organizations_assignment_as_not_found(
    world, login, away_assignment
):
    response = login(world.org_admin).get(change_url(away_assignment))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


@pytest.mark.parametrize("persona", ["coach", "leader", "practitioner"])
def test_other_roles_are_redirected_to_admin_login(world, login, persona):
    response = login(getattr(world, persona)).get(CHANGELIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_org_admin_adds_an_assignment_at_home(world, login):
    data = assignment_fields(world.coach, world.unassigned)
    response = login(world.org_admin).post(ADD, data)
    assert response.status_code == 302
    assignment = CoachAssignment.objects.get(practitioner=world.unassigned)
    assert (assignment.coach, assignment.starts_on) == (world.coach, dt.date(2025, 1, 6))


def test_org_admin_ends_an_assignment(world, login, home_assignment):
    data = assignment_fields(world.coach, world.practitioner, "2020-02-01", "2025-03-31")
    assert login(world.org_admin).post(change_url(home_assignment), data).status_code == 302
    home_assignment.refresh_from_db()
    assert home_assignment.ends_on == dt.date(2025, 3, 31)


def test_org_admin_cannot_pick_a_coach_from_another_organization(world, login):
    response = login(world.org_admin).post(ADD, assignment_fields(world.outsider, world.unassigned))
    assert "coach" in form_errors(response)
    assert not CoachAssignment.objects.filter(practitioner=world.unassigned).exists()


def test_org_admin_cannot_pick_a_practitioner_from_another_organization(world, login):
    data = assignment_fields(world.coach, world.away_practitioner)
    response = login(world.org_admin).post(ADD, data)
    assert "practitioner" in form_errors(response)


def test_purveyor_cannot_assign_a_coach_across_organizations(world, login):
    response = login(world.purveyor_admin).post(
        ADD, assignment_fields(world.outsider, world.unassigned)
    )
    assert form_errors(response)["coach"] == [
        "The coach must belong to the practitioner's organization."
    ]


def test_purveyor_assigns_their_own_coach_to_any_organization(world, login):
    purveyor_coach = make_person(world.purveyor, "coach")
    data = assignment_fields(purveyor_coach, world.away_practitioner)
    assert login(world.purveyor_admin).post(ADD, data).status_code == 302
    assert CoachAssignment.objects.filter(coach=purveyor_coach).count() == 1


def test_an_overlapping_assignment_is_shown_as_an_error(world, login):
    data = assignment_fields(world.coach, world.practitioner, "2024-01-01")
    response = login(world.org_admin).post(ADD, data)
    assert form_errors(response)["__all__"] == [OVERLAP]
    assert OVERLAP.encode() in response.content


def test_an_end_before_the_start_is_shown_as_an_error(world, login):
    data = assignment_fields(world.coach, world.unassigned, "2025-02-01", "2025-01-01")
    response = login(world.org_admin).post(ADD, data)
    assert "The end date cannot be before the start date." in form_errors(response)["__all__"]


def test_coaching_oneself_is_shown_as_an_error(world, login):
    response = login(world.org_admin).post(ADD, assignment_fields(world.coach, world.coach))
    assert "A coach cannot be assigned to coach themselves." in form_errors(response)["__all__"]


def test_org_admin_cannot_delete_an_assignment(world, login, home_assignment):
    url = reverse("admin:coaching_coachassignment_delete", args=[home_assignment.pk])
    assert login(world.org_admin).post(url, {"post": "yes"}).status_code == 403
    assert CoachAssignment.objects.filter(pk=home_assignment.pk).exists()


def autocomplete(client, field, term):
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "coaching",
            "model_name": "coachassignment",
            "field_name": field,
            "term": term,
        },
    )
    assert response.status_code == 200
    return {row["text"] for row in response.json()["results"]}


def test_coach_autocomplete_offers_only_people_at_home(world, login):
    client = login(world.org_admin)
    assert autocomplete(client, "coach", "Otto") == set()
    assert autocomplete(client, "coach", "Cora") == {world.coach.full_name}


def test_coach_autocomplete_offers_the_purveyor_everyone(world, login):
    assert autocomplete(login(world.purveyor_admin), "coach", "Otto") == {world.outsider.full_name}


def test_search_finds_assignments_by_coach_or_practitioner_name(
    world, login, home_assignment, away_assignment
):
    client = login(world.purveyor_admin)
    assert rows(client.get(CHANGELIST, {"q": "Cora"})) == {home_assignment}
    assert rows(client.get(CHANGELIST, {"q": "Ari"})) == {away_assignment}


def test_filters_by_organization_and_by_still_running(world, login, away_assignment):
    ended = make_assignment(
        world.leader, world.unassigned, starts_on=dt.date(2021, 1, 1), ends_on=dt.date(2021, 6, 1)
    )
    client = login(world.purveyor_admin)
    by_org = client.get(CHANGELIST, {"practitioner__organization__id__exact": world.away.pk})
    assert rows(by_org) == {away_assignment}
    assert rows(client.get(CHANGELIST, {"ends_on__isempty": "0"})) == {ended}
    assert ended not in rows(client.get(CHANGELIST, {"ends_on__isempty": "1"}))

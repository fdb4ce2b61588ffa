"""visible_to(user) on every model, for every persona: the access rules in one table."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from coaching.models import CoachAssignment
from miiwrap.people.access import ANONYMOUS, viewer_for
from miiwrap.people.models import Organization, Person, RoleGrant, Team
from tests.factories import make_assignment, make_person

TODAY = dt.date(2025, 6, 16)
pytestmark = pytest.mark.time_machine(
    dt.datetime(2025, 6, 16, 12, tzinfo=ZoneInfo("America/New_York")), tick=False
)

HOME_PEOPLE = {"coach", "practitioner", "unassigned", "leader", "org_admin"}
AWAY_PEOPLE = {"outsider", "away_practitioner"}
EVERYONE = HOME_PEOPLE | AWAY_PEOPLE | {"purveyor_admin"}

# persona -> the personas whose Person rows they see
PEOPLE_SEEN = {
    "purveyor_admin": EVERYONE,
    "leader": HOME_PEOPLE,
    "org_admin": HOME_PEOPLE,
    "coach": {"coach", "practitioner"},
    "practitioner": {"practitioner"},
    "unassigned": {"unassigned"},
    "outsider": AWAY_PEOPLE,
    "away_practitioner": {"away_practitioner"},
}
ORGANIZATIONS_SEEN = {
    "purveyor_admin": {"purveyor", "home", "away"},
    "leader": {"home"},
    "org_admin": {"home"},
    "coach": {"home"},
    "practitioner": {"home"},
    "unassigned": {"home"},
    "outsider": {"away"},
    "away_practitioner": {"away"},
}
TEAMS_SEEN = {
    "purveyor_admin": {"team_a", "team_b", "away_team"},
    "leader": {"team_a", "team_b"},
    "org_admin": {"team_a", "team_b"},
    "coach": {"team_a"},
    "practitioner": {"team_a"},
    "unassigned": {"team_b"},
    "outsider": {"away_team"},
    "away_practitioner": {"away_team"},
}
# The world has two assignments, named here by their practitioner.
ASSIGNMENTS_SEEN = {
    "purveyor_admin": {"practitioner", "away_practitioner"},
    "leader": {"practitioner"},
    "org_admin": {"practitioner"},
    "coach": {"practitioner"},
    "practitioner": {"practitioner"},
    "unassigned": set(),
    "outsider": {"away_practitioner"},
    "away_practitioner": {"away_practitioner"},
}


def objects(world, names):
    return {getattr(world, name) for name in names}


def assignment_practitioners(user):
    return {a.practitioner for a in CoachAssignment.objects.visible_to(user)}


def sees_nothing(user):
    return not any(
        model.objects.visible_to(user).exists()
        for model in (Organization, Team, Person, RoleGrant, CoachAssignment)
    )


@pytest.mark.parametrize("persona", sorted(PEOPLE_SEEN))
def test_each_persona_sees_exactly_their_people(world, persona):
    user = getattr(world, persona).user
    assert set(Person.objects.visible_to(user)) == objects(world, PEOPLE_SEEN[persona])


@pytest.mark.parametrize("persona", sorted(ORGANIZATIONS_SEEN))
def test_each_persona_sees_exactly_their_organizations(world, persona):
    user = getattr(world, persona).user
    expected = objects(world, ORGANIZATIONS_SEEN[persona])
    assert set(Organization.objects.visible_to(user)) == expected


@pytest.mark.parametrize("persona", sorted(TEAMS_SEEN))
def test_each_persona_sees_exactly_their_teams(world, persona):
    user = getattr(world, persona).user
    assert set(Team.objects.visible_to(user)) == objects(world, TEAMS_SEEN[persona])


@pytest.mark.parametrize("persona", sorted(PEOPLE_SEEN))
def test_each_persona_sees_the_role_grants_of_exactly_the_people_they_see(world, persona):
    user = getattr(world, persona).user
    seen_people = objects(world, PEOPLE_SEEN[persona])
    expected = set(RoleGrant.objects.filter(person__in=seen_people))
    assert expected, "every persona holds at least one role"
    assert set(RoleGrant.objects.visible_to(user)) == expected


@pytest.mark.parametrize("persona", sorted(ASSIGNMENTS_SEEN))
def test_each_persona_sees_exactly_their_coach_assignments(world, persona):
    user = getattr(world, persona).user
    expected = objects(world, ASSIGNMENTS_SEEN[persona])
    assert assignment_practitioners(user) == expected


def test_visible_to_returns_no_duplicates_for_a_viewer_with_several_roles(world):
    # The outsider leads, coaches and administers: three joins that could repeat rows.
    user = world.outsider.user
    assert Person.objects.visible_to(user).count() == len(AWAY_PEOPLE)
    assert Team.objects.visible_to(user).count() == 1


def test_coach_does_not_see_a_practitioner_whose_assignment_ended(world):
    make_assignment(
        world.coach,
        world.unassigned,
        starts_on=dt.date(2024, 1, 1),
        ends_on=TODAY - dt.timedelta(1),
    )
    assert world.unassigned not in Person.objects.visible_to(world.coach.user)


def test_coach_does_not_see_a_practitioner_whose_assignment_starts_tomorrow(world):
    make_assignment(world.coach, world.unassigned, starts_on=TODAY + dt.timedelta(1))
    assert world.unassigned not in Person.objects.visible_to(world.coach.user)


def test_coach_sees_a_practitioner_on_the_first_and_last_day_of_the_assignment(world):
    make_assignment(world.coach, world.unassigned, starts_on=TODAY, ends_on=TODAY)
    assert world.unassigned in Person.objects.visible_to(world.coach.user)


def test_coach_sees_the_team_of_a_newly_assigned_practitioner(world):
    make_assignment(world.coach, world.unassigned, starts_on=TODAY)
    assert set(Team.objects.visible_to(world.coach.user)) == {world.team_a, world.team_b}


def test_coach_does_not_see_practitioners_assigned_to_another_coach(world):
    other_coach = make_person(world.home, "coach", team=world.team_b)
    make_assignment(other_coach, world.unassigned)
    assert set(Person.objects.visible_to(world.coach.user)) == {world.coach, world.practitioner}


def test_a_practitioner_role_alone_never_widens_to_the_team(world):
    teammate = make_person(world.home, "practitioner", team=world.team_a)
    assert teammate not in Person.objects.visible_to(world.practitioner.user)


def test_outsider_sees_nothing_of_home(world):
    user = world.outsider.user
    assert not Person.objects.visible_to(user).filter(organization=world.home).exists()
    assert not Team.objects.visible_to(user).filter(organization=world.home).exists()
    assert not Organization.objects.visible_to(user).filter(pk=world.home.pk).exists()
    assert not RoleGrant.objects.visible_to(user).filter(person__organization=world.home).exists()
    assert not (
        CoachAssignment.objects.visible_to(user)
        .filter(practitioner__organization=world.home)
        .exists()
    )


@pytest.mark.parametrize("persona", ["leader", "coach", "org_admin", "practitioner"])
def test_a_person_whose_leave_date_passed_sees_nothing(world, persona):
    person = getattr(world, persona)
    Person.objects.filter(pk=person.pk).update(leave_date=TODAY - dt.timedelta(1))
    assert sees_nothing(get_user_model().objects.get(pk=person.user_id))


def test_a_person_leaving_today_still_sees_their_organization(world):
    Person.objects.filter(pk=world.leader.pk).update(leave_date=TODAY)
    user = get_user_model().objects.get(pk=world.leader.user_id)
    assert set(Person.objects.visible_to(user)) == objects(world, HOME_PEOPLE)


def test_a_purveyor_admin_who_left_sees_nothing(world):
    Person.objects.filter(pk=world.purveyor_admin.pk).update(leave_date=TODAY - dt.timedelta(1))
    assert sees_nothing(get_user_model().objects.get(pk=world.purveyor_admin.user_id))


def test_a_person_who_left_stays_visible_to_their_leader(world):
    Person.objects.filter(pk=world.unassigned.pk).update(leave_date=TODAY - dt.timedelta(30))
    assert world.unassigned in Person.objects.visible_to(world.leader.user)


def test_a_user_without_a_person_sees_nothing(world):
    user = get_user_model().objects.create_user("loose", "loose@example.org", "pw")
    assert sees_nothing(user)


def test_an_inactive_user_sees_nothing(world):
    user = world.purveyor_admin.user
    user.is_active = False
    user.save()
    assert sees_nothing(get_user_model().objects.get(pk=user.pk))


@pytest.mark.parametrize("user", [None, AnonymousUser()], ids=["none", "anonymous"])
def test_nobody_signed_in_sees_nothing(world, user):
    assert viewer_for(user) is ANONYMOUS
    assert sees_nothing(user)


def test_a_superuser_without_a_person_sees_everything(world):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    assert set(Person.objects.visible_to(user)) == objects(world, EVERYONE)
    assert Organization.objects.visible_to(user).count() == 3
    assert Team.objects.visible_to(user).count() == 3
    assert RoleGrant.objects.visible_to(user).count() == RoleGrant.objects.count()
    assert CoachAssignment.objects.visible_to(user).count() == 2


def test_viewer_is_read_once_per_user_object(world, django_assert_num_queries):
    user = get_user_model().objects.get(pk=world.coach.user_id)
    with django_assert_num_queries(1):
        first = viewer_for(user)
        second = viewer_for(user)
    assert first is second
    assert first.roles == {"coach", "practitioner"}
    assert first.organization_id == world.home.pk
    assert first.team_id == world.team_a.pk

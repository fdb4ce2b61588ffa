"""Team membership and role periods: kept in step with Person.team and RoleGrant by every
path that changes them, so a figure as of a past month reads that month's team and roles."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from miiwrap.people.models import RoleGrant, RolePeriod, TeamMembership
from miiwrap.people.services import person_periods_sync
from tests.factories import grant_role, make_org, make_person, make_team, move_team, remove_role
from tests.people.test_admin import change_url, form_data, person_fields

pytestmark = pytest.mark.django_db

HIRED = dt.date(2020, 1, 6)
NOW = dt.datetime(2026, 7, 10, 15, tzinfo=dt.UTC)


def periods(person):
    teams = [(m.team.name, m.starts_on, m.ends_on) for m in person.team_memberships.all()]
    roles = [(p.role, p.starts_on, p.ends_on) for p in person.role_periods.all()]
    return teams, roles


def test_a_new_person_holds_their_team_and_roles_from_their_hire():
    org = make_org()
    north = make_team(org, "North")
    person = make_person(org, "coach", "practitioner", team=north)
    assert periods(person) == (
        [("North", HIRED, None)],
        [("coach", HIRED, None), ("practitioner", HIRED, None)],
    )


def test_a_team_move_ends_the_old_membership_the_day_before_the_new_one():
    org = make_org()
    north, south = make_team(org, "North"), make_team(org, "South")
    person = make_person(org, "practitioner", team=north)
    move_team(person, south, dt.date(2026, 3, 1))
    assert periods(person)[0] == [
        ("North", HIRED, dt.date(2026, 2, 28)),
        ("South", dt.date(2026, 3, 1), None),
    ]


def test_a_removed_role_leaves_a_closed_period():
    org = make_org()
    person = make_person(org, "coach", "practitioner")
    remove_role(person, "coach", dt.date(2026, 6, 15))
    assert periods(person)[1] == [
        ("coach", HIRED, dt.date(2026, 6, 14)),
        ("practitioner", HIRED, None),
    ]


def test_syncing_twice_changes_nothing():
    org = make_org()
    person = make_person(org, "practitioner", team=make_team(org))
    assert person_periods_sync(person=person, on=dt.date(2026, 1, 1)) == (0, 0)
    assert TeamMembership.objects.count() == 1 and RolePeriod.objects.count() == 1


def test_a_period_begun_and_ended_on_the_same_day_is_removed_not_left_inverted():
    org = make_org()
    person = make_person(org, "practitioner")
    day = dt.date(2026, 5, 5)
    RoleGrant.objects.create(person=person, role="coach")
    person_periods_sync(person=person, on=day)
    remove_role(person, "coach", day)
    assert periods(person)[1] == [("practitioner", HIRED, None)]


def test_a_person_cannot_hold_two_open_memberships():
    org = make_org()
    person = make_person(org, "practitioner", team=make_team(org))
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamMembership.objects.create(person=person, team=make_team(org), starts_on=HIRED)


def test_a_period_cannot_end_before_it_starts():
    person = make_person(make_org(), "practitioner")
    with pytest.raises(IntegrityError), transaction.atomic():
        RolePeriod.objects.create(
            person=person, role="coach", starts_on=HIRED, ends_on=HIRED - dt.timedelta(days=1)
        )


def test_a_person_leaving_closes_nothing():
    org = make_org()
    person = make_person(org, "practitioner", team=make_team(org))
    person.leave_date = dt.date(2026, 4, 30)
    person.save()
    person_periods_sync(person=person, on=dt.date(2026, 5, 1))
    assert person.role_periods.get().ends_on is None


# The admin


@time_machine.travel(NOW, tick=False)
def test_changing_a_team_in_the_admin_leaves_a_closed_membership_with_who_and_when(world, login):
    client = login(world.purveyor_admin)
    url = change_url(world.unassigned)
    data = {**form_data(client.get(url)), "team": world.team_a.pk}
    assert client.post(url, data).status_code == 302
    old = TeamMembership.objects.get(person=world.unassigned, team=world.team_b)
    new = TeamMembership.objects.get(person=world.unassigned, team=world.team_a)
    assert (old.ends_on, new.starts_on, new.ends_on) == (
        dt.date(2026, 7, 9),
        dt.date(2026, 7, 10),
        None,
    )
    changed = old.history.get(history_type="~")
    assert changed.history_user == world.purveyor_admin.user
    assert changed.ends_on == dt.date(2026, 7, 9)


@time_machine.travel(NOW, tick=False)
def test_removing_a_role_in_the_admin_closes_its_period_with_who_and_when(world, login):
    client = login(world.org_admin)
    url = change_url(world.coach)
    data = form_data(client.get(url))
    coach_row = next(k for k, v in data.items() if k.endswith("-role") and v == "coach")
    data[coach_row.replace("-role", "-DELETE")] = "on"
    assert client.post(url, data).status_code == 302
    period = RolePeriod.objects.get(person=world.coach, role="coach")
    assert period.ends_on == dt.date(2026, 7, 9)
    assert period.history.get(history_type="~").history_user == world.org_admin.user
    assert RolePeriod.objects.get(person=world.coach, role="practitioner").ends_on is None


@time_machine.travel(NOW, tick=False)
def test_granting_a_role_in_the_admin_opens_a_period_from_today(world, login):
    client = login(world.purveyor_admin)
    url = change_url(world.practitioner)
    data = {**form_data(client.get(url)), "roles-1-role": "coach"}
    assert client.post(url, data).status_code == 302
    period = RolePeriod.objects.get(person=world.practitioner, role="coach")
    assert (period.starts_on, period.ends_on) == (dt.date(2026, 7, 10), None)


def test_a_person_added_in_the_admin_holds_team_and_role_from_their_hire(world, login):
    client = login(world.org_admin)
    response = client.post(
        reverse("admin:people_person_add"), person_fields(world.home, team=world.team_a)
    )
    assert response.status_code == 302
    membership = TeamMembership.objects.get(person__email="nova@example.org")
    role = RolePeriod.objects.get(person__email="nova@example.org")
    assert (membership.team, membership.starts_on) == (world.team_a, dt.date(2025, 1, 6))
    assert (role.role, role.starts_on, role.ends_on) == ("practitioner", dt.date(2025, 1, 6), None)


@time_machine.travel(NOW, tick=False)
def test_deleting_a_grant_on_its_own_admin_page_closes_its_period(world, login):
    client = login(world.purveyor_admin)
    grant = RoleGrant.objects.get(person=world.leader, role="leader")
    url = reverse("admin:people_rolegrant_delete", args=[grant.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    period = RolePeriod.objects.get(person=world.leader, role="leader")
    assert period.ends_on == dt.date(2026, 7, 9)


def test_periods_are_seen_as_their_people_are(world):
    seen = set(RolePeriod.objects.visible_to(world.coach.user).values_list("person", flat=True))
    assert seen == {world.coach.pk, world.practitioner.pk}
    assert not TeamMembership.objects.visible_to(world.outsider.user).filter(
        person__organization=world.home
    )


@time_machine.travel(NOW, tick=False)
def test_the_person_page_in_the_admin_shows_the_team_and_role_history(world, login):
    move_team(world.unassigned, world.team_a, dt.date(2026, 3, 1))
    content = login(world.org_admin).get(change_url(world.unassigned)).content.decode()
    assert "Team history" in content and "Role history" in content
    assert "Feb. 28, 2026" in content and "South" in content


def test_leaving_every_team_closes_the_membership_and_opens_none():
    org = make_org()
    person = make_person(org, "practitioner", team=make_team(org, "North"))
    move_team(person, None, dt.date(2026, 2, 1))
    assert periods(person)[0] == [("North", HIRED, dt.date(2026, 1, 31))]
    assert person_periods_sync(person=person, on=dt.date(2026, 3, 1)) == (0, 0)


def test_a_role_granted_again_opens_a_second_period():
    org = make_org()
    person = make_person(org, "practitioner", "coach")
    remove_role(person, "coach", dt.date(2025, 1, 1))
    grant_role(person, "coach", dt.date(2026, 1, 1))
    assert [p for p in periods(person)[1] if p[0] == "coach"] == [
        ("coach", HIRED, dt.date(2024, 12, 31)),
        ("coach", dt.date(2026, 1, 1), None),
    ]

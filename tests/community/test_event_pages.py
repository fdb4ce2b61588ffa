"""The events list and an event's page, for each persona: who sees which events, whose
names and whose counts."""

import datetime as dt

import pytest
from django.urls import reverse

from miiwrap.community.models import Attendance, Event
from tests.community.conftest import attend, make_event
from tests.factories import make_person

LIST = reverse("community:list")


def titles(response):
    return [event.title for event in response.context["upcoming"]] + [
        event.title for event in response.context["past"].object_list
    ]


def test_signed_out_visitors_are_sent_to_sign_in(client, events):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_purveyor_sees_every_event(login, world, events):
    assert sorted(titles(login(world.purveyor_admin).get(LIST))) == [
        "Elsewhere training",
        "Reflections across agencies",
        "Riverbend coaching circle",
        "Spring learning community",
    ]


@pytest.mark.parametrize("who", ["leader", "org_admin", "coach", "practitioner"])
def test_people_of_an_organization_see_the_events_that_invite_it(login, world, events, who):
    assert titles(login(getattr(world, who)).get(LIST)) == [
        "Reflections across agencies",
        "Riverbend coaching circle",
        "Spring learning community",
    ]


def test_the_outsider_sees_their_own_organizations_events_only(login, world, events):
    assert titles(login(world.outsider).get(LIST)) == [
        "Reflections across agencies",
        "Elsewhere training",
        "Spring learning community",
    ]


def test_upcoming_events_come_soonest_first_and_past_ones_latest_first(login, world, events):
    make_event(world.home, title="Later", held_on=dt.date(2026, 9, 1))
    make_event(world.home, title="Long ago", held_on=dt.date(2025, 9, 1))
    response = login(world.leader).get(LIST)
    assert [e.title for e in response.context["upcoming"]] == [
        "Reflections across agencies",
        "Riverbend coaching circle",
        "Later",
    ]
    assert [e.title for e in response.context["past"]] == [
        "Spring learning community",
        "Long ago",
    ]


def test_the_list_filters_by_kind(login, world, events):
    response = login(world.leader).get(LIST, {"kind": Event.Kind.COACHING_CIRCLE})
    assert titles(response) == ["Riverbend coaching circle"]


def test_an_unknown_kind_is_a_form_error_and_lists_every_event(login, world, events):
    response = login(world.leader).get(LIST, {"kind": "party"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert len(titles(response)) == 3


def test_the_list_counts_places_taken_by_everyone(login, world, events):
    attend(events.shared, world.practitioner, Attendance.Status.REGISTERED)
    attend(events.shared, world.away_practitioner, Attendance.Status.REGISTERED)
    attend(events.shared, world.unassigned, Attendance.Status.ABSENT)
    response = login(world.practitioner).get(LIST)
    shared = next(e for e in response.context["upcoming"] if e.pk == events.shared.pk)
    assert (shared.registered, shared.attended) == (2, 0)
    assert "2 of 4 registered" in response.content.decode()


def test_a_login_that_is_nobodys_gets_404(client, events, django_user_model):
    user = django_user_model.objects.create_user("nobody", "nobody@example.org", "x")
    client.force_login(user)
    assert client.get(LIST).status_code == 404


def test_the_list_costs_the_same_queries_for_many_events(
    login, world, events, django_assert_max_num_queries
):
    client = login(world.leader)
    client.get(LIST)  # warm the session and the viewer
    with django_assert_max_num_queries(12) as few:
        client.get(LIST)
    for n in range(30):
        event = make_event(
            world.home, title=f"More {n}", held_on=dt.date(2026, 1, 1) + dt.timedelta(days=n)
        )
        attend(event, world.practitioner)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(LIST)


# The event's page


def page(client, event):
    return client.get(event.get_absolute_url())


def test_the_outsider_gets_404_on_an_event_their_organization_is_not_invited_to(
    login, world, events
):
    assert page(login(world.outsider), events.home_only).status_code == 404


def test_home_staff_get_404_on_an_event_for_elsewhere_alone(login, world, events):
    for who in ("leader", "coach", "practitioner", "org_admin"):
        assert page(login(getattr(world, who)), events.away_only).status_code == 404


@pytest.mark.parametrize("pk", ["0", "99999999", str(2**63)])
def test_an_event_that_is_not_there_is_a_404(login, world, events, pk):
    assert login(world.purveyor_admin).get(f"/events/{pk}/").status_code == 404


@pytest.fixture
def registered(world, events):
    """On the shared event: Pat and Uma of Riverbend, Ari of Elsewhere."""
    attend(events.shared, world.practitioner, Attendance.Status.REGISTERED)
    attend(events.shared, world.unassigned, Attendance.Status.REGISTERED)
    attend(events.shared, world.away_practitioner, Attendance.Status.REGISTERED)


def names(response):
    return sorted(row.person.first_name for row in response.context["names"])


def counts(response):
    return {
        row["person__organization__name"]: (row["registered"], row["attended"], row["absent"])
        for row in response.context["counts"]
    }


def test_a_leader_reads_their_organizations_names_and_only_counts_for_another(
    login, world, events, registered
):
    response = page(login(world.leader), events.shared)
    assert names(response) == ["Pat", "Uma"]
    assert counts(response) == {
        "Elsewhere County": (1, 0, 0),
        "Riverbend Family Services": (2, 0, 0),
    }
    assert "Ari" not in response.content.decode()


def test_the_outsider_reads_only_counts_for_riverbend(login, world, events, registered):
    response = page(login(world.outsider), events.shared)
    assert names(response) == ["Ari"]
    assert "Pat" not in response.content.decode()


def test_the_purveyor_reads_every_name(login, world, events, registered):
    assert names(page(login(world.purveyor_admin), events.shared)) == ["Ari", "Pat", "Uma"]


def test_a_practitioner_reads_their_own_registration_only(login, world, events, registered):
    assert names(page(login(world.practitioner), events.shared)) == ["Pat"]


def test_a_coach_reads_their_caseload_and_themselves(login, world, events, registered):
    attend(events.shared, world.coach, Attendance.Status.REGISTERED)
    assert names(page(login(world.coach), events.shared)) == ["Cora", "Pat"]


def test_a_facilitator_outside_the_purveyor_reads_every_name_on_their_event(
    login, world, events, registered
):
    events.shared.facilitator = world.coach
    events.shared.save()
    assert names(page(login(world.coach), events.shared)) == ["Ari", "Pat", "Uma"]


def test_the_page_says_how_many_places_are_taken(login, world, events, registered):
    response = page(login(world.practitioner), events.shared)
    assert response.context["taken"] == 3
    assert "3 taken of 4" in response.content.decode()


def test_a_past_event_offers_no_registration(login, world, events):
    response = page(login(world.practitioner), events.past)
    assert "register_form" not in response.context
    assert reverse("community:register", args=[events.past.pk]) not in response.content.decode()


def test_the_page_costs_the_same_queries_for_many_registrants(
    login, world, events, django_assert_max_num_queries
):
    client = login(world.purveyor_admin)
    page(client, events.shared)
    with django_assert_max_num_queries(20) as few:
        page(client, events.shared)
    for n in range(20):
        attend(events.past, make_person(world.home, "practitioner", first_name=f"P{n}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page(client, events.past)

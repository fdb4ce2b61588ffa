"""A person's event history on their page, as each persona may read it."""

import datetime as dt

import pytest

from miiwrap.community.models import Attendance
from tests.community.conftest import attend, make_event


@pytest.fixture
def history(world, events):
    attend(events.past, world.practitioner)
    attend(events.shared, world.practitioner, Attendance.Status.REGISTERED)
    attend(events.past, world.away_practitioner)


def shown(response):
    return [(row.event.title, row.status) for row in response.context["events"]]


@pytest.mark.parametrize("who", ["practitioner", "coach", "leader", "org_admin", "purveyor_admin"])
def test_those_who_see_a_practitioner_read_their_events_newest_first(login, world, history, who):
    response = login(getattr(world, who)).get(world.practitioner.get_absolute_url())
    assert shown(response) == [
        ("Reflections across agencies", "registered"),
        ("Spring learning community", "attended"),
    ]
    assert 'id="events"' in response.content.decode()


def test_the_outsider_gets_404_on_the_practitioners_page(login, world, history):
    assert login(world.outsider).get(world.practitioner.get_absolute_url()).status_code == 404


def test_a_page_without_events_shows_no_events_section(login, world, history):
    response = login(world.leader).get(world.unassigned.get_absolute_url())
    assert shown(response) == []
    assert 'id="events"' not in response.content.decode()


def test_a_facilitator_does_not_read_other_events_of_someone_from_their_event(login, world, events):
    """The coach facilitates the shared event, where Uma (not in their caseload) came;
    Uma's page stays closed to them."""
    events.shared.facilitator = world.coach
    events.shared.save()
    attend(events.shared, world.unassigned)
    assert login(world.coach).get(world.unassigned.get_absolute_url()).status_code == 404


def test_the_person_page_costs_the_same_queries_for_many_events(
    login, world, events, django_assert_max_num_queries
):
    client = login(world.leader)
    url = world.practitioner.get_absolute_url()
    attend(events.past, world.practitioner)
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    for n in range(15):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=n)
        attend(make_event(world.home, title=f"Circle {n}", held_on=day), world.practitioner)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["events"]) == 16

"""The demo's learning community (miiwrap.community.demo): a year of events and the next
two months, across the demo's organizations, with registrations and attendance."""

import datetime as dt

import pytest

from miiwrap.community import demo as community_demo
from miiwrap.community.models import Attendance, Event
from miiwrap.people import demo

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def planned(db):
    """The demo's people for the purveyor and two client organizations."""
    wanted = demo.identities(1, 2)
    return demo.build_world(wanted, seed=1, today=TODAY, scale=demo.SCALES["demo"])


def snapshot():
    events = Event.objects.order_by("held_on", "title")
    return [
        (
            e.title,
            e.held_on,
            e.kind,
            sorted(o.slug for o in e.organizations.all()),
            sorted((a.person.email, a.status) for a in e.attendances.select_related("person")),
        )
        for e in events.prefetch_related("organizations")
    ]


def test_the_same_seed_gives_the_same_events_and_attendance(planned):
    first = community_demo.add_events(planned, seed=1, today=TODAY)
    before = snapshot()
    Attendance.objects.all().delete()
    Event.objects.all().delete()
    assert community_demo.add_events(planned, seed=1, today=TODAY) == first
    assert snapshot() == before


def test_running_it_again_adds_nothing(planned):
    community_demo.add_events(planned, seed=1, today=TODAY)
    counts = (Event.objects.count(), Attendance.objects.count())
    community_demo.add_events(planned, seed=1, today=TODAY)
    assert (Event.objects.count(), Attendance.objects.count()) == counts


def test_every_kind_happens_through_the_year_and_ahead(planned):
    made = community_demo.add_events(planned, seed=1, today=TODAY)
    assert made["events"] == Event.objects.count() > 20
    for kind in Event.Kind.values:
        of_kind = Event.objects.filter(kind=kind)
        assert of_kind.filter(held_on__lt=TODAY).exists(), kind
        assert of_kind.filter(held_on__gte=TODAY).exists(), kind
    assert Event.objects.earliest("held_on").held_on >= TODAY - dt.timedelta(days=365)
    assert Event.objects.latest("held_on").held_on <= TODAY + dt.timedelta(days=62)


def test_trainings_invite_every_client_and_circles_one(planned):
    community_demo.add_events(planned, seed=1, today=TODAY)
    clients = {plan.row.pk for plan in planned if not plan.identity.is_purveyor}
    for event in Event.objects.prefetch_related("organizations"):
        invited = {o.pk for o in event.organizations.all()}
        if event.kind == Event.Kind.COACHING_CIRCLE:
            assert len(invited) == 1 and invited <= clients
        else:
            assert invited == clients


def test_past_events_have_attendance_and_upcoming_ones_registrations(planned):
    made = community_demo.add_events(planned, seed=1, today=TODAY)
    past = Attendance.objects.filter(event__held_on__lt=TODAY)
    ahead = Attendance.objects.filter(event__held_on__gte=TODAY)
    assert set(past.values_list("status", flat=True)) == {"attended", "absent"}
    assert set(ahead.values_list("status", flat=True)) == {"registered"}
    assert made["attended"] == past.filter(status="attended").count()
    assert made["registrations"] == Attendance.objects.count()


def test_nobody_comes_before_their_hire_or_after_they_leave_or_past_capacity(planned):
    community_demo.add_events(planned, seed=1, today=TODAY)
    for row in Attendance.objects.select_related("person", "event"):
        assert row.person.hire_date <= row.event.held_on
        assert row.person.leave_date is None or row.person.leave_date >= row.event.held_on
    for event in Event.objects.exclude(capacity=None):
        assert event.attendances.count() <= event.capacity


def test_coaching_circles_are_for_coaches_and_led_by_one(planned):
    community_demo.add_events(planned, seed=1, today=TODAY)
    circles = Attendance.objects.filter(event__kind=Event.Kind.COACHING_CIRCLE)
    assert circles.exists()
    assert not circles.exclude(person__roles__role="coach").exists()
    for event in Event.objects.filter(kind=Event.Kind.COACHING_CIRCLE):
        assert event.facilitator.has_role("coach")


def test_without_client_organizations_it_adds_nothing(db):
    scale = demo.SCALES["demo"]
    purveyor_only = demo.build_world(demo.identities(1, 0), seed=1, today=TODAY, scale=scale)
    assert community_demo.add_events(purveyor_only, seed=1, today=TODAY) == {
        "events": 0,
        "registrations": 0,
        "attended": 0,
    }
    assert not Event.objects.exists()

"""Events of the learning community around the shared world (tests/conftest.py `world`):
one inviting both Riverbend and Elsewhere, one for Riverbend alone, one for Elsewhere
alone; a frozen today between past and upcoming events."""

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from miiwrap.community.models import Attendance, Event

TODAY = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


def make_event(*organizations, title=None, held_on=TODAY + dt.timedelta(days=14), **fields):
    fields.setdefault("kind", Event.Kind.LEARNING_COMMUNITY)
    event = Event.objects.create(
        title=title or f"Event {Event.objects.count() + 1}", held_on=held_on, **fields
    )
    event.organizations.set(organizations)
    return event


def attend(event, person, status=Attendance.Status.ATTENDED):
    return Attendance.objects.create(event=event, person=person, status=status)


@pytest.fixture
def events(world, frozen):
    shared = make_event(
        world.home,
        world.away,
        title="Reflections across agencies",
        facilitator=world.purveyor_admin,
        capacity=4,
    )
    home_only = make_event(
        world.home, title="Riverbend coaching circle", kind=Event.Kind.COACHING_CIRCLE
    )
    away_only = make_event(world.away, title="Elsewhere training", kind=Event.Kind.TRAINING)
    past = make_event(
        world.home,
        world.away,
        title="Spring learning community",
        held_on=dt.date(2026, 3, 12),
        facilitator=world.purveyor_admin,
    )
    return SimpleNamespace(shared=shared, home_only=home_only, away_only=away_only, past=past)

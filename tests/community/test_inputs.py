"""Attendance and events feed the decision queue (miiwrap/dashboards/inputs.py): a
registration touches the person's organization, an event everyone's."""

import pytest

from miiwrap import generations
from miiwrap.community.models import Attendance


@pytest.fixture
def declared(monkeypatch):
    """The writes declared to miiwrap.generations: [(organization ids, everyone)]."""
    found, real = [], generations.touched

    def touched(*organizations, everyone=False):
        found.append(({getattr(o, "pk", o) for o in organizations}, everyone))
        return real(*organizations, everyone=everyone)

    monkeypatch.setattr(generations, "touched", touched)
    return found


def test_recording_attendance_touches_the_persons_organization_only(world, events, declared):
    Attendance.objects.create(event=events.shared, person=world.practitioner)
    assert declared == [({world.home.pk}, False)]


def test_changing_an_event_touches_every_organization(world, events, declared):
    events.home_only.title = "Renamed"
    events.home_only.save()
    assert declared == [(set(), True)]

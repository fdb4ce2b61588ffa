"""The community's services on their own: the rules the pages rely on."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from miiwrap.community import services
from miiwrap.community.models import Attendance, Event
from tests.community.conftest import TODAY, attend


def test_an_event_invites_at_least_one_organization(world):
    event = Event(title="Alone", held_on=TODAY, kind=Event.Kind.TRAINING)
    with pytest.raises(ValidationError, match="Invite at least one organization"):
        services.event_save(event=event, organizations=[], by=world.purveyor_admin)
    assert not Event.objects.exists()


def test_saving_an_event_again_keeps_its_creator(world):
    event = Event(title="Kept", held_on=TODAY, kind=Event.Kind.TRAINING)
    services.event_save(event=event, organizations=[world.home], by=world.leader)
    services.event_save(
        event=event, organizations=[world.home, world.away], by=world.purveyor_admin
    )
    event.refresh_from_db()
    assert event.created_by == world.leader
    assert set(event.organizations.all()) == {world.home, world.away}


def test_someone_who_has_left_cannot_register(world, events):
    world.unassigned.leave_date = dt.date(2026, 5, 1)
    world.unassigned.save()
    with pytest.raises(ValidationError, match="has left"):
        services.attendance_register(event=events.shared, person=world.unassigned, today=TODAY)


def test_someone_of_an_organization_not_invited_cannot_register(world, events):
    with pytest.raises(ValidationError, match="is not invited"):
        services.attendance_register(
            event=events.home_only, person=world.away_practitioner, today=TODAY
        )


def test_the_last_place_goes_to_one_person(world, events):
    events.shared.capacity = 1
    events.shared.save()
    services.attendance_register(event=events.shared, person=world.practitioner, today=TODAY)
    with pytest.raises(ValidationError, match="is full: all 1 places are taken"):
        services.attendance_register(event=events.shared, person=world.unassigned, today=TODAY)


def test_someone_already_registered_is_not_turned_away_when_full(world, events):
    events.shared.capacity = 1
    events.shared.save()
    first = services.attendance_register(
        event=events.shared, person=world.practitioner, today=TODAY
    )
    again = services.attendance_register(
        event=events.shared, person=world.practitioner, today=TODAY
    )
    assert again.pk == first.pk


def test_registering_again_after_an_absent_mark_registers(world, events):
    row = attend(events.shared, world.practitioner, Attendance.Status.ABSENT)
    services.attendance_register(event=events.shared, person=world.practitioner, today=TODAY)
    row.refresh_from_db()
    assert row.status == Attendance.Status.REGISTERED


def test_recording_counts_only_the_changes(world, events):
    attend(events.past, world.practitioner, Attendance.Status.REGISTERED)
    marks = {world.practitioner: "attended", world.unassigned: "attended"}
    assert services.attendance_record(event=events.past, marks=marks) == 2
    assert services.attendance_record(event=events.past, marks=marks) == 0


def test_recording_refuses_an_unknown_status(world, events):
    with pytest.raises(ValidationError, match="not an attendance status"):
        services.attendance_record(event=events.past, marks={world.practitioner: "late"})
    assert not Attendance.objects.exists()


def test_attended_by_reads_one_persons_attended_events_by_kind_and_days(world, events):
    attend(events.past, world.practitioner)
    attend(events.shared, world.practitioner, Attendance.Status.REGISTERED)
    attend(events.home_only, world.practitioner)
    rows = Attendance.objects.attended_by(world.practitioner)
    assert {row.event for row in rows} == {events.past, events.home_only}
    kind = Event.Kind.LEARNING_COMMUNITY
    assert [r.event for r in Attendance.objects.attended_by(world.practitioner, kind)] == [
        events.past
    ]
    spring = Attendance.objects.attended_by(
        world.practitioner, start=dt.date(2026, 3, 12), end=dt.date(2026, 3, 12)
    )
    assert [r.event for r in spring] == [events.past]


def test_counts_by_kind_count_attended_events_per_person(world, events):
    attend(events.past, world.practitioner)
    attend(events.home_only, world.practitioner)
    attend(events.shared, world.practitioner, Attendance.Status.ABSENT)
    attend(events.past, world.unassigned)
    counts = Attendance.objects.counts_by_kind([world.practitioner, world.unassigned])
    assert counts == {
        (world.practitioner.pk, "learning_community"): 1,
        (world.practitioner.pk, "coaching_circle"): 1,
        (world.unassigned.pk, "learning_community"): 1,
    }

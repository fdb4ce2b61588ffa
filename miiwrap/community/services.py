"""Writes to the learning community's events and registrations.

Registering is idempotent (one row per event and person, a unique constraint) and checks
the capacity under a lock on the event, so two people taking the last place at once
cannot both have it. Recording attendance sets a status on each row it names, creating
the row for someone who came without registering; a mark that says what the row already
says writes nothing, so a checklist sent twice leaves one history.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from miiwrap.community.models import Attendance, Event

Status = Attendance.Status


def event_save(*, event, organizations, by=None):
    """Create or change `event`, inviting exactly `organizations`."""
    if not organizations:
        raise ValidationError({"organizations": "Invite at least one organization."})
    with transaction.atomic():
        if event.pk is None:
            event.created_by = by
        event.full_clean(exclude=["organizations"])
        event.save()
        event.organizations.set(organizations)
    return event


def event_full_message(event):
    return (
        f"{event.title} is full: all {event.capacity} places are taken. "
        "Ask its facilitator whether a place may open."
    )


def attendance_register(*, event, person, by=None, today):
    """Register `person` for `event` once; a second registration returns the first."""
    with transaction.atomic():
        # The lock makes registrations for one event take turns at the capacity check.
        event = Event.objects.select_for_update().get(pk=event.pk)
        _check_may_register(event, person, today)
        existing = Attendance.objects.filter(event=event, person=person).first()
        if existing is not None and existing.status != Status.ABSENT:
            return existing
        taken = Attendance.objects.filter(event=event).taking_places().count()
        if event.is_full(taken):
            raise ValidationError(event_full_message(event))
        if existing is not None:  # marked absent before: registering again brings them back
            existing.status, existing.recorded_by = Status.REGISTERED, by
            existing.save(update_fields=["status", "recorded_by", "updated_at"])
            return existing
        return Attendance.objects.create(event=event, person=person, recorded_by=by)


def _check_may_register(event, person, today):
    if event.held_on < today:
        raise ValidationError("This event has taken place: record attendance instead.")
    if person.has_left(today):
        raise ValidationError(f"{person} has left {person.organization}.")
    if not event.organizations.filter(pk=person.organization_id).exists():
        raise ValidationError(f"{person.organization} is not invited to this event.")


def attendance_record(*, event, marks, by=None):
    """Set each person's status on `event` from `marks` ({person: status}); how many rows
    changed. People not yet registered get a row (they came without registering)."""
    changed = 0
    with transaction.atomic():
        rows = {row.person_id: row for row in Attendance.objects.filter(event=event)}
        for person, status in marks.items():
            if status not in Status.values:
                raise ValidationError(f"“{status}” is not an attendance status.")
            row = rows.get(person.pk)
            if row is None:
                row, created = Attendance.objects.get_or_create(
                    event=event, person=person, defaults={"status": status, "recorded_by": by}
                )
                changed += created
            if row.status != status:
                row.status, row.recorded_by = status, by
                row.save(update_fields=["status", "recorded_by", "updated_at"])
                changed += 1
    return changed

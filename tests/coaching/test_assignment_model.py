"""CoachAssignment: the rules its rows must keep, and which ones are current."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from coaching.models import CoachAssignment, TrainerAssignment
from tests.factories import make_assignment, make_person

TODAY = dt.date(2025, 6, 16)
pytestmark = pytest.mark.time_machine(
    dt.datetime(2025, 6, 16, 12, tzinfo=ZoneInfo("America/New_York")), tick=False
)


def day(offset):
    """TODAY moved by `offset` days; None stays None (an open end)."""
    return None if offset is None else TODAY + dt.timedelta(days=offset)


def unsaved(coach, practitioner, starts_on, ends_on=None):
    return CoachAssignment(
        coach=coach, practitioner=practitioner, starts_on=starts_on, ends_on=ends_on
    )


def errors_of(assignment):
    with pytest.raises(ValidationError) as caught:
        assignment.full_clean()
    return caught.value.message_dict


# Constraints


def test_database_rejects_an_end_before_the_start(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_assignment(world.coach, world.unassigned, starts_on=day(0), ends_on=day(-1))


def test_validation_explains_an_end_before_the_start(world):
    assignment = unsaved(world.coach, world.unassigned, day(0), day(-1))
    assert "The end date cannot be before the start date." in errors_of(assignment)["__all__"]


def test_an_assignment_of_a_single_day_is_allowed(world):
    unsaved(world.coach, world.unassigned, day(0), day(0)).full_clean()


def test_database_rejects_a_coach_coaching_themselves(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_assignment(world.coach, world.coach)


def test_validation_explains_a_coach_coaching_themselves(world):
    errors = errors_of(unsaved(world.coach, world.coach, day(0)))
    assert "A coach cannot be assigned to coach themselves." in errors["__all__"]


# clean(): one organization, no overlap for the same pair


def test_a_coach_from_another_organization_is_rejected(world):
    errors = errors_of(unsaved(world.outsider, world.unassigned, day(0)))
    assert errors["coach"] == ["The coach must belong to the practitioner's organization."]


def test_a_home_coach_cannot_coach_in_another_organization(world):
    errors = errors_of(unsaved(world.coach, world.away_practitioner, day(0)))
    assert "coach" in errors


def test_a_purveyor_coach_may_coach_anyone(world):
    purveyor_coach = make_person(world.purveyor, "coach")
    unsaved(purveyor_coach, world.unassigned, day(0)).full_clean()
    unsaved(purveyor_coach, world.away_practitioner, day(0)).full_clean()


def test_the_purveyor_exception_is_about_the_coach_not_the_practitioner(world):
    purveyor_practitioner = make_person(world.purveyor, "practitioner")
    assert "coach" in errors_of(unsaved(world.coach, purveyor_practitioner, day(0)))


OVERLAP = "This coach is already assigned to this practitioner for part of these dates."


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        ((-100, None), (0, None)),  # both open-ended
        ((-100, None), (-200, -100)),  # new ends on the day the old starts
        ((-100, -10), (-10, None)),  # new starts on the day the old ends
        ((-100, -10), (-50, -40)),  # new inside old
        ((-50, -40), (-100, -10)),  # old inside new
        ((0, None), (-30, 5)),  # new runs into an open-ended future one
    ],
    ids=["open-open", "touch-start", "touch-end", "inside", "around", "into-open"],
)
def test_an_overlapping_assignment_of_the_same_pair_is_rejected(world, existing, new):
    starts, ends = existing
    make_assignment(world.coach, world.unassigned, starts_on=day(starts), ends_on=day(ends))
    starts, ends = new
    assignment = unsaved(world.coach, world.unassigned, day(starts), day(ends))
    assert errors_of(assignment)["__all__"] == [OVERLAP]


@pytest.mark.parametrize(
    ("existing", "new"),
    [((-100, -10), (-9, None)), ((0, None), (-30, -1)), ((-100, -50), (-40, -30))],
    ids=["after", "before-open-ended", "later-gap"],
)
def test_consecutive_assignments_of_the_same_pair_are_allowed(world, existing, new):
    starts, ends = existing
    make_assignment(world.coach, world.unassigned, starts_on=day(starts), ends_on=day(ends))
    starts, ends = new
    unsaved(world.coach, world.unassigned, day(starts), day(ends)).full_clean()


def test_two_coaches_may_coach_one_practitioner_at_once(world):
    second_coach = make_person(world.home, "coach")
    unsaved(second_coach, world.practitioner, day(-10)).full_clean()


def test_ending_an_existing_assignment_does_not_collide_with_itself(world):
    assignment = CoachAssignment.objects.get(coach=world.coach, practitioner=world.practitioner)
    assignment.ends_on = day(0)
    assignment.full_clean()
    assignment.save()
    assert not assignment.is_current(day(1))


def test_clean_waits_for_the_fields_it_needs(world):
    # A form with a missing coach reports that field; clean() must not crash first.
    errors = errors_of(CoachAssignment(practitioner=world.practitioner, starts_on=day(0)))
    assert "coach" in errors
    assert OVERLAP not in errors.get("__all__", [])


# current() and is_current()


@pytest.mark.parametrize(
    ("starts", "ends", "current"),
    [
        (-30, None, True),
        (0, None, True),
        (-30, 0, True),
        (0, 0, True),
        (-30, -1, False),
        (1, None, False),
        (1, 30, False),
    ],
    ids=["open", "starts-today", "ends-today", "today-only", "ended", "future", "future-range"],
)
def test_current_means_today_is_within_the_dates(world, starts, ends, current):
    assignment = make_assignment(
        world.coach, world.unassigned, starts_on=day(starts), ends_on=day(ends)
    )
    assert (assignment in CoachAssignment.objects.current()) is current
    assert assignment.is_current() is current


def test_current_on_another_day(world):
    assignment = make_assignment(
        world.coach, world.unassigned, starts_on=day(-30), ends_on=day(-10)
    )
    assert assignment in CoachAssignment.objects.current(day(-20))
    assert assignment not in CoachAssignment.objects.current(day(-31))
    assert assignment not in CoachAssignment.objects.current(day(-9))
    assert assignment.is_current(day(-20))
    assert not assignment.is_current(day(-9))


def test_overlapping_finds_rows_sharing_a_day(world):
    early = make_assignment(world.coach, world.unassigned, starts_on=day(-30), ends_on=day(-20))
    late = make_assignment(world.coach, world.unassigned, starts_on=day(-10), ends_on=None)
    pair = CoachAssignment.objects.filter(coach=world.coach, practitioner=world.unassigned)
    assert set(pair.overlapping(day(-20), day(-10))) == {early, late}
    assert set(pair.overlapping(day(-19), day(-11))) == set()
    assert set(pair.overlapping(day(100), None)) == {late}


def test_str_names_coach_practitioner_and_start(world):
    assignment = CoachAssignment.objects.get(coach=world.coach)
    assert str(assignment) == f"{world.coach} coaches {world.practitioner} from 2020-02-01"


def test_the_coach_must_hold_the_coach_role(world):
    not_a_coach = make_person(world.home, "practitioner", "leader")
    errors = errors_of(unsaved(not_a_coach, world.practitioner, TODAY))
    assert errors["coach"] == ["This person does not hold the coach role."]


def test_the_practitioner_must_hold_the_practitioner_role(world):
    errors = errors_of(unsaved(world.coach, world.leader, TODAY))
    assert errors["practitioner"] == ["This person does not hold the practitioner role."]


@pytest.mark.django_db
@pytest.mark.parametrize("model", [CoachAssignment, TrainerAssignment])
def test_an_assignment_whose_people_are_gone_still_names_itself(model):
    # The admin lists the history of a deleted assignment, whose people may be gone too.
    fields = ("coach", "practitioner") if model is CoachAssignment else ("trainer", "coach")
    gone = model(
        starts_on=dt.date(2026, 1, 5), **{f"{f}_id": 990001 + i for i, f in enumerate(fields)}
    )
    assert str(gone).startswith("person #990001 (deleted) ")
    assert "person #990002 (deleted) from 2026-01-05" in str(gone)

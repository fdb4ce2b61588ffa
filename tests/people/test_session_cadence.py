"""Who is due a coaching session: the program's cadence until certified and after, counted
from the last session, or from the start of the first coach assignment, in one query."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification.models import Program
from coaching.models import CoachingPlan
from miiwrap.people.models import Person
from tests.factories import make_assignment, make_period, make_person, make_session

D = dt.date
TODAY = D(2026, 6, 30)


@pytest.fixture
def program(db):
    return Program.objects.get(code="practitioner")  # 30 days until certified, 90 after


def todays(world):
    return {world.home.time_zone: TODAY}


def cadence(world, program):
    people = Person.objects.filter(organization=world.home).with_session_cadence(
        program, todays(world)
    )
    return {p.pk: p for p in people}


def due(world, program, within_days=0):
    people = Person.objects.filter(organization=world.home)
    found = people.due_for_session(program, todays(world), within_days=within_days)
    return [p.pk for p in found]


def test_a_certified_practitioner_is_due_every_90_days_from_the_last_session(world, program):
    """Pat, certified from 2025-09-01, last coached 2026-04-10: due 2026-07-09."""
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 9, 1))
    make_session(world.practitioner, world.coach, D(2026, 3, 1))
    make_session(world.practitioner, world.coach, D(2026, 4, 10))
    pat = cadence(world, program)[world.practitioner.pk]
    assert (pat.certified, pat.session_every) == (True, 90)
    assert (pat.last_session_on, pat.session_due_from) == (D(2026, 4, 10), D(2026, 4, 10))
    assert world.practitioner.pk not in due(world, program)
    assert world.practitioner.pk not in due(world, program, within_days=8)  # due 9 July
    assert world.practitioner.pk in due(world, program, within_days=9)


def test_one_not_certified_is_due_every_30_days(world, program):
    """Pat, not certified, last coached 2026-05-31: due 2026-06-30, today."""
    make_session(world.practitioner, world.coach, D(2026, 5, 31))
    pat = cadence(world, program)[world.practitioner.pk]
    assert (pat.certified, pat.session_every) == (False, 30)
    assert world.practitioner.pk in due(world, program)


def test_a_session_yesterday_a_month_ago_is_not_due_yet(world, program):
    """Last coached 2026-06-01: due 2026-07-01, tomorrow; listed only with a window."""
    make_session(world.practitioner, world.coach, D(2026, 6, 1))
    assert world.practitioner.pk not in due(world, program)
    assert world.practitioner.pk in due(world, program, within_days=1)


def test_a_revoked_or_lapsed_certification_counts_as_not_certified(world, program):
    revoked = make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 9, 1))
    revoked.revoked_on, revoked.revocation_reason = D(2026, 6, 1), "Withdrawn by a test."
    revoked.save()
    make_period(world.unassigned, world.purveyor_admin, valid_from=D(2024, 1, 2))  # to 2026-01
    found = cadence(world, program)
    assert found[world.practitioner.pk].certified is False
    assert found[world.unassigned.pk].certified is False


def test_a_certification_in_another_program_does_not_count(world, program):
    make_period(world.practitioner, world.purveyor_admin, "coach", valid_from=D(2025, 9, 1))
    assert cadence(world, program)[world.practitioner.pk].certified is False


def test_never_coached_the_wait_counts_from_the_first_coach_assignment(world, program):
    """Sam, hired 2020, first coached from 2026-05-01: due 2026-05-31, overdue. Rae, hired
    2026-06-20, coached from 2026-06-10 (as a recruit): counted from her hire, due
    2026-07-20. Uma, never coached: from her hire in 2020."""
    sam = make_person(world.home, "practitioner", first_name="Sam")
    make_assignment(world.coach, sam, starts_on=D(2026, 5, 1))
    make_assignment(world.coach, sam, starts_on=D(2026, 6, 20))  # a later one does not move it
    rae = make_person(world.home, "practitioner", first_name="Rae", hire_date=D(2026, 6, 20))
    make_assignment(world.coach, rae, starts_on=D(2026, 6, 10))
    found = cadence(world, program)
    assert found[sam.pk].session_due_from == D(2026, 5, 1)
    assert found[rae.pk].session_due_from == D(2026, 6, 20)
    assert found[world.unassigned.pk].session_due_from == D(2020, 1, 6)
    assert found[world.practitioner.pk].session_due_from == D(2020, 2, 1)
    assert sam.pk in due(world, program)
    assert rae.pk not in due(world, program, within_days=19)
    assert rae.pk in due(world, program, within_days=20)


def test_sessions_under_any_plan_count_and_are_most_urgent_first(world, program):
    old = make_session(world.practitioner, world.coach, D(2026, 3, 1)).plan
    CoachingPlan.objects.filter(pk=old.pk).update(status="closed", closed_reason="Done.")
    make_session(world.practitioner, world.coach, D(2026, 5, 20))  # a new plan
    assert cadence(world, program)[world.practitioner.pk].last_session_on == D(2026, 5, 20)
    found = due(world, program)
    assert found.index(world.unassigned.pk) < found.index(world.practitioner.pk)


def test_the_program_s_settings_are_read(world, program):
    program.session_every_days = 10
    program.save()
    make_session(world.practitioner, world.coach, D(2026, 6, 20))
    assert world.practitioner.pk in due(world, program)
    assert world.practitioner.pk not in due(world, None)  # the default, 30 days


def test_without_a_program_the_defaults_apply_and_nobody_is_certified(world):
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 9, 1))
    make_session(world.practitioner, world.coach, D(2026, 5, 31))
    pat = cadence(world, None)[world.practitioner.pk]
    assert (pat.certified, pat.session_every) == (False, 30)
    assert world.practitioner.pk in due(world, None)


def test_the_cadence_of_many_people_is_one_query(world, program):
    for n in range(20):
        person = make_person(world.home, "practitioner")
        make_assignment(world.coach, person)
        make_session(person, world.coach, D(2026, 6, 1) - dt.timedelta(days=n))
        if n % 2:
            make_period(person, world.purveyor_admin, valid_from=D(2025, 9, 1))
    with CaptureQueriesContext(connection) as captured:
        found = list(
            Person.objects.due_for_session(program, todays(world)).values_list(
                "pk", "certified", "session_every", "last_session_on", "session_due_from"
            )
        )
    assert len(captured) == 1
    assert len(found) >= 10


def test_never_coached_the_wait_counts_from_when_the_program_expected_sessions(world, program):
    """The program expects sessions from 2026-06-15: Uma (hired 2020) and Pat (coached
    since 2020-02-01) are due 2026-07-15, not years ago; Sam, first coached later, from
    then; a last session still counts whatever its date."""
    program.sessions_expected_from = D(2026, 6, 15)
    program.save()
    sam = make_person(world.home, "practitioner", first_name="Sam")
    make_assignment(world.coach, sam, starts_on=D(2026, 6, 20))
    kim = make_person(world.home, "practitioner", first_name="Kim")
    make_assignment(world.coach, kim, starts_on=D(2025, 1, 6))
    make_session(kim, world.coach, D(2026, 5, 1))
    found = cadence(world, program)
    assert found[world.unassigned.pk].session_due_from == D(2026, 6, 15)
    assert found[world.practitioner.pk].session_due_from == D(2026, 6, 15)
    assert found[sam.pk].session_due_from == D(2026, 6, 20)
    assert found[kim.pk].session_due_from == D(2026, 5, 1)
    assert due(world, program) == [kim.pk]
    assert world.practitioner.pk not in due(world, program, within_days=14)
    assert world.practitioner.pk in due(world, program, within_days=15)

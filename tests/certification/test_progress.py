"""Standing and progress read from the database: observers' certifications on the day,
the ladder, revocations, deadlines, time zones, and a fixed number of queries."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification import dates, progress, roster
from certification.models import Program
from miiwrap.people.models import Organization, Person
from tests.certification.conftest import D, coaching_evidence, evidence, observe
from tests.factories import make_assignment, make_org, make_period, make_person


def card_of(person, code="practitioner", as_of=None):
    program = Program.objects.with_rules().get(code=code)
    person = Person.objects.select_related("organization").get(pk=person.pk)
    return progress.card(person, program, as_of)


def test_a_newcomer_without_observations_is_not_certified(world, frozen):
    card = card_of(world.practitioner)
    assert card.state == dates.State.NOT_CERTIFIED
    assert card.progress.summary == "0 of 3 qualifying observations; 3 more"
    assert card.next_date is None


def test_observations_accumulating_put_a_person_in_progress(world, certified_coach):
    observe(certified_coach, world.practitioner, D(2026, 6, 1))
    card = card_of(world.practitioner)
    assert card.state == dates.State.IN_PROGRESS
    assert card.progress.summary == "1 of 3 qualifying observations; 2 more by 2026-11-28"


def test_enough_evidence_by_a_certified_coach_meets_the_rule(world, certified_coach):
    made = evidence(certified_coach, world.practitioner)
    card = card_of(world.practitioner)
    assert card.progress.meets
    assert {seen.id for seen in card.progress.evidence} == {o.pk for o in made}


def test_observations_by_a_coach_certified_only_later_do_not_count(world, frozen):
    evidence(world.coach, world.practitioner)
    make_period(world.coach, world.purveyor_admin, "coach", D(2026, 5, 5))  # after the last
    card = card_of(world.practitioner)
    assert not card.progress.meets
    assert "the observer was not certified" in card.progress.summary


def test_the_observers_certification_counts_from_its_first_day(world, frozen):
    evidence(world.coach, world.practitioner, days=(D(2026, 3, 2), D(2026, 4, 6), D(2026, 5, 4)))
    make_period(world.coach, world.purveyor_admin, "coach", D(2026, 3, 2))
    assert card_of(world.practitioner).progress.meets


def test_an_observer_whose_certification_lapsed_no_longer_counts(world, frozen):
    # Certified 2024-03-01 to 2026-02-28: every observation below falls after it.
    make_period(world.coach, world.purveyor_admin, "coach", D(2024, 3, 1))
    evidence(world.coach, world.practitioner)
    assert not card_of(world.practitioner).progress.meets


def test_a_coach_needs_the_practitioner_certification_first(world, frozen):
    trainer = make_person(world.purveyor, "coach", first_name="Tia")
    make_period(trainer, world.purveyor_admin, "trainer", D(2025, 1, 2))
    coaching_evidence(trainer, world.coach)
    card = card_of(world.coach, "coach")
    assert not card.progress.meets
    assert card.progress.summary == "Does not hold a current MiiWrap Practitioner certification"
    make_period(world.coach, world.purveyor_admin, "practitioner", D(2025, 1, 2))
    assert card_of(world.coach, "coach").progress.meets


def test_after_a_revocation_only_later_observations_count(world, certified_coach):
    evidence(certified_coach, world.practitioner)
    make_period(
        world.practitioner, world.purveyor_admin, valid_from=D(2026, 5, 6),
        revoked_on=D(2026, 6, 1), revoked_by=world.purveyor_admin,
        revocation_reason="Records did not match the visits.",
    )  # fmt: skip
    card = card_of(world.practitioner)
    assert card.state == dates.State.REVOKED
    assert card.first_day == D(2026, 6, 1)
    assert card.progress.summary.startswith("0 of 3 qualifying observations")


def test_a_program_deadline_after_hire_dates_a_novices_progress(world, certified_coach):
    Program.objects.filter(code="practitioner").update(deadline_days_after_hire=45)
    novice = make_person(world.home, "practitioner", hire_date=D(2026, 6, 1))
    make_assignment(certified_coach, novice, starts_on=D(2026, 6, 1))
    observe(certified_coach, novice, D(2026, 6, 15))
    card = card_of(novice)
    assert card.deadline == D(2026, 7, 16)
    assert card.progress.summary == "1 of 3 qualifying observations; 2 more by 2026-07-16"


def test_in_the_window_progress_counts_toward_renewal_from_the_window(world, certified_coach):
    # Certified 2024-09-01 to 2026-08-31; the window opened on 2026-06-02.
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 9, 1))
    observe(certified_coach, world.practitioner, D(2026, 6, 1))  # a day before: not counted
    observe(certified_coach, world.practitioner, D(2026, 6, 2))
    card = card_of(world.practitioner)
    assert card.state == dates.State.WINDOW_OPEN
    assert card.is_renewal and card.first_day == D(2026, 6, 2)
    assert card.progress.summary == "1 of 2 qualifying observations; 1 more by 2026-08-31"
    assert card.next_date == ("Window open until", D(2026, 8, 31))


def test_progress_can_be_read_as_of_an_earlier_day(world, certified_coach):
    evidence(certified_coach, world.practitioner)
    assert not card_of(world.practitioner, as_of=D(2026, 5, 3)).progress.meets
    assert card_of(world.practitioner, as_of=D(2026, 5, 4)).progress.meets


# Time zones: a date is a date in the organization's zone -------------------------------------

# 04:30 UTC on 2026-09-01: already 1 September in New York, still 31 August in Honolulu.
LATE = dt.datetime(2026, 9, 1, 4, 30, tzinfo=ZoneInfo("UTC"))


@pytest.fixture
def two_zones(world, time_machine):
    """A period expiring 2026-08-31 in New York, and the same dates in Honolulu."""
    time_machine.move_to(LATE, tick=False)
    islands = make_org("Windward Youth Services", time_zone="Pacific/Honolulu")
    islander = make_person(islands, "practitioner")
    for person in (world.practitioner, islander):
        make_period(person, world.purveyor_admin, valid_from=D(2024, 9, 1))
    return world.practitioner, islander


def test_the_state_changes_at_midnight_where_the_organization_works(two_zones):
    new_yorker, islander = two_zones
    assert Organization.objects.get(pk=new_yorker.organization_id).time_zone == "America/New_York"
    assert card_of(new_yorker).state == dates.State.GRACE
    assert card_of(islander).state == dates.State.WINDOW_OPEN
    assert card_of(islander).next_date == ("Window open until", D(2026, 8, 31))


# Bulk reads ----------------------------------------------------------------------------------


def test_cards_for_many_people_take_the_same_number_of_queries(world, certified_coach):
    program = Program.objects.with_rules().get(code="practitioner")

    def queries_for(count):
        people = [make_person(world.home, "practitioner") for _ in range(count)]
        for person in people:
            make_period(person, world.purveyor_admin, valid_from=D(2024, 9, 1))
            observe(certified_coach, person, D(2026, 6, 10))
        rows = Person.objects.select_related("organization").filter(pk__in=[p.pk for p in people])
        with CaptureQueriesContext(connection) as captured:
            found = progress.cards(list(rows), program)
        assert {card.state for card in found.values()} == {dates.State.WINDOW_OPEN}
        return len(captured)

    assert queries_for(2) == queries_for(30)


def test_a_person_page_card_knows_who_may_decide(world, certified_coach):
    person = Person.objects.select_related("organization").get(pk=world.practitioner.pk)
    decider = Person.objects.signed_in_as(certified_coach.user)
    cards = progress.person_cards(person, decider)
    assert [(c.program.code, c.may_decide) for c in cards] == [("practitioner", True)]
    leader = Person.objects.signed_in_as(world.leader.user)
    assert [c.may_decide for c in progress.person_cards(person, leader)] == [False]


# The roster and the card agree -----------------------------------------------------------------

EDGES = [
    D(2024, 8, 31), D(2024, 9, 1), D(2026, 6, 1), D(2026, 6, 2), D(2026, 8, 31),
    D(2026, 9, 1), D(2026, 9, 30), D(2026, 10, 1), D(2027, 3, 1), D(2028, 9, 1),
]  # fmt: skip


@pytest.fixture
def histories(world, frozen):
    """One person per shape of history, each certified 2024-09-01 to 2026-08-31 first."""
    by = world.purveyor_admin
    shapes = {}
    for shape in ("single", "renewed", "revoked", "revoked_renewal", "lapsed_then_new"):
        person = make_person(world.home, "practitioner", first_name=shape)
        make_period(person, by, valid_from=D(2024, 9, 1))
        shapes[shape] = person
    make_period(shapes["renewed"], by, valid_from=D(2026, 9, 1), decided_on=D(2026, 6, 20),
                is_renewal=True)  # fmt: skip
    shapes["revoked"].certifications.update(
        revoked_on=D(2025, 6, 1), revoked_by=by, revocation_reason="Test."
    )
    make_period(shapes["revoked_renewal"], by, valid_from=D(2026, 9, 1),
                decided_on=D(2026, 6, 20), is_renewal=True, revoked_on=D(2026, 7, 1),
                revoked_by=by, revocation_reason="Test.")  # fmt: skip
    make_period(shapes["lapsed_then_new"], by, valid_from=D(2026, 10, 1))
    observe(world.coach, world.unassigned, D(2026, 6, 1))  # in progress, no period
    return [*shapes.values(), world.unassigned]


@pytest.mark.parametrize("day", EDGES)
def test_the_roster_and_the_card_agree_on_every_edge(histories, day):
    program = Program.objects.with_rules().get(code="practitioner")
    people = Person.objects.filter(pk__in=[p.pk for p in histories])
    noon = dt.datetime.combine(day, dt.time(12), ZoneInfo("America/New_York"))
    on_roster = {row.person_id: row.state for row in roster.standings(people, program, noon)}
    on_cards = {p.pk: card_of(p, as_of=day).state for p in histories}
    assert on_roster == on_cards
    assert len(set(on_cards.values())) > 1 or day < D(2024, 9, 1)

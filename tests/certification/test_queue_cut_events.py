"""The decision queue's SQL cut (certification.models.could_be_ready) agrees with the
Python rule when a rule asks for learning community events: on the generated world of
tests/certification/test_queue_cut.py, with generated events and attendances, the queue
read through the cut equals the plain evaluation of everyone on the roster."""

import datetime as dt
import random

import pytest

from certification.models import EvidenceRule, Program, could_be_ready
from miiwrap.community.models import Attendance, Event
from miiwrap.people.models import Organization, todays_by_zone
from tests.certification.test_queue_cut import (  # noqa: F401  (the fixture)
    MOMENTS,
    everyone_judged,
    generated,
    no_companion_one_type,
    rules_by_band,
    staff,
    through_the_cut,
)

KINDS = Event.Kind.values
STATUSES = ["attended", "attended", "attended", "registered", "absent"]


@pytest.fixture
def attending(generated):  # noqa: F811
    """Events from well before the first moment to the last, of every kind, inviting
    everyone; each person attends (or registered for, or missed) a few of them."""
    rng = random.Random(20261205)
    organizations = list(Organization.objects.all())
    first, last = MOMENTS[0].date() - dt.timedelta(days=400), MOMENTS[-1].date()
    events = []
    for n in range(40):
        day = first + dt.timedelta(days=rng.randrange((last - first).days + 2))
        event = Event.objects.create(title=f"Event {n}", held_on=day, kind=rng.choice(KINDS))
        event.organizations.set(organizations)
        events.append(event)
    for person in generated:
        for event in rng.sample(events, rng.randrange(0, 6)):
            Attendance.objects.create(event=event, person=person, status=rng.choice(STATUSES))
    return generated


def shown(cards):
    return [
        (c.person.pk, c.state, c.progress.summary, [a.id for a in c.progress.events]) for c in cards
    ]


def rules(initial=(0, ""), renewal=(0, "")):
    for kind, (count, event_kind) in (("initial", initial), ("renewal", renewal)):
        EvidenceRule.objects.filter(program__code="practitioner", kind=kind).update(
            min_events=count, event_kind=event_kind
        )


def one_learning_community_event_first():
    rules(initial=(1, "learning_community"))


def two_events_of_any_kind_to_renew():
    rules(renewal=(2, ""))


def both_and_looser_observations():
    rules_by_band()
    no_companion_one_type()
    rules(initial=(1, "training"), renewal=(1, ""))


def a_renewal_with_its_own_look_back():
    EvidenceRule.objects.filter(program__code="practitioner", kind="renewal").update(
        within_days=200
    )
    rules(initial=(1, ""), renewal=(2, "learning_community"))


def ready_ids(program, moment, time_machine):
    time_machine.move_to(moment, tick=False)
    todays = todays_by_zone(set(Organization.objects.values_list("time_zone", flat=True)))
    return {card.person.pk for card in everyone_judged(program, todays)}


@pytest.mark.parametrize(
    "change",
    [
        one_learning_community_event_first,
        two_events_of_any_kind_to_renew,
        both_and_looser_observations,
        a_renewal_with_its_own_look_back,
    ],
)
def test_the_cut_keeps_everyone_the_rules_with_events_put_in_the_queue(
    attending, time_machine, change
):
    program = Program.objects.with_rules().get(code="practitioner")
    without = [ready_ids(program, moment, time_machine) for moment in MOMENTS]
    change()
    program = Program.objects.with_rules().get(code="practitioner")
    zones = set(Organization.objects.values_list("time_zone", flat=True))
    judged, held_back = 0, 0
    for moment, before in zip(MOMENTS, without, strict=True):
        time_machine.move_to(moment, tick=False)
        todays = todays_by_zone(zones)
        expected = everyone_judged(program, todays)
        assert shown(through_the_cut(program, todays)) == shown(expected), moment
        judged += len(expected)
        held_back += len(before - {card.person.pk for card in expected})
    assert judged > 0  # somebody is ready, or the test proves nothing
    if change is not both_and_looser_observations:  # that one also loosens the rule
        assert held_back > 0  # and the events kept somebody out, or they were not read


def test_the_cut_drops_those_short_of_events(attending, time_machine):
    """With events asked of everyone, the cut keeps fewer than without them."""
    program = Program.objects.with_rules().get(code="practitioner")
    time_machine.move_to(MOMENTS[0], tick=False)
    todays = todays_by_zone(set(Organization.objects.values_list("time_zone", flat=True)))
    before = could_be_ready(staff(program, todays), program, todays).count()
    rules(initial=(3, "training"), renewal=(3, "training"))
    program = Program.objects.with_rules().get(code="practitioner")
    after = could_be_ready(staff(program, todays), program, todays).count()
    assert after < before

"""A disputed observation is not certification evidence until the dispute is settled: not
in the decision queue, not in what a decision keeps; the decision page says it was left out."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from certification import progress, services
from certification.models import CertificationPeriod, Program
from observations import services as observation_services
from observations.models import Dispute, Observation
from tests.certification.conftest import NOW, evidence
from tests.factories import rubric_version


@pytest.fixture
def practitioner_program(db):
    return Program.objects.with_rules().get(code="practitioner")


@pytest.fixture
def made(world, certified_coach):
    """The three fidelity observations and the MI coding that meet the rule exactly."""
    return evidence(certified_coach, world.practitioner)


def dispute(world, observation):
    return observation_services.dispute_raise(
        observation=observation, by=world.practitioner, reason="Not my meeting."
    )


def card(world, program):
    return progress.card(world.practitioner, program)


def test_an_open_dispute_leaves_the_observation_out(world, made, practitioner_program):
    assert card(world, practitioner_program).progress.meets
    dispute(world, made[0])
    found = card(world, practitioner_program).progress
    assert not found.meets
    assert made[0].pk not in [seen.id for seen in found.evidence]
    assert [seen.id for seen in found.disputed] == [made[0].pk]
    assert "2 of 3 qualifying observations" in found.summary
    assert "1 more disputed: counted once settled" in found.summary


def test_it_counts_again_once_answered(world, made, practitioner_program):
    raised = dispute(world, made[0])
    observation_services.dispute_answer(dispute=raised, by=world.coach, answer="It was yours.")
    found = card(world, practitioner_program).progress
    assert found.meets
    assert made[0].pk in [seen.id for seen in found.evidence]
    assert found.disputed == ()


def test_it_counts_again_once_amended(world, made, practitioner_program):
    dispute(world, made[0])
    observation = made[0]
    changed = Observation.objects.get(pk=observation.pk)
    observation.next_steps = "Agreed one step."
    observation_services.observation_amend(
        observation=observation,
        changed=changed,
        definition=rubric_version().definition(),
        amended_by=world.coach,
        reason="Added the step we agreed.",
    )
    assert Dispute.objects.get().status == Dispute.Status.AMENDED
    assert card(world, practitioner_program).progress.meets


def test_a_disputed_companion_observation_is_left_out_too(world, made, practitioner_program):
    dispute(world, made[-1])  # the MI coding
    found = card(world, practitioner_program).progress
    assert not found.meets
    assert [seen.id for seen in found.disputed] == [made[-1].pk]


def test_the_queue_drops_whoever_no_longer_meets_the_rule(world, made, login):
    client = login(world.coach)
    queue = reverse("certification:queue")
    assert world.practitioner.full_name in client.get(queue).content.decode()
    dispute(world, made[1])
    assert world.practitioner.full_name not in client.get(queue).content.decode()


def test_the_decision_page_notes_what_was_left_out(world, made, login):
    dispute(world, made[1])
    url = reverse("certification:decide", args=[world.practitioner.pk, "practitioner"])
    page = login(world.coach).get(url).content.decode()
    note = page[page.index("data-disputed-evidence") :]
    assert "Left out while disputed" in note
    assert f'href="/observations/{made[1].pk}/#dispute"' in note
    assert "2026-04-06" in note


def test_a_decision_with_an_override_keeps_no_disputed_evidence(world, made):
    dispute(world, made[1])
    period = services.certification_decide(
        person=world.practitioner,
        program=Program.objects.with_rules().get(code="practitioner"),
        decided_by=world.coach,
        override_reason="Seen in person since.",
    )
    assert made[1].pk not in period.evidence_ids()
    assert made[0].pk in period.evidence_ids()


def run_check():
    out = io.StringIO()
    call_command("check_certifications", stdout=out)
    return out.getvalue()


def test_check_certifications_stays_clean_with_settled_and_later_disputes(
    world, made, time_machine
):
    settled = dispute(world, made[2])
    time_machine.move_to(NOW + dt.timedelta(minutes=1), tick=False)
    observation_services.dispute_answer(dispute=settled, by=world.coach, answer="It was yours.")
    time_machine.move_to(NOW + dt.timedelta(minutes=2), tick=False)
    period = services.certification_decide(
        person=world.practitioner,
        program=Program.objects.with_rules().get(code="practitioner"),
        decided_by=world.coach,
    )
    assert made[2].pk in period.evidence_ids()
    time_machine.move_to(NOW + dt.timedelta(minutes=3), tick=False)
    dispute(world, made[0])  # raised after the decision: the decision stands as it was
    assert run_check().startswith("No problems in")


def test_check_certifications_flags_evidence_disputed_when_decided(world, made):
    period = services.certification_decide(
        person=world.practitioner,
        program=Program.objects.with_rules().get(code="practitioner"),
        decided_by=world.coach,
    )
    # A row that came around the rule (a restore, a hand fix): raised before the decision.
    raised = dispute(world, made[0])
    Dispute.objects.filter(pk=raised.pk).update(raised_at=NOW - dt.timedelta(days=1))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_certifications", stdout=out)
    assert f"#{period.pk} " in out.getvalue()
    assert f"disputed when it was decided: #{made[0].pk}" in out.getvalue()
    assert CertificationPeriod.objects.count() == 3

"""check_certifications: every invariant, each broken once, and a clean bill when none is."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from certification import checks, dates, services
from certification.models import CertificationEvent, CertificationPeriod, Program
from tests.certification.conftest import D, evidence
from tests.factories import make_period


def run():
    out = io.StringIO()
    call_command("check_certifications", stdout=out)
    return out.getvalue()


def failing():
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("check_certifications", stdout=out)
    return out.getvalue(), str(caught.value)


def test_clean_records_pass(world, certified_coach):
    evidence(certified_coach, world.practitioner)
    services.certification_decide(
        person=world.practitioner,
        program=Program.objects.with_rules().get(code="practitioner"),
        decided_by=certified_coach,
    )
    assert run() == "No problems in 3 periods.\n"


def test_overlapping_periods_are_listed_and_the_exit_status_is_not_zero(world, frozen):
    first = make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 3, 1))
    second = make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 3, 1))
    output, error = failing()
    assert f"#{second.pk} " in output
    assert f"overlaps the period 2024-03-01 to 2026-02-28 (#{first.pk})" in output
    assert error == "1 problem(s) in 2 periods."


def test_a_period_after_a_revocation_does_not_overlap_it(world, frozen):
    make_period(
        world.practitioner,
        world.purveyor_admin,
        valid_from=D(2024, 3, 1),
        revoked_on=D(2025, 1, 1),
        revoked_by=world.purveyor_admin,
        revocation_reason="Test.",
    )
    revoked = world.practitioner.certifications.get()
    CertificationEvent.objects.create(period=revoked, kind="revoked", happened_on=D(2025, 1, 1))
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 1, 1))
    assert run() == "No problems in 2 periods.\n"


def test_a_certification_without_evidence_or_reason_is_listed(world, frozen):
    make_period(world.practitioner, world.purveyor_admin, override_reason="")
    output, _ = failing()
    assert "certifies without evidence and without an override reason" in output


def test_evidence_that_no_longer_exists_is_listed(world, certified_coach):
    made = evidence(certified_coach, world.practitioner)
    period = make_period(
        world.practitioner,
        world.purveyor_admin,
        valid_from=D(2026, 5, 4),
        override_reason="",
        evidence=[{"id": o.pk} for o in made],
    )
    gone = made[0].pk
    made[0].delete()
    output, _ = failing()
    assert f"#{period.pk} " in output
    assert f"names evidence that no longer exists: observation #{gone}" in output


def test_a_period_missing_from_the_audit_history_is_listed(world, frozen):
    period = make_period(world.practitioner, world.purveyor_admin)
    period.events.all().delete()
    assert "has no decision in its audit history" in failing()[0]


def test_a_silently_backdated_decision_is_listed(world, frozen):
    recorded = dt.datetime(2026, 6, 30, 9, tzinfo=ZoneInfo("America/New_York"))
    make_period(
        world.practitioner, world.purveyor_admin, valid_from=D(2026, 6, 1), decided_at=recorded
    )
    output, _ = failing()
    assert "is dated 2026-06-01, before it was recorded (2026-06-30), unexplained" in output
    CertificationPeriod.objects.update(backdate_reason="Entered from the paper register.")
    assert run() == "No problems in 1 periods.\n"


def test_a_decision_after_the_person_left_is_listed(world, frozen):
    make_period(world.practitioner, world.purveyor_admin, backdate_reason="Paper.")
    world.practitioner.leave_date = D(2025, 1, 1)
    world.practitioner.save()
    assert f"was decided after {world.practitioner} left (2025-01-01)" in failing()[0]


# The rules the database also enforces, checked on rows made in memory --------------------------


def period_in_memory(world, **fields):
    program = Program.objects.get(code="practitioner")
    dated = dates.period_from(program.rules(), D(2025, 3, 3))
    values = {
        "valid_from": dated.valid_from,
        "valid_until": dated.valid_until,
        "window_opens": dated.window_opens,
        "grace_ends": dated.grace_ends,
        "decided_on": D(2025, 3, 3),
        "override_reason": "Test.",
        "decided_at": dt.datetime(2025, 3, 3, 12, tzinfo=ZoneInfo("America/New_York")),
        "decided_by": world.purveyor_admin,
        **fields,
    }
    return CertificationPeriod(pk=1, person=world.practitioner, program=program, **values)


def problems_of(period):
    return [text for _, text in checks.problems([period], {}, {1: {"certified"}})]


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"window_opens": D(2027, 3, 3)}, "its window opens (2027-03-03) after it expires"),
        ({"grace_ends": D(2027, 1, 1)}, "its grace ends (2027-01-01) before it expires"),
        ({"valid_from": D(2025, 3, 1)}, "starts (2025-03-01) before it was decided (2025-03-03)"),
        ({"revoked_on": D(2025, 4, 1)}, "was revoked without a reason"),
        (
            {"revoked_on": D(2025, 3, 1), "revocation_reason": "x"},
            "was revoked (2025-03-01) before it was decided (2025-03-03)",
        ),
        ({"is_renewal": True}, "is marked a renewal, but no earlier period was open to renew"),
        (
            {
                "decided_on": D(2025, 3, 3),
                "decided_at": dt.datetime(2025, 3, 2, tzinfo=ZoneInfo("UTC")),
            },
            "is dated 2025-03-03, after the day it was recorded (2025-03-01)",
        ),
    ],
)
def test_each_date_rule_is_checked(world, fields, problem):
    found = problems_of(period_in_memory(world, **fields))
    assert any(text.startswith(problem) for text in found), found


def test_a_self_certification_is_listed(world):
    period = period_in_memory(world, decided_by=world.practitioner)
    assert "was decided by the person it certifies" in problems_of(period)


def test_a_revoked_period_needs_its_revocation_in_the_audit_history(world):
    period = period_in_memory(world, revoked_on=D(2025, 4, 1), revocation_reason="x")
    assert "is revoked, but the audit history has no revocation" in problems_of(period)


def test_a_well_formed_period_has_no_problem(world):
    assert problems_of(period_in_memory(world)) == []

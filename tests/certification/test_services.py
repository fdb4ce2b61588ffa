"""Decisions: who may decide, what the evidence must show, the dates a decision grants,
backdating, revocation, and the audit history each leaves."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections

from certification import services
from certification.models import CertificationEvent, CertificationPeriod, Program
from miiwrap.people.models import Person
from tests.certification.conftest import D, activities, evidence, observe
from tests.conftest import require
from tests.factories import make_assignment, make_period, make_person

NEW_YORK = ZoneInfo("America/New_York")


def program(code="practitioner"):
    return Program.objects.with_rules().get(code=code)


def decide(person, by, code="practitioner", **kw):
    return services.certification_decide(
        person=Person.objects.get(pk=person.pk), program=program(code), decided_by=by, **kw
    )


def errors_of(call):
    with pytest.raises(ValidationError) as caught:
        call()
    error = caught.value
    return error.message_dict if hasattr(error, "error_dict") else {None: error.messages}


# Certifying on evidence ---------------------------------------------------------------------


def test_a_certified_coach_certifies_a_practitioner_whose_evidence_meets_the_rule(
    world, certified_coach
):
    made = evidence(certified_coach, world.practitioner)
    period = decide(world.practitioner, certified_coach)
    assert (period.valid_from, period.valid_until) == (D(2026, 6, 30), D(2028, 6, 29))
    assert (period.window_opens, period.grace_ends) == (D(2028, 3, 31), D(2028, 7, 29))
    assert not period.is_renewal and period.override_reason == ""
    assert period.evidence_ids() == [o.pk for o in made]
    assert period.evidence[0]["overall"] == "100.00"
    event = period.events.get()
    assert (event.kind, event.happened_on, event.by) == ("certified", D(2026, 6, 30), world.coach)


def test_the_evidence_snapshot_survives_a_later_amendment(world, certified_coach):
    made = evidence(certified_coach, world.practitioner)
    period = decide(world.practitioner, certified_coach)
    made[0].overall_score = 10
    made[0].save()
    period.refresh_from_db()
    assert period.evidence[0] == {
        "id": made[0].pk,
        "observed_on": "2026-03-02",
        "overall": "100.00",
        "band": "high",
        "activity": made[0].activity.name,
        "observer": world.coach.full_name,
    }


def test_without_enough_evidence_a_decision_needs_an_override_reason(world, certified_coach):
    observe(certified_coach, world.practitioner, D(2026, 6, 1))
    errors = errors_of(lambda: decide(world.practitioner, certified_coach))
    assert list(errors) == ["override_reason"]
    assert "1 of 3 qualifying observations" in errors["override_reason"][0]
    assert not world.practitioner.certifications.exists()
    period = decide(
        world.practitioner, certified_coach, override_reason="  Observed live at the summit.  "
    )
    assert period.override_reason == "Observed live at the summit."
    assert period.events.get().note == "Override: Observed live at the summit."


# Who decides ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coach", "leader", "org_admin", "unassigned"])
def test_people_without_the_coach_certification_are_refused(world, frozen, who):
    decider = getattr(world, who)
    errors = errors_of(lambda: decide(world.practitioner, decider, override_reason="x"))
    assert "does not hold a current MiiWrap Coach certification" in errors[None][0]


def test_a_coach_from_another_organization_is_refused(world, frozen):
    make_period(world.outsider, world.purveyor_admin, "coach", D(2025, 1, 2))
    errors = errors_of(lambda: decide(world.practitioner, world.outsider, override_reason="x"))
    assert errors[None] == [f"{world.outsider} certifies in another organization."]


def test_nobody_certifies_themselves(world, certified_coach):
    errors = errors_of(lambda: decide(certified_coach, certified_coach, override_reason="x"))
    assert errors[None] == ["Nobody decides their own certification."]


def test_a_purveyor_admin_decides_any_program(world, frozen):
    for code in ("practitioner", "coach", "trainer"):
        decide(world.coach, world.purveyor_admin, code, override_reason="Panel review.")
    assert world.coach.certifications.count() == 3


def test_only_the_purveyor_certifies_coaches(world, certified_coach):
    colleague = make_person(world.home, "coach", "practitioner")
    errors = errors_of(lambda: decide(colleague, certified_coach, "coach", override_reason="x"))
    assert errors[None] == ["The purveyor decides MiiWrap Coach."]


def test_a_certified_trainer_at_the_purveyor_certifies_coaches(world, frozen):
    trainer = make_person(world.purveyor, "coach", first_name="Tia")
    make_period(trainer, world.purveyor_admin, "trainer", D(2025, 1, 2))
    period = decide(world.coach, trainer, "coach", override_reason="Observed at the institute.")
    assert period.decided_by == trainer


# Dates: never backdated silently ---------------------------------------------------------------


def test_a_decision_in_the_future_is_refused(world, certified_coach):
    evidence(certified_coach, world.practitioner)
    errors = errors_of(
        lambda: decide(world.practitioner, certified_coach, decided_on=D(2026, 7, 1))
    )
    assert errors == {"decided_on": ["A decision cannot be dated in the future."]}


def test_a_backdated_decision_needs_a_reason_and_keeps_it(world, certified_coach):
    evidence(certified_coach, world.practitioner)
    earlier = D(2026, 6, 10)
    errors = errors_of(lambda: decide(world.practitioner, certified_coach, decided_on=earlier))
    assert list(errors) == ["backdate_reason"]
    period = decide(
        world.practitioner, certified_coach, decided_on=earlier, backdate_reason="Paper form."
    )
    assert (period.decided_on, period.valid_from, period.backdate_reason) == (
        earlier,
        earlier,
        "Paper form.",
    )
    assert period.decided_at.date() == D(2026, 6, 30)
    assert "Dated before it was recorded: Paper form." in period.events.get().note


def test_a_backdated_decision_is_judged_on_the_evidence_of_its_day(world, certified_coach):
    evidence(certified_coach, world.practitioner)  # complete on 2026-05-04
    errors = errors_of(
        lambda: decide(
            world.practitioner, certified_coach, decided_on=D(2026, 5, 3), backdate_reason="x"
        )
    )
    assert list(errors) == ["override_reason"]


def test_a_decision_cannot_be_dated_before_a_later_one(world, certified_coach):
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2026, 6, 1))
    errors = errors_of(
        lambda: decide(
            world.practitioner,
            certified_coach,
            decided_on=D(2026, 5, 1),
            backdate_reason="x",
            override_reason="x",
        )
    )
    assert errors["decided_on"][0].startswith("A later decision exists (on 2026-06-01)")


def test_a_decision_before_hire_or_after_leaving_is_refused(world, certified_coach):
    world.practitioner.leave_date = D(2026, 6, 1)
    world.practitioner.save()
    errors = errors_of(lambda: decide(world.practitioner, certified_coach, override_reason="x"))
    assert errors == {"decided_on": [f"{world.practitioner} left on 2026-06-01."]}


# Renewals at the edges of the window ---------------------------------------------------------


def renewal_evidence(coach, practitioner, *days):
    first, second = activities()
    for n, day in enumerate(days):
        observe(coach, practitioner, day, activity=first if n % 2 == 0 else second)


def certified_until_august(world):
    """Pat holds 2024-09-01 to 2026-08-31: window from 2026-06-02, grace to 2026-09-30."""
    return make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 9, 1))


def test_a_renewal_inside_the_window_starts_the_day_after_expiry(world, certified_coach):
    certified_until_august(world)
    renewal_evidence(certified_coach, world.practitioner, D(2026, 6, 2), D(2026, 6, 20))
    period = decide(world.practitioner, certified_coach)
    assert period.is_renewal
    assert (period.valid_from, period.valid_until) == (D(2026, 9, 1), D(2028, 8, 31))
    assert period.events.get().kind == "recertified"


def test_a_second_renewal_while_one_is_pending_is_refused(world, certified_coach):
    certified_until_august(world)
    renewal_evidence(certified_coach, world.practitioner, D(2026, 6, 2), D(2026, 6, 20))
    decide(world.practitioner, certified_coach)
    errors = errors_of(lambda: decide(world.practitioner, certified_coach, override_reason="x"))
    assert errors == {None: ["Already recertified until 2028-08-31."]}


def test_a_renewal_before_the_window_needs_an_override_and_still_loses_no_time(
    world, certified_coach
):
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 1, 2))
    renewal_evidence(certified_coach, world.practitioner, D(2026, 6, 2), D(2026, 6, 20))
    errors = errors_of(lambda: decide(world.practitioner, certified_coach))
    assert "0 of 2 qualifying observations" in errors["override_reason"][0]
    period = decide(world.practitioner, certified_coach, override_reason="Leaving for a year.")
    assert (period.is_renewal, period.valid_from) == (True, D(2027, 1, 2))


def test_a_renewal_in_grace_starts_on_the_decision_day(world, certified_coach, time_machine):
    certified_until_august(world)
    renewal_evidence(certified_coach, world.practitioner, D(2026, 6, 2), D(2026, 6, 20))
    time_machine.move_to(dt.datetime(2026, 9, 15, 12, tzinfo=NEW_YORK), tick=False)
    period = decide(world.practitioner, certified_coach)
    assert (period.is_renewal, period.valid_from) == (True, D(2026, 9, 15))


def test_after_a_lapse_a_decision_is_a_first_certification_again(
    world, certified_coach, time_machine
):
    certified_until_august(world)
    time_machine.move_to(dt.datetime(2026, 10, 12, 12, tzinfo=NEW_YORK), tick=False)
    evidence(certified_coach, world.practitioner, (D(2026, 8, 3), D(2026, 9, 7), D(2026, 10, 5)))
    period = decide(world.practitioner, certified_coach)
    assert (period.is_renewal, period.valid_from) == (False, D(2026, 10, 12))
    assert period.events.get().kind == "certified"


# Revocation -----------------------------------------------------------------------------------


def test_revoking_ends_the_certification_today_with_any_renewal_after_it(world, certified_coach):
    current = certified_until_august(world)
    renewal_evidence(certified_coach, world.practitioner, D(2026, 6, 2), D(2026, 6, 20))
    renewal = decide(world.practitioner, certified_coach)
    services.certification_revoke(
        period=current, revoked_by=world.purveyor_admin, reason=" Falsified records. "
    )
    for period in (current, renewal):
        period.refresh_from_db()
        assert (period.revoked_on, period.revocation_reason) == (
            D(2026, 6, 30),
            "Falsified records.",
        )
        assert period.events.filter(kind="revoked", by=world.purveyor_admin).count() == 1


def test_revoking_needs_a_reason(world, certified_coach):
    period = certified_until_august(world)
    errors = errors_of(
        lambda: services.certification_revoke(period=period, revoked_by=certified_coach, reason=" ")
    )
    assert errors == {"reason": ["Say why the certification is revoked."]}


def test_a_lapsed_or_revoked_certification_cannot_be_revoked_again(world, certified_coach):
    lapsed = make_period(world.practitioner, world.purveyor_admin, valid_from=D(2023, 1, 2))
    with pytest.raises(ValidationError, match="already lapsed or been revoked"):
        services.certification_revoke(period=lapsed, revoked_by=certified_coach, reason="x")


def test_only_a_certifier_revokes(world, certified_coach):
    period = certified_until_august(world)
    with pytest.raises(ValidationError, match="does not hold a current MiiWrap Coach"):
        services.certification_revoke(period=period, revoked_by=world.leader, reason="x")
    assert not CertificationEvent.objects.filter(kind="revoked").exists()


# Two certifiers at once -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_certifiers_deciding_at_once_make_one_period(
    shipped_programs, world, certified_coach, threads_close_connections
):
    from django.db import connection

    require(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/DB to run it",
    )
    second = make_person(world.home, "coach", "practitioner")
    make_period(second, world.purveyor_admin, "coach", D(2025, 1, 2))
    make_assignment(second, world.practitioner)
    evidence(certified_coach, world.practitioner)
    start, outcomes = threading.Barrier(2), []

    def certify(by):
        start.wait()
        try:
            outcomes.append(decide(world.practitioner, by).pk)
        except ValidationError as error:
            outcomes.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=certify, args=(by,)) for by in (certified_coach, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert CertificationPeriod.objects.filter(person=world.practitioner).count() == 1
    assert sum(isinstance(outcome, ValidationError) for outcome in outcomes) == 1

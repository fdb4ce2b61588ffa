"""Certification decisions: certify, recertify, revoke. Each keeps an audit event."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from certification import dates, progress
from certification.models import CertificationEvent, CertificationPeriod
from miiwrap.notifications.delivery import notify
from miiwrap.notifications.models import Notification, absolute_url
from miiwrap.people.models import Person


def _check_date(person, decided_on, today, backdate_reason):
    if decided_on > today:
        return {"decided_on": "A decision cannot be dated in the future."}
    if decided_on < today and not backdate_reason:
        return {
            "backdate_reason": f"The decision is dated {decided_on:%Y-%m-%d}, before today: "
            "say why, or date it today."
        }
    if decided_on < person.hire_date:
        return {"decided_on": f"{person} was hired on {person.hire_date:%Y-%m-%d}."}
    if person.leave_date and decided_on > person.leave_date:
        return {"decided_on": f"{person} left on {person.leave_date:%Y-%m-%d}."}
    return None


def _check_standing(card, decided_on):
    later = [p for p in card.periods if p.decided_on > decided_on]
    if later:
        return {
            "decided_on": f"A later decision exists (on {later[0].decided_on:%Y-%m-%d}); a "
            "decision cannot be dated before it."
        }
    if card.renewed_ahead:
        until = card.standing.held.period.valid_until
        return {None: f"Already recertified until {until:%Y-%m-%d}."}
    return None


@transaction.atomic
def certification_decide(
    *, person, program, decided_by, decided_on=None, override_reason="", backdate_reason=""
):
    """Certify or recertify `person` in `program`, as of `decided_on` (default: today where
    they work). The evidence is evaluated as of that day and kept as a snapshot; a decision
    it does not support needs `override_reason`; a date before today needs `backdate_reason`.
    """
    # One decision at a time per person: a second one waits, then sees the first.
    person = Person.objects.select_for_update().select_related("organization").get(pk=person.pk)
    override_reason, backdate_reason = override_reason.strip(), backdate_reason.strip()
    today = person.organization.local_today()
    decided_on = decided_on or today
    if problem := program.decider_problem(decided_by, person, decided_on):
        raise ValidationError(problem)
    if errors := _check_date(person, decided_on, today, backdate_reason):
        raise ValidationError(errors)
    card = progress.card(person, program, as_of=decided_on)
    if errors := _check_standing(card, decided_on):
        raise ValidationError(errors)
    if card.progress is None and not override_reason:
        raise ValidationError({"override_reason": f"{program} has no evidence rule: say why."})
    if card.progress is not None and not card.progress.meets and not override_reason:
        raise ValidationError(
            {
                "override_reason": f"The evidence does not meet the rule ({card.progress.summary}"
                "). Give a reason to decide anyway."
            }
        )
    period = _record_decision(card, decided_by, decided_on, override_reason, backdate_reason)
    _tell_person(period)
    return period


def _record_decision(card, decided_by, decided_on, override_reason, backdate_reason):
    period, event = decision_records(
        person=card.person,
        program=card.program,
        previous=card.previous.period if card.previous else None,
        progress=card.progress,
        decided_by=decided_by,
        decided_on=decided_on,
        override_reason=override_reason,
        backdate_reason=backdate_reason,
    )
    period.save()
    event.save()  # its period, now saved, gives it the id
    return period


def _tell_person(period):
    """The person hears of their certification, by email once the decision commits."""
    program, link = period.program, period.get_absolute_url()
    until = f"{period.valid_until:%Y-%m-%d}"
    notify(
        period.person,
        Notification.Kind.DECISION,
        f"You are certified in {program} until {until}",
        f"{period.decided_by} certified you in {program}, valid from "
        f"{period.valid_from:%Y-%m-%d} until {until}. Your certificate: {absolute_url(link)}",
        link=link,
    )


def decision_records(
    *,
    person,
    program,
    previous,
    progress,
    decided_by,
    decided_on,
    override_reason="",
    backdate_reason="",
    decided_at=None,
):
    """The period a decision grants and its audit event, unsaved: the date rules give the
    dates, the progress its evidence snapshot. `previous` is the dates.Period it renews."""
    dated = dates.next_period(program.rules(), decided_on, previous)
    period = CertificationPeriod(
        person=person,
        program=program,
        valid_from=dated.valid_from,
        valid_until=dated.valid_until,
        window_opens=dated.window_opens,
        grace_ends=dated.grace_ends,
        is_renewal=previous is not None,
        decided_on=decided_on,
        decided_by=decided_by,
        decided_at=decided_at or timezone.now(),
        backdate_reason=backdate_reason,
        evidence=progress.kept() if progress else [],
        override_reason=override_reason,
    )
    kind = CertificationEvent.Kind.RECERTIFIED if previous else CertificationEvent.Kind.CERTIFIED
    notes = [f"Override: {override_reason}" if override_reason else "Evidence met the rule."]
    if backdate_reason:
        notes.append(f"Dated before it was recorded: {backdate_reason}")
    event = CertificationEvent(
        period=period,
        kind=kind,
        happened_on=decided_on,
        by=decided_by,
        recorded_at=period.decided_at,
        note=" ".join(notes),
    )
    return period, event


@transaction.atomic
def certification_revoke(*, period, revoked_by, reason):
    """Revoke a period from today where the person works, with any renewal that follows it."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the certification is revoked."})
    person = (
        Person.objects.select_for_update().select_related("organization").get(pk=period.person_id)
    )
    today = person.organization.local_today()
    if problem := period.program.decider_problem(revoked_by, person, today):
        raise ValidationError(problem)
    period = CertificationPeriod.objects.get(pk=period.pk)
    if period.state_on(today) in (dates.State.LAPSED, dates.State.REVOKED):
        raise ValidationError("This certification has already lapsed or been revoked.")
    targets = CertificationPeriod.objects.filter(
        person=person, program=period.program, valid_from__gte=period.valid_from, revoked_on=None
    )
    for target in targets:
        target.revoked_on, target.revoked_by, target.revocation_reason = today, revoked_by, reason
        target.save(update_fields=["revoked_on", "revoked_by", "revocation_reason"])
        CertificationEvent.objects.create(
            period=target, kind=CertificationEvent.Kind.REVOKED, happened_on=today,
            by=revoked_by, note=reason,
        )  # fmt: skip
    return period

"""The daily certification job: transitions, reminders, digests, each exactly once."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from certification import jobs, progress
from certification.models import (
    CertificationEvent,
    CertificationPeriod,
    Program,
    Reminder,
    ReminderRule,
)
from miiwrap.notifications.models import Notification
from tests.factories import make_period, make_person

D = dt.date
NEW_YORK = ZoneInfo("America/New_York")
# Pat's period: valid 2024-07-01 to 2026-06-30; window opens 2026-04-01; grace to 2026-07-30.
VALID_FROM = D(2024, 7, 1)


def at(time_machine, day):
    """Move the clock to noon on `day` in New York, where the world's organizations work."""
    time_machine.move_to(dt.datetime.combine(day, dt.time(12), NEW_YORK), tick=False)


@pytest.fixture
def pat_certified(world):
    return make_period(world.practitioner, world.purveyor_admin, "practitioner", VALID_FROM)


def run(day=None):
    report = jobs.run(today=day)
    assert not report.failed_rows
    return report


def sent_to():
    """{address: [subject]} of the emails sent so far, then forget them."""
    found = {}
    for message in mail.outbox:
        for address in message.to:
            found.setdefault(address, []).append(message.subject)
    mail.outbox.clear()
    return found


def state(person):
    program = Program.objects.with_rules().get(code="practitioner")
    return progress.card(person, program).state


def events(period):
    found = period.events.exclude(kind="certified").order_by("happened_on")
    return list(found.values_list("kind", "happened_on"))


def test_a_whole_cycle_window_reminders_lapse_and_grace_end(world, pat_certified, time_machine):
    pat, cora, lee = world.practitioner, world.coach, world.leader
    period = pat_certified
    assert (period.valid_until, period.window_opens, period.grace_ends) == (
        D(2026, 6, 30),
        D(2026, 4, 1),
        D(2026, 7, 30),
    )

    # The day before the window opens: nothing to record, nobody to tell.
    at(time_machine, D(2026, 3, 31))
    run()
    assert state(pat) == "certified"
    assert events(period) == [] and mail.outbox == []

    # The window opens 90 days before expiry: the transition and the 90-day reminder.
    at(time_machine, D(2026, 4, 1))
    report = run()
    assert state(pat) == "window_open"
    assert events(period) == [("window_opened", D(2026, 4, 1))]
    assert report.transitions == {"window_opened": 1} and report.reminders == 3
    subject = f"{pat}: MiiWrap Practitioner expires on 2026-06-30"
    assert sent_to() == {
        pat.email: [subject],
        cora.email: [subject],
        lee.email: ["Your MiiWrap Fidelity digest for 2026-04-01: 1 item"],
    }
    reminders = Reminder.objects.filter(period=period)
    assert sorted(reminders.values_list("role", "due_on")) == [
        ("coach", D(2026, 4, 1)),
        ("leader", D(2026, 4, 1)),
        ("practitioner", D(2026, 4, 1)),
    ]
    assert {r.notification.status for r in reminders.all()} == {"sent", "in_digest"}

    # Running again the same day, or the next, repeats nothing.
    run()
    at(time_machine, D(2026, 4, 2))
    run()
    assert mail.outbox == [] and reminders.count() == 3

    # 60, 30 and 7 days before expiry: one email each to Pat and Cora, a digest for Lee.
    for day in (D(2026, 5, 1), D(2026, 5, 31), D(2026, 6, 23)):
        at(time_machine, day)
        run()
        assert state(pat) == "window_open"
        days_left = (period.valid_until - day).days
        assert sent_to() == {
            pat.email: [subject],
            cora.email: [subject],
            lee.email: [f"Your MiiWrap Fidelity digest for {day:%Y-%m-%d}: 1 item"],
        }
        body = Reminder.objects.get(period=period, recipient=pat, due_on=day).notification
        assert f"in {days_left} days" in body.body_text
    assert reminders.count() == 12

    # The day after expiry: grace begins, and the on-lapse reminder goes out.
    at(time_machine, D(2026, 7, 1))
    run()
    assert state(pat) == "grace"
    assert events(period)[-1] == ("expired", D(2026, 7, 1))
    expired = f"{pat}: MiiWrap Practitioner expired on 2026-06-30"
    assert sent_to() == {
        pat.email: [expired],
        cora.email: [expired],
        lee.email: ["Your MiiWrap Fidelity digest for 2026-07-01: 1 item"],
    }

    # The day after grace ends: lapsed, and the last reminder.
    at(time_machine, D(2026, 7, 31))
    run()
    assert state(pat) == "lapsed"
    assert events(period) == [
        ("window_opened", D(2026, 4, 1)),
        ("expired", D(2026, 7, 1)),
        ("lapsed", D(2026, 7, 31)),
    ]
    lapsed = f"{pat}: MiiWrap Practitioner has lapsed"
    assert sent_to() == {
        pat.email: [lapsed],
        cora.email: [lapsed],
        lee.email: ["Your MiiWrap Fidelity digest for 2026-07-31: 1 item"],
    }
    # The log: every reminder sent, each once; the leader's inside their digests.
    assert reminders.count() == 18
    statuses = {n.status for n in Notification.objects.filter(kind="reminder")}
    assert statuses == {"sent", "in_digest"}
    assert Notification.objects.filter(kind="digest", recipient=lee, status="sent").count() == 6

    # A month later nothing more is due.
    at(time_machine, D(2026, 9, 1))
    run()
    assert mail.outbox == [] and reminders.count() == 18


def test_renewed_before_an_offset_gets_no_stale_reminder(world, pat_certified, time_machine):
    at(time_machine, D(2026, 5, 1))
    run()
    assert sent_to()  # the 60-day reminder
    # Recertified early: the new period starts the day after the old expiry.
    make_period(
        world.practitioner,
        world.purveyor_admin,
        "practitioner",
        D(2026, 7, 1),
        decided_on=D(2026, 5, 10),
        is_renewal=True,
    )
    for day in (D(2026, 5, 31), D(2026, 6, 23), D(2026, 7, 1), D(2026, 7, 31)):
        at(time_machine, day)
        run()
        assert mail.outbox == [], day
    # The old period neither expired nor lapsed: the renewal took over.
    assert events(pat_certified) == [("window_opened", D(2026, 4, 1))]


def test_a_rule_edited_mid_cycle_does_not_resend(world, pat_certified, time_machine):
    at(time_machine, D(2026, 5, 31))
    run()
    assert len(sent_to()) == 3
    rule = ReminderRule.objects.get(organization=None, program__code="practitioner", days=30)
    rule.days = 25
    rule.subject = "Edited: {{ name }}"
    rule.save()
    at(time_machine, D(2026, 6, 5))
    run()
    assert mail.outbox == []


def test_an_organization_replaces_a_default(world, pat_certified, time_machine):
    default = ReminderRule.objects.get(
        organization=None, program__code="practitioner", timing="before_expiry", days=7
    )
    ReminderRule.objects.create(
        program=default.program,
        organization=world.home,
        replaces=default,
        timing="before_expiry",
        days=10,
        to_leader=False,
        subject="Riverbend: {{ first_name }}, {{ days_left }} days left",
        body_text="Book your last observation: {{ link }}",
    )
    other = make_person(world.away, "practitioner", first_name="Ana")
    make_period(other, world.purveyor_admin, "practitioner", VALID_FROM)
    at(time_machine, D(2026, 6, 20))
    run()
    assert sent_to() == {
        world.practitioner.email: ["Riverbend: Pat, 10 days left"],
        world.coach.email: ["Riverbend: Pat, 10 days left"],
    }
    at(time_machine, D(2026, 6, 23))
    run()
    # Elsewhere keeps the default (Ana has no team, so all its leaders hear of it);
    # Riverbend's 7-day default was replaced, so it is not repeated there.
    assert sent_to() == {
        other.email: [f"{other}: MiiWrap Practitioner expires on 2026-06-30"],
        world.outsider.email: ["Your MiiWrap Fidelity digest for 2026-06-23: 1 item"],
    }


def test_an_inactive_replacement_switches_a_default_off(world, pat_certified, time_machine):
    default = ReminderRule.objects.get(
        organization=None, program__code="practitioner", timing="after_expiry"
    )
    ReminderRule.objects.create(
        program=default.program,
        organization=world.home,
        replaces=default,
        timing="after_expiry",
        days=1,
        is_active=False,
        subject="off",
        body_text="off",
    )
    at(time_machine, D(2026, 7, 1))
    run()
    assert mail.outbox == []
    assert events(pat_certified)[-1] == ("expired", D(2026, 7, 1))


def test_after_missed_days_only_the_latest_reminder_goes_out(world, pat_certified, time_machine):
    # The job did not run from April until 2 June: the 60-day reminder is too old, the
    # 30-day one (31 May) is sent late, and nothing older follows it the next day.
    at(time_machine, D(2026, 6, 2))
    run()
    found = Reminder.objects.filter(period=pat_certified)
    assert set(found.values_list("due_on", flat=True)) == {D(2026, 5, 31)}
    assert len(sent_to()) == 3
    at(time_machine, D(2026, 6, 3))
    run()
    assert mail.outbox == []


def test_a_stale_moment_is_not_sent_after_its_part_of_the_cycle(world, pat_certified):
    # The 7-day reminder is still within catch-up on 2 July, but the period has expired:
    # only the on-lapse reminder makes sense then.
    run(D(2026, 7, 2))
    assert set(Reminder.objects.values_list("due_on", flat=True)) == {D(2026, 7, 1)}


def test_one_digest_for_a_cohort_lapsing_together(world, time_machine):
    cohort = [
        make_person(world.home, "practitioner", team=world.team_a, first_name=f"C{n}")
        for n in range(12)
    ]
    for person in cohort:
        make_period(person, world.purveyor_admin, "practitioner", VALID_FROM)
    at(time_machine, D(2026, 7, 31))
    run()
    to_lee = [m for m in mail.outbox if m.to == [world.leader.email]]
    assert len(to_lee) == 1
    assert to_lee[0].subject == "Your MiiWrap Fidelity digest for 2026-07-31: 12 items"
    assert all(person.full_name in to_lee[0].body for person in cohort)
    assert len(mail.outbox) == 13  # each person once, the leader once


def test_who_hears_people_who_left_and_ended_assignments(world, pat_certified, time_machine):
    pat = world.practitioner
    assignment = pat.coach_assignments.get()
    assignment.ends_on = D(2026, 5, 1)
    assignment.save()
    at(time_machine, D(2026, 5, 31))
    run()
    assert set(sent_to()) == {pat.email, world.leader.email}
    pat.leave_date = D(2026, 6, 10)
    pat.save()
    at(time_machine, D(2026, 6, 23))
    run()
    assert mail.outbox == []


def test_revoked_periods_have_no_transitions_or_reminders(world, pat_certified):
    CertificationPeriod.objects.filter(pk=pat_certified.pk).update(
        revoked_on=D(2026, 3, 1), revocation_reason="Test."
    )
    run(D(2026, 7, 31))
    assert events(pat_certified) == [] and mail.outbox == []


def test_a_failing_row_is_logged_and_sent_next_run(world, pat_certified, monkeypatch, caplog):
    uma = world.unassigned
    make_period(uma, world.purveyor_admin, "practitioner", VALID_FROM)
    real = jobs.reminders.render

    def render(rule, values):
        if values["name"] == world.practitioner.full_name:
            raise ValueError("a broken template")
        return real(rule, values)

    monkeypatch.setattr(jobs.reminders, "render", render)
    report = jobs.run(today=D(2026, 5, 31))
    assert len(report.failed_rows) == 3  # Pat's own email, and Cora's and Lee's about Pat
    assert "a broken template" in caplog.text
    assert set(sent_to()) == {uma.email, world.leader.email}
    monkeypatch.setattr(jobs.reminders, "render", real)
    run(D(2026, 6, 1))
    assert set(sent_to()) == {world.practitioner.email, world.coach.email, world.leader.email}


def test_transitions_are_dated_when_they_happened_even_when_found_late(world, pat_certified):
    run(D(2026, 9, 1))
    assert events(pat_certified) == [
        ("window_opened", D(2026, 4, 1)),
        ("expired", D(2026, 7, 1)),
        ("lapsed", D(2026, 7, 31)),
    ]
    # Each recorded once: a second run finds nothing to add.
    report = run(D(2026, 9, 2))
    assert not report.transitions
    assert CertificationEvent.objects.filter(kind="lapsed").count() == 1


def test_the_command_prints_what_it_did(world, pat_certified):
    out = _call("--today", "2026-04-01")
    assert "Transitions recorded: 1 (1 window opened)" in out
    assert "Reminders queued: 3" in out
    assert "Emails sent: 3" in out
    with pytest.raises(CommandError, match="--today must be a date"):
        _call("--today", "April")


def test_the_command_can_leave_sending_to_the_worker(world, pat_certified):
    out = _call("--today", "2026-04-01", "--no-send")
    assert "Emails sent: 0" in out and mail.outbox == []
    assert Notification.objects.filter(status="pending").count() == 3


def _call(*args):
    import io

    out = io.StringIO()
    call_command("run_certification_jobs", *args, stdout=out)
    return out.getvalue()

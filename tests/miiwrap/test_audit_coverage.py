"""Which records keep a history, and the guard that fails any test in which the project's
code changes an audited field in bulk without writing history (tests/audit_guard.py)."""

import datetime as dt
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from simple_history.utils import bulk_update_with_history

from coaching import services as coaching_services
from coaching.models import DriftAlert
from miiwrap.audit import is_audited, update_with_history
from miiwrap.notifications.models import Notification
from miiwrap.people.models import Person
from tests.audit_guard import Guard
from tests.coaching.test_alert_lifecycle import found
from tests.coaching.test_alert_views import make_alert

PROJECT = Path(__file__).resolve().parents[2]

AUDITED = {
    "observations.Rubric",
    "observations.RubricVersion",
    "observations.Domain",
    "observations.Item",
    "observations.Level",
    "observations.Metric",
    "observations.Observation",
    "observations.Dispute",
    "observations.CalibrationCase",
    "observations.CalibrationRound",
    "observations.CalibrationAttempt",
    "observations.CoObservation",
    "observations.RaterAlert",
    "certification.Program",
    "certification.EvidenceRule",
    "certification.CertificationPeriod",
    "certification.ReminderRule",
    "people.Organization",
    "people.Team",
    "people.Person",
    "people.RoleGrant",
    "people.TeamMembership",
    "people.RolePeriod",
    "coaching.CoachAssignment",
    "coaching.TrainerAssignment",
    "coaching.DriftSettings",
    "coaching.DriftAlert",
    "coaching.CoachingPlan",
    "coaching.Goal",
    "coaching.CoachingSession",
    "community.Event",
    "community.Attendance",
    "implementation.ReadinessAssessment",
    "implementation.AlignmentPlan",
    "implementation.ActionItem",
}


def test_domain_records_are_audited_and_job_bookkeeping_is_not():
    audited = {model._meta.label for model in apps.get_models() if is_audited(model)}
    assert audited == AUDITED


def test_logins_are_not_audited_so_no_password_hash_is_copied():
    assert not is_audited(get_user_model())


def test_an_alerts_job_bookkeeping_is_left_out_of_its_history():
    fields = {f.name for f in DriftAlert.history.model._meta.fields}
    assert {"note", "resolution_note", "status"} <= fields
    assert not {"checked_on", "told_by_run"} & fields


def run_as_project_code(source, **names):
    """Run `source` as if it were a line of the project's own code (not a test's)."""
    code = compile(source, str(PROJECT / "coaching" / "somewhere.py"), "exec")
    exec(code, names)


@pytest.fixture
def guard(monkeypatch):
    """A guard of its own, so what it finds does not fail this test."""
    found = Guard()
    found.install(monkeypatch)
    return found


def test_the_guard_reports_a_plain_update_of_an_audited_field(world, guard):
    alert = make_alert(world.practitioner)
    queryset = DriftAlert.objects.filter(pk=alert.pk)
    run_as_project_code("queryset.update(note='x')", queryset=queryset)
    assert len(guard.found) == 1
    assert "coaching/somewhere.py:1 changes DriftAlert (note) in bulk" in guard.found[0]


def test_the_guard_reports_a_plain_bulk_update_of_an_audited_field(world, guard):
    person = world.practitioner
    person.job_title = "Lead"
    run_as_project_code(
        "Person.objects.bulk_update([person], ['job_title'])", Person=Person, person=person
    )
    assert "changes Person (job_title) in bulk" in guard.found[0]


def test_the_guard_allows_the_history_helpers(world, guard):
    alert = make_alert(world.practitioner)
    alert.note = "x"
    run_as_project_code(
        "bulk_update_with_history([alert], DriftAlert, ['note'])\n"
        "update_with_history(DriftAlert.objects.filter(pk=alert.pk), note='y')",
        alert=alert,
        DriftAlert=DriftAlert,
        bulk_update_with_history=bulk_update_with_history,
        update_with_history=update_with_history,
    )
    assert guard.found == []
    assert list(alert.history.values_list("note", flat=True).order_by("history_id")) == [
        "",
        "x",
        "y",
    ]


def test_the_guard_allows_fields_left_out_of_history_and_unaudited_models(world, guard):
    alert = make_alert(world.practitioner)
    run_as_project_code(
        "DriftAlert.objects.filter(pk=alert.pk).update(checked_on=today)\n"
        "Notification.objects.filter(pk=0).update(status='sent')",
        alert=alert,
        DriftAlert=DriftAlert,
        Notification=Notification,
        today=dt.date(2026, 6, 30),
    )
    assert guard.found == []


def test_the_guard_leaves_the_tests_own_setup_alone(world, guard):
    Person.objects.filter(pk=world.practitioner.pk).update(job_title="Set up by a test")
    assert guard.found == []


def test_an_alert_the_job_closes_keeps_a_history_row_saying_why(world):
    alert = make_alert(world.practitioner)
    calm = found(world.practitioner, alert.rubric, out_now=False, calm=3)
    latest = {(alert.subject, alert.rubric_id): calm}
    assert coaching_services.close([alert], latest, {}, dt.date(2026, 6, 30)) == 1
    closed = alert.history.latest()
    assert (closed.status, closed.history_change_reason) == (
        "resolved",
        "Back in control for 3 observations",
    )
    assert closed.history_user is None


def test_the_guard_allows_what_deleting_a_record_sets_to_null(world, guard):
    alert = make_alert(world.practitioner, acknowledged_by=world.leader)
    run_as_project_code("leader.delete()", leader=world.leader)
    assert guard.found == []
    alert.refresh_from_db()
    assert alert.acknowledged_by is None


def test_a_trail_of_several_kinds_of_record_compares_each_with_its_own_past(world):
    from miiwrap.audit import history_of, trail
    from miiwrap.people.models import RoleGrant
    from tests.factories import make_person

    # The same id in two tables, as on a person page listing a person and their roles.
    person = make_person(world.home, pk=9000, job_title="Before")
    grant = RoleGrant.objects.create(pk=9000, person=person, role="leader")
    grant.role = "coach"
    grant.save()
    person.job_title = "After"
    person.save()
    entries = trail(
        [*history_of(Person, id=person.pk), *history_of(RoleGrant, id=grant.pk)],
        subject=lambda record: record.instance_type.__name__,
    )
    changes = [(e.subject, [(c.label, c.old, c.new) for c in e.changes]) for e in entries]
    assert changes == [
        ("Person", [("Job title", "Before", "After")]),
        ("RoleGrant", [("Role", "Supervisor / leader", "Coach")]),
        ("RoleGrant", []),
        ("Person", []),
    ]

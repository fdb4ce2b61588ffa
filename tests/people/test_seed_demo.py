"""seed_demo: a believable world of organizations, teams, people and coaches, built once."""

import datetime as dt
import io
import re
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching.models import CoachAssignment
from miiwrap.people import demo
from miiwrap.people.management.commands import seed_demo as seed_demo_command
from miiwrap.people.models import Organization, Person, Role, RoleGrant, Team
from tests.factories import wipe_world

TODAY = dt.date(2025, 6, 16)
pytestmark = pytest.mark.time_machine(
    dt.datetime(2025, 6, 16, 12, tzinfo=ZoneInfo("America/New_York")), tick=False
)
LOGIN_LINE = re.compile(r"^  (\S.*?)\s{2,}(\S+@\S+)\s+miiwrap-demo$", re.MULTILINE)


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def logins(output):
    """{label: email} from the table the command prints."""
    return dict(LOGIN_LINE.findall(output))


def people_rows():
    fields = ("organization__slug", "email", "first_name", "last_name", "hire_date", "leave_date")
    return sorted(Person.objects.values_list(*fields, "job_title", "team__name", "staff_id"))


def assignment_rows():
    fields = ("coach__email", "practitioner__email", "starts_on", "ends_on")
    return sorted(CoachAssignment.objects.values_list(*fields))


def table_sizes():
    models = [Organization, Team, Person, RoleGrant, CoachAssignment, get_user_model()]
    return {model.__name__: model.objects.count() for model in models}


# --- Seeds and scale ---------------------------------------------------------------------


def test_the_same_seed_gives_identical_people_and_assignments(db):
    seed("--seed", "7", "--orgs", "2")
    people, assignments = people_rows(), assignment_rows()
    wipe_world()
    seed("--seed", "7", "--orgs", "2")
    assert people_rows() == people
    assert assignment_rows() == assignments


def test_a_different_seed_gives_different_names(db):
    seed("--seed", "1", "--orgs", "2")
    first = Counter(Person.objects.values_list("first_name", "last_name"))
    wipe_world()
    seed("--seed", "2", "--orgs", "2")
    second = Counter(Person.objects.values_list("first_name", "last_name"))
    assert first != second
    assert len(first & second) < len(first) / 4


def test_orgs_sets_the_number_of_client_organizations(db):
    output = seed("--orgs", "2")
    assert Organization.objects.filter(is_purveyor=False).count() == 2
    assert output.startswith("Created 3 organizations")


def test_asking_for_more_organizations_later_adds_only_the_missing_ones(db):
    seed("--orgs", "2")
    people, assignments = people_rows(), assignment_rows()
    output = seed("--orgs", "3")
    assert Organization.objects.filter(is_purveyor=False).count() == 3
    assert output.startswith("Created 1 organization, ")
    assert "Already there: 3 organizations." in output
    new_slug = demo.identities(1, 3)[3].slug
    assert [row for row in people_rows() if row[0] != new_slug] == people
    assert [row for row in assignment_rows() if new_slug not in row[0]] == assignments


def test_an_organization_whose_name_is_taken_is_left_alone(db):
    taken = demo.identities(1, 1)[1]
    Organization.objects.create(name=taken.name, slug="someone-elses")
    seed("--orgs", "1")
    assert not Person.objects.filter(organization__name=taken.name).exists()
    assert Organization.objects.count() == 2


def test_today_sets_the_day_the_world_is_built_for(db):
    day = dt.date(2020, 3, 1)
    seed("--today", day.isoformat(), "--orgs", "1")
    assert max(Person.objects.values_list("hire_date", flat=True)) <= day
    active = Person.objects.active_on(day).with_role(Role.PRACTITIONER)
    assigned = CoachAssignment.objects.current(day).values("practitioner")
    assert active.exists()
    assert not active.exclude(pk__in=assigned).exists()


def test_without_today_the_world_is_built_for_the_local_date(db):
    seed("--orgs", "1")
    implicit = people_rows()
    wipe_world()
    seed("--orgs", "1", "--today", TODAY.isoformat())
    assert people_rows() == implicit


def batches_as_one(queries):
    """The queries, an insert of many rows that the database split into batches (SQLite
    takes so many values a statement) counted once: a batch continues the statement before
    it when that one inserted several rows into the same table. Rows inserted one by one
    still count one each."""
    kept, previous = [], ""
    for query in queries:
        sql = query["sql"]
        head, _, values = sql.partition(" VALUES ")
        if not (sql.startswith("INSERT") and previous == head):
            kept.append(query)
        several = sql.startswith("INSERT") and "), (" in values
        previous = head if several else ""
    return kept


def test_it_inserts_in_bulk_rather_than_row_by_row(db, monkeypatch):
    # The certification and drift jobs it runs at the end are measured on their own
    # (bench_certification_jobs, bench_drift, and their tests), and so are the coaching
    # plans, written through the services (tests/coaching/test_demo_plans_seed.py).
    monkeypatch.setattr(seed_demo_command.certification_jobs, "run", _no_job)
    monkeypatch.setattr(seed_demo_command.drift_services, "drift_detect", _no_drift)
    monkeypatch.setattr(seed_demo_command.demo_coaching, "add_plans", lambda *a, **k: Counter())
    # So is calibration: a few cases and rounds found by name, then attempts in bulk
    # (tests/observations/test_demo_calibration.py).
    monkeypatch.setattr(seed_demo_command.demo_calibration, "add_calibration", lambda *a, **k: None)
    # And the learning community's events: found by title and date, then registrations in
    # bulk (tests/community/test_demo.py).
    empty = {"events": 0, "registrations": 0, "attended": 0}
    monkeypatch.setattr(seed_demo_command.demo_community, "add_events", lambda *a, **k: empty)
    # So are the readiness assessments and alignment plans, a few rows an organization
    # written through the services (tests/implementation/test_demo_readiness.py).
    monkeypatch.setattr(
        seed_demo_command.demo_implementation, "add_readiness", lambda *a, **k: None
    )
    with CaptureQueriesContext(connection) as queries:
        seed()
    # Observations have their own batches (tests/observations/test_seed_observations.py).
    # So have the summaries kept of them (one advisory lock a batch, on PostgreSQL).
    about_people = batches_as_one(
        q for q in queries if "observations_" not in q["sql"] and "pg_advisory" not in q["sql"]
    )
    # 32: the trainer assignments are one more insert, and the trainer shown one more read;
    # 33: the coaching plans' savepoint (they are all stored, or none).
    assert len(about_people) <= 33
    assert Person.objects.count() > 100


def _no_job(**kwargs):
    from certification.jobs import Report

    return Report()


def _no_drift(**kwargs):
    from coaching.services import Report

    return Report()


def test_it_records_transitions_and_queues_todays_reminders(db):
    from certification.models import CertificationEvent, Reminder
    from miiwrap.notifications.models import Notification

    output = seed()
    assert "certification transitions and queued" in output
    assert CertificationEvent.objects.filter(kind="window_opened").exists()
    assert Reminder.objects.exists()
    # The worker sends them: nothing was emailed while seeding.
    assert not Notification.objects.filter(status="sent").exists()


@pytest.mark.parametrize(
    "args",
    [["--orgs", "0"], ["--orgs", "many"], ["--today", "16/06/2025"], ["--scale", "galaxy"]],
)
def test_bad_options_are_refused(db, args):
    with pytest.raises(CommandError):
        seed(*args)
    assert not Organization.objects.exists()


def test_more_organizations_than_the_demo_has_names_for_are_refused(db):
    with pytest.raises(CommandError, match="names for at most"):
        seed("--orgs", "100000")
    assert not Organization.objects.exists()


# --- Planning, without the database -------------------------------------------------------


def test_the_first_organizations_are_the_same_whatever_the_count():
    assert demo.identities(5, 100)[:4] == demo.identities(5, 3)


def test_a_hundred_organizations_have_distinct_names_and_slugs():
    wanted = demo.identities(1, 100)
    assert len({i.name for i in wanted}) == len({i.slug for i in wanted}) == 101


def test_at_state_scale_an_organization_has_about_two_hundred_practitioners():
    identity = demo.identities(1, 1)[1]
    plan = demo.plan_organization(identity, seed=1, today=TODAY, scale=demo.SCALES["state"])
    practitioners = [p for p in plan.people if Role.PRACTITIONER in p.roles]
    assert 150 <= len(practitioners) <= 260
    assert len({p.email for p in plan.people}) == len(plan.people)

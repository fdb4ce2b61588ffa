"""seed_demo's coaching plans: the same seed gives the same plans, and a second run adds
none. Apart from the module-wide demo world of test_demo_plans, which would hide both."""

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching import demo as demo_coaching
from coaching.models import CoachingPlan, CoachingSession, Goal, PlanComment
from tests.factories import DEMO_NOW, seed_demo, wipe_world

TODAY = DEMO_NOW.date()
pytestmark = pytest.mark.time_machine(DEMO_NOW, tick=False)


def plan_rows():
    plans = CoachingPlan.objects.values_list(
        "practitioner__email",
        "started_on",
        "status",
        "alert__item_code",
        "observation__observed_on",
    )
    goals = Goal.objects.values_list(
        "plan__practitioner__email", "description", "target", "status", "decline_on"
    )
    sessions = CoachingSession.objects.values_list(
        "plan__practitioner__email", "coach__email", "held_on", "format", "minutes", "notes"
    )
    comments = PlanComment.objects.values_list("plan__practitioner__email", "text", "created_at")
    return [sorted(rows, key=repr) for rows in (plans, goals, sessions, comments)]


def test_the_same_seed_gives_the_same_plans(db):
    seed_demo("--seed", "4", "--orgs", "1")
    first = plan_rows()
    wipe_world()
    seed_demo("--seed", "4", "--orgs", "1")
    assert first[0] and plan_rows() == first


def test_running_seed_demo_twice_stores_each_plan_once(db):
    seed_demo("--seed", "4", "--orgs", "1")
    counts = [model.objects.count() for model in (CoachingPlan, Goal, CoachingSession)]
    again = seed_demo("--seed", "4", "--orgs", "1")
    assert "Nothing to add" in again
    assert [model.objects.count() for model in (CoachingPlan, Goal, CoachingSession)] == counts
    assert counts[0] > 0


def test_add_plans_again_skips_practitioners_who_already_have_a_plan(db):
    """A run stopped after the plans but before it finished, replayed: nothing twice."""
    from miiwrap.people import demo
    from miiwrap.people.models import Person

    seed_demo("--seed", "4", "--orgs", "1")
    before = CoachingPlan.objects.count()
    scale = demo.SCALES["demo"]
    plans = [
        demo.plan_organization(identity, seed=4, today=TODAY, scale=scale)
        for identity in demo.identities(4, 1)
    ]
    rows = {person.email: person for person in Person.objects.all()}
    for org in plans:
        for person in org.people:
            person.row = rows.get(person.email)
    assert demo_coaching.add_plans(plans, seed=4, today=TODAY)["plans"] == 0
    assert CoachingPlan.objects.count() == before


def test_plans_cost_a_bounded_number_of_queries_each(db, monkeypatch):
    """Plans and goals go through the services one at a time (their rules hold), so the
    cost grows with the plans, never with the observations or the people without one."""
    from miiwrap.people.management.commands import seed_demo as command

    counted, original = {}, demo_coaching.add_plans

    def add_plans(*args, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            made = original(*args, **kwargs)
        counted.update(queries=len(queries), rows=made["plans"] + made["sessions"])
        return made

    monkeypatch.setattr(command.demo_coaching, "add_plans", add_plans)
    seed_demo("--seed", "4", "--orgs", "1")
    # Each plan's and goal's insert and history, a goal's progress; sessions in bulk.
    assert counted["rows"] > 0
    assert counted["queries"] <= 50 + 25 * counted["rows"]


def observation_and_alert_rows():
    from coaching.models import DriftAlert
    from observations.models import Observation

    observations = Observation.objects.values_list(
        "practitioner__email", "observed_on", "scores", "status", "overall_score"
    )
    alerts = DriftAlert.objects.values_list(
        "scope",
        "organization__slug",
        "practitioner__email",
        "item_code",
        "began_on",
        "raised_on",
        "current",
        "points",
    )
    # A mean summed in another order differs in its last bits (PostgreSQL does not
    # promise one order): the alert's current level is compared to 9 places.
    alerts = [(*row[:6], None if row[6] is None else round(row[6], 9), row[7]) for row in alerts]
    return sorted(observations, key=repr), sorted(alerts, key=repr)


def test_plans_change_no_observation_and_no_alert_but_its_status(db, monkeypatch):
    from miiwrap.people.management.commands import seed_demo as command

    seed_demo("--seed", "4", "--orgs", "1")
    with_plans = observation_and_alert_rows()
    wipe_world()
    monkeypatch.setattr(command.demo_coaching, "add_plans", lambda *a, **k: Counter())
    seed_demo("--seed", "4", "--orgs", "1")
    assert observation_and_alert_rows() == with_plans
    assert with_plans[0] and with_plans[1]

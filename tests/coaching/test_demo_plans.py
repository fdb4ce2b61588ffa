"""The demo world's coaching plans: who gets one, what is in it, and that the goals marked
met are the ones progress offers as met."""

import io
import itertools
import statistics

import pytest
from django.core.management import call_command
from django.db.models import Count

from coaching import demo as demo_coaching
from coaching import drift_demo, levels, progress
from coaching.goals import problems
from coaching.models import (
    CoachAssignment,
    CoachingPlan,
    CoachingSession,
    DriftAlert,
    Goal,
    PlanComment,
    current_versions,
)
from tests.factories import DEMO_NOW

TODAY = DEMO_NOW.date()
pytestmark = pytest.mark.time_machine(DEMO_NOW, tick=False)


@pytest.fixture
def groups(demo_output):
    """{person id: (group, trajectory)} of the demo's practitioners, as the generator made
    them; group is a new hire while still learning, else the trajectory's kind."""
    paths = drift_demo.practitioner_paths(seed=1, today=TODAY)
    return {pk: (drift_demo.group_of(path, TODAY), path) for pk, path in paths.items()}


def planned(group, groups):
    """(people in the group still working, those of them with a plan)."""
    from miiwrap.people.models import Person

    people = {pk for pk, (found, _) in groups.items() if found == group}
    working = set(
        Person.objects.filter(pk__in=people, leave_date=None).values_list("pk", flat=True)
    )
    with_plan = set(
        CoachingPlan.objects.filter(practitioner__in=working).values_list("practitioner", flat=True)
    )
    return working, with_plan


# --- Who gets a plan -------------------------------------------------------------------------


def test_seed_demo_says_how_many_plans_it_started(demo_output):
    assert "coaching plans" in demo_output
    assert f"Started {CoachingPlan.objects.count()} coaching plans" in demo_output


def test_every_slipping_practitioner_still_working_has_a_plan(groups):
    working, with_plan = planned(drift_demo.SLIPPING, groups)
    assert working
    assert with_plan == working


def test_struggling_practitioners_have_plans_and_some_steady_ones_do(groups):
    working, with_plan = planned(drift_demo.STRUGGLING, groups)
    assert with_plan and with_plan <= working
    steady, steady_planned = planned(drift_demo.STEADY, groups)
    assert 0 < len(steady_planned) < len(steady) / 4


def test_new_hires_and_leavers_get_no_plan(groups):
    new_hires = [pk for pk, (group, _) in groups.items() if group == drift_demo.NEW_HIRE]
    assert new_hires
    assert not CoachingPlan.objects.filter(practitioner__in=new_hires).exists()
    assert not CoachingPlan.objects.exclude(practitioner__leave_date=None).exists()


def test_every_alert_about_a_practitioner_is_addressed_by_their_plan(demo_output):
    alerts = DriftAlert.objects.filter(scope=DriftAlert.Scope.PERSON)
    assert alerts.exists()
    for alert in alerts:
        assert alert.status == DriftAlert.Status.ADDRESSING
        assert alert.plan.practitioner_id == alert.practitioner_id
        assert alert.plan.alert_id == alert.pk
        assert alert.began_on < alert.plan.started_on < TODAY


def test_plans_without_an_alert_start_after_the_slide_or_from_an_observation(groups):
    for plan in CoachingPlan.objects.filter(alert=None).select_related("observation"):
        group, path = groups[plan.practitioner_id]
        if plan.observation is not None:
            assert plan.observation.practitioner_id == plan.practitioner_id
            assert plan.observation.observed_on <= plan.started_on
        else:
            assert group == drift_demo.SLIPPING
            assert path.slide_from < plan.started_on


# --- What is in a plan -----------------------------------------------------------------------


def test_one_active_plan_per_practitioner_each_with_goals(demo_output):
    active = CoachingPlan.objects.active().values("practitioner").annotate(n=Count("pk"))
    assert {row["n"] for row in active} == {1}
    assert not CoachingPlan.objects.filter(goals=None).exists()


def test_goals_are_on_current_rubric_items(demo_output):
    versions = current_versions()
    for goal in Goal.objects.all():
        definition = versions[goal.rubric_id].definition()
        assert problems(definition, goal.item_codes, goal.metric_code, goal.target) == {}


def test_slipping_goals_aim_back_at_the_level_before_the_decline(demo_output):
    from_alerts = Goal.objects.filter(plan__alert__isnull=False)
    assert from_alerts.exists()
    for goal in from_alerts.select_related("plan__alert"):
        assert goal.decline_on == goal.plan.alert.began_on
        code = goal.item_codes[0] if goal.item_codes else levels.METRIC + goal.metric_code
        assert code in {entry["code"] for entry in goal.plan.alert.moved}


def test_sessions_are_held_by_the_assigned_coach_between_the_start_and_today(demo_output):
    sessions = CoachingSession.objects.select_related("plan").prefetch_related("goals")
    assert sessions.filter(plan=None).exists()  # routine sessions of those with no plan
    assert sessions.exclude(plan=None).count() > CoachingPlan.objects.count()
    for session in sessions:
        assert session.held_on < TODAY
        if session.plan is not None:
            assert session.plan.started_on < session.held_on
            assert session.plan.practitioner_id == session.practitioner_id
        assert (
            CoachAssignment.objects.current(session.held_on)
            .filter(coach=session.coach_id, practitioner=session.practitioner_id)
            .exists()
        )
        assert session.plan is None or (
            session.goals.all() and {g.plan_id for g in session.goals.all()} == {session.plan_id}
        )
        assert session.notes and session.next_step


def test_sessions_are_about_monthly_and_varied(demo_output):
    gaps = []
    for plan in CoachingPlan.objects.prefetch_related("coaching_sessions"):
        days = sorted(s.held_on for s in plan.coaching_sessions.all())
        gaps += [(later - earlier).days for earlier, later in itertools.pairwise(days)]
    assert 24 <= statistics.median(gaps) <= 38
    assert set(CoachingSession.objects.values_list("format", flat=True)) == set(
        CoachingSession.Format.values
    )
    notes = CoachingSession.objects.values_list("notes", flat=True)
    assert len(set(notes)) > len(notes) / 3


def test_practitioners_comment_on_their_own_plans_in_the_past(demo_output):
    comments = PlanComment.objects.select_related("plan")
    assert comments.exists()
    for comment in comments:
        assert comment.author_id == comment.plan.practitioner_id
        assert comment.created_at < DEMO_NOW
    per_plan = PlanComment.objects.values("plan").annotate(n=Count("pk"))
    assert max(row["n"] for row in per_plan) <= 2


# --- Goals met and dropped -------------------------------------------------------------------


def test_some_goals_are_met_and_each_is_offered_as_met_by_progress(demo_output):
    met = list(Goal.objects.filter(status=Goal.Status.MET).select_related("plan"))
    assert met
    held = progress.held_for_practitioners({g.plan.practitioner_id for g in met})
    measured = progress.measure_goals([progress.GoalSpec.of(g) for g in met], TODAY, held)
    assert all(found.met_offered for found in measured)
    assert {goal.status_reason for goal in met} == {demo_coaching.MET_REASON}


def test_no_active_goal_is_left_that_progress_offers_as_met(demo_output):
    active = list(Goal.objects.filter(status=Goal.Status.ACTIVE).select_related("plan"))
    held = progress.held_for_practitioners({g.plan.practitioner_id for g in active})
    measured = progress.measure_goals([progress.GoalSpec.of(g) for g in active], TODAY, held)
    assert not any(found.met_offered for found in measured)


def test_some_goals_are_dropped_with_a_reason_never_a_plans_last(demo_output):
    dropped = Goal.objects.filter(status=Goal.Status.DROPPED)
    assert dropped.exists()
    for goal in dropped:
        assert goal.status_reason in demo_coaching.DROP_REASONS
        assert goal.plan.goals.exclude(status=Goal.Status.DROPPED).exists()


def test_plans_left_with_nothing_to_work_on_are_closed(demo_output):
    for plan in CoachingPlan.objects.active():
        assert plan.goals.filter(status=Goal.Status.ACTIVE).exists()
    for plan in CoachingPlan.objects.exclude(status=CoachingPlan.Status.ACTIVE):
        assert plan.closed_reason == demo_coaching.CLOSED_REASON


def test_certifications_stay_clean_with_the_plans(demo_output):
    out = io.StringIO()
    call_command("check_certifications", stdout=out)
    assert out.getvalue().startswith("No problems")

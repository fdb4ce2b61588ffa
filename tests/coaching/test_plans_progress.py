# ruff: noqa: F401, F811 (the fixtures imported below are redefined as arguments, as pytest uses them)
"""Progress on the plan's page and the alert's: each goal measured from observations, a
goal whose target has held offered as met to the practitioner's coach, and a goal started
from an alert measured against the alert's decline date.

Reflections (mi-reflect) are rated 0 to 3 on the MiiWrap fidelity tool, so a score is a
share of its range: 1 → 33.33 %, 2 → 66.67 %, 3 → 100 %."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching import progress
from coaching.models import CoachingPlan, Goal
from tests.coaching.test_alert_views import make_alert
from tests.coaching.test_plans import (
    NEW,
    PERSONAS,
    TODAY,
    D,
    _proposal_fields,
    flashed,
    frozen,
    goal,
    goal_post,
    make_plan,
    other_coach,
    url,
)
from tests.coaching.test_plans_alerts import MOVED
from tests.coaching.test_progress import skills

STARTED = D(2026, 6, 1)  # make_plan's start


def reflections(world, *days_and_scores):
    """Pat's observations by Cora with these reflection scores (open questions at 1)."""
    for day, score in days_and_scores:
        skills(world.coach, world.practitioner, day, reflect=score, open_questions=1)


@pytest.fixture
def plan(world, other_coach):
    """Pat's plan from 2026-06-01: reflections to 80 %, no decline date."""
    return make_plan(world)


@pytest.fixture
def held(world, plan):
    """Three observations since the start at 100 %: the target (80 %) held in each."""
    reflections(world, (D(2026, 5, 20), 1), *[(D(2026, 6, day), 3) for day in (10, 20, 29)])
    return plan.goals.get()


def page_of(client, address):
    response = client.get(address)
    assert response.status_code == 200
    return response.content.decode()


# The plan's page ---------------------------------------------------------------------------


def test_each_goal_shows_its_progress_sentence_and_chart(world, login, plan):
    reflections(world, (D(2026, 5, 10), 1), (D(2026, 5, 20), 2), (D(2026, 6, 15), 3))
    page = page_of(login(world.practitioner), url("plan", plan.pk))
    # No decline date: before and at start are both the two of May, (33.33 + 66.67) / 2 =
    # 50. The spread: 2 × 16.67² over 1 degree of freedom, σ = 23.57; t(0.95, 1) = 6.314,
    # so ±6.314 × 23.57 = ±148.8 (with one observation since, it says little yet).
    assert (
        "Reflections: 50 % usually before the plan, 50 % when the plan started, 100 % in the "
        "one observation since (±149); target 80 %." in page
    )
    assert 'data-chart="goal-progress"' in page
    assert "<svg" in page
    assert "data-met-offered" not in page


def test_a_goal_with_no_observation_since_says_so(world, login, plan):
    page = page_of(login(world.coach), url("plan", plan.pk))
    assert "no observation since the plan started yet" in page
    assert "Mark as met" not in page


def test_a_goal_whose_target_held_is_offered_as_met_to_the_coach_only(world, login, held):
    coach_page = page_of(login(world.coach), url("plan", held.plan_id))
    assert "The target has held in each of the last 3 observations since the plan started" in (
        coach_page
    )
    assert url("goal_met", held.pk) in coach_page
    for persona in ("practitioner", "leader", "org_admin", "purveyor_admin"):
        page = page_of(login(getattr(world, persona)), url("plan", held.plan_id))
        assert "data-met-offered" in page  # they read the note, but only the coach acts
        assert url("goal_met", held.pk) not in page


def test_two_of_three_at_the_target_is_not_offered(world, login, plan):
    reflections(world, (D(2026, 6, 10), 3), (D(2026, 6, 20), 2), (D(2026, 6, 29), 3))
    page = page_of(login(world.coach), url("plan", plan.pk))
    assert "in the 3 observations since" in page
    assert "data-met-offered" not in page
    assert url("goal_met", plan.goals.get().pk) not in page


def test_the_programs_setting_says_how_long_the_target_must_hold(world, login, held):
    from certification.models import Program

    Program.objects.practitioner_path().update(goal_held_observations=4)
    page = page_of(login(world.coach), url("plan", held.plan_id))
    assert "data-met-offered" not in page
    Program.objects.practitioner_path().update(goal_held_observations=2)
    page = page_of(login(world.coach), url("plan", held.plan_id))
    assert "each of the last 2 observations" in page


def test_the_coach_marks_the_goal_met_and_the_history_keeps_who_when_and_the_old_status(
    world, login, held
):
    client = login(world.coach)
    response = client.post(url("goal_met", held.pk))
    assert response.status_code == 302
    assert response.url == f"{url('plan', held.plan_id)}#goals"
    assert flashed(response) == ["Goal marked met; the plan's history keeps who and when."]
    held.refresh_from_db()
    assert held.status == Goal.Status.MET
    assert held.status_reason == (
        "Marked met once the target (80 %) had held in each of the last 3 observations since "
        "the plan started."
    )
    created, change = held.history.order_by("history_id")
    assert (created.status, change.status) == (Goal.Status.ACTIVE, Goal.Status.MET)
    assert change.history_user == world.coach.user
    assert change.history_date is not None
    page = page_of(client, url("plan", held.plan_id))
    assert "data-met-offered" not in page  # met already: nothing left to mark
    assert url("goal_met", held.pk) not in page
    assert "Goal “Reflections”" in page  # the change is in the plan's history


def test_marking_met_twice_changes_it_once(world, login, held):
    client = login(world.coach)
    client.post(url("goal_met", held.pk))
    again = client.post(url("goal_met", held.pk))
    assert again.status_code == 302
    assert flashed(again)[-1] == "This goal was already marked met."
    assert held.history.filter(status=Goal.Status.MET).count() == 1


def test_a_goal_whose_target_has_not_held_is_not_marked_met(world, login, plan):
    reflections(world, (D(2026, 6, 10), 3), (D(2026, 6, 20), 1))
    target = plan.goals.get()
    response = login(world.coach).post(url("goal_met", target.pk))
    assert response.status_code == 302
    assert flashed(response) == ["This goal's target has not held long enough to mark it met."]
    target.refresh_from_db()
    assert target.status == Goal.Status.ACTIVE
    assert target.history.count() == 1


def test_a_dropped_goal_is_not_marked_met(world, login, held):
    from coaching import services

    services.goal_change(goal=held, status=Goal.Status.DROPPED, status_reason="Not now.")
    login(world.coach).post(url("goal_met", held.pk))
    held.refresh_from_db()
    assert held.status == Goal.Status.DROPPED


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "coach"])
def test_only_the_practitioners_coach_marks_a_goal_met(world, login, held, persona):
    response = login(getattr(world, persona)).post(url("goal_met", held.pk))
    assert response.status_code == 404
    held.refresh_from_db()
    assert held.status == Goal.Status.ACTIVE


def test_marking_met_is_post_only_and_anonymous_is_sent_to_sign_in(world, client, login, held):
    response = client.post(url("goal_met", held.pk))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert login(world.coach).get(url("goal_met", held.pk)).status_code == 405
    assert client.post(url("goal_met", 999999)).status_code == 404


@pytest.mark.parametrize("persona", ["coach", "practitioner", "leader", "purveyor_admin"])
def test_the_plan_page_measures_five_goals_in_as_many_queries_as_one(world, login, plan, persona):
    from coaching import services

    reflections(world, (D(2026, 5, 20), 1), (D(2026, 6, 10), 3))
    client = login(getattr(world, persona))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            page = page_of(client, url("plan", plan.pk))
        assert page.count("data-progress-sentence") == plan.goals.count()
        return len(captured)

    one = queries()
    for n in range(4):
        services.goal_add(
            plan=plan, by=world.coach, started_on=TODAY, **goal(description=f"G{n}", target=50)
        )
    assert queries() == one


# The alert's page --------------------------------------------------------------------------


@pytest.fixture
def alert(world, other_coach):
    return make_alert(world.practitioner, moved=MOVED, began_on=D(2026, 4, 1))


def test_the_alert_page_shows_the_answering_plans_goals_one_line_each(world, login, alert):
    from coaching import services

    plan = make_plan(world, alert=alert, goals=[goal(decline_on=alert.began_on)])
    services.goal_add(plan=plan, by=world.coach, started_on=STARTED, **goal(description="Two"))
    reflections(world, (D(2026, 3, 1), 3), (D(2026, 4, 20), 1), (D(2026, 6, 10), 2))
    page = page_of(login(world.leader), alert.get_absolute_url())
    lines = page.split("data-plan-progress")[1].split("</ul>")[0]
    assert lines.count("<li") == 2
    assert (
        "Reflections: 100 % before the decline, 33 % when the plan started, 67 % in the one "
        "observation since" in lines
    )
    # No decline date: before the start (100 and 33.33) and the last ones up to it agree.
    assert (
        "Two: 67 % usually before the plan, 67 % when the plan started, 67 % in the one "
        "observation since" in lines
    )


def test_an_alert_with_no_plan_shows_no_progress(world, login, alert):
    page = page_of(login(world.coach), alert.get_absolute_url())
    assert "data-plan-progress" not in page


def test_the_alert_page_measures_five_goals_in_as_many_queries_as_one(world, login, alert):
    from coaching import services

    plan = make_plan(world, alert=alert, goals=[goal(decline_on=alert.began_on)])
    reflections(world, (D(2026, 3, 1), 3), (D(2026, 6, 10), 2))
    client = login(world.leader)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            page = page_of(client, alert.get_absolute_url())
        assert page.count("data-progress-sentence") == plan.goals.count()
        return len(captured)

    one = queries()
    for n in range(4):
        services.goal_add(plan=plan, by=world.coach, started_on=STARTED, **goal(description=f"{n}"))
    assert queries() == one


# A goal started from an alert, measured ----------------------------------------------------


def test_a_goal_started_from_an_alert_reads_before_the_decline_not_the_low_point(
    world, login, alert
):
    """Before the decline (2026-04-01): 100 % and 66.67 %, mean 83.33 %. From the decline to
    the start (2026-06-30): 33.33 % twice, the low point that prompted the plan. Since,
    one at 66.67 %; the spread is Pat's own (no peers), squared deviations from each
    phase's mean: 2 × 16.67² = 555.56 over 2 degrees of freedom, σ = 16.67; t(0.95, 2) =
    2.920, so ±2.920 × 16.67 / √1 = ±48.67 → ±49."""
    reflections(
        world, (D(2026, 2, 1), 3), (D(2026, 3, 1), 2), (D(2026, 4, 15), 1), (D(2026, 6, 1), 1)
    )
    client = login(world.coach)
    start = f"{NEW}?alert={alert.pk}"
    data = goal_post(0, token="loop-from-alert-0001", practitioner=world.practitioner)
    data.update(_proposal_fields(client.get(start)))
    assert client.post(start, data).status_code == 302
    started = CoachingPlan.objects.get().goals.get(item_codes=["mi-reflect"])
    assert (started.started_on, started.decline_on, started.target) == (TODAY, D(2026, 4, 1), 80)

    [now] = progress.of_goals([started], TODAY)
    assert now.before == progress.Level(pytest.approx(250 / 3), 2)
    assert now.at_start == progress.Level(pytest.approx(100 / 3), 2)
    assert now.since.count == 0
    assert now.sentence() == (
        "Reflections: 83 % before the decline, 33 % when the plan started, no observation "
        "since the plan started yet; target 80 %."
    )
    reflections(world, (D(2026, 7, 10), 2))
    [later] = progress.of_goals([started], D(2026, 7, 15))
    assert later.since.mean == pytest.approx(200 / 3)
    assert later.since.half_width == pytest.approx(2.919986 * 50 / 3, abs=1e-4)
    assert later.sentence() == (
        "Reflections: 83 % before the decline, 33 % when the plan started, 67 % in the one "
        "observation since (±49); target 80 %."
    )
    assert not later.met_offered


def test_with_one_observation_to_hold_the_reason_says_the_last_one(world, login, held):
    from certification.models import Program

    Program.objects.practitioner_path().update(goal_held_observations=1)
    login(world.coach).post(url("goal_met", held.pk))
    held.refresh_from_db()
    assert held.status_reason == (
        "Marked met once the target (80 %) had held in the last observation since the plan started."
    )

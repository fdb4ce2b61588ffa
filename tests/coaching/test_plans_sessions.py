# ruff: noqa: F811 (the fixtures imported below are redefined as arguments, as pytest uses them)
"""Logging a coaching session: the phone-sized form, what it accepts, sent twice, and
corrections kept in the plan's history."""

import pytest

from coaching import services
from coaching.models import CoachingSession
from tests.coaching.test_plans import (  # noqa: F401 (fixtures)
    TODAY,
    frozen,
    goal,
    make_plan,
    other_coach,
    plan,
    url,
)


def session_post(plan, token="session-token-000001", **fields):
    return {
        "form_token": token,
        "held_on": TODAY.isoformat(),
        "minutes": "40",
        "format": "role_play",
        "goals": [g.pk for g in plan.goals.all()],
        "notes": "Role-played a hard conversation.",
        "next_step": "Use one summary per visit.",
        **fields,
    }


def test_the_form_opens_with_today_in_the_organizations_zone_and_the_active_goals(
    world, login, plan
):
    dropped = services.goal_add(plan=plan, by=world.coach, started_on=TODAY, **goal())
    services.goal_change(goal=dropped, status="dropped", status_reason="Later.")
    response = login(world.coach).get(url("session_new", plan.pk))
    form = response.context["form"]
    assert form["held_on"].value() == TODAY
    assert list(form.fields["goals"].queryset) == [plan.goals.get(status="active")]
    page = response.content.decode()
    assert 'type="date"' in page
    assert 'inputmode="numeric"' in page
    assert 'type="checkbox"' in page
    assert 'name="viewport"' in page


def test_the_coach_logs_a_session_once_however_often_it_is_sent(world, login, plan):
    client = login(world.coach)
    data = session_post(plan)
    first = client.post(url("session_new", plan.pk), data)
    client.post(url("session_new", plan.pk), data)
    session = CoachingSession.objects.get()
    assert first.url == f"{plan.get_absolute_url()}#sessions"
    assert (session.coach, session.created_by, session.held_on) == (world.coach, world.coach, TODAY)
    assert (session.minutes, session.format) == (40, "role_play")
    assert list(session.goals.all()) == list(plan.goals.all())
    assert session.next_step == "Use one summary per visit."


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"held_on": "2026-07-01"}, "held_on", "cannot be in the future"),
        ({"held_on": "1850-01-01"}, "held_on", "1900"),
        ({"minutes": "0"}, "minutes", "greater than or equal to 1"),
        ({"minutes": "721"}, "minutes", "less than or equal to 720"),
        ({"format": "lecture"}, "format", "Select a valid choice"),
        ({"notes": "x" * 4001}, "notes", "at most 4000"),
    ],
)
def test_a_wrong_session_is_refused_with_what_to_fix_and_the_input_kept(
    world, login, plan, fields, field, message
):
    response = login(world.coach).post(url("session_new", plan.pk), session_post(plan, **fields))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    page = response.content.decode()
    assert "Not saved yet" in page
    if field != "notes":
        assert "Role-played a hard conversation." in page
    assert not CoachingSession.objects.exists()


def test_a_goal_of_another_plan_is_refused(world, login, plan, other_coach):
    elsewhere = make_plan(world, world.unassigned, coach=other_coach)
    data = session_post(plan, goals=[elsewhere.goals.get().pk])
    response = login(world.coach).post(url("session_new", plan.pk), data)
    assert response.status_code == 400
    assert "goals" in response.context["form"].errors


def test_a_correction_is_kept_in_the_plans_history_with_the_old_value(world, login, plan):
    client = login(world.coach)
    client.post(url("session_new", plan.pk), session_post(plan))
    session = CoachingSession.objects.get()
    data = session_post(plan, minutes="55", token="")
    response = client.post(url("session_edit", session.pk), data)
    assert response.url == f"{plan.get_absolute_url()}#sessions"
    session.refresh_from_db()
    assert session.minutes == 55
    rows = session.history.order_by("history_id")
    assert [(h.history_user, h.minutes) for h in rows][-1] == (world.coach.user, 55)
    assert rows.first().minutes == 40
    page = client.get(plan.get_absolute_url()).content.decode()
    assert f"Session of {TODAY:%Y-%m-%d}" in page
    assert "<del>40</del> → <ins>55</ins>" in page


def test_a_correction_keeps_a_goal_that_was_dropped_since(world, login, plan):
    client = login(world.coach)
    client.post(url("session_new", plan.pk), session_post(plan))
    session = CoachingSession.objects.get()
    worked = plan.goals.get()
    services.goal_change(goal=worked, status="dropped", status_reason="Later.")
    form = client.get(url("session_edit", session.pk)).context["form"]
    assert list(form.fields["goals"].queryset) == [worked]


def test_a_closed_plan_offers_no_new_session(world, login, plan):
    services.plan_change(plan=plan, coaches=[world.coach], status="closed", closed_reason="Done.")
    page = login(world.coach).get(plan.get_absolute_url()).content.decode()
    assert url("session_new", plan.pk) not in page

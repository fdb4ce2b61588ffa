# ruff: noqa: F401, F811 (the fixtures imported below are redefined as arguments, as pytest uses them)
"""The alert's side of coaching plans: a plan started from a drift alert (its items that
fell most proposed as goals), marking an alert as being addressed names the plan, and the
alert's page shows the plan that answers it."""

import pytest
from django.urls import reverse

from coaching.models import CoachingPlan, DriftAlert
from tests.coaching.test_alert_views import make_alert
from tests.coaching.test_plans import (
    NEW,
    TODAY,
    _proposal_fields,
    flashed,
    frozen,
    goal_post,
    make_plan,
    other_coach,
    url,
)

MOVED = [
    {"code": "mi-reflect", "label": "Reflections", "baseline": 2.4, "current": 1.2},
    {"code": "metric:mi-skills", "label": "MI skills", "baseline": 78.26, "current": 61.0},
    {"code": "gone", "label": "An item no longer on the rubric", "baseline": 2, "current": 1},
]


@pytest.fixture
def alert(world, other_coach):
    return make_alert(world.practitioner, moved=MOVED)


def start_from(alert):
    return f"{NEW}?alert={alert.pk}"


def test_the_alerts_items_that_fell_most_are_proposed_as_goals(world, login, alert):
    page = login(world.coach).get(start_from(alert))
    assert page.status_code == 200
    proposals = [form.initial for form in page.context["goal_forms"].forms if form.initial]
    assert [
        (p["description"], p["item_codes"], p["metric_code"], p["target"], p["decline_on"])
        for p in proposals
    ] == [
        ("Reflections", ["mi-reflect"], "", 80, alert.began_on),
        ("MI skills", [], "mi-skills", 78.3, alert.began_on),
    ]
    assert list(page.context["form"].fields["practitioner"].queryset) == [world.practitioner]


def test_starting_from_an_alert_marks_it_as_being_addressed_by_the_plan(world, login, alert):
    client = login(world.coach)
    page = client.get(start_from(alert))
    data = goal_post(0, token="from-alert-token-0001", practitioner=world.practitioner)
    data.update(_proposal_fields(page))
    response = client.post(start_from(alert), data)
    plan = CoachingPlan.objects.get()
    assert response.url == plan.get_absolute_url()
    assert plan.alert == alert
    assert [(g.description, g.decline_on) for g in plan.goals.all()] == [
        ("Reflections", alert.began_on),
        ("MI skills", alert.began_on),
    ]
    alert.refresh_from_db()
    assert (alert.status, alert.plan, alert.addressed_by) == ("addressing", plan, world.coach)
    assert alert.addressing_note == f"Coaching plan from {TODAY}: Reflections; MI skills."
    history = list(alert.history.order_by("history_id").values_list("status", "plan"))
    assert history[-2:] == [("open", None), ("addressing", plan.pk)]


def test_starting_from_an_alert_already_addressed_keeps_what_was_said(world, login, alert):
    DriftAlert.objects.filter(pk=alert.pk).update(
        status="addressing", addressing_note="Weekly sessions."
    )
    client = login(world.coach)
    page = client.get(start_from(alert))
    data = goal_post(0, token="from-alert-token-0002", practitioner=world.practitioner)
    data.update(_proposal_fields(page))
    client.post(start_from(alert), data)
    alert.refresh_from_db()
    assert (alert.addressing_note, alert.plan) == ("Weekly sessions.", CoachingPlan.objects.get())


def test_the_alert_page_offers_the_practitioners_coach_to_start_a_plan(world, login, alert):
    start = start_from(alert).replace("&", "&amp;")
    assert start in login(world.coach).get(alert.get_absolute_url()).content.decode()
    for persona in ("leader", "org_admin", "purveyor_admin"):
        page = login(getattr(world, persona)).get(alert.get_absolute_url()).content.decode()
        assert start not in page


@pytest.mark.parametrize("persona", ["other_coach", "leader", "purveyor_admin", "outsider"])
def test_nobody_but_the_practitioners_coach_starts_a_plan_from_the_alert(
    world, login, alert, persona
):
    assert login(getattr(world, persona)).get(start_from(alert)).status_code == 404


def test_a_closed_or_team_alert_starts_no_plan(world, login, alert):
    team = make_alert(scope="team", team=world.team_a)
    assert login(world.coach).get(start_from(team)).status_code == 404
    DriftAlert.objects.filter(pk=alert.pk).update(status="resolved", resolved_on=TODAY)
    assert login(world.coach).get(start_from(alert)).status_code == 404


def test_the_alert_page_shows_the_plan_that_answers_it(world, login, alert):
    plan = make_plan(world, alert=alert)
    for persona in ("coach", "leader", "purveyor_admin"):
        page = login(getattr(world, persona)).get(alert.get_absolute_url()).content.decode()
        assert f'Answered by <a href="{plan.get_absolute_url()}"' in page
    plan_page = login(world.leader).get(plan.get_absolute_url()).content.decode()
    assert alert.get_absolute_url() in plan_page


def test_the_practitioner_sees_the_plan_but_not_the_alert_about_them(world, login, alert):
    plan = make_plan(world, alert=alert)
    page = login(world.practitioner).get(plan.get_absolute_url())
    assert page.status_code == 200
    assert alert.get_absolute_url() not in page.content.decode()


def test_marking_as_being_addressed_names_the_active_plan(world, login, alert):
    plan = make_plan(world)
    client = login(world.leader)
    form = client.get(alert.get_absolute_url()).context["address_form"]
    assert list(form.fields["plan"].queryset) == [plan]
    assert form["plan"].value() == plan.pk
    response = client.post(
        url("address", alert.pk), {"address-note": "Sessions.", "address-plan": plan.pk}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.plan, alert.addressing_note) == ("addressing", plan, "Sessions.")
    rows = list(alert.history.order_by("history_id").values_list("plan", "history_user"))
    assert rows[-1] == (plan.pk, world.leader.user_id)
    page = client.get(alert.get_absolute_url()).content.decode()
    assert "<del>—</del> → <ins>Coaching plan for" in page


def test_naming_the_plan_alone_is_a_change_not_a_repeat(world, login, alert):
    plan = make_plan(world)
    client = login(world.coach)
    client.post(url("address", alert.pk), {"address-note": "Sessions.", "address-plan": ""})
    alert.refresh_from_db()
    assert alert.plan is None
    data = {"address-note": "Sessions.", "address-plan": plan.pk}
    response = client.post(url("address", alert.pk), data)
    alert.refresh_from_db()
    assert alert.plan == plan
    assert flashed(response)[-1].startswith("Marked as being addressed")
    again = client.post(url("address", alert.pk), data)
    assert (
        flashed(again)[-1]
        == "It was marked as being addressed already, with these words; nothing changed."
    )


def test_a_plan_of_someone_else_is_refused_with_the_note_kept(world, login, alert, other_coach):
    elsewhere = make_plan(world, world.unassigned, coach=other_coach)
    data = {"address-note": "Keep this note.", "address-plan": elsewhere.pk}
    response = login(world.leader).post(url("address", alert.pk), data)
    assert response.status_code == 400
    assert "Keep this note." in response.content.decode()
    alert.refresh_from_db()
    assert (alert.status, alert.plan) == ("open", None)


def test_a_team_alert_is_addressed_with_a_note_only(world, login):
    team = make_alert(scope="team", team=world.team_a)
    client = login(world.leader)
    assert "plan" not in client.get(team.get_absolute_url()).context["address_form"].fields
    client.post(url("address", team.pk), {"address-note": "Team training day."})
    team.refresh_from_db()
    assert (team.status, team.plan, team.addressing_note) == (
        "addressing",
        None,
        "Team training day.",
    )


def test_the_alert_detail_reads_as_many_queries_however_often_it_was_addressed(world, login, alert):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.leader)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(alert.get_absolute_url()).status_code == 200
        return len(captured)

    plan = make_plan(world, alert=alert)
    with_plan = queries()
    for n in range(5):
        data = {"address-note": f"Sessions {n}.", "address-plan": plan.pk}
        client.post(url("address", alert.pk), data)
    assert DriftAlert.objects.get(pk=alert.pk).plan == plan
    assert queries() == with_plan

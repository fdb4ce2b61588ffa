"""Coaching plan pages: who opens each one, the list and its filters, the detail, starting
a plan (from nothing, from an alert, from an observation), goals, comments, history and
query counts. Sessions are in test_plans_sessions.py, the alert's side in
test_plans_alerts.py."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching import services
from coaching.models import CoachingPlan, CoachingSession, Goal
from observations.models import Rubric
from tests.factories import make_assignment, make_person

D = dt.date
TODAY = D(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=ZoneInfo("America/New_York"))
LIST = reverse("coaching:plans")
NEW = reverse("coaching:plan_new")
PERSONAS = [
    "coach",
    "other_coach",
    "practitioner",
    "unassigned",
    "leader",
    "org_admin",
    "purveyor_admin",
    "outsider",
    "away_practitioner",
]
# Who opens a plan about Pat (the home coach Cora's practitioner).
READERS = {"coach", "practitioner", "leader", "org_admin", "purveyor_admin"}


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


@pytest.fixture
def other_coach(world):
    """A coach at home who does not coach Pat."""
    coach = make_person(world.home, "coach", team=world.team_b, first_name="Olga")
    make_assignment(coach, world.unassigned)
    world.other_coach = coach
    return coach


def goal(rubric="miiwrap-fidelity", items=("mi-reflect",), metric="", target=80.0, **fields):
    return {
        "rubric": Rubric.objects.get(code=rubric),
        "item_codes": list(items),
        "metric_code": metric,
        "description": fields.pop("description", "Reflections"),
        "target": target,
        "decline_on": fields.pop("decline_on", None),
    }


def make_plan(world, practitioner=None, goals=None, coach=None, **kwargs):
    """A plan started through the service, as the page starts one."""
    started = services.plan_start(
        practitioner=practitioner or world.practitioner,
        coaches=[coach or world.coach],
        started_on=kwargs.pop("started_on", D(2026, 6, 1)),
        goals=goals if goals is not None else [goal()],
        by=coach or world.coach,
        **kwargs,
    )
    return started.plan


@pytest.fixture
def plan(world, other_coach):
    return make_plan(world)


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def url(name, *args):
    return reverse(f"coaching:{name}", args=args)


def goal_post(n=1, token="plan-start-token-0001", practitioner=None, **goal_fields):
    """A start form with `n` goals filled in (mi-reflect by default)."""
    data = {
        "form_token": token,
        "started_on": "2026-06-30",
        "goal-TOTAL_FORMS": str(n),
        "goal-INITIAL_FORMS": "0",
        "goal-MIN_NUM_FORMS": "0",
        "goal-MAX_NUM_FORMS": "10",
    }
    if practitioner is not None:
        data["practitioner"] = str(practitioner.pk)
    for i in range(n):
        fields = {
            "rubric": str(Rubric.objects.get(code="miiwrap-fidelity").pk),
            "item_codes": ["mi-reflect"],
            "metric_code": "",
            "description": f"Goal {i}",
            "target": "80",
            **goal_fields,
        }
        data.update({f"goal-{i}-{name}": value for name, value in fields.items()})
    return data


# Who opens what -----------------------------------------------------------------------------


def pages(plan):
    """Every plan page with an id, and whether only Pat's coach opens it."""
    goal, session = plan.goals.get(), _session(plan)
    return {
        "detail": (url("plan", plan.pk), False),
        "edit": (url("plan_edit", plan.pk), True),
        "goal_new": (url("goal_new", plan.pk), True),
        "goal_edit": (url("goal_edit", goal.pk), True),
        "session_new": (url("session_new", plan.pk), True),
        "session_edit": (url("session_edit", session.pk), True),
        "start_for_pat": (f"{NEW}?practitioner={plan.practitioner_id}", True),
    }


def _session(plan):
    return services.session_log(
        plan=plan,
        coach=plan.coaches.get(),
        by=plan.coaches.get(),
        held_on=D(2026, 6, 10),
        minutes=45,
        format=CoachingSession.Format.PRACTICE,
        goals=list(plan.goals.all()),
        notes="Practised reflections.",
        next_step="Two complex reflections per visit.",
    )


PAGE_NAMES = ["detail", "edit", "goal_new", "goal_edit", "session_new", "session_edit"]


@pytest.mark.parametrize("page", [*PAGE_NAMES, "start_for_pat"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_page_opens_for_those_it_is_for_and_is_404_for_everyone_else(
    world, login, plan, persona, page
):
    address, coach_only = pages(plan)[page]
    response = login(getattr(world, persona)).get(address)
    allowed = {"coach"} if coach_only else READERS
    assert response.status_code == (200 if persona in allowed else 404)


@pytest.mark.parametrize("page", [*PAGE_NAMES, "start_for_pat"])
def test_anonymous_is_sent_to_sign_in_from_every_page(client, world, plan, page):
    address, _ = pages(plan)[page]
    response = client.get(address)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_anonymous_is_sent_to_sign_in_from_the_list_and_the_start_page(client, world):
    for address in (LIST, NEW):
        assert client.get(address).url.startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["leader", "org_admin", "purveyor_admin", "practitioner"])
def test_only_coaches_start_plans(world, login, persona):
    assert login(getattr(world, persona)).get(NEW).status_code == 404


def test_a_missing_plan_is_404_even_for_the_purveyor(world, login):
    assert login(world.purveyor_admin).get(url("plan", 999999)).status_code == 404


@pytest.mark.parametrize(
    ("name", "method"), [("plan_comment", "post"), ("plan_edit", "post"), ("goal_new", "post")]
)
def test_an_outsider_posting_gets_404_and_nothing_changes(world, login, plan, name, method):
    response = getattr(login(world.outsider), method)(url(name, plan.pk), {"text": "Hi"})
    assert response.status_code == 404
    assert not plan.comments.exists()


# The list ----------------------------------------------------------------------------------

# persona -> the plans (by practitioner) on their list
LISTS = {
    "coach": {"practitioner"},
    "other_coach": {"unassigned"},
    "practitioner": {"practitioner"},
    "unassigned": {"unassigned"},
    "leader": {"practitioner", "unassigned"},
    "org_admin": {"practitioner", "unassigned"},
    "purveyor_admin": {"practitioner", "unassigned", "away_practitioner"},
    "outsider": {"away_practitioner"},
    "away_practitioner": {"away_practitioner"},
}


@pytest.fixture
def three_plans(world, other_coach, plan):
    return {
        "practitioner": plan,
        "unassigned": make_plan(world, world.unassigned, coach=other_coach),
        "away_practitioner": make_plan(world, world.away_practitioner, coach=world.outsider),
    }


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_list_shows_each_persona_exactly_the_plans_they_may_see(
    world, login, three_plans, persona
):
    response = login(getattr(world, persona)).get(LIST)
    assert response.status_code == 200
    shown = {plan.pk for plan in response.context["page"].object_list}
    assert shown == {three_plans[name].pk for name in LISTS[persona]}


def test_the_list_says_who_coaches_how_many_goals_and_sessions(world, login, plan):
    _session(plan)
    services.goal_add(plan=plan, by=world.coach, started_on=TODAY, **goal(description="Summaries"))
    page = login(world.leader).get(LIST).content.decode()
    row = page[page.index(f'data-plan="{plan.pk}"') :]
    assert world.coach.full_name in row
    assert "2 active · 0 met" in row
    assert "(last 2026-06-10)" in row


def test_the_list_shows_active_plans_unless_another_status_is_chosen(world, login, plan):
    services.plan_change(
        plan=plan, coaches=[world.coach], status="closed", closed_reason="Goals met."
    )
    newer = make_plan(world, started_on=D(2026, 6, 20))
    client = login(world.leader)
    assert [p.pk for p in client.get(LIST).context["page"]] == [newer.pk]
    assert [p.pk for p in client.get(LIST, {"status": "closed"}).context["page"]] == [plan.pk]
    assert len(client.get(LIST, {"status": "all"}).context["page"]) == 2
    refused = client.get(LIST, {"status": "nonsense"})
    assert refused.status_code == 200
    assert [p.pk for p in refused.context["page"]] == [newer.pk]


def test_a_leader_filters_by_coach_and_a_coach_has_no_such_filter(world, login, three_plans):
    client = login(world.leader)
    by_olga = client.get(LIST, {"coach": world.other_coach.pk})
    assert [p.pk for p in by_olga.context["page"]] == [three_plans["unassigned"].pk]
    assert "coach" not in login(world.coach).get(LIST).context["filter"].form.fields


def test_a_leader_cannot_filter_by_a_coach_of_another_organization(world, login, three_plans):
    response = login(world.leader).get(LIST, {"coach": world.outsider.pk})
    assert response.status_code == 200
    assert "coach" in response.context["filter"].form.errors


@pytest.mark.parametrize("persona", ["leader", "coach", "purveyor_admin", "practitioner"])
def test_the_list_reads_as_many_queries_for_twenty_plans_as_for_two(world, login, persona):
    client = login(getattr(world, persona))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST, {"status": "all"}).status_code == 200
        return len(captured)

    def add(count):
        for _ in range(count):
            person = make_person(world.home, "practitioner", team=world.team_a, login=False)
            make_assignment(world.coach, person)
            made = make_plan(world, person)
            _session(made)

    make_plan(world)  # the practitioner's own, so they list something too
    add(2)
    few = queries()
    add(18)
    assert queries() == few


# The detail --------------------------------------------------------------------------------


def test_the_detail_shows_goals_sessions_newest_first_and_comments(world, login, plan):
    first = _session(plan)
    later = _session(plan)
    CoachingSession.objects.filter(pk=later.pk).update(held_on=D(2026, 6, 20))
    services.plan_comment(plan=plan, author=world.practitioner, text="I will try this week.")
    response = login(world.practitioner).get(url("plan", plan.pk))
    page = response.content.decode()
    assert "Reflections" in page
    assert "Reflections deepen meaning · target 80 % of the items' range" in page
    assert page.index(f'data-session="{later.pk}"') < page.index(f'data-session="{first.pk}"')
    assert "I will try this week." in page
    assert "Next step:</span> Two complex reflections per visit." in page


def test_only_the_coach_is_offered_the_buttons_that_change_a_plan(world, login, plan):
    coach_page = login(world.coach).get(url("plan", plan.pk)).content.decode()
    assert url("session_new", plan.pk) in coach_page
    assert url("plan_edit", plan.pk) in coach_page
    for persona in ("practitioner", "leader", "purveyor_admin"):
        page = login(getattr(world, persona)).get(url("plan", plan.pk)).content.decode()
        assert url("session_new", plan.pk) not in page
        assert url("plan_edit", plan.pk) not in page
        assert url("plan_comment", plan.pk) in page


@pytest.mark.parametrize("persona", ["coach", "practitioner", "leader", "purveyor_admin"])
def test_the_detail_reads_as_many_queries_for_many_goals_sessions_and_comments(
    world, login, plan, persona
):
    client = login(getattr(world, persona))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("plan", plan.pk)).status_code == 200
        return len(captured)

    def add(count):
        for n in range(count):
            made = services.goal_add(
                plan=plan, by=world.coach, started_on=TODAY, **goal(description=f"G{n}")
            )
            services.goal_change(goal=made, target=70.0 + n)
            session = _session(plan)
            services.session_change(session=session, goals=[made], minutes=30 + n)
            services.plan_comment(plan=plan, author=world.leader, text=f"Comment {n}")

    add(1)
    few = queries()
    add(9)
    assert queries() == few


# Starting a plan -----------------------------------------------------------------------------


def test_a_coach_starts_a_plan_from_nothing_for_someone_on_their_caseload(
    world, login, other_coach
):
    client = login(world.coach)
    page = client.get(NEW)
    assert list(page.context["form"].fields["practitioner"].queryset) == [world.practitioner]
    response = client.post(NEW, goal_post(2, practitioner=world.practitioner))
    plan = CoachingPlan.objects.get()
    assert response.status_code == 302
    assert response.url == plan.get_absolute_url()
    assert flashed(response) == ["Coaching plan started."]
    assert (plan.practitioner, plan.organization, plan.status) == (
        world.practitioner,
        world.home,
        "active",
    )
    assert (plan.started_on, plan.created_by) == (TODAY, world.coach)
    # No coach ticked: the practitioner's current coaches.
    assert list(plan.coaches.all()) == [world.coach]
    assert [(g.description, g.item_codes, g.target, g.started_on) for g in plan.goals.all()] == [
        ("Goal 0", ["mi-reflect"], 80.0, TODAY),
        ("Goal 1", ["mi-reflect"], 80.0, TODAY),
    ]


def test_a_start_posted_twice_stores_one_plan(world, login):
    client = login(world.coach)
    data = goal_post(1, practitioner=world.practitioner)
    client.post(NEW, data)
    again = client.post(NEW, data)
    assert CoachingPlan.objects.count() == 1
    assert Goal.objects.count() == 1
    assert again.url == CoachingPlan.objects.get().get_absolute_url()
    assert (
        flashed(again)[-1] == "This form had already been sent; it was saved once, as shown here."
    )


def test_someone_not_on_the_caseload_is_refused(world, login, other_coach):
    response = login(world.coach).post(NEW, goal_post(1, practitioner=world.unassigned))
    assert response.status_code == 400
    assert "practitioner" in response.context["form"].errors
    assert not CoachingPlan.objects.exists()


def test_starting_a_plan_when_one_is_active_adds_the_goals_and_says_so(world, login, plan):
    client = login(world.coach)
    page = client.get(NEW, {"practitioner": world.practitioner.pk}).content.decode()
    assert "data-adds-to-plan" in page
    assert "will be <strong>added to it</strong>" in page
    data = goal_post(1, practitioner=world.practitioner, description="Summaries")
    response = client.post(f"{NEW}?practitioner={world.practitioner.pk}", data)
    assert response.url == plan.get_absolute_url()
    assert flashed(response) == ["They already had an active plan: the goals were added to it."]
    assert CoachingPlan.objects.count() == 1
    assert sorted(plan.goals.values_list("description", flat=True)) == ["Reflections", "Summaries"]


def test_the_database_keeps_one_active_plan_per_practitioner(world, plan):
    with pytest.raises(IntegrityError):
        CoachingPlan.objects.create(
            practitioner=world.practitioner, organization=world.home, started_on=TODAY
        )


def test_a_closed_plan_does_not_stop_a_new_one(world, plan):
    services.plan_change(plan=plan, coaches=[world.coach], status="closed", closed_reason="Done.")
    newer = make_plan(world)
    assert newer.pk != plan.pk
    assert newer.is_active


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"item_codes": ["no-such-item"]}, "item_codes", "Select a valid choice"),
        ({"item_codes": ["mi-reflect"], "target": "120"}, "target", "from 0 to 100"),
        ({"item_codes": [], "metric_code": ""}, "item_codes", "Choose at least one item"),
        ({"metric_code": "fidelity"}, "metric_code", "not both"),
        ({"description": ""}, "description", "required"),
        ({"target": "lots"}, "target", "Enter a number"),
    ],
)
def test_a_wrong_goal_is_refused_with_what_to_fix_and_the_input_kept(
    world, login, fields, field, message
):
    data = goal_post(1, practitioner=world.practitioner, **{"description": "Keep me", **fields})
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    errors = response.context["goal_forms"].forms[0].errors
    assert message in " ".join(errors[field])
    page = response.content.decode()
    assert "Not saved yet" in page
    if fields.get("description", "Keep me"):
        assert 'value="Keep me"' in page
    assert not CoachingPlan.objects.exists()


def test_a_goal_on_an_item_of_another_rubric_is_refused(world, login):
    data = goal_post(1, practitioner=world.practitioner, item_codes=["cct"])
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    errors = response.context["goal_forms"].forms[0].errors["item_codes"]
    assert errors == ["Not on this rubric's current version: cct."]


def test_a_goal_on_a_metric_takes_a_target_in_its_unit(world, login):
    mi = str(Rubric.objects.get(code="mi-coding").pk)
    data = goal_post(
        1, practitioner=world.practitioner, rubric=mi, item_codes=[], metric_code="pct-cr"
    )
    data["goal-0-target"] = "50"
    login(world.coach).post(NEW, data)
    made = Goal.objects.get()
    assert (made.metric_code, made.item_codes, made.target) == ("pct-cr", [], 50.0)


def test_a_plan_needs_at_least_one_goal(world, login):
    data = goal_post(1, practitioner=world.practitioner)
    data["goal-0-DELETE"] = "on"
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    assert "Add at least one goal" in response.content.decode()


def test_a_plan_cannot_start_in_the_future(world, login):
    data = goal_post(1, practitioner=world.practitioner)
    data["started_on"] = "2026-07-01"
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    assert "cannot start in the future" in response.content.decode()


def test_a_resent_start_after_an_error_keeps_its_token_and_counts_once(world, login):
    client = login(world.coach)
    bad = goal_post(1, practitioner=world.practitioner, target="500")
    shown = client.post(NEW, bad)
    token = shown.context["form"].initial_token()
    good = goal_post(1, practitioner=world.practitioner, token=token)
    client.post(NEW, good)
    client.post(NEW, good)
    assert CoachingPlan.objects.count() == 1


def test_from_an_observation_the_growth_areas_items_are_proposed(world, login):
    from tests.factories import make_observation

    observation = make_observation(
        world.coach,
        world.practitioner,
        observed_on=D(2026, 6, 2),
        growth_areas="Reflect more.",
        growth_areas_items=["mi-reflect", "ind-summary"],
    )
    client = login(world.coach)
    detail = client.get(observation.get_absolute_url()).content.decode()
    start = f"{NEW}?observation={observation.pk}"
    assert start in detail.replace("&amp;", "&")
    page = client.get(start)
    proposals = [form.initial for form in page.context["goal_forms"].forms if form.initial]
    assert [(p["item_codes"], p["target"]) for p in proposals] == [
        (["mi-reflect"], 100),
        (["ind-summary"], 100),
    ]
    data = goal_post(0, token="from-observation-0001", practitioner=world.practitioner)
    data.update(_proposal_fields(page))
    response = client.post(start, data)
    plan = CoachingPlan.objects.get()
    assert response.url == plan.get_absolute_url()
    assert plan.observation == observation
    assert plan.goals.count() == 2


def test_the_observation_page_offers_a_plan_only_to_the_practitioners_coach(
    world, login, other_coach
):
    from tests.factories import make_observation

    observation = make_observation(
        world.coach, world.practitioner, growth_areas_items=["mi-reflect"]
    )
    start = f"{NEW}?observation={observation.pk}"
    for persona in ("practitioner", "leader", "purveyor_admin"):
        page = login(getattr(world, persona)).get(observation.get_absolute_url())
        assert start not in page.content.decode().replace("&amp;", "&")
    assert login(other_coach).get(start).status_code == 404


def _proposal_fields(page):
    """What the browser sends back for the proposed goals, untouched."""
    goal_forms = page.context["goal_forms"]
    data = {"goal-TOTAL_FORMS": str(len(goal_forms.forms)), "goal-INITIAL_FORMS": "0"}
    data["goal-INITIAL_FORMS"] = str(goal_forms.initial_form_count())
    for form in goal_forms.forms:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if value is None or name == "DELETE":
                continue
            if hasattr(value, "pk"):
                value = value.pk
            data[form.add_prefix(name)] = value if isinstance(value, list) else str(value)
    return data


def test_the_person_page_lists_their_plans_and_offers_their_coach_to_start_one(world, login, plan):
    coach_page = login(world.coach).get(reverse("people:detail", args=[world.practitioner.pk]))
    text = coach_page.content.decode()
    assert plan.get_absolute_url() in text
    assert f"{NEW}?practitioner={world.practitioner.pk}" in text
    own = login(world.practitioner).get(reverse("people:detail", args=[world.practitioner.pk]))
    assert plan.get_absolute_url() in own.content.decode()
    assert f"{NEW}?practitioner=" not in own.content.decode()


@pytest.mark.parametrize("persona", ["coach", "practitioner", "leader", "purveyor_admin"])
def test_the_navigation_offers_plans(world, login, persona):
    page = login(getattr(world, persona)).get(LIST).content.decode()
    # In the Coaching menu, beside the events (and Alerts, for all but the practitioner).
    link = "dropdown-item"
    assert re.search(rf'class="{link} active" aria-current="page" href="{LIST}">Plans</a>', page)


# Goals, plan status and comments: each change leaves who, when and the old value -------------


def test_the_coach_changes_a_goals_target_and_the_history_keeps_the_old_one(world, login, plan):
    target = plan.goals.get()
    client = login(world.coach)
    data = {
        "rubric": target.rubric_id,
        "item_codes": ["mi-reflect", "mi-open"],
        "metric_code": "",
        "description": "Reflections and open questions",
        "target": "85",
        "status": "active",
        "status_reason": "",
    }
    response = client.post(url("goal_edit", target.pk), data)
    assert response.url == plan.get_absolute_url()
    target.refresh_from_db()
    assert (target.target, target.item_codes) == (85.0, ["mi-reflect", "mi-open"])
    assert [(h.history_user, h.target) for h in target.history.order_by("history_id")] == [
        (None, 80.0),
        (world.coach.user, 85.0),
    ]
    page = client.get(plan.get_absolute_url()).content.decode()
    assert "<del>80.0</del> → <ins>85.0</ins>" in page


def test_dropping_a_goal_needs_a_reason(world, login, plan):
    target = plan.goals.get()
    data = {
        "rubric": target.rubric_id,
        "item_codes": ["mi-reflect"],
        "description": "Reflections",
        "target": "80",
        "status": "dropped",
        "status_reason": "",
    }
    client = login(world.coach)
    refused = client.post(url("goal_edit", target.pk), data)
    assert refused.status_code == 400
    assert "Say why the goal is dropped." in refused.content.decode()
    assert 'value="Reflections"' in refused.content.decode()
    client.post(url("goal_edit", target.pk), {**data, "status_reason": "Not a priority now."})
    target.refresh_from_db()
    assert (target.status, target.status_reason) == ("dropped", "Not a priority now.")
    assert [h.status for h in target.history.order_by("history_id")] == ["active", "dropped"]


def test_a_goal_met_then_active_again_forgets_why(world, plan):
    target = plan.goals.get()
    services.goal_change(goal=target, status="met", status_reason="Held for 3 visits.")
    services.goal_change(goal=target, status="active", status_reason="Held for 3 visits.")
    target.refresh_from_db()
    assert (target.status, target.status_reason) == ("active", "")


def test_a_goal_stays_on_its_rubric(world, login, plan):
    target = plan.goals.get()
    mi = Rubric.objects.get(code="mi-coding")
    data = {"rubric": mi.pk, "item_codes": ["cct"], "description": "X", "target": "50"}
    response = login(world.coach).post(url("goal_edit", target.pk), {**data, "status": "active"})
    assert response.status_code == 400
    target.refresh_from_db()
    assert target.rubric.code == "miiwrap-fidelity"


def test_a_goal_added_to_a_plan_counts_once(world, login, plan):
    data = {
        "form_token": "goal-add-token-00001",
        "rubric": Rubric.objects.get(code="miiwrap-fidelity").pk,
        "item_codes": ["ind-summary"],
        "description": "Summaries before next steps",
        "target": "100",
    }
    client = login(world.coach)
    client.post(url("goal_new", plan.pk), data)
    client.post(url("goal_new", plan.pk), data)
    assert list(plan.goals.values_list("description", "started_on")) == [
        ("Reflections", D(2026, 6, 1)),
        ("Summaries before next steps", TODAY),
    ]


def test_closing_a_plan_needs_a_reason_and_is_kept_in_its_history(world, login, plan):
    client = login(world.coach)
    data = {"coaches": [world.coach.pk], "status": "closed", "closed_reason": ""}
    refused = client.post(url("plan_edit", plan.pk), data)
    assert refused.status_code == 400
    assert "Say why the plan is closed" in refused.content.decode()
    client.post(url("plan_edit", plan.pk), {**data, "closed_reason": "Goals met."})
    plan.refresh_from_db()
    assert (plan.status, plan.closed_reason) == ("closed", "Goals met.")
    rows = plan.history.order_by("history_id")
    assert [(h.history_user, h.status) for h in rows][-2:] == [
        (None, "active"),
        (world.coach.user, "closed"),
    ]


def test_reopening_a_plan_while_another_is_active_is_refused(world, login, plan):
    services.plan_change(plan=plan, coaches=[world.coach], status="closed", closed_reason="Done.")
    make_plan(world)
    data = {"coaches": [world.coach.pk], "status": "active", "closed_reason": ""}
    response = login(world.coach).post(url("plan_edit", plan.pk), data)
    assert response.status_code == 400
    assert "another active plan" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == "closed"


@pytest.mark.parametrize("persona", ["practitioner", "coach", "leader", "org_admin"])
def test_those_who_see_the_plan_comment_on_it_once(world, login, plan, persona):
    client = login(getattr(world, persona))
    data = {"form_token": "comment-token-000001", "text": "Seen, thanks."}
    first = client.post(url("plan_comment", plan.pk), data)
    client.post(url("plan_comment", plan.pk), data)
    assert first.url == f"{plan.get_absolute_url()}#comments"
    assert list(plan.comments.values_list("author", "text")) == [
        (getattr(world, persona).pk, "Seen, thanks.")
    ]


def test_an_empty_comment_is_refused_on_the_page(world, login, plan):
    response = login(world.practitioner).post(url("plan_comment", plan.pk), {"text": ""})
    assert response.status_code == 400
    assert not plan.comments.exists()


def test_an_overlong_comment_is_refused_and_kept(world, login, plan):
    text = "x" * 2001
    response = login(world.practitioner).post(url("plan_comment", plan.pk), {"text": text})
    assert response.status_code == 400
    assert text in response.content.decode()


def test_a_token_sent_from_another_account_is_refused_on_the_page(world, login, plan):
    data = {"form_token": "shared-token-0000001", "text": "Mine."}
    login(world.practitioner).post(url("plan_comment", plan.pk), data)
    response = login(world.leader).post(url("plan_comment", plan.pk), {**data, "text": "Theirs."})
    assert response.status_code == 400
    assert "sent before from another account" in response.content.decode()
    assert list(plan.comments.values_list("text", flat=True)) == ["Mine."]


# The admin: read-only, scoped like the pages --------------------------------------------------


def test_the_admin_lists_an_org_admin_their_organizations_plans_read_only(
    world, login, three_plans
):
    client = login(world.org_admin)
    response = client.get(reverse("admin:coaching_coachingplan_changelist"))
    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {
        three_plans["practitioner"],
        three_plans["unassigned"],
    }
    away = reverse("admin:coaching_coachingplan_change", args=[three_plans["away_practitioner"].pk])
    # Django's admin answers a record outside one's rows as a missing one: back to the index.
    assert client.get(away).url == reverse("admin:index")
    history = reverse("admin:coaching_coachingplan_history", args=[three_plans["unassigned"].pk])
    assert client.get(history).status_code == 200
    assert client.get(reverse("admin:coaching_coachingplan_add")).status_code == 403


@pytest.mark.parametrize("name", ["alert", "observation", "practitioner"])
@pytest.mark.parametrize("value", ["٣", "-1", "99999999999999999999", "x"])
def test_a_start_from_something_that_is_no_id_is_404(world, login, name, value):
    assert login(world.coach).get(NEW, {name: value}).status_code == 404

"""The alignment plan: co-created by the purveyor and the organization's leaders, each
action beside the readiness items it is meant to move."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from miiwrap.implementation import services
from miiwrap.implementation.models import ActionItem, AlignmentPlan
from miiwrap.once.forms import new_token
from tests.implementation.conftest import make_assessment, ratings

TODAY = dt.date(2026, 4, 1)


def plan_url(world):
    return reverse("implementation:plan", args=[world.home.pk])


def new_url(world):
    return reverse("implementation:action_new", args=[world.home.pk])


def weakest_url(assessment):
    return reverse("implementation:plan_from_weakest", args=[assessment.pk])


@pytest.fixture
def assessed(world, instrument):
    """Two final assessments: lc-sponsor 1 → 3, ct-size 2 → 0, pd-burden 0 → 1."""
    by = world.purveyor_admin
    before = ratings(instrument, 3, lc_sponsor=1, ct_size=2, pd_burden=0, du_outcomes=1)
    after = ratings(instrument, 3, lc_sponsor=3, ct_size=0, pd_burden=1, du_outcomes=1)
    make_assessment(world.home, by, instrument, on=dt.date(2025, 9, 1), scores=before)
    return make_assessment(
        world.home, by, instrument, scores=after, notes={"ct-size": "Two posts vacant"}
    )


def action_data(**fields):
    return {
        "form_token": new_token(),
        "what": "Cap caseloads at ten families",
        "why": "Caseloads left no time for team meetings.",
        "item_codes": ["ct-size"],
        "due_on": "2026-03-01",
        "status": "planned",
        "notes": "",
        **fields,
    }


# Starting from the weakest items ---------------------------------------------------------


@pytest.mark.parametrize("who", ["purveyor_admin", "leader"])
def test_the_purveyor_or_a_leader_starts_a_plan_from_the_weakest_items(world, login, assessed, who):
    response = login(getattr(world, who)).post(weakest_url(assessed))
    plan = AlignmentPlan.objects.get(organization=world.home)
    assert response.status_code == 302 and response.url == plan.get_absolute_url()
    started = list(plan.actions.order_by("pk").values_list("started_from", "item_codes", "what"))
    # The lowest first: ct-size at 0, then pd-burden and du-outcomes at 1 (every other at 3).
    assert started == [
        ("ct-size", ["ct-size"], "Strengthen: Caseloads within the model's range"),
        ("pd-burden", ["pd-burden"], "Strengthen: Paperwork leaves time for practice"),
        ("du-outcomes", ["du-outcomes"], "Strengthen: Outcomes tracked for families"),
    ]
    assert "Two posts vacant" in plan.actions.get(started_from="ct-size").why


def test_starting_twice_adds_each_action_once(world, login, assessed):
    client = login(world.purveyor_admin)
    client.post(weakest_url(assessed))
    client.post(weakest_url(assessed))
    assert ActionItem.objects.count() == 3
    assert AlignmentPlan.objects.count() == 1


def test_a_draft_is_not_planned_from(world, login, instrument):
    draft = make_assessment(world.home, world.purveyor_admin, instrument, final=False)
    login(world.purveyor_admin).post(weakest_url(draft))
    assert not ActionItem.objects.exists()


def test_the_start_is_post_only_and_offered_to_planners_alone(world, login, assessed):
    assert login(world.purveyor_admin).get(weakest_url(assessed)).status_code == 405
    detail = reverse("implementation:assessment", args=[assessed.pk])
    assert "Start a plan from the weakest items" in login(world.leader).get(detail).content.decode()
    admin_page = login(world.org_admin).get(detail).content.decode()
    assert "Start a plan from the weakest items" not in admin_page
    assert login(world.org_admin).post(weakest_url(assessed)).status_code == 404


# Adding and changing actions -------------------------------------------------------------


def test_a_leader_adds_an_action_once_however_often_the_form_is_sent(world, login):
    client = login(world.leader)
    data = action_data(owner=world.leader.pk)
    first = client.post(new_url(world), data)
    second = client.post(new_url(world), data)
    action = ActionItem.objects.get()
    assert first.status_code == 302 and second.status_code == 302
    assert (action.owner, action.created_by, action.item_codes) == (
        world.leader,
        world.leader,
        ["ct-size"],
    )
    assert action.plan.organization == world.home


def test_the_purveyor_changes_a_leaders_action_and_the_history_keeps_the_old_value(world, login):
    login(world.leader).post(new_url(world), action_data())
    action = ActionItem.objects.get()
    edit = reverse("implementation:action_edit", args=[action.pk])
    client = login(world.purveyor_admin)
    response = client.post(edit, action_data(status="done", notes="Cap agreed by the board"))
    action.refresh_from_db()
    assert response.status_code == 302 and action.status == "done"
    page = client.get(plan_url(world)).content.decode()
    assert "Planned" in page and "Done" in page
    assert "Cap agreed by the board" in page
    latest = action.history.first()
    assert latest.history_user == world.purveyor_admin.user
    assert latest.prev_record.status == "planned"


@pytest.mark.parametrize("who", ["org_admin", "coach", "outsider"])
def test_others_cannot_add_or_change_actions(world, login, who):
    login(world.leader).post(new_url(world), action_data())
    edit = reverse("implementation:action_edit", args=[ActionItem.objects.get().pk])
    client = login(getattr(world, who))
    assert client.post(new_url(world), action_data()).status_code == 404
    assert client.post(edit, action_data(status="done")).status_code == 404
    assert ActionItem.objects.get().status == "planned"


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"what": ""}, "This field is required."),
        ({"due_on": "2026-02-30"}, "Enter a valid date."),
        ({"item_codes": ["no-such-item"]}, "Select a valid choice."),
        ({"status": "finished"}, "Select a valid choice."),
        ({"owner": "99999999"}, "Select a valid choice."),
        ({"owner": "9" * 40}, "Select a valid choice."),
    ],
)
def test_bad_input_is_a_form_error_that_keeps_the_rest(world, login, fields, error):
    response = login(world.leader).post(new_url(world), action_data(**fields))
    page = response.content.decode()
    assert response.status_code == 400 and error in page
    assert "Caseloads left no time for team meetings." in page
    assert not ActionItem.objects.exists()


def test_an_outsider_cannot_own_an_action(world, login):
    response = login(world.leader).post(new_url(world), action_data(owner=world.outsider.pk))
    assert response.status_code == 400


# The plan page ---------------------------------------------------------------------------


def test_the_plan_shows_each_action_beside_its_items_previous_and_latest_scores(
    world, login, assessed
):
    services.action_items_from_weakest(assessment=assessed, by=world.purveyor_admin)
    page = login(world.org_admin).get(plan_url(world)).content.decode()
    assert 'data-item="ct-size" data-direction="down"' in page
    assert 'data-item="pd-burden" data-direction="up"' in page
    assert 'data-item="du-outcomes" data-direction="same"' in page
    assert "Add an action" not in page  # an organization admin reads it


def test_overdue_actions_are_marked_and_done_ones_counted(world, login, time_machine):
    time_machine.move_to(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC))
    plan = services.alignment_plan_for(organization=world.home, by=world.leader)
    make = ActionItem.objects.create
    make(plan=plan, what="Late one", due_on=dt.date(2026, 3, 1), created_by=world.leader)
    make(plan=plan, what="Due later", due_on=dt.date(2026, 5, 1), created_by=world.leader)
    make(
        plan=plan,
        what="Done late",
        due_on=dt.date(2026, 2, 1),
        status="done",
        created_by=world.leader,
    )
    make(plan=plan, what="Dropped", status="dropped", created_by=world.leader)
    page = login(world.leader).get(plan_url(world)).content.decode()
    assert "<strong>1</strong> of 3 actions done." in page
    assert page.count('data-overdue="') == 1 and "Late one" in page


def test_an_organization_without_a_plan_gets_an_empty_page(world, login):
    page = login(world.leader).get(plan_url(world)).content.decode()
    assert "No actions yet." in page


def test_the_plan_page_reads_a_constant_number_of_queries(world, login, assessed):
    client = login(world.leader)
    services.action_items_from_weakest(assessment=assessed, by=world.purveyor_admin)
    # One owned and overdue from the start: the page then reads whose name links where.
    ActionItem.objects.filter(started_from="ct-size").update(
        owner=world.leader, due_on=dt.date(2020, 1, 1)
    )
    client.get(plan_url(world))
    with CaptureQueriesContext(connection) as few:
        client.get(plan_url(world))
    plan = AlignmentPlan.objects.get()
    for n in range(4):
        ActionItem.objects.create(
            plan=plan,
            what=f"More {n}",
            item_codes=["lc-team", "lc-vision"],
            owner=world.leader,
            due_on=dt.date(2020, 1, 1),
            created_by=world.leader,
        )
    with CaptureQueriesContext(connection) as many:
        client.get(plan_url(world))
    assert len(many) == len(few)

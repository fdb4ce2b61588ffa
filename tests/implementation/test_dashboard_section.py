"""The leader dashboard's readiness and alignment section: the latest readiness, its
change, the weakest domains, and the plan's progress with what is overdue."""

import datetime as dt

import pytest
from django.urls import reverse

from miiwrap.implementation import dashboard, services
from miiwrap.implementation.models import ActionItem
from tests.implementation.conftest import make_assessment, ratings

DASHBOARD = reverse("dashboards:leader")
TODAY = dt.date(2026, 4, 1)


@pytest.fixture
def assessed(world, instrument):
    """Every item at 2 (52 of 78 points, 66.67 %), then lc-sponsor up to 3 and ct-size
    down to 0 (51 of 78, 65.38 %): 1.29 points down."""
    by = world.purveyor_admin
    make_assessment(world.home, by, instrument, on=dt.date(2025, 9, 1))
    scores = ratings(instrument, lc_sponsor=3, ct_size=0)
    return make_assessment(world.home, by, instrument, on=dt.date(2026, 3, 2), scores=scores)


@pytest.fixture
def planned(world, assessed):
    plan, added = services.action_items_from_weakest(assessment=assessed, by=world.leader)
    late, done, *_ = added
    ActionItem.objects.filter(pk=late.pk).update(due_on=dt.date(2026, 3, 1), owner=world.leader)
    ActionItem.objects.filter(pk=done.pk).update(status="done")
    ActionItem.objects.create(plan=plan, what="Dropped", status="dropped", created_by=world.leader)
    return plan


def test_one_organizations_readiness_is_worked_out_by_hand(world, planned):
    [row] = dashboard.for_leader_dashboard([world.home], TODAY)
    assert (row.assessed_on, row.overall, row.band, row.change) == (
        dt.date(2026, 3, 2),
        65.38,
        "developing",
        -1.29,
    )
    assert row.trend == "down"
    # Caseload (0 + 2 + 2) / 3; then the first of the domains at 2.0 in the instrument's
    # order (leadership is at 2.25).
    assert row.weakest == (("Caseload and time", 1.33), ("Policies and documentation", 2.0))
    # ct-size (0) and lc-* at 2... every item but lc-sponsor is below its top: five started.
    assert (row.done, row.total, row.overdue_count) == (1, 5, 1)
    assert [action.what for action in row.overdue] == [
        "Strengthen: Caseloads within the model's range"
    ]


def test_an_organization_never_assessed_has_no_scores_and_no_plan(world):
    [row] = dashboard.for_leader_dashboard([world.away], TODAY)
    assert (row.assessed_on, row.overall, row.change, row.weakest) == (None, None, None, ())
    assert (row.done, row.total, row.overdue) == (0, 0, ())


def test_comparing_organizations_counts_overdue_actions_without_listing_them(world, planned):
    rows = dashboard.for_leader_dashboard([world.home, world.away, world.purveyor], TODAY)
    assert [row.name for row in rows] == [world.away.name, world.home.name]  # not the purveyor
    home = rows[1]
    assert (home.overdue_count, home.overdue) == (1, ())


def test_the_leader_sees_readiness_and_the_plan_on_their_dashboard(
    world, login, planned, time_machine
):
    time_machine.move_to(dt.datetime(2026, 4, 1, 16, tzinfo=dt.UTC), tick=False)
    page = login(world.leader).get(DASHBOARD).content.decode()
    assert "Readiness and alignment" in page
    assert "65.38 %" in page and "-1.29 points" in page
    assert "Caseload and time (1.33 of 3)" in page
    assert "<strong>1</strong> of 5 actions done, 1 overdue." in page
    assert "Strengthen: Caseloads within the model&#x27;s range" in page


def test_the_purveyor_compares_organizations_one_line_each(world, login, planned, time_machine):
    time_machine.move_to(dt.datetime(2026, 4, 1, 16, tzinfo=dt.UTC), tick=False)
    page = login(world.purveyor_admin).get(DASHBOARD + "?organization=all").content.decode()
    assert 'id="readiness-table"' in page
    assert f'data-readiness="{world.home.pk}"' in page
    assert f'data-readiness="{world.away.pk}"' in page
    assert f'data-readiness="{world.purveyor.pk}"' not in page
    assert "data-dashboard-overdue" not in page


def test_comparing_reads_three_queries_for_any_number_of_assessments_and_actions(
    world, planned, instrument, django_assert_num_queries
):
    with django_assert_num_queries(3):
        dashboard.for_leader_dashboard([world.home, world.away], TODAY)
    for n in range(3):
        make_assessment(world.away, world.purveyor_admin, instrument, on=dt.date(2025, 1, 1 + n))
        services.action_items_from_weakest(
            assessment=world.away.readiness_assessments.first(), by=world.outsider
        )
    with django_assert_num_queries(3):
        dashboard.for_leader_dashboard([world.home, world.away], TODAY)

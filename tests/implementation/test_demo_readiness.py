"""The demo world's readiness: two assessments of each client organization showing
change, and an alignment plan with actions done and overdue."""

import pytest
from django.urls import reverse

from miiwrap.implementation import readiness
from miiwrap.implementation.models import ActionItem, AlignmentPlan, ReadinessAssessment
from miiwrap.people.models import Organization, Person
from tests.factories import DEMO_NOW

TODAY = DEMO_NOW.date()
pytestmark = pytest.mark.time_machine(DEMO_NOW, tick=False)


def clients():
    return list(Organization.objects.filter(is_purveyor=False).order_by("name"))


def test_each_client_organization_was_assessed_twice_and_final(demo_output):
    assert "Readiness: 8 assessments" in demo_output
    for org in clients():
        rows = list(org.readiness_assessments.order_by("assessed_on"))
        assert [row.status for row in rows] == ["final", "final"]
        assert rows[0].assessed_on < rows[1].assessed_on <= TODAY
        assert rows[1].previous() == rows[0]
        assert rows[0].leaders.exists()


def test_the_second_assessment_shows_items_up_and_a_few_down(demo_output):
    for org in clients():
        earlier, later = org.readiness_assessments.order_by("assessed_on")
        definition = later.version.definition()
        changes = readiness.changes(
            definition, (earlier.scores, earlier.notes), (later.scores, later.notes)
        )
        tally = readiness.tally(changes)
        assert tally["up"] > tally["down"] > 0, org
        assert later.overall_score > earlier.overall_score


def test_each_plan_has_actions_done_and_overdue(demo_output):
    assert AlignmentPlan.objects.count() == len(clients())
    for plan in AlignmentPlan.objects.all():
        actions = list(plan.actions.all())
        assert any(a.status == ActionItem.Status.DONE for a in actions)
        assert any(a.is_overdue(TODAY) for a in actions)
        assert all(a.item_codes and a.owner_id for a in actions)


def test_a_demo_leader_sees_readiness_on_their_dashboard(demo_output, client):
    org = clients()[0]
    leader = Person.objects.filter(organization=org, roles__role="leader").first()
    client.force_login(leader.user)
    page = client.get(reverse("dashboards:leader")).content.decode()
    assert 'id="readiness"' in page and "data-dashboard-overdue" in page


def test_every_assessment_is_scored_as_the_scoring_says(demo_output):
    from observations import scoring

    for assessment in ReadinessAssessment.objects.select_related("version"):
        result = scoring.compute(assessment.version.definition(), assessment.scores)
        assert float(assessment.overall_score) == result.overall
        assert assessment.band == result.band

"""The purveyor is an organization like the others: the roster, the all-organizations
pipeline and the filters count and list its own staff as they count everyone else's."""

import pytest
from django.urls import reverse

from certification.models import Program
from tests.certification.conftest import D
from tests.factories import make_assignment, make_period, make_person

LEADER = reverse("dashboards:leader")


@pytest.fixture
def demo_like(world, certified_coach):
    """As in the demo: the purveyor employs a trainer who coaches and practises, a coach
    of its own who coaches a client practitioner, and the client organizations' people."""
    trainer = make_person(world.purveyor, "purveyor_admin", "coach", "practitioner")
    staff_coach = make_person(world.purveyor, "coach", "practitioner")
    make_assignment(staff_coach, world.unassigned)
    make_period(trainer, world.purveyor_admin, "coach", D(2025, 3, 3))
    make_period(staff_coach, world.purveyor_admin, "practitioner", D(2024, 9, 2))
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 9, 1))
    make_period(world.away_practitioner, world.outsider, valid_from=D(2026, 1, 5))
    world.trainer, world.staff_coach = trainer, staff_coach
    return world


def roster_total(client, code):
    response = client.get(reverse("certification:roster", args=[code]))
    assert response.status_code == 200
    return sum(n for _, _, n in response.context["counts"])


def pipeline_totals(client):
    response = client.get(LEADER, {"organization": "all"})
    assert response.status_code == 200
    return {row[0].value: row[-1].value for row in response.context["pipeline"].rows}


def test_the_roster_and_the_all_organizations_pipeline_count_the_same_people(demo_like, login):
    client = login(demo_like.purveyor_admin)
    pipeline = pipeline_totals(client)
    for program in Program.objects.all():
        assert roster_total(client, program.code) == pipeline[program.name], program.code
    # Pat, Uma, the away practitioner, Cora, and the purveyor's two staff who practise.
    assert pipeline["MiiWrap Practitioner"] == 6
    # Cora, the outsider, and the purveyor's trainer and coach.
    assert pipeline["MiiWrap Coach"] == 4


def test_the_purveyor_is_one_of_the_organizations_the_leader_dashboard_offers(demo_like, login):
    response = login(demo_like.purveyor_admin).get(LEADER)
    offered = dict(response.context["filters"]["form"].fields["organization"].choices)
    assert offered[str(demo_like.purveyor.pk)] == "MiiWrap Purveyor"
    one = login(demo_like.purveyor_admin).get(LEADER, {"organization": demo_like.purveyor.pk})
    totals = {row[0].value: row[-1].value for row in one.context["pipeline"].rows}
    assert totals["MiiWrap Coach"] == 2  # the trainer and the staff coach


def test_the_roster_filter_lists_the_purveyor_and_filters_to_its_staff(demo_like, login):
    client = login(demo_like.purveyor_admin)
    url = reverse("certification:roster", args=["practitioner"])
    response = client.get(url)
    choices = response.context["filter"].form.fields["organization"].queryset
    assert demo_like.purveyor in choices
    assert f'<option value="{demo_like.purveyor.pk}">MiiWrap Purveyor</option>' in (
        response.content.decode()
    )
    theirs = client.get(url, {"organization": demo_like.purveyor.pk})
    listed = {row.person_id for row in theirs.context["page"].object_list}
    assert listed == {demo_like.trainer.pk, demo_like.staff_coach.pk}


def test_the_decision_queue_filter_lists_the_purveyor(demo_like, login):
    response = login(demo_like.purveyor_admin).get(reverse("certification:queue"))
    assert response.status_code == 200
    assert demo_like.purveyor in response.context["form"].fields["organization"].queryset

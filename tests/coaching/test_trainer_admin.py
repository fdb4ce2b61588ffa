"""Trainer assignments in the admin and on the person page, as coach assignments are."""

import datetime as dt

import pytest
from django.urls import reverse

from coaching.models import TrainerAssignment
from tests.factories import make_period, make_person, make_trainer_assignment
from tests.trainers import make_trainer

CHANGELIST = reverse("admin:coaching_trainerassignment_changelist")
ADD = reverse("admin:coaching_trainerassignment_add")


def fields(trainer, coach, starts_on="2025-01-06"):
    return {"trainer": trainer.pk, "coach": coach.pk, "starts_on": starts_on, "ends_on": ""}


@pytest.fixture
def both(world):
    """A home trainer for the home coach, and one elsewhere for the outsider."""
    home = make_trainer(world)
    away = make_person(world.away, "coach", first_name="Aldo")
    make_period(away, world.purveyor_admin, "trainer", valid_from=dt.date(2024, 1, 2))
    make_trainer_assignment(away, world.outsider)
    return home, away


def test_org_admin_sees_only_their_organizations_assignments(world, login, both):
    response = login(world.org_admin).get(CHANGELIST)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [
        TrainerAssignment.objects.get(trainer=both[0])
    ]


def test_purveyor_admin_sees_every_assignment(world, login, both):
    response = login(world.purveyor_admin).get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 2


@pytest.mark.parametrize("persona", ["coach", "practitioner", "leader"])
def test_others_have_no_admin_page(world, login, both, persona):
    assert login(getattr(world, persona)).get(CHANGELIST).status_code in (302, 403)


def test_org_admin_assigns_a_certified_trainer(world, login, both):
    other = make_person(world.home, "coach", first_name="Cyd")
    response = login(world.org_admin).post(ADD, fields(both[0], other))
    assert response.status_code == 302
    assert TrainerAssignment.objects.get(coach=other).trainer == both[0]
    assert TrainerAssignment.objects.get(coach=other).history.count() == 1


def test_org_admin_is_told_when_the_trainer_is_not_certified(world, login, both):
    uncertified = make_person(world.home, "coach", first_name="Uli")
    response = login(world.org_admin).post(ADD, fields(uncertified, world.coach))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Trainer certification" in errors["trainer"][0]
    assert not TrainerAssignment.objects.filter(trainer=uncertified).exists()


def test_the_coachs_page_names_their_trainer_and_the_assignment_history(world, login, both):
    url = reverse("people:detail", args=[world.coach.pk])
    for viewer in (world.coach, both[0], world.leader, world.purveyor_admin):
        response = login(viewer).get(url)
        assert response.status_code == 200
        assert [a.trainer for a in response.context["trainers"]] == [both[0]]
        assert "Trainer assignment from" in response.content.decode()


def test_an_outsider_and_the_other_trainer_get_404_on_the_coachs_page(world, login, both):
    url = reverse("people:detail", args=[world.coach.pk])
    assert login(world.outsider).get(url).status_code == 404
    assert login(both[1]).get(url).status_code == 404

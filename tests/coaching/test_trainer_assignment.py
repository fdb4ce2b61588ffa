"""Trainer assignments: who may be assigned, and what a trainer then sees."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from coaching.models import TrainerAssignment
from miiwrap.people.models import Person
from tests.factories import make_period, make_person, make_trainer_assignment
from tests.trainers import make_trainer


def test_a_trainer_sees_the_coaches_assigned_to_them_not_their_practitioners(world):
    trainer = make_trainer(world)
    seen = set(Person.objects.visible_to(trainer.user))
    assert seen == {trainer, world.coach}


def test_an_ended_assignment_no_longer_shows_the_coach(world):
    trainer = make_trainer(world)
    TrainerAssignment.objects.update(ends_on=dt.date(2021, 1, 1))
    assert set(Person.objects.visible_to(trainer.user)) == {trainer}


def test_the_coach_and_their_leader_see_the_assignment_an_outsider_does_not(world):
    trainer = make_trainer(world)
    assignment = TrainerAssignment.objects.get()
    for person in (trainer, world.coach, world.leader, world.org_admin, world.purveyor_admin):
        assert list(TrainerAssignment.objects.visible_to(person.user)) == [assignment]
    for person in (world.outsider, world.practitioner):
        assert not TrainerAssignment.objects.visible_to(person.user).exists()


def test_the_trainer_must_hold_a_current_trainer_certification(world):
    uncertified = make_person(world.home, "coach")
    assignment = TrainerAssignment(
        trainer=uncertified, coach=world.coach, starts_on=dt.date(2024, 3, 1)
    )
    with pytest.raises(ValidationError) as refused:
        assignment.full_clean()
    assert "Trainer certification" in refused.value.message_dict["trainer"][0]
    make_period(uncertified, world.purveyor_admin, "trainer", valid_from=dt.date(2024, 1, 2))
    assignment.full_clean()


def test_the_trainer_must_hold_the_coach_role_they_observe_with(world):
    leader = world.leader
    make_period(leader, world.purveyor_admin, "trainer", valid_from=dt.date(2024, 1, 2))
    assignment = TrainerAssignment(trainer=leader, coach=world.coach, starts_on=dt.date(2024, 3, 1))
    with pytest.raises(ValidationError) as refused:
        assignment.full_clean()
    assert refused.value.message_dict["trainer"] == ["This person does not hold the coach role."]


def test_the_coach_must_hold_the_coach_role_and_be_of_the_trainers_organization(world):
    trainer = make_trainer(world)
    refused = TrainerAssignment(
        trainer=trainer, coach=world.practitioner, starts_on=dt.date(2024, 3, 1)
    )
    with pytest.raises(ValidationError) as error:
        refused.full_clean()
    assert "coach role" in error.value.message_dict["coach"][0]
    away = TrainerAssignment(trainer=trainer, coach=world.outsider, starts_on=dt.date(2024, 3, 1))
    with pytest.raises(ValidationError) as error:
        away.full_clean()
    assert "organization" in error.value.message_dict["trainer"][0]


def test_a_purveyor_trainer_may_support_a_coach_anywhere(world):
    trainer = make_trainer(world, org=world.purveyor)
    TrainerAssignment(
        trainer=trainer, coach=world.outsider, starts_on=dt.date(2024, 3, 1)
    ).full_clean()


def test_the_same_pair_cannot_overlap(world):
    trainer = make_trainer(world)
    again = TrainerAssignment(trainer=trainer, coach=world.coach, starts_on=dt.date(2024, 3, 1))
    with pytest.raises(ValidationError, match="already assigned"):
        again.full_clean()


def test_nobody_is_assigned_to_train_themselves(world):
    trainer = make_trainer(world)
    with transaction.atomic(), pytest.raises(IntegrityError):
        make_trainer_assignment(trainer, trainer)

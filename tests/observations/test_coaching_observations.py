"""Trainers observe coaches on the coaching rubric with the same form; who sees what."""

import datetime as dt

import pytest
from django.urls import reverse

from observations.models import ActivityType, Observation
from tests.factories import make_person, make_trainer_assignment, rubric_version
from tests.observations.page import post_data
from tests.trainers import ACTIVITY, COACHING, coaching_scores, make_trainer, observe_coaching

NEW = reverse("observations:new")


def _new(version):
    return f"{NEW}?rubric={version.pk}"


def _data(coach, version, rating=3, **extra):
    activity = ActivityType.objects.get(name=ACTIVITY).pk
    return post_data(coach, version, coaching_scores(version, rating), activity=activity, **extra)


def test_a_trainer_picks_from_the_coaches_assigned_to_them(world, login):
    trainer = make_trainer(world)
    version = rubric_version(COACHING)
    response = login(trainer).get(_new(version))
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.fields["practitioner"].queryset) == [world.coach]
    assert form.fields["practitioner"].label == "Coach observed"


def test_a_trainer_submits_an_observation_of_a_coach(world, login):
    trainer = make_trainer(world)
    version = rubric_version(COACHING)
    response = login(trainer).post(_new(version), _data(world.coach, version))
    observation = Observation.objects.get()
    assert response.status_code == 302
    assert (observation.practitioner, observation.coach) == (world.coach, trainer)
    assert (observation.overall_score, observation.band) == (100, "high")


def test_a_coach_without_the_trainer_certification_has_nobody_to_pick_and_is_refused(world, login):
    version = rubric_version(COACHING)
    other = make_person(world.home, "coach", first_name="Cal")
    client = login(other)
    assert not client.get(_new(version)).context["form"].fields["practitioner"].queryset
    # Assigned by mistake without the certification: the submit still refuses it.
    make_trainer_assignment(other, world.coach)
    response = client.post(_new(version), _data(world.coach, version))
    assert response.status_code == 400
    assert "certified MiiWrap Trainer" in response.context["form"].errors["practitioner"][0]
    assert not Observation.objects.exists()


def test_a_trainer_whose_certification_had_lapsed_that_day_is_refused(world, login):
    trainer = make_trainer(world)
    version = rubric_version(COACHING)
    day = dt.date(2023, 6, 1)  # before the trainer was certified
    response = login(trainer).post(
        _new(version), _data(world.coach, version, observed_on=day.isoformat())
    )
    assert response.status_code == 400
    assert not Observation.objects.exists()


def test_practitioners_are_not_observed_on_the_coaching_rubric(world, login):
    trainer = make_trainer(world)
    make_trainer_assignment(trainer, world.practitioner)
    version = rubric_version(COACHING)
    response = login(trainer).post(_new(version), _data(world.practitioner, version))
    assert response.status_code == 400
    assert not Observation.objects.exists()


SEES = ["coach", "leader", "org_admin", "purveyor_admin"]
DOES_NOT_SEE = ["practitioner", "unassigned", "outsider", "away_practitioner"]


@pytest.mark.parametrize("persona", SEES)
def test_the_coach_their_trainer_and_those_above_see_a_coaching_observation(world, login, persona):
    trainer = make_trainer(world)
    observation = observe_coaching(trainer, world.coach)
    url = observation.get_absolute_url()
    assert login(getattr(world, persona)).get(url).status_code == 200
    assert login(trainer).get(url).status_code == 200


@pytest.mark.parametrize("persona", DOES_NOT_SEE)
def test_the_coachs_practitioners_and_outsiders_get_404(world, login, persona):
    observation = observe_coaching(make_trainer(world), world.coach)
    assert login(getattr(world, persona)).get(observation.get_absolute_url()).status_code == 404


def test_anonymous_is_sent_to_sign_in(world, client):
    observation = observe_coaching(make_trainer(world), world.coach)
    response = client.get(observation.get_absolute_url())
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_trainer_lists_the_coachs_observations_in_constant_queries(
    world, login, django_assert_max_num_queries
):
    trainer = make_trainer(world)
    client = login(trainer)
    observe_coaching(trainer, world.coach)
    with django_assert_max_num_queries(12) as few:
        assert client.get(reverse("observations:list")).status_code == 200
    for n in range(5):
        observe_coaching(trainer, world.coach, day=dt.date(2024, 6, 1 + n))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("observations:list"))
    assert len(response.context["page"]) == 6

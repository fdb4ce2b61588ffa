"""Amending a submitted observation: the coach or the purveyor, with a reason, old values kept."""

import pytest
from django.urls import reverse

from observations import services
from observations.models import Amendment, Observation
from tests.factories import full_scores, make_observation, make_person, rubric_version
from tests.observations.page import fields, post_data


def url(observation):
    return reverse("observations:amend", args=[observation.pk])


@pytest.fixture
def observation(world, version):
    scores = {**full_scores(version, rating=2), "wp-team": "na"}
    return make_observation(world.coach, world.practitioner, scores=scores, strengths="Warm.")


def amended(world, version, observation, reason="Scored the wrong meeting.", **scores):
    values = {**observation.scores, **scores}
    return post_data(world.practitioner, version, values, strengths="Warm.", reason=reason)


def test_the_form_shows_the_stored_values(world, login, observation):
    response = login(world.coach).get(url(observation))
    assert response.status_code == 200
    shown = fields(response)
    assert shown.checked == {f"item__{code}": str(v) for code, v in observation.scores.items()}
    assert shown.texts["strengths"].strip() == "Warm."
    assert "reason" in shown.texts
    assert "Save amendment" in response.content.decode()


def test_an_amendment_changes_the_scores_and_keeps_the_old_ones(world, login, version, observation):
    before = (observation.overall_score, observation.band)
    assert str(before[0]) == "70.0"  # 28 of 40 points
    data = amended(world, version, observation, **{"ep-voice": "3", "mi-open": "3"})
    response = login(world.coach).post(url(observation), data)
    assert response.status_code == 302
    assert response.url == observation.get_absolute_url()
    observation.refresh_from_db()
    assert observation.scores["ep-voice"] == 3
    assert observation.overall_score > before[0]
    amendment = Amendment.objects.get()
    assert amendment.reason == "Scored the wrong meeting."
    assert amendment.amended_by == world.coach
    assert (amendment.previous["overall_score"], amendment.previous["band"]) == (
        "70.00",
        "borderline",
    )
    assert amendment.previous["scores"]["ep-voice"] == 2


def test_the_detail_page_lists_the_amendment(world, login, version, observation):
    client = login(world.coach)
    client.post(url(observation), amended(world, version, observation, **{"ind-actions": "0"}))
    page = client.get(observation.get_absolute_url()).content.decode()
    assert "Scored the wrong meeting." in page
    assert "Before: overall 70 %" in page  # 28 of 40 points, before one indicator fell


def test_a_reason_is_required_and_the_values_are_kept(world, login, version, observation):
    data = amended(world, version, observation, reason="  ", **{"ep-voice": "3"})
    response = login(world.coach).post(url(observation), data)
    assert response.status_code == 400
    assert response.context["reason_form"].errors["reason"] == ["This field is required."]
    assert fields(response).checked["item__ep-voice"] == "3"
    observation.refresh_from_db()
    assert observation.scores["ep-voice"] == 2
    assert not Amendment.objects.exists()


def test_an_amendment_must_stay_complete(world, login, version, observation):
    data = amended(world, version, observation)
    del data["item__mi-open"]
    response = login(world.coach).post(url(observation), data)
    assert response.status_code == 400
    assert response.context["form"].errors["item__mi-open"] == ["Score this item."]
    assert "Scored the wrong meeting." in fields(response).texts["reason"]
    assert not Amendment.objects.exists()


def test_a_service_refusal_lands_on_the_field_it_names(world, login, version, observation):
    data = {**amended(world, version, observation), "observed_on": "2019-12-31"}
    response = login(world.coach).post(url(observation), data)
    assert response.status_code == 400
    assert "was hired on 2020-01-06" in response.context["form"].errors["observed_on"][0]
    assert not Amendment.objects.exists()


def test_the_purveyor_admin_may_amend_and_is_named(world, login, version, observation):
    response = login(world.purveyor_admin).post(
        url(observation), amended(world, version, observation)
    )
    assert response.status_code == 302
    assert Amendment.objects.get().amended_by == world.purveyor_admin
    observation.refresh_from_db()
    assert observation.coach == world.coach


def test_an_acknowledged_observation_stays_acknowledged(world, login, version, observation):
    services.observation_acknowledge(observation=observation, response="Agreed.")
    login(world.coach).post(url(observation), amended(world, version, observation))
    observation.refresh_from_db()
    assert (observation.status, observation.response) == ("acknowledged", "Agreed.")


def test_the_practitioner_stays_choosable_after_leaving_the_caseload(
    world, login, version, observation
):
    world.practitioner.coach_assignments.update(ends_on="2024-06-30")
    response = login(world.coach).post(url(observation), amended(world, version, observation))
    assert response.status_code == 302


@pytest.mark.parametrize(
    "persona", ["practitioner", "unassigned", "leader", "org_admin", "outsider"]
)
def test_nobody_else_amends(world, login, version, observation, persona):
    client = login(getattr(world, persona))
    assert client.get(url(observation)).status_code == 404
    assert client.post(url(observation), amended(world, version, observation)).status_code == 404
    assert not Amendment.objects.exists()


def test_another_coach_cannot_amend(world, login, observation):
    other_coach = make_person(world.home, "coach", team=world.team_a)
    assert login(other_coach).get(url(observation)).status_code == 404


def test_a_draft_is_edited_not_amended(world, login):
    draft = make_observation(world.coach, world.practitioner, submit=False, scores={})
    assert login(world.coach).get(url(draft)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, observation):
    assert client.get(url(observation)).url.startswith(reverse("login"))


def test_the_observation_keeps_its_rubric(world, login, version, observation):
    mi_coding = rubric_version("mi-coding")
    data = {**amended(world, version, observation), "rubric_version": mi_coding.pk}
    response = login(world.coach).post(url(observation), data)
    assert "rubric_version" in response.context["form"].errors
    assert Observation.objects.get().rubric_version == version

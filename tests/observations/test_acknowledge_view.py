"""The practitioner acknowledges an observation and may answer it; nobody else may."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from miiwrap import text as limits
from observations.models import Observation
from tests.factories import make_observation, make_person


def url(observation):
    return reverse("observations:acknowledge", args=[observation.pk])


@pytest.fixture
def observation(world):
    return make_observation(world.coach, world.practitioner)


def test_the_practitioner_acknowledges_with_a_response(world, login, observation):
    response = login(world.practitioner).post(url(observation), {"response": " Thanks, noted. "})
    assert response.status_code == 302
    assert response.url == observation.get_absolute_url()
    observation.refresh_from_db()
    assert observation.status == Observation.Status.ACKNOWLEDGED
    assert observation.response == "Thanks, noted."
    assert observation.acknowledged_at is not None


def test_a_response_is_optional(world, login, observation):
    login(world.practitioner).post(url(observation), {})
    observation.refresh_from_db()
    assert (observation.status, observation.response) == ("acknowledged", "")


def test_answering_again_edits_the_response_and_keeps_the_first_acknowledgement(
    world, login, observation
):
    client = login(world.practitioner)
    with time_machine.travel(dt.datetime(2024, 5, 2, 15, tzinfo=dt.UTC), tick=False):
        client.post(url(observation), {})
    with time_machine.travel(dt.datetime(2024, 5, 9, 15, tzinfo=dt.UTC), tick=False):
        client.post(url(observation), {"response": "Having thought it over: agreed."})
    observation.refresh_from_db()
    assert observation.acknowledged_at == dt.datetime(2024, 5, 2, 15, tzinfo=dt.UTC)
    assert observation.response == "Having thought it over: agreed."
    page = client.get(observation.get_absolute_url()).content.decode()
    assert "Update my response" in page
    assert "Having thought it over: agreed.</textarea>" in page


def test_a_second_reply_keeps_the_first_one_on_the_page(world, login, observation):
    client = login(world.practitioner)
    client.post(url(observation), {"response": "First thoughts."})
    client.post(url(observation), {"response": "Second thoughts."})
    assert list(observation.history.values_list("response", flat=True).order_by("history_id")) == [
        "",
        "First thoughts.",
        "Second thoughts.",
    ]
    for persona in ("practitioner", "coach", "leader"):
        page = login(getattr(world, persona)).get(observation.get_absolute_url()).content.decode()
        earlier = page[page.index("Earlier replies") :]
        assert "First thoughts." in earlier
        assert "Second thoughts." in page


def test_a_response_too_long_is_refused_with_the_text_kept(world, login, observation):
    text = "x" * (limits.FEEDBACK + 1)
    response = login(world.practitioner).post(url(observation), {"response": text})
    assert response.status_code == 400
    assert "at most 4000 characters" in response.content.decode()
    assert f"{text}</textarea>" in response.content.decode()
    observation.refresh_from_db()
    assert observation.status == Observation.Status.SUBMITTED


def test_the_form_states_the_limit_on_a_response(world, login, observation):
    page = login(world.practitioner).get(observation.get_absolute_url()).content.decode()
    assert 'maxlength="4000"' in page and "Up to 4,000 characters." in page


def test_a_response_with_a_nul_byte_is_refused(world, login, observation):
    response = login(world.practitioner).post(url(observation), {"response": "ok\x00"})
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    observation.refresh_from_db()
    assert observation.status == Observation.Status.SUBMITTED


def test_the_coach_sees_the_response(world, login, observation):
    login(world.practitioner).post(url(observation), {"response": "I'll try the open questions."})
    page = login(world.coach).get(observation.get_absolute_url()).content.decode()
    assert "I&#x27;ll try the open questions." in page


@pytest.mark.parametrize(
    "persona", ["coach", "unassigned", "leader", "org_admin", "purveyor_admin", "outsider"]
)
def test_nobody_else_acknowledges(world, login, observation, persona):
    response = login(getattr(world, persona)).post(url(observation), {"response": "Not mine."})
    assert response.status_code == 404
    observation.refresh_from_db()
    assert (observation.status, observation.response) == ("submitted", "")


def test_another_coach_cannot_acknowledge(world, login, observation):
    other_coach = make_person(world.home, "coach", team=world.team_a)
    assert login(other_coach).post(url(observation)).status_code == 404


def test_a_draft_cannot_be_acknowledged(world, login):
    draft = make_observation(world.coach, world.practitioner, submit=False, scores={})
    assert login(world.practitioner).post(url(draft)).status_code == 404
    draft.refresh_from_db()
    assert draft.status == Observation.Status.DRAFT


def test_it_answers_posts_only(world, login, observation):
    assert login(world.practitioner).get(url(observation)).status_code == 405


def test_anonymous_is_sent_to_sign_in(client, observation):
    assert client.post(url(observation)).url.startswith(reverse("login"))

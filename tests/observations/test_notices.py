"""Who is told of what happens to an observation: the coach of the practitioner's
acknowledgement and replies, the practitioner of an amendment; each once, never of one's
own action, in the app and by email, with a link to the page."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from miiwrap.notifications import delivery
from miiwrap.notifications.models import Notification
from observations import services
from observations.models import Observation
from tests.factories import full_scores, make_observation, make_person, rubric_version
from tests.observations.page import form_token, post_data

Kind = Notification.Kind


def ack_url(observation):
    return reverse("observations:acknowledge", args=[observation.pk])


def amend_url(observation):
    return reverse("observations:amend", args=[observation.pk])


@pytest.fixture
def observation(world, version):
    scores = {**full_scores(version, rating=2), "wp-team": "na"}
    return make_observation(world.coach, world.practitioner, scores=scores, strengths="Warm.")


def notices(person, kind):
    return list(Notification.objects.filter(recipient=person, kind=kind).order_by("pk"))


def amend(observation, by, reason="Misread it.", **changes):
    changed = Observation.objects.get(pk=observation.pk)
    scores = changes.pop("scores", {})
    observation.scores = {**observation.scores, **scores}
    for name, value in changes.items():
        setattr(observation, name, value)
    return services.observation_amend(
        observation=observation,
        changed=changed,
        definition=rubric_version(observation.rubric_version.rubric.code).definition(),
        amended_by=by,
        reason=reason,
    )


# Acknowledgement and reply ------------------------------------------------------------------


def test_the_first_acknowledgement_tells_the_coach(world, login, observation):
    login(world.practitioner).post(ack_url(observation), {"response": "Agreed, thanks."})
    [notice] = notices(world.coach, Kind.RESPONSE)
    assert notice.subject == (
        f"{world.practitioner} acknowledged your feedback and replied of 2024-05-01"
    )
    assert "Agreed, thanks." in notice.body_text
    assert notice.link == observation.get_absolute_url() + "#response"
    assert not notices(world.practitioner, Kind.RESPONSE)


def test_it_goes_by_email_with_the_link(world, login, observation, settings):
    settings.SITE_URL = "https://fidelity.example"
    login(world.practitioner).post(ack_url(observation), {})
    assert delivery.deliver().sent == 2  # the practitioner's feedback notice, and this one
    [email] = [m for m in mail.outbox if m.to == [world.coach.email]]
    assert "acknowledged your feedback" in email.subject
    assert f"https://fidelity.example{observation.get_absolute_url()}#response" in email.body


def test_the_same_form_posted_twice_tells_once(world, login, observation):
    client = login(world.practitioner)
    page = client.get(observation.get_absolute_url()).content.decode()
    section = page[page.index('id="response"') : page.index('id="dispute"')]
    token = re.search(r'name="form_token" value="([^"]+)"', section).group(1)
    data = {"response": "Thanks.", "form_token": token}
    assert client.post(ack_url(observation), data).status_code == 302
    assert client.post(ack_url(observation), data).status_code == 302
    assert len(notices(world.coach, Kind.RESPONSE)) == 1


def test_the_same_reply_from_a_fresh_form_tells_nobody_again(world, login, observation):
    client = login(world.practitioner)
    client.post(ack_url(observation), {"response": "Thanks."})
    client.post(ack_url(observation), {"response": "Thanks."})
    client.post(ack_url(observation), {})  # acknowledging again, saying nothing new
    assert len(notices(world.coach, Kind.RESPONSE)) == 1
    assert observation.history.count() == 2  # submitted, acknowledged: nothing saved again


def test_a_new_reply_tells_the_coach_again(world, login, observation):
    client = login(world.practitioner)
    client.post(ack_url(observation), {})
    client.post(ack_url(observation), {"response": "On reflection: agreed."})
    first, second = notices(world.coach, Kind.RESPONSE)
    assert "acknowledged your feedback of" in first.subject
    assert "replied to your feedback" in second.subject
    assert "On reflection: agreed." in second.body_text


def test_nobody_else_acknowledges_so_nobody_is_told(world, login, observation):
    assert login(world.leader).post(ack_url(observation), {"response": "x"}).status_code == 404
    assert not Notification.objects.filter(kind=Kind.RESPONSE).exists()


# Amendments ------------------------------------------------------------------------------


def test_an_amendment_tells_the_practitioner_what_changed(world, observation):
    amend(observation, world.coach, "Misread the voice item.", scores={"ep-voice": 3})
    [notice] = notices(world.practitioner, Kind.AMENDMENT)
    assert notice.subject == f"{world.coach} amended the observation of 2024-05-01"
    assert "- Family voice leads: 2 → 3" in notice.body_text
    assert "- Overall score: 70 % (borderline) → 72.5 % (borderline)" in notice.body_text
    assert "Why: Misread the voice item." in notice.body_text
    assert notice.link == observation.get_absolute_url()
    assert not notices(world.coach, Kind.AMENDMENT)


def test_an_amendment_of_the_visit_and_feedback_is_told_in_words(world, observation):
    amend(observation, world.coach, duration_minutes=30, strengths="Warm and direct.")
    [notice] = notices(world.practitioner, Kind.AMENDMENT)
    assert "- Duration: — → 30 min" in notice.body_text
    assert "- Strengths: rewritten" in notice.body_text


def test_an_amendment_sent_twice_tells_once(world, login, version, observation):
    client = login(world.coach)
    scores = {**observation.scores, "ep-voice": "3"}
    data = post_data(world.practitioner, version, scores, strengths="Warm.", reason="Misread.")
    data["form_token"] = form_token(client.get(amend_url(observation)))
    assert client.post(amend_url(observation), data).status_code == 302
    assert client.post(amend_url(observation), data).status_code == 302
    assert len(notices(world.practitioner, Kind.AMENDMENT)) == 1


def test_an_amendment_naming_someone_else_tells_both(world, observation):
    other = make_person(world.home, "practitioner", team=world.team_a)
    amend(observation, world.coach, "Wrong person.", practitioner=other)
    [moved] = notices(world.practitioner, Kind.AMENDMENT)
    assert "no longer listed as yours" in moved.subject
    assert moved.link == ""  # they can no longer open it
    [now_theirs] = notices(other, Kind.AMENDMENT)
    assert f"- Practitioner: {world.practitioner.full_name} → {other.full_name}" in (
        now_theirs.body_text
    )


def test_nobody_is_told_of_their_own_amendment(world):
    purveyor_coach = make_person(world.purveyor, "coach")
    admin = make_person(world.purveyor, "purveyor_admin", "practitioner")
    observation = make_observation(purveyor_coach, admin)
    amend(observation, admin, "My own correction.", strengths="Fixed.")
    assert not notices(admin, Kind.AMENDMENT)
    assert observation.amendments.count() == 1


def test_a_dispute_of_ones_own_observation_never_tells_oneself(world, observation):
    dispute = services.dispute_raise(observation=observation, by=world.practitioner, reason="No")
    services.dispute_answer(dispute=dispute, by=world.coach, answer="Yes.")
    assert [n.recipient for n in Notification.objects.filter(kind=Kind.DISPUTE)] == [
        world.practitioner,
        world.coach,
    ]  # newest first: the answer to the practitioner, the dispute to the coach


def test_opening_the_notice_leads_to_the_observation(world, login, observation):
    amend(observation, world.coach, scores={"ep-voice": 3})
    [notice] = notices(world.practitioner, Kind.AMENDMENT)
    response = login(world.practitioner).get(reverse("notifications:open", args=[notice.pk]))
    assert response.url == observation.get_absolute_url()
    assert login(world.practitioner).get(response.url).status_code == 200

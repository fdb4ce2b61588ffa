"""The coach's forms sent twice (a double click, a replayed request) store one record."""

from django.urls import reverse

from miiwrap.once.models import FormToken
from observations.models import Amendment, Observation
from tests.factories import full_scores, make_assignment, make_observation, make_person
from tests.observations.page import form_token, post_data

NEW = reverse("observations:new")


def sent_twice(client, url, data):
    first, second = client.post(url, data), client.post(url, data)
    return first, second


def test_a_submit_sent_twice_stores_one_observation_and_shows_it_again(world, login, version):
    client = login(world.coach)
    token = form_token(client.get(NEW))
    data = post_data(world.practitioner, version, full_scores(version), form_token=token)
    first, second = sent_twice(client, NEW, data)
    observation = Observation.objects.get()
    assert observation.status == Observation.Status.SUBMITTED
    assert first.status_code == second.status_code == 302
    assert second.url == first.url == observation.get_absolute_url()
    page = client.get(second.url).content.decode()
    assert "already been sent; it was saved once" in page


def test_a_draft_saved_twice_is_one_draft(world, login, version):
    client = login(world.coach)
    data = post_data(world.practitioner, version, {}, action="draft")
    data["form_token"] = form_token(client.get(NEW))
    first, second = sent_twice(client, NEW, data)
    draft = Observation.objects.get()
    assert draft.is_draft
    assert first.url == second.url == reverse("observations:edit", args=[draft.pk])


def test_a_new_form_is_a_new_observation(world, login, version):
    client = login(world.coach)
    for _ in range(2):
        data = post_data(world.practitioner, version, full_scores(version))
        data["form_token"] = form_token(client.get(NEW))
        assert client.post(NEW, data).status_code == 302
    assert Observation.objects.submitted().count() == 2


def test_a_post_without_a_token_still_saves(world, login, version):
    data = post_data(world.practitioner, version, full_scores(version))
    assert login(world.coach).post(NEW, data).status_code == 302
    assert Observation.objects.count() == 1


def test_a_refused_post_keeps_its_token_so_the_corrected_one_counts_once(world, login, version):
    client = login(world.coach)
    token = form_token(client.get(NEW))
    unscored = post_data(world.practitioner, version, {}, form_token=token)
    refused = client.post(NEW, unscored)
    assert refused.status_code == 400
    assert form_token(refused) == token
    assert not FormToken.objects.exists()  # the refused post claimed nothing
    data = post_data(world.practitioner, version, full_scores(version), form_token=token)
    sent_twice(client, NEW, data)
    assert Observation.objects.count() == 1


def test_a_token_that_is_not_one_is_a_form_error(world, login, version):
    data = post_data(world.practitioner, version, full_scores(version), form_token="<script>")
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    assert "out of date: reload the page" in response.content.decode()
    assert not Observation.objects.exists()


def test_a_draft_submitted_twice_from_its_page_is_shown_not_refused(world, login, version):
    draft = make_observation(world.coach, world.practitioner, version, submit=False)
    edit = reverse("observations:edit", args=[draft.pk])
    client = login(world.coach)
    data = post_data(world.practitioner, version, full_scores(version))
    data["form_token"] = form_token(client.get(edit))
    first, second = sent_twice(client, edit, data)
    assert first.status_code == second.status_code == 302
    assert second.url == draft.get_absolute_url()
    assert Observation.objects.get().status == Observation.Status.SUBMITTED


def test_a_token_another_coach_used_is_refused_without_showing_their_record(world, login, version):
    other = make_person(world.home, "coach", team=world.team_a)
    make_assignment(other, world.practitioner)
    data = post_data(world.practitioner, version, full_scores(version))
    client = login(world.coach)
    data["form_token"] = form_token(client.get(NEW))
    client.post(NEW, data)
    response = login(other).post(NEW, data)
    assert response.status_code == 400
    assert "sent before from another account" in response.content.decode()
    assert Observation.objects.count() == 1


def test_an_amendment_sent_twice_is_one_amendment(world, login, version):
    observation = make_observation(world.coach, world.practitioner, version)
    url = reverse("observations:amend", args=[observation.pk])
    client = login(world.coach)
    scores = {**full_scores(version), "ep-voice": "3"}
    data = post_data(world.practitioner, version, scores, reason="Wrong meeting.")
    data["form_token"] = form_token(client.get(url))
    first, second = sent_twice(client, url, data)
    assert Amendment.objects.count() == 1
    assert first.url == second.url == observation.get_absolute_url()
    data["form_token"] = form_token(client.get(url))
    assert client.post(url, data).status_code == 302
    assert Amendment.objects.count() == 2  # a form drawn again is a new amendment

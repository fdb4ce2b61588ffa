"""Co-observation: a second observer scores the same visit; neither reads the other's
scores anywhere before both have scored; the second scores are never an observation."""

import pytest
from django.urls import reverse

from miiwrap.notifications.models import Notification
from observations.models import CoObservation, Observation
from tests.factories import (
    full_scores,
    make_assignment,
    make_observation,
    make_person,
    rubric_version,
)

# Two score patterns nobody would mistake: the observer's 3s and the second observer's 0s.
OBSERVER_RATING, SECOND_RATING = 3, 0


def second_words():
    """How the second observer's ratings read on a page: "0 · <the level's label>"."""
    item = next(i for i in rubric_version().items.all() if i.kind == "rating")
    level = next(lv for lv in item.levels.all() if lv.value == SECOND_RATING)
    return f"{SECOND_RATING} · {level.label}"


@pytest.fixture
def second(world):
    """A coach of the same organization, assigned to the practitioner too (so that, but for
    the blinding, they would see the observation)."""
    coach = make_person(world.home, "coach", first_name="Sol")
    make_assignment(coach, world.practitioner)
    return coach


@pytest.fixture
def draft(world):
    version = rubric_version()
    return make_observation(
        world.coach, world.practitioner, submit=False, scores=full_scores(version, OBSERVER_RATING)
    )


def edit_url(observation):
    return reverse("observations:edit", args=[observation.pk])


def invite(client, observation, person):
    url = reverse("observations:co_invite", args=[observation.pk])
    return client.post(url, {"second_observer": person.pk})


def score_data(rating, action="submit"):
    version = rubric_version()
    scores = full_scores(version, rating)
    return {**{f"item__{c}": str(v) for c, v in scores.items()}, "action": action}


def submit_record(client, observation):
    """The observer submits their observation through its edit page."""
    data = {
        "practitioner": observation.practitioner_id,
        "rubric_version": observation.rubric_version_id,
        "observed_on": observation.observed_on.isoformat(),
        "activity": observation.activity_id,
        "mode": observation.mode,
        **score_data(OBSERVER_RATING),
    }
    return client.post(edit_url(observation), data)


def co_url(co, name="co_observation"):
    return reverse(f"observations:{name}", args=[co.pk])


# Inviting ----------------------------------------------------------------------------------


def test_the_observer_invites_a_second_observer_who_is_told_without_any_score(
    world, login, draft, second
):
    response = invite(login(world.coach), draft, second)
    assert response.status_code == 302
    co = CoObservation.objects.get()
    assert co.second_observer == second and co.is_pending
    (told,) = Notification.objects.filter(recipient=second, kind="co_observation")
    assert co.get_absolute_url() in told.link and "Neither of you sees" in told.body_text


def test_inviting_twice_stores_one_invitation_and_another_person_is_refused(
    world, login, draft, second
):
    client = login(world.coach)
    invite(client, draft, second)
    invite(client, draft, second)
    other = make_person(world.home, "coach", first_name="Tam")
    response = invite(client, draft, other)
    assert CoObservation.objects.get().second_observer == second
    page = client.get(response.url).content.decode()
    assert "is already the second observer" in page


@pytest.mark.parametrize("who", ["practitioner", "outsider", "leader", "coach"])
def test_only_a_coach_of_the_organization_or_the_purveyor_may_be_asked(world, login, draft, who):
    client = login(world.coach)
    response = invite(client, draft, getattr(world, who))
    assert not CoObservation.objects.exists()
    assert "Not invited" in client.get(response.url).content.decode()


def test_a_purveyor_coach_may_be_asked(world, login, draft):
    staff = make_person(world.purveyor, "coach", "purveyor_admin", first_name="Val")
    invite(login(world.coach), draft, staff)
    assert CoObservation.objects.get().second_observer == staff


@pytest.mark.parametrize("who", ["leader", "purveyor_admin", "outsider"])
def test_only_the_observer_invites(world, login, draft, second, who):
    assert invite(login(getattr(world, who)), draft, second).status_code == 404


def test_junk_is_a_message_not_a_500(world, login, draft):
    client = login(world.coach)
    url = reverse("observations:co_invite", args=[draft.pk])
    response = client.post(url, {"second_observer": "x' or 1=1"})
    assert response.status_code == 302
    assert "Not invited" in client.get(response.url).content.decode()


# Blind until both have scored --------------------------------------------------------------


@pytest.fixture
def invited(world, login, draft, second):
    invite(login(world.coach), draft, second)
    return CoObservation.objects.get()


def test_the_observers_submit_keeps_the_visit_a_draft_until_the_second_has_scored(
    world, login, draft, invited
):
    client = login(world.coach)
    response = submit_record(client, draft)
    assert response.status_code == 302 and response.url == edit_url(draft)
    draft.refresh_from_db()
    invited.refresh_from_db()
    assert draft.is_draft and invited.primary_done_at is not None
    assert not Notification.objects.filter(recipient=world.practitioner).exists()
    assert "Your scores are in" in client.get(edit_url(draft)).content.decode()


def pages_of_the_observation(observation):
    return [
        reverse("observations:detail", args=[observation.pk]),
        reverse("observations:list"),
        reverse("observations:list") + "?format=csv",
        observation.practitioner.get_absolute_url(),
        reverse("admin:observations_observation_change", args=[observation.pk]),
        reverse("admin:observations_observation_history", args=[observation.pk]),
        reverse("admin:observations_observation_changelist"),
        reverse("notifications:list"),
        reverse("dashboards:coach"),
    ]


def shows_observer_scores(client, url, observation):
    """Whether a page gives the observation away: opens it, links to it, or (the CSV, which
    has no links) lists a row of its practitioner, who has no other observation."""
    response = client.get(url)
    if response.status_code != 200:
        return False
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode()
    own = (
        reverse("observations:detail", args=[observation.pk]),
        reverse("admin:observations_observation_change", args=[observation.pk]),
    )
    if url in own or url == own[1] + "history/":
        return True
    if "format=csv" in url:
        return observation.practitioner.last_name in text
    return any(link in text for link in own)


@pytest.mark.parametrize("purveyor", [False, True])
def test_the_second_observer_reads_the_visits_scores_nowhere_before_both_scored(
    world, login, draft, purveyor
):
    if purveyor:
        second = make_person(world.purveyor, "coach", "purveyor_admin", first_name="Val")
    else:
        second = make_person(world.home, "coach", "leader", "org_admin", first_name="Sol")
        make_assignment(second, world.practitioner)
    invite(login(world.coach), draft, second)
    submit_record(login(world.coach), draft)
    client = login(second)
    for url in pages_of_the_observation(draft):
        assert not shows_observer_scores(client, url, draft), url
    co = CoObservation.objects.get()
    page = client.get(co_url(co)).content.decode()
    assert "Score the visit on your own" in page and 'autocomplete="off" checked' not in page
    # The same pages give it away once it is sent: the check above can fail.
    login(world.coach).post(co_url(co, "co_withdraw"))
    client = login(second)
    shown = [
        url for url in pages_of_the_observation(draft) if shows_observer_scores(client, url, draft)
    ]
    assert len(shown) >= 5, shown


def test_the_observer_reads_the_second_scores_nowhere_before_both_scored(
    world, login, draft, invited, second
):
    login(second).post(co_url(invited), score_data(SECOND_RATING, action="draft"))
    client = login(world.coach)
    assert client.get(co_url(invited)).status_code == 404
    page = client.get(edit_url(draft)).content.decode()
    assert second_words() not in page.split('id="co-observation"')[1]
    for url in (reverse("notifications:list"), reverse("observations:calibration")):
        assert second_words() not in client.get(url).content.decode()


def test_a_purveyor_observer_cannot_read_the_second_scores_either(world, login, second):
    staff = make_person(world.purveyor, "coach", "purveyor_admin", first_name="Val")
    version = rubric_version()
    visit = make_observation(
        staff, world.practitioner, submit=False, scores=full_scores(version, 3)
    )
    invite(login(staff), visit, second)
    co = CoObservation.objects.get()
    login(second).post(co_url(co), score_data(SECOND_RATING))
    client = login(staff)
    assert client.get(co_url(co)).status_code == 404
    assert client.get(reverse("admin:index")).status_code == 200
    assert "coobservation" not in client.get(reverse("admin:index")).content.decode()


# Both scored --------------------------------------------------------------------------------


@pytest.fixture
def both(world, login, draft, invited, second):
    submit_record(login(world.coach), draft)
    login(second).post(co_url(invited), score_data(SECOND_RATING))
    invited.refresh_from_db()
    return invited


def test_once_both_scored_the_observation_is_submitted_and_the_two_compared(world, both, draft):
    draft.refresh_from_db()
    assert not draft.is_draft and draft.scores == full_scores(rubric_version(), OBSERVER_RATING)
    assert both.both_scored and both.items_within_one < both.items_compared
    assert both.signed_difference < 0  # the second observer scored lower
    assert Notification.objects.filter(recipient=world.practitioner, kind="feedback").count() == 1


def test_the_second_scores_are_never_an_observation(world, both):
    assert Observation.objects.filter(practitioner=world.practitioner).count() == 1
    assert Observation.objects.get().scores == full_scores(rubric_version(), OBSERVER_RATING)


@pytest.mark.parametrize("who", ["coach", "leader", "purveyor_admin"])
def test_the_comparison_is_read_by_both_observers_and_those_above(world, login, both, who, second):
    for person in (getattr(world, who), second):
        page = login(person).get(co_url(both)).content.decode()
        assert "Two observers, one visit" in page and "Observer of record" in page


@pytest.mark.parametrize("who", ["practitioner", "outsider", "unassigned", "away_practitioner"])
def test_others_get_404_on_the_comparison(world, login, both, who):
    assert login(getattr(world, who)).get(co_url(both)).status_code == 404


def test_the_second_observer_cannot_change_scores_once_submitted(world, login, invited, second):
    client = login(second)
    client.post(co_url(invited), score_data(SECOND_RATING))
    client.post(co_url(invited), score_data(2))
    invited.refresh_from_db()
    assert invited.scores == full_scores(rubric_version(), SECOND_RATING)


def test_when_the_second_observer_scores_first_the_observers_submit_completes_it(
    world, login, draft, invited, second
):
    login(second).post(co_url(invited), score_data(SECOND_RATING))
    draft.refresh_from_db()
    assert draft.is_draft
    response = submit_record(login(world.coach), draft)
    draft.refresh_from_db()
    invited.refresh_from_db()
    assert not draft.is_draft and invited.both_scored
    assert response.url == draft.get_absolute_url()


def test_an_incomplete_second_submit_is_refused_and_keeps_what_was_entered(
    world, login, invited, second
):
    data = score_data(SECOND_RATING)
    first_item = next(key for key in data if key.startswith("item__"))
    del data[first_item]
    response = login(second).post(co_url(invited), data)
    assert response.status_code == 400 and 'aria-invalid="true"' in response.content.decode()
    invited.refresh_from_db()
    assert invited.submitted_at is None


# Withdrawing --------------------------------------------------------------------------------


def test_withdrawing_after_the_observer_finished_sends_the_observation(
    world, login, draft, invited
):
    client = login(world.coach)
    submit_record(client, draft)
    client.post(co_url(invited, "co_withdraw"))
    draft.refresh_from_db()
    invited.refresh_from_db()
    assert not draft.is_draft and invited.status == "withdrawn"


def test_the_second_observer_may_decline_and_then_cannot_score(
    world, login, draft, invited, second
):
    client = login(second)
    client.post(co_url(invited, "co_withdraw"))
    client.post(co_url(invited), score_data(SECOND_RATING))
    invited.refresh_from_db()
    assert invited.status == "withdrawn" and invited.submitted_at is None
    assert "withdrawn" in client.get(co_url(invited)).content.decode()


def test_someone_else_cannot_withdraw_it(world, login, invited):
    assert login(world.leader).post(co_url(invited, "co_withdraw")).status_code == 404


def test_the_observation_links_to_the_comparison_for_those_who_read_it(world, login, both, draft):
    url = reverse("observations:detail", args=[draft.pk])
    link = co_url(both)
    assert link in login(world.leader).get(url).content.decode()
    assert link not in login(world.practitioner).get(url).content.decode()


def test_the_calibration_page_lists_the_latest_co_observed_visits_one_may_compare(
    world, login, both, second
):
    calibration = reverse("observations:calibration")
    for person in (world.coach, second, world.leader):
        assert co_url(both) in login(person).get(calibration).content.decode()
    assert co_url(both) not in login(world.outsider).get(calibration).content.decode()


def test_before_both_scored_the_visit_is_listed_to_no_one_but_as_one_to_score(
    world, login, invited, second
):
    calibration = reverse("observations:calibration")
    assert (
        "Co-observed visits, the latest"
        not in login(world.leader).get(calibration).content.decode()
    )
    page = login(second).get(calibration).content.decode()
    assert "Visits to co-observe" in page and co_url(invited) in page

"""The coach's observation form: who may open it, saving drafts, submitting, and refusals."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from miiwrap.people.models import Organization
from observations.models import Observation
from tests.factories import full_scores, make_assignment, make_observation, make_person
from tests.observations.page import fields, post_data

NEW = reverse("observations:new")
NOT_COACHES = ["practitioner", "unassigned", "leader", "org_admin", "purveyor_admin"]


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(NEW)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={NEW}"


@pytest.mark.parametrize("persona", NOT_COACHES)
def test_only_coaches_open_the_form(world, login, persona):
    assert login(getattr(world, persona)).get(NEW).status_code == 404


@pytest.mark.parametrize("persona", NOT_COACHES)
def test_only_coaches_post_the_form(world, login, version, persona):
    data = post_data(world.practitioner, version, full_scores(version))
    assert login(getattr(world, persona)).post(NEW, data).status_code == 404
    assert not Observation.objects.exists()


def test_every_coach_picks_from_their_own_caseload_only(world, login):
    other_coach = make_person(world.home, "coach", team=world.team_b)
    expected = {
        world.coach: [world.practitioner],
        other_coach: [],
        world.outsider: [world.away_practitioner],
    }
    for coach, caseload in expected.items():
        response = login(coach).get(f"{NEW}?practitioner={world.practitioner.pk}")
        assert response.status_code == 200
        assert list(response.context["form"].fields["practitioner"].queryset) == caseload


def test_the_form_preselects_the_practitioner_and_defaults_to_the_fidelity_tool(
    world, login, version
):
    response = login(world.coach).get(f"{NEW}?practitioner={world.practitioner.pk}")
    assert response.status_code == 200
    assert response.context["version"] == version
    assert fields(response).selected["practitioner"] == [str(world.practitioner.pk)]
    assert list(response.context["form"].fields["practitioner"].queryset) == [world.practitioner]


def test_the_form_shows_every_item_with_its_level_descriptors(world, login, version):
    page = login(world.coach).get(NEW).content.decode()
    for item in version.items.all():
        assert f'id="field-item__{item.code}"' in page
        assert escape(item.label) in page
        for level in item.levels.all():
            assert escape(level.descriptor) in page
    assert page.count('name="action"') == 2
    assert 'data-preview-url="/observations/preview/"' in page


def test_the_rubric_is_picked_by_query_and_counts_get_steppers(world, login, mi_coding):
    response = login(world.coach).get(f"{NEW}?rubric={mi_coding.pk}")
    assert response.context["version"] == mi_coding
    page = response.content.decode()
    assert page.count('data-step="1"') == 10  # one per behaviour count
    assert 'name="item__question"' in page


@pytest.mark.parametrize("rubric", ["abc", "99999", "1" * 40, "²"])
def test_an_unknown_rubric_is_404(world, login, rubric):
    assert login(world.coach).get(f"{NEW}?rubric={rubric}").status_code == 404


def test_a_draft_rubric_version_cannot_be_picked(world, login, version):
    version.status = "draft"
    version.save()
    assert login(world.coach).get(f"{NEW}?rubric={version.pk}").status_code == 404


def test_junk_practitioner_in_the_query_is_ignored(world, login):
    response = login(world.coach).get(f"{NEW}?practitioner=nobody")
    assert response.status_code == 200
    assert fields(response).selected["practitioner"] == [""]


def test_saving_a_draft_keeps_the_values_and_returns_to_the_edit_page(world, login, version):
    data = post_data(world.practitioner, version, {"ep-voice": "2"}, action="draft")
    response = login(world.coach).post(NEW, data, follow=True)
    observation = Observation.objects.get()
    assert response.redirect_chain == [(reverse("observations:edit", args=[observation.pk]), 302)]
    assert "Draft saved." in response.content.decode()
    assert observation.status == Observation.Status.DRAFT
    assert observation.scores == {"ep-voice": 2}
    assert observation.coach == world.coach
    assert fields(response).checked["item__ep-voice"] == "2"


def test_submitting_stores_the_scores_and_shows_the_observation(world, login, version):
    data = post_data(world.practitioner, version, full_scores(version, rating=2))
    response = login(world.coach).post(NEW, data)
    observation = Observation.objects.get()
    assert response.status_code == 302
    assert response.url == observation.get_absolute_url()
    assert observation.status == Observation.Status.SUBMITTED
    assert (observation.band, str(observation.overall_score)) == ("borderline", "69.77")
    assert observation.duration_minutes == 45


def test_submit_names_every_unscored_item_but_a_draft_may_leave_them(world, login, version):
    scores = full_scores(version)
    del scores["ep-voice"], scores["ind-summary"]
    client = login(world.coach)
    response = client.post(NEW, post_data(world.practitioner, version, scores))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["item__ep-voice"] == errors["item__ind-summary"] == ["Score this item."]
    assert not Observation.objects.exists()
    draft = post_data(world.practitioner, version, scores, action="draft")
    assert client.post(NEW, draft).status_code == 302
    assert Observation.objects.get().status == Observation.Status.DRAFT


def test_a_refused_submit_keeps_every_value_entered(world, login, version):
    scores = {**full_scores(version, rating=1), "wp-team": "na", "ind-actions": "0"}
    del scores["mi-open"]
    feedback = {
        "strengths": "Warm opening.",
        "growth_areas": "Fewer closed questions.",
        "next_steps": "Practise reflections.",
        "strengths_items": ["ep-voice", "mi-affirm"],
        "next_steps_items": ["mi-reflect"],
    }
    data = post_data(world.practitioner, version, scores, duration_minutes="35", **feedback)
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    shown = fields(response)
    assert shown.checked == {f"item__{code}": str(value) for code, value in scores.items()}
    assert shown.values["observed_on"] == "2024-05-01"
    assert shown.values["duration_minutes"] == "35"
    assert shown.selected["practitioner"] == [str(world.practitioner.pk)]
    assert shown.selected["activity"] == [str(data["activity"])]
    assert shown.selected["mode"] == ["recorded"]
    assert shown.selected["strengths_items"] == ["ep-voice", "mi-affirm"]
    assert shown.selected["next_steps_items"] == ["mi-reflect"]
    assert shown.texts["growth_areas"].strip() == "Fewer closed questions."
    assert "Not saved yet" in response.content.decode()


def test_a_future_date_is_refused(world, login, version):
    tomorrow = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    data = post_data(world.practitioner, version, full_scores(version), observed_on=tomorrow)
    response = login(world.coach).post(NEW, data)
    assert response.context["form"].errors["observed_on"] == [
        "The observation date cannot be in the future."
    ]
    assert fields(response).values["observed_on"] == tomorrow
    assert not Observation.objects.exists()


def test_a_date_before_the_hire_date_is_refused_even_for_a_draft(world, login, version):
    data = post_data(world.practitioner, version, {}, action="draft", observed_on="2020-01-05")
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    assert response.context["form"].errors["observed_on"] == [
        f"{world.practitioner} was hired on 2020-01-06; pick a later date."
    ]


# Near midnight the server's date (New York) and the organization's date differ: that
# date, read where the practitioner works, is the one that counts.


@pytest.mark.time_machine(dt.datetime(2025, 3, 1, 4, 30, tzinfo=dt.UTC), tick=False)
def test_today_is_read_in_the_organizations_time_zone(world, login, version):
    # 23:30 on 28 February in New York; already 17:30 on 1 March in Auckland.
    Organization.objects.filter(pk=world.home.pk).update(time_zone="Pacific/Auckland")
    client = login(world.coach)
    assert fields(client.get(NEW)).values["observed_on"] == "2025-03-01"
    data = post_data(world.practitioner, version, full_scores(version), observed_on="2025-03-01")
    assert client.post(NEW, data).status_code == 302


@pytest.mark.time_machine(dt.datetime(2025, 3, 1, 6, 30, tzinfo=dt.UTC), tick=False)
def test_a_date_that_is_tomorrow_where_the_practitioner_works_is_refused(world, login, version):
    # 01:30 on 1 March in New York; still 22:30 on 28 February in Los Angeles.
    Organization.objects.filter(pk=world.home.pk).update(time_zone="America/Los_Angeles")
    client = login(world.coach)
    assert fields(client.get(NEW)).values["observed_on"] == "2025-02-28"
    data = post_data(world.practitioner, version, full_scores(version), observed_on="2025-03-01")
    response = client.post(NEW, data)
    assert response.context["form"].errors["observed_on"] == [
        "The observation date cannot be in the future."
    ]


def test_a_negative_count_is_refused(world, login, mi_coding):
    scores = {**full_scores(mi_coding, rating=3), "question": "-2"}
    data = post_data(world.practitioner, mi_coding, scores, action="draft")
    response = login(world.coach).post(f"{NEW}?rubric={mi_coding.pk}", data)
    assert response.status_code == 400
    assert response.context["form"].errors["item__question"] == [
        "Ensure this value is greater than or equal to 0."
    ]
    assert fields(response).values["item__question"] == "-2"


def test_an_absurd_count_is_refused_rather_than_breaking_the_sums(world, login, mi_coding):
    scores = {**full_scores(mi_coding, rating=3), "sr": "9" * 400}
    data = post_data(world.practitioner, mi_coding, scores)
    response = login(world.coach).post(f"{NEW}?rubric={mi_coding.pk}", data)
    assert response.status_code == 400
    assert "item__sr" in response.context["form"].errors


def test_a_practitioner_not_on_the_caseload_is_refused(world, login, version):
    data = post_data(world.unassigned, version, full_scores(version))
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["practitioner"][0]
    assert not Observation.objects.exists()


def test_the_purveyors_coach_picks_only_those_the_rubric_observes(world, login, version):
    visiting = make_person(world.purveyor, "coach", first_name="Vic")
    response = login(visiting).get(NEW)
    offered = set(response.context["form"].fields["practitioner"].queryset)
    assert world.practitioner in offered and world.away_practitioner in offered
    assert world.leader not in offered and world.org_admin not in offered


def test_a_leader_is_refused_as_the_observed_person_like_the_import_does(world, login, version):
    visiting = make_person(world.purveyor, "coach", first_name="Vic")
    response = login(visiting).post(NEW, post_data(world.leader, version, full_scores(version)))
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["practitioner"][0]
    assert not Observation.objects.exists()


def test_a_coaching_rubric_offers_the_coachs_coaches_only(world, login, version):
    version.rubric.audience = "coach"
    version.rubric.save()
    # The coach is also a practitioner: on a coaching rubric only their coach role counts.
    make_assignment(world.outsider, world.away_practitioner)
    response = login(world.outsider).get(NEW)
    assert list(response.context["form"].fields["practitioner"].queryset) == []


@pytest.mark.parametrize("minutes", ["0", "721", "99999999999"])
def test_a_duration_outside_one_to_720_minutes_is_refused(world, login, version, minutes):
    data = post_data(world.practitioner, version, full_scores(version), duration_minutes=minutes)
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    assert "duration_minutes" in response.context["form"].errors
    assert not Observation.objects.exists()


def test_the_form_states_its_limits(world, login, version):
    page = login(world.coach).get(NEW).content.decode()
    assert 'min="1"' in page and 'max="720"' in page and "From 1 to 720 minutes." in page
    assert page.count('maxlength="4000"') == 3 and page.count("Up to 4,000 characters.") == 3


def test_feedback_longer_than_the_limit_is_refused_with_the_text_kept(world, login, version):
    data = post_data(world.practitioner, version, full_scores(version), strengths="x" * 4001)
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    assert "strengths" in response.context["form"].errors
    assert fields(response).texts["strengths"].strip() == "x" * 4001


def test_feedback_with_a_control_character_is_refused(world, login, version):
    data = post_data(world.practitioner, version, full_scores(version), next_steps="Plan\x07")
    response = login(world.coach).post(NEW, data)
    assert response.status_code == 400
    assert response.context["form"].errors["next_steps"] == [
        "Remove the control character U+0007: it cannot be stored or shown."
    ]


def test_a_coach_cannot_observe_another_organizations_practitioner(world, login, version):
    data = post_data(world.practitioner, version, full_scores(version))
    response = login(world.outsider).post(NEW, data)
    assert "practitioner" in response.context["form"].errors
    assert not Observation.objects.exists()


def test_not_applicable_is_refused_where_the_item_does_not_allow_it(world, login, version):
    scores = {**full_scores(version), "ep-voice": "na", "wp-team": "na"}
    response = login(world.coach).post(NEW, post_data(world.practitioner, version, scores))
    errors = response.context["form"].errors
    assert list(errors) == ["item__ep-voice"]
    assert "Select a valid choice" in errors["item__ep-voice"][0]
    assert 'value="na"' not in _item_html(response, "ep-voice")
    assert 'value="na"' in _item_html(response, "wp-team")


def _item_html(response, code):
    page = response.content.decode()
    start = page.index(f'id="field-item__{code}"')
    return page[start : page.index("</fieldset>", start)]


def test_a_rating_off_the_scale_is_refused(world, login, version):
    scores = {**full_scores(version), "ep-voice": "7"}
    response = login(world.coach).post(NEW, post_data(world.practitioner, version, scores))
    assert "item__ep-voice" in response.context["form"].errors


def test_posting_a_different_rubric_than_the_page_is_refused(world, login, version, mi_coding):
    data = post_data(world.practitioner, mi_coding, {}, action="draft")
    response = login(world.coach).post(NEW, data)  # the page is the fidelity tool
    assert "rubric_version" in response.context["form"].errors
    assert not Observation.objects.exists()


# Editing a draft -----------------------------------------------------------------------------


@pytest.fixture
def draft(world):
    return make_observation(world.coach, world.practitioner, submit=False, scores={"ep-voice": 1})


def test_the_author_edits_the_draft_with_its_values(world, login, draft):
    response = login(world.coach).get(reverse("observations:edit", args=[draft.pk]))
    assert response.status_code == 200
    assert fields(response).checked == {"item__ep-voice": "1"}


def test_editing_then_submitting_a_draft_keeps_one_observation(world, login, draft):
    version = draft.rubric_version
    url = reverse("observations:edit", args=[draft.pk])
    response = login(world.coach).post(
        url, post_data(world.practitioner, version, full_scores(version))
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Observation.Status.SUBMITTED
    assert Observation.objects.count() == 1


@pytest.mark.parametrize(
    "persona", ["practitioner", "unassigned", "leader", "org_admin", "purveyor_admin", "outsider"]
)
def test_nobody_else_opens_a_draft_for_editing(world, login, draft, persona):
    url = reverse("observations:edit", args=[draft.pk])
    assert login(getattr(world, persona)).get(url).status_code == 404


def test_another_coach_cannot_edit_the_draft(world, login, draft):
    other_coach = make_person(world.home, "coach", team=world.team_a)
    url = reverse("observations:edit", args=[draft.pk])
    assert login(other_coach).get(url).status_code == 404
    assert login(other_coach).post(url, {"action": "draft"}).status_code == 404


def test_a_submitted_observation_is_no_longer_editable(world, login):
    observation = make_observation(world.coach, world.practitioner)
    url = reverse("observations:edit", args=[observation.pk])
    assert login(world.coach).get(url).status_code == 404


def test_anonymous_editing_is_sent_to_sign_in(client, draft):
    url = reverse("observations:edit", args=[draft.pk])
    assert client.get(url).url.startswith(reverse("login"))


# Ways in -------------------------------------------------------------------------------------


def test_coaches_see_the_new_observation_link(world, login):
    page = login(world.coach).get(world.coach.get_absolute_url()).content.decode()
    assert f'href="{NEW}">New observation</a>' in page
    leader_page = login(world.leader).get(world.leader.get_absolute_url()).content.decode()
    assert "New observation" not in leader_page


def test_a_coach_may_start_an_observation_from_their_practitioners_page(world, login):
    client = login(world.coach)
    page = client.get(world.practitioner.get_absolute_url()).content.decode()
    assert f'href="{NEW}?practitioner={world.practitioner.pk}">Start an observation' in page
    assert "Start an observation" not in client.get(world.coach.get_absolute_url()).content.decode()


def test_nobody_else_gets_the_start_button(world, login):
    for persona in ["leader", "org_admin", "purveyor_admin", "practitioner"]:
        page = login(getattr(world, persona)).get(world.practitioner.get_absolute_url())
        assert "Start an observation" not in page.content.decode(), persona


def test_the_form_reads_the_same_number_of_queries_for_any_rubric(world, login, mi_coding):
    client = login(world.coach)
    client.get(NEW)  # the session and the viewer are read once

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    other = f"{NEW}?rubric={mi_coding.pk}"
    # Each rubric's structure is read once, then kept until a rubric changes. A rubric
    # asked for is checked to be published (a query); the default one is kept as found.
    assert queries(other) == queries(NEW) + 7
    assert queries(NEW) + 1 == queries(other) == 9  # with the nav count

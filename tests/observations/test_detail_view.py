"""The observation page: what it shows, who may open it, and its query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from observations import services
from observations.models import Observation
from tests.factories import full_scores, make_observation, make_person, rubric_version


def url(observation):
    return reverse("observations:detail", args=[observation.pk])


@pytest.fixture
def observation(world):
    version = rubric_version()
    scores = {**full_scores(version, rating=2), "wp-team": "na", "ind-actions": 0}
    return make_observation(
        world.coach,
        world.practitioner,
        scores=scores,
        duration_minutes=50,
        strengths="Named strengths first.",
        strengths_items=["ep-strengths", "mi-affirm"],
        next_steps="Reflect before asking.",
        next_steps_items=["mi-reflect"],
    )


SEE_IT = ["coach", "practitioner", "leader", "org_admin", "purveyor_admin"]
DO_NOT = ["unassigned", "outsider", "away_practitioner"]


@pytest.mark.parametrize("persona", SEE_IT)
def test_the_people_above_and_the_practitioner_open_it(world, login, observation, persona):
    assert login(getattr(world, persona)).get(url(observation)).status_code == 200


@pytest.mark.parametrize("persona", DO_NOT)
def test_everyone_else_gets_404(world, login, observation, persona):
    assert login(getattr(world, persona)).get(url(observation)).status_code == 404


def test_another_coach_gets_404(world, login, observation):
    other_coach = make_person(world.home, "coach", team=world.team_a)
    assert login(other_coach).get(url(observation)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, observation):
    response = client.get(url(observation))
    assert response.url == f"{reverse('login')}?next={url(observation)}"


def test_an_unknown_observation_is_404(world, login):
    assert login(world.purveyor_admin).get("/observations/424242/").status_code == 404


@pytest.mark.parametrize("persona", ["practitioner", "leader", "org_admin", "purveyor_admin"])
def test_a_draft_is_only_for_its_author(world, login, persona):
    draft = make_observation(world.coach, world.practitioner, submit=False, scores={})
    assert login(getattr(world, persona)).get(url(draft)).status_code == 404
    page = login(world.coach).get(url(draft)).content.decode()
    assert reverse("observations:edit", args=[draft.pk]) in page
    assert "Practitioner's response" not in page


def test_the_header_names_the_visit(world, login, observation):
    page = login(world.leader).get(url(observation)).content.decode()
    for text in [
        world.practitioner.full_name,
        world.coach.full_name,
        "2024-05-01",
        "Family team meeting",  # the first activity, as make_observation picks it
        "Live",
        "50 min",
        "MiiWrap fidelity tool v1",
        "Submitted",
    ]:
        assert text in page, text


def test_the_overall_score_and_band_show_with_the_bands_colour(world, login, observation):
    # 2 points on each of 12 applicable ratings, 3 of 4 indicators: 27 of 40 = 67.5 %.
    response = login(world.practitioner).get(url(observation))
    summary = response.context["summary"]
    assert (summary.overall.value, summary.overall.band) == ("67.5 %", "borderline")
    assert summary.overall.band_class == "text-bg-warning"
    assert {row.code: row.value for row in summary.rows} == {
        "engagement": "66.67 %",
        "mi-skills": "66.67 %",
        "wraparound": "66.67 %",
        "indicators": "75 %",
    }
    assert "badge fs-6 text-bg-warning" in response.content.decode()


def test_an_undefined_ratio_shows_a_dash(world, login):
    version = rubric_version("mi-coding")
    observation = make_observation(
        world.coach, world.practitioner, version, scores=full_scores(version, rating=4, count=0)
    )
    response = login(world.coach).get(url(observation))
    rows = {row.code: row for row in response.context["summary"].rows}
    assert (rows["r-q"].value, rows["pct-cr"].value, rows["technical"].value) == ("—", "—", "4")
    assert [t.met for t in rows["technical"].thresholds] == [True, True]
    assert 'data-item="question"' in response.content.decode()


def test_each_item_shows_the_level_chosen_in_words(world, login, observation):
    response = login(world.coach).get(url(observation))
    rows = {row.item.code: row for _, items in response.context["domains"] for row in items}
    assert rows["ep-voice"].answer == "2 · Developing"
    assert rows["ep-voice"].descriptor.startswith("The family's concerns shape")
    assert rows["wp-team"].answer == "Not applicable"
    assert (rows["ind-actions"].answer, rows["ind-agenda"].answer) == ("No", "Yes")
    domains = [name for name, _ in response.context["domains"]]
    assert domains == [
        "Engagement and partnership",
        "MI interactional skills",
        "Wraparound process",
        "Meeting indicators",
    ]


def test_feedback_shows_with_the_items_it_is_about(world, login, observation):
    response = login(world.practitioner).get(url(observation))
    blocks = {block.heading: block for block in response.context["feedback"]}
    assert list(blocks) == ["Strengths", "Next steps"]  # no growth areas were written
    assert blocks["Strengths"].items == ["Strengths before needs", "Specific, genuine affirmations"]
    assert "Reflect before asking." in response.content.decode()


def test_the_coach_sees_the_practitioners_response(world, login, observation):
    services.observation_acknowledge(observation=observation, response="I will try that.")
    page = login(world.coach).get(url(observation)).content.decode()
    assert "I will try that." in page
    assert 'action="' + reverse("observations:acknowledge", args=[observation.pk]) not in page


def test_only_the_practitioner_gets_the_acknowledge_form(world, login, observation):
    ack = reverse("observations:acknowledge", args=[observation.pk])
    assert ack in login(world.practitioner).get(url(observation)).content.decode()
    for persona in ["coach", "leader", "purveyor_admin"]:
        page = login(getattr(world, persona)).get(url(observation)).content.decode()
        assert ack not in page, persona
        assert "Not acknowledged yet." in page


def test_the_amend_link_is_for_the_coach_and_the_purveyor(world, login, observation):
    amend = reverse("observations:amend", args=[observation.pk])
    for persona, shown in [("coach", True), ("purveyor_admin", True), ("leader", False)]:
        page = login(getattr(world, persona)).get(url(observation)).content.decode()
        assert (amend in page) is shown, persona


def amend(observation, by, reason, **scores):
    changed = Observation.objects.get(pk=observation.pk)
    observation.scores = {**observation.scores, **scores}
    version = rubric_version()
    return services.observation_amend(
        observation=observation,
        changed=changed,
        definition=version.definition(),
        amended_by=by,
        reason=reason,
    )


def test_the_amendment_history_keeps_the_old_overall_and_band(world, login, observation):
    amend(observation, world.coach, "Misread the indicators.", **{"ind-actions": 1})
    response = login(world.practitioner).get(url(observation))
    (row,) = response.context["amendments"]
    assert (row.overall, row.band) == ("67.5 %", "borderline")
    assert row.amendment.amended_by == world.coach
    page = response.content.decode()
    assert "Misread the indicators." in page
    assert response.context["summary"].overall.value == "70 %"


def history_section(response):
    content = response.content.decode()
    start = content.index('id="history"')
    return content[start : content.index("</section>", start)]


def test_the_history_starts_at_the_submission_so_the_draft_stays_the_coachs(world, login):
    from observations import services

    draft = make_observation(world.coach, world.practitioner, submit=False, strengths="Rough")
    draft.strengths = "Warm opening."
    services.observation_submit(observation=draft, definition=rubric_version().definition())
    section = history_section(login(world.practitioner).get(url(draft)))
    assert "Submitted by <strong>the system</strong>" in section
    assert "Rough" not in section


def test_an_amendments_band_change_shows_in_the_history_to_the_practitioner(
    world, login, observation
):
    client = login(world.coach)
    client.get(url(observation))
    amend(observation, world.coach, "Misread the indicators.", **{"ind-actions": 1})
    section = history_section(login(world.practitioner).get(url(observation)))
    assert "<del>67.50</del> → <ins>70.00</ins>" in section


def test_the_page_reads_a_constant_number_of_queries(world, login, observation):
    client = login(world.coach)
    client.get(url(observation))  # the session and the viewer are read once

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(observation)).status_code == 200
        return len(captured)

    amend(observation, world.coach, "First.")
    one = queries()
    for n in range(3):
        amend(observation, world.purveyor_admin, f"Again {n}.")
    # the unread count in the navigation is one; the history one; the disputes one; who
    # the names may link to one (the rubric's structure is kept: read once, see below); a
    # second observer's side of the visit one
    assert queries() == one == 10
    version = rubric_version("mi-coding")
    other = make_observation(world.coach, world.practitioner, version)
    with CaptureQueriesContext(connection) as captured:
        client.get(url(other))
    assert len(captured) == one + 6  # its domains, items, levels, metrics, first read
    with CaptureQueriesContext(connection) as captured:
        client.get(url(other))
    assert len(captured) == one

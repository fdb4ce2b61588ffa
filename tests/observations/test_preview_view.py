"""The live summary: the form's current values scored on the server, never a 500."""

import pytest
from django.urls import reverse

from tests.factories import full_scores

URL = reverse("observations:preview")


def preview(client, version, scores, **extra):
    data = {"rubric_version": version.pk, **extra}
    data.update({f"item__{code}": value for code, value in scores.items()})
    response = client.post(URL, data)
    assert response.status_code == 200
    return response.context["summary"]


def shown(summary):
    """{metric code: (value, band)} with the overall score under "overall"."""
    rows = {row.code: (row.value, row.band) for row in summary.rows}
    return {"overall": (summary.overall.value, summary.overall.band), **rows}


def test_the_fidelity_tool_is_scored_on_the_items_entered_so_far(world, login, version):
    # Engagement: 3 + 3 + 0 of 9 points; nothing else scored yet.
    scores = {"ep-voice": "3", "ep-strengths": "3", "ep-transparency": "0"}
    summary = preview(login(world.coach), version, scores)
    assert shown(summary) == {
        "overall": ("66.67 %", "borderline"),
        "engagement": ("66.67 %", ""),
        "mi-skills": ("—", ""),
        "wraparound": ("—", ""),
        "indicators": ("—", ""),
    }


def test_the_summary_says_how_many_items_its_scores_are_of(world, login, version):
    """Five items at their best read "100 %": the summary says it is 5 of the 17."""
    top = full_scores(version)
    five = dict(list(top.items())[:5])
    client = login(world.coach)
    summary = preview(client, version, five)
    assert len(top) == 17
    assert vars(summary.progress) == {
        "answered": 5,
        "total": 17,
        "not_applicable": 0,
        "complete": False,
    }
    data = {"rubric_version": version.pk, **{f"item__{c}": v for c, v in five.items()}}
    page = client.post(URL, data).content.decode()
    assert "5 of 17 items scored: the scores below are of those 5 only" in page


def test_a_not_applicable_item_is_answered_and_said_so(world, login, version):
    scores = {**full_scores(version), "wp-team": "na"}
    summary = preview(login(world.coach), version, scores)
    assert (summary.progress.answered, summary.progress.not_applicable) == (17, 1)
    assert summary.progress.complete


def test_nothing_entered_yet_reads_none_scored(world, login, version):
    client = login(world.coach)
    assert preview(client, version, {}).progress.answered == 0
    page = client.post(URL, {"rubric_version": version.pk}).content.decode()
    assert "0 of 17 items scored" in page
    assert "those 0" not in page


def test_not_applicable_items_leave_the_score_entirely(world, login, version):
    # Wraparound: 3 + 2 of 6 points on the two applicable items; indicators 2 of 3 present.
    scores = {
        **dict.fromkeys(["wp-team", "wp-plan", "wp-transition", "ind-agenda"], "na"),
        "wp-needs": "3",
        "wp-natural": "2",
        "ind-safety": "1",
        "ind-actions": "0",
        "ind-summary": "1",
    }
    summary = shown(preview(login(world.coach), version, scores))
    assert summary["wraparound"] == ("83.33 %", "")
    assert summary["indicators"] == ("66.67 %", "")
    assert summary["overall"] == ("77.78 %", "adequate")  # 7 of 9 points


def test_every_item_at_the_top_is_high(world, login, version):
    summary = preview(login(world.coach), version, full_scores(version))
    assert shown(summary)["overall"] == ("100 %", "high")
    assert summary.overall.band_class == "text-bg-success"
    assert [t.met for t in summary.overall.thresholds] == [True, True, True]


def test_mi_coding_shows_a_dash_for_reflections_to_questions_with_no_questions(
    world, login, mi_coding
):
    scores = {
        **{"cct": "4", "sst": "3", "partnership": "5", "empathy": "4"},
        **{"sr": "6", "cr": "4", "question": "0", "gi": "2"},
        **{"seek": "1", "affirm": "2", "autonomy": "0", "persuade": "1", "confront": "0"},
    }
    summary = shown(preview(login(world.coach), mi_coding, scores))
    assert summary == {
        "overall": ("", "fair"),  # no overall score: the worst band among the metrics
        "technical": ("3.5", "fair"),
        "relational": ("4.5", "good"),
        "pct-cr": ("40 %", "fair"),
        "r-q": ("—", ""),
        "mi-adherent": ("3", ""),
        "mi-non-adherent": ("1", ""),
    }


def test_the_ratio_is_shown_once_questions_are_counted(world, login, mi_coding):
    summary = preview(login(world.coach), mi_coding, {"sr": "6", "cr": "4", "question": "8"})
    assert shown(summary)["r-q"] == ("1.25", "fair")


@pytest.mark.parametrize(
    "junk", ["abc", "--3", "1e3", "3.5", "", " ", "na", "-1", "9" * 500, "٣", "99999999"]
)
def test_values_that_cannot_be_read_are_left_out(world, login, mi_coding, junk):
    summary = preview(login(world.coach), mi_coding, {"sr": junk, "cr": "4", "question": "4"})
    assert shown(summary)["pct-cr"] == ("100 %", "good")  # as if sr were not entered


def test_an_off_scale_rating_and_a_forbidden_na_are_left_out(world, login, version):
    summary = preview(login(world.coach), version, {"ep-voice": "9", "ep-strengths": "na"})
    assert shown(summary)["overall"] == ("—", "")


def test_the_panel_html_shows_the_values(world, login, version):
    response = login(world.coach).post(URL, {"rubric_version": version.pk, "item__ep-voice": "3"})
    page = response.content.decode()
    assert '<span class="summary-value fs-3 fw-semibold">100 %</span>' in page
    assert "text-bg-success" in page
    assert "<html" not in page  # a fragment, swapped into the form


@pytest.mark.parametrize("rubric", ["", "abc", "424242", "1" * 30])
def test_an_unknown_rubric_is_404(world, login, rubric):
    assert login(world.coach).post(URL, {"rubric_version": rubric}).status_code == 404


def test_it_answers_posts_only(world, login, version):
    assert login(world.coach).get(URL, {"rubric_version": version.pk}).status_code == 405


@pytest.mark.parametrize(
    "persona", ["practitioner", "unassigned", "leader", "org_admin", "purveyor_admin"]
)
def test_only_coaches_may_ask(world, login, version, persona):
    response = login(getattr(world, persona)).post(URL, {"rubric_version": version.pk})
    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in(client, world, version):
    response = client.post(URL, {"rubric_version": version.pk})
    assert response.url.startswith(reverse("login"))


def test_the_form_posts_its_csrf_token_with_the_preview(world, version):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.coach.user)
    page = client.get(reverse("observations:new"))
    token = page.context["csrf_token"]
    refused = client.post(URL, {"rubric_version": version.pk})
    accepted = client.post(URL, {"rubric_version": version.pk}, HTTP_X_CSRFTOKEN=str(token))
    assert (refused.status_code, accepted.status_code) == (403, 200)

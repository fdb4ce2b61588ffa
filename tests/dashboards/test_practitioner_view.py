"""The practitioner view: their card, their scores over time, their feedback."""

import datetime as dt

import pytest
from django.urls import reverse

from observations.models import Observation
from tests.dashboards.conftest import observe
from tests.factories import make_period

D = dt.date
VIEW = reverse("dashboards:practitioner")


@pytest.fixture
def history(world, frozen):
    first = observe(world.coach, world.practitioner, D(2026, 4, 2), 88, "high")
    first.strengths = "Named the family's own words for their goal."
    first.growth_areas = "Reflect before asking the next question."
    first.save()
    observe(world.coach, world.practitioner, D(2026, 5, 7), 74.5, "borderline")
    observe(world.coach, world.unassigned, D(2026, 5, 8), 20, "low")
    draft = observe(world.coach, world.practitioner, D(2026, 6, 1), 10, "low")
    Observation.objects.filter(pk=draft.pk).update(status=Observation.Status.DRAFT)
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 9, 1))
    return world


def test_the_trend_draws_each_submitted_score_in_order(history, login):
    page = login(history.practitioner).get(VIEW).content.decode()
    points = [
        'data-label="2026-04-02" data-value="88"',
        'data-label="2026-05-07" data-value="74.5"',
    ]
    assert all(point in page for point in points)
    assert page.index(points[0]) < page.index(points[1])
    assert 'data-value="10"' not in page  # the draft
    assert 'data-value="20"' not in page  # someone else's
    assert 'data-threshold="adequate" data-value="75"' in page


def test_the_card_and_feedback_are_shown(history, login):
    page = login(history.practitioner).get(VIEW).content.decode()
    assert 'data-program="practitioner" data-state="certified"' in page
    assert "Named the family&#x27;s own words for their goal." in page
    assert "Reflect before asking the next question." in page
    assert "Not yet acknowledged" in page


def test_the_scores_download_as_csv(history, login):
    rubric_id = Observation.objects.first().rubric_version.rubric_id
    response = login(history.practitioner).get(VIEW, {"export": f"trend-{rubric_id}"})
    text = b"".join(response.streaming_content).decode().splitlines()
    assert text == [
        "Observed on,Overall score (%),Band",
        "2026-04-02,88.0,high",
        "2026-05-07,74.5,borderline",
    ]


def test_someone_never_observed_is_told_so(world, login, frozen):
    page = login(world.unassigned).get(VIEW).content.decode()
    assert "No scored observations yet." in page
    assert "No observations yet." in page


def test_the_coach_sees_what_the_practitioner_sees(history, login):
    url = reverse("dashboards:practitioner", args=[history.practitioner.pk])
    page = login(history.coach).get(url).content.decode()
    assert history.practitioner.full_name in page
    assert 'data-label="2026-05-07" data-value="74.5"' in page

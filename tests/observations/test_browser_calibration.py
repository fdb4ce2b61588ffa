"""A coach scores a calibration case in Chromium and reads the comparison item by item."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from observations.models import CalibrationAttempt
from tests.browser import page, screenshot  # noqa: F401  (fixture)
from tests.factories import full_scores, rubric_version
from tests.observations import calibration_data
from tests.observations.test_browser_observation import CHOICES, choose, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def assigned(world):
    """A case master-coded at 2 on every rating and yes on every indicator, in a round the
    coach is assigned to."""
    version = rubric_version()
    case = calibration_data.make_case(
        version,
        title="Home visit: natural supports",
        description="The facilitator and a family map who could help after services.",
        recording_url="https://recordings.example/cases/6",
        retain_until=dt.date(2099, 1, 1),
    )
    scores = full_scores(version, rating=2)
    rationale = {code: f"Master's reason for {code}." for code in scores}
    calibration_data.master_code(case, None, scores=scores, rationale=rationale)
    far = {"opens_on": dt.date(2024, 1, 1), "due_on": dt.date(2099, 1, 1)}
    calibration_data.make_round(case, coaches=[world.coach], **far)
    return case


def test_a_coach_scores_a_case_and_reads_each_item_beside_the_master_code(page, world, assigned):  # noqa: F811
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    sign_in(page, world.coach)
    page.get_by_role("button", name="Observations").click()
    page.get_by_role("link", name="Calibration").click()
    page.get_by_role("link", name=assigned.title).click()
    expect(page.get_by_role("link", name="Open the recording")).to_be_visible()
    expect(page.get_by_text("Master's reason")).to_have_count(0)

    for code, value in list(CHOICES.items())[:5]:
        choose(page, code, value)
    progress = page.locator("#summary .summary-progress")
    expect(progress).to_have_text("5 of 17 items scored: the scores below are of those 5 only")
    page.get_by_role("button", name="Submit and compare").click()
    # Twelve items unscored: refused, with what was chosen kept.
    expect(page.locator("#form-problems")).to_be_visible()
    expect(page.locator('input[name="item__ep-voice"][value="3"]')).to_be_checked()
    assert not CalibrationAttempt.objects.exists()

    for code, value in list(CHOICES.items())[5:]:
        choose(page, code, value)
    screenshot(page, "calibration-form")
    page.get_by_role("button", name="Submit and compare").click()

    agreement = page.locator("#agreement")
    # 15 of 17 within one point: not applicable against 2 and "no" against "yes" miss.
    expect(agreement).to_contain_text("88 % (15 of 17)")
    expect(agreement).to_contain_text("35 % (6 of 17)")
    expect(agreement).to_contain_text("0.75 points lenient")
    voice = page.locator('tr[data-item="ep-voice"]')
    expect(voice).to_contain_text("Within one")
    expect(voice).to_contain_text("Master's reason for ep-voice.")
    expect(page.locator('tr[data-item="wp-team"]')).to_contain_text("Not applicable")
    expect(page.locator('tr[data-item="ind-actions"]')).to_contain_text("Apart -1")
    screenshot(page, "calibration-comparison")

    page.get_by_role("link", name="All calibration").click()
    expect(page.get_by_text("Submitted · 88 % of items within one point")).to_be_visible()
    attempt = CalibrationAttempt.objects.get()
    assert attempt.is_submitted and attempt.scores == CHOICES
    assert script_errors == []

"""A coach scores an observation in Chromium; the practitioner reads it and answers."""

import re

import pytest
from playwright.sync_api import expect

from observations.models import Observation, RubricVersion
from tests.browser import page, screenshot  # noqa: F401  (fixture)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The choices the coach clicks on the MiiWrap fidelity tool: a rating 0 to 3, yes (1) / no (0),
# or not applicable.
CHOICES = {
    "ep-voice": 3,
    "ep-strengths": 3,
    "ep-transparency": 2,
    "mi-open": 3,
    "mi-reflect": 3,
    "mi-affirm": 3,
    "mi-change-talk": 2,
    "mi-autonomy": 3,
    "wp-team": "na",
    "wp-needs": 3,
    "wp-plan": 3,
    "wp-natural": 2,
    "wp-transition": 3,
    "ind-agenda": 1,
    "ind-safety": 1,
    "ind-actions": 0,
    "ind-summary": 1,
}
RESPONSE = "Thank you. I will ask about strengths before the plan next time."


def expected_overall():
    """Points earned over points possible on applicable items, as the tool defines it."""
    scored = {code: value for code, value in CHOICES.items() if value != "na"}
    possible = sum(1 if code.startswith("ind-") else 3 for code in scored)
    return f"{100 * sum(scored.values()) / possible:.2f}".rstrip("0").rstrip(".") + " %"


def sign_in(page, person):  # noqa: F811
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page):  # noqa: F811
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def choose(page, code, value):  # noqa: F811
    radio_id = page.locator(f'input[name="item__{code}"][value="{value}"]').get_attribute("id")
    page.locator(f'label[for="{radio_id}"]').click()


def test_coach_scores_and_the_practitioner_answers(page, world):  # noqa: F811
    assert expected_overall() == "90 %"
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    sign_in(page, world.coach)
    page.goto(world.practitioner.get_absolute_url())
    page.get_by_role("link", name="Start an observation").click()
    expect(page.get_by_role("combobox", name="Practitioner")).to_have_value(
        str(world.practitioner.pk)
    )
    page.get_by_label("Date observed").fill("2024-05-01")
    page.get_by_role("combobox", name="Activity").select_option(label="Home visit")
    page.get_by_role("combobox", name="Mode").select_option("recorded")
    page.get_by_label("Duration (minutes)").fill("50")
    summary = page.locator("#summary")
    progress = summary.locator(".summary-progress")
    expect(progress).to_have_text("0 of 17 items scored")
    for code, value in list(CHOICES.items())[:5]:
        choose(page, code, value)
    # Five items at 3 of 3, 3, 2, 3, 3: a high score, said to be of those five alone.
    expect(progress).to_have_text("5 of 17 items scored: the scores below are of those 5 only")
    expect(summary.locator("[data-metric=overall] .summary-value")).to_have_text("93.33 %")
    screenshot(page, "observation-form-five-scored")
    for code, value in list(CHOICES.items())[5:]:
        choose(page, code, value)
    page.get_by_label("Strengths", exact=True).fill("Named the family's strengths first.")

    expect(progress).to_have_text("17 of 17 items scored (1 not applicable)")
    expect(summary.locator("[data-metric=overall] .summary-value")).to_have_text(expected_overall())
    expect(summary.locator("[data-metric=overall] .summary-band")).to_have_text("high")
    expect(summary.locator("[data-metric=indicators] .summary-value")).to_have_text("75 %")
    page.set_viewport_size({"width": 820, "height": 1180})
    screenshot(page, "observation-form-tablet")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "observation-form-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "observation-form-wide")

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/observations/\d+/edit/$"))
    expect(page.locator('input[name="item__wp-team"][value="na"]')).to_be_checked()
    page.get_by_role("button", name="Submit").click()

    scores = page.locator("#scores")
    expect(scores.locator("[data-metric=overall] .summary-value")).to_have_text("90 %")
    expect(scores.locator("[data-metric=overall] .summary-band")).to_have_text("high")
    observation = Observation.objects.get()
    assert observation.status == Observation.Status.SUBMITTED
    assert observation.scores == CHOICES
    screenshot(page, "observation-detail-coach")
    assert script_errors == []
    sign_out(page)

    sign_in(page, world.practitioner)
    page.goto(observation.get_absolute_url())
    page.get_by_label("Your response (optional)").fill(RESPONSE)
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_label("Your response (optional)")).to_have_value(RESPONSE)
    screenshot(page, "observation-detail-practitioner")
    sign_out(page)

    sign_in(page, world.coach)
    page.goto(observation.get_absolute_url())
    expect(page.locator("#response")).to_contain_text(RESPONSE)


def test_count_steppers_update_the_ratio_and_a_zero_denominator_shows_a_dash(page, world):  # noqa: F811
    mi_coding = RubricVersion.objects.get(rubric__code="mi-coding")
    sign_in(page, world.coach)
    page.goto(f"/observations/new/?rubric={mi_coding.pk}")
    ratio = page.locator("#summary [data-metric=r-q] .summary-value")
    for _ in range(3):
        page.get_by_role("button", name="One more: Simple reflection").click()
    page.get_by_role("button", name="One more: Complex reflection").click()
    page.get_by_role("button", name="One more: Question").click()
    expect(ratio).to_have_text("4")
    expect(page.locator("#summary [data-metric=pct-cr] .summary-value")).to_have_text("25 %")
    page.get_by_role("button", name="One fewer: Question").click()
    expect(ratio).to_have_text("—")
    expect(page.get_by_label("Question", exact=True)).to_have_value("0")
    page.get_by_role("button", name="One fewer: Question").click()  # never below zero
    expect(page.get_by_label("Question", exact=True)).to_have_value("0")

"""A coach logs a coaching session on a phone-width screen in Chromium; the practitioner
reads the plan and comments."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from coaching import services
from coaching.models import CoachingSession
from observations.models import Rubric
from tests.browser import page, screenshot  # noqa: F401  (fixture)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def sign_in(page, person):  # noqa: F811
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def fits_the_screen(page):  # noqa: F811
    """Nothing sticks out sideways, so the page never scrolls left and right."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_coach_logs_a_session_from_a_phone_and_the_practitioner_comments(page, world):  # noqa: F811
    plan = services.plan_start(
        practitioner=world.practitioner,
        coaches=[world.coach],
        started_on=dt.date(2024, 1, 8),
        goals=[
            {
                "rubric": Rubric.objects.get(code="miiwrap-fidelity"),
                "item_codes": ["mi-reflect"],
                "metric_code": "",
                "description": "Reflections before questions",
                "target": 80.0,
                "decline_on": None,
            }
        ],
        by=world.coach,
    ).plan
    sign_in(page, world.coach)
    page.set_viewport_size(PHONE)
    page.goto(plan.get_absolute_url())
    page.get_by_role("link", name="Log a session").click()
    page.get_by_label("Length (minutes)").fill("45")
    page.get_by_label("Role play").check()
    page.get_by_label("Reflections before questions").check()
    page.get_by_label("Notes").fill("Practised reflecting before asking.")
    page.get_by_label("Next step agreed").fill("Two reflections per question next visit.")
    assert fits_the_screen(page)
    screenshot(page, "coaching-session-phone")
    page.get_by_role("button", name="Log the session").click()
    expect(page.get_by_text("Session logged.")).to_be_visible()
    expect(page.locator(".coaching-session")).to_contain_text("Role play · 45 min")
    assert fits_the_screen(page)
    screenshot(page, "coaching-plan-phone")
    session = CoachingSession.objects.get()
    assert session.held_on == world.home.local_today()
    assert [goal.description for goal in session.goals.all()] == ["Reflections before questions"]

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Sign out").click()
    page.set_viewport_size({"width": 800, "height": 1000})
    sign_in(page, world.practitioner)
    page.goto(plan.get_absolute_url())
    expect(page.locator(".coaching-session")).to_contain_text("Two reflections per question")
    page.get_by_role("textbox", name="Comment").fill("I will try it with the Lopez family.")
    page.get_by_role("button", name="Add the comment").click()
    expect(page.locator(".plan-comment")).to_contain_text("I will try it with the Lopez family.")
    assert plan.comments.get().author == world.practitioner

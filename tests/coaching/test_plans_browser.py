"""A coach logs a coaching session on a phone-width screen in Chromium; the practitioner
reads the plan and comments. And the whole loop: from a drift alert to a plan, a session,
a later observation and the goal's progress moving."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from coaching import services
from coaching.models import CoachingPlan, CoachingSession
from observations.models import Rubric
from tests.browser import page, screenshot  # noqa: F401  (fixture)
from tests.coaching.test_alert_views import make_alert
from tests.coaching.test_plans_alerts import MOVED
from tests.coaching.test_progress import skills
from tests.factories import PASSWORD
from tests.observations.test_browser_observation import CHOICES, choose

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
    # The menu opens with a transition; a click on it before it ends can be lost.
    expect(page.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))
    page.get_by_role("button", name="Sign out").click()
    # Signed out before the next page is asked for: otherwise the sign-in page may be
    # asked for while the coach's session still stands, and answer with their dashboard.
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, world.practitioner)
    page.goto(plan.get_absolute_url())
    expect(page.locator(".coaching-session")).to_contain_text("Two reflections per question")
    page.get_by_role("textbox", name="Comment").fill("I will try it with the Lopez family.")
    page.get_by_role("button", name="Add the comment").click()
    expect(page.locator(".plan-comment")).to_contain_text("I will try it with the Lopez family.")
    assert plan.comments.get().author == world.practitioner


def test_the_coaching_loop_from_an_alert_to_a_plan_a_session_and_progress_that_moves(
    page,  # noqa: F811
    world,
):
    """A coach opens a drift alert, starts a plan from it (its items that fell most are
    proposed as goals), logs a session on a phone, scores a later observation through the
    form, and sees the goal's progress move; the practitioner reads the plan and comments."""
    today = world.home.local_today()
    days = dt.timedelta(days=1)
    alert = make_alert(world.practitioner, moved=MOVED, began_on=today - 60 * days)
    for ago, score in ((120, 3), (90, 3), (30, 1)):  # before the decline, then after
        skills(world.coach, world.practitioner, today - ago * days, score, 1)

    sign_in(page, world.coach)
    page.goto(alert.get_absolute_url())
    page.get_by_role("link", name="Start a coaching plan").click()
    expect(page.get_by_role("combobox", name="Practitioner")).to_have_value(
        str(world.practitioner.pk)
    )
    page.get_by_label("Starts on").fill(f"{today - 7 * days:%Y-%m-%d}")
    page.get_by_role("button", name="Start the plan").click()
    expect(page.get_by_text("Coaching plan started.")).to_be_visible()
    reflections = page.locator(".goal", has_text="Reflections").locator("[data-progress-sentence]")
    expect(reflections).to_contain_text("100 % before the decline, 33 % when the plan started")
    expect(reflections).to_contain_text("no observation since the plan started yet")
    plan = CoachingPlan.objects.get()
    assert plan.alert == alert

    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="Log a session").click()
    page.get_by_label("Length (minutes)").fill("30")
    page.get_by_label("Skill practice").check()
    page.get_by_label("Reflections", exact=True).check()
    page.get_by_label("Next step agreed").fill("Reflect twice before each question.")
    assert fits_the_screen(page)
    page.get_by_role("button", name="Log the session").click()
    expect(page.get_by_text("Session logged.")).to_be_visible()
    expect(page.locator(".coaching-session")).to_contain_text("Skill practice · 30 min")
    assert fits_the_screen(page)

    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(world.practitioner.get_absolute_url())
    page.get_by_role("link", name="Start an observation").click()
    page.get_by_label("Date observed").fill(f"{today:%Y-%m-%d}")
    page.get_by_role("combobox", name="Activity").select_option(label="Home visit")
    page.get_by_role("combobox", name="Mode").select_option("recorded")
    page.get_by_label("Duration (minutes)").fill("50")
    for code, value in CHOICES.items():  # reflections at 3: 100 %
        choose(page, code, value)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#scores")).to_be_visible()

    page.goto(plan.get_absolute_url())
    expect(reflections).to_contain_text("100 % in the one observation since")
    expect(reflections).not_to_contain_text("no observation since")
    screenshot(page, "coaching-loop-progress")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    sign_in(page, world.practitioner)
    page.goto(plan.get_absolute_url())
    expect(page.locator(".coaching-session")).to_contain_text("Reflect twice before each")
    page.get_by_role("textbox", name="Comment").fill("I will try it this week.")
    page.get_by_role("button", name="Add the comment").click()
    expect(page.locator(".plan-comment")).to_contain_text("I will try it this week.")
    assert plan.comments.get().author == world.practitioner

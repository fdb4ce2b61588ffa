"""Each role's landing page in Chromium at a phone's width (390 px) and a laptop's (1280 px):
nothing runs off the side, the coach reaches "Start observation", the navigation keeps to
one row, and axe-core finds no serious or critical accessibility problem.

One test walks through every role and width in one browser, since a browser costs seconds.
Screenshots of each go to SHOTS, to look at by eye.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from certification import dates
from certification.models import Program
from observations.models import Observation
from observations.services import dispute_raise
from tests.browser import page  # noqa: F401  (fixture)
from tests.certification.conftest import evidence
from tests.certification.test_reminder_log import failed, remind
from tests.coaching.test_alert_views import make_alert
from tests.coaching.test_plans import make_plan
from tests.dashboards.test_browser_dashboards import history  # noqa: F401  (fixture)
from tests.factories import make_period

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("LAYOUT_SHOTS", "/tmp/shots"))
PHONE, LAPTOP = 390, 1280
LANDINGS = {
    "practitioner": "/dashboards/practitioner/",
    "coach": "/dashboards/coach/",
    "leader": "/dashboards/",
    "org_admin": "/dashboards/",
    "purveyor_admin": "/dashboards/",
}
# Elements whose text must fit their own box: headings, navigation, table cells, buttons.
KEY_ELEMENTS = "main h1, main h2, .navbar .nav-link, .navbar-brand, main th, main td, main .btn"
# Left out on purpose: visually hidden elements (a stacked table's headings on a phone, 1 px
# boxes) and text cut short with an ellipsis (a long account name).
OVERFLOWING = """(selector) => [...document.querySelectorAll(selector)]
    .filter(e => e.offsetParent !== null && e.clientWidth > 1)
    .filter(e => getComputedStyle(e).textOverflow !== 'ellipsis')
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => `${e.tagName} "${e.textContent.trim().slice(0, 40)}" ${e.scrollWidth}px`)"""
# Cells narrower than this at 390 px wrap a word or two a line.
NARROW_CELLS = """() => [...document.querySelectorAll('main tbody td, main tbody th')]
    .filter(e => e.offsetParent !== null && e.clientWidth < 150)
    .map(e => `${e.textContent.trim().slice(0, 30)} ${e.clientWidth}px`)"""
NAV_ROWS = """() => new Set([...document.querySelectorAll('#nav > ul > li')]
    .map(li => Math.round(li.getBoundingClientRect().top))).size"""


def sign_in_as(page, live_server, person):  # noqa: F811
    """The browser takes a session signed in through Django's test client: the sign-in form
    has its own test, and typing it five times over would cost seconds."""
    client = Client()
    client.force_login(person.user)
    page.context.clear_cookies()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def overflow(page):  # noqa: F811
    """What runs past its box: the page past the window, or an element past its own box."""
    found = page.evaluate(OVERFLOWING, KEY_ELEMENTS)
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > page.viewport_size["width"]:
        found.append(f"page {width}>{page.viewport_size['width']}")
    return found


def serious_violations(page):  # noqa: F811
    """axe-core's serious and critical findings, as 'rule: first offending element'."""
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['nodes'][0]['target']} {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def in_view(page, locator):  # noqa: F811
    """Whether the element is on screen from left to right, without scrolling sideways."""
    box = locator.bounding_box()
    return box is not None and 0 <= box["x"] <= page.viewport_size["width"] - box["width"]


def look_at(page, name, width):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def test_each_roles_landing_page_fits_a_phone_and_a_laptop(page, live_server, world, history):  # noqa: F811
    problems, script_errors = {}, []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("console", lambda m: m.type == "error" and script_errors.append(m.text))
    for role, landing in LANDINGS.items():
        sign_in_as(page, live_server, getattr(world, role))
        for width in (PHONE, LAPTOP):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto("/")
            expect(page).to_have_url(f"{live_server.url}{landing}")
            look_at(page, role, width)
            if found := landing_problems(page, role, width):
                problems[f"{role} at {width}"] = found
    assert problems == {}, "\n".join(f"{key}: {found}" for key, found in problems.items())
    assert script_errors == []  # a script the CSP refused would be logged here


def landing_problems(page, role, width):  # noqa: F811
    found = overflow(page) + serious_violations(page)
    if width == LAPTOP and (rows := page.evaluate(NAV_ROWS)) != 1:
        found.append(f"navigation on {rows} rows")
    if role == "coach":
        due = page.locator("div[data-table=due]")
        if not in_view(page, due.get_by_role("link", name="Start observation").first):
            found.append("Start observation out of view")
    return found


def test_the_observation_form_and_other_dashboards_pass_axe(page, live_server, world, history):  # noqa: F811
    """The coach's form (new, and a draft to go on with), a leader reading a coach's
    dashboard and a coach reading their practitioner's."""
    sign_in_as(page, live_server, world.coach)
    page.set_viewport_size({"width": LAPTOP, "height": 900})
    pages = {
        "observation-new": f"/observations/new/?practitioner={world.practitioner.pk}",
        "practitioner-for-coach": f"/dashboards/practitioner/{world.practitioner.pk}/",
    }
    problems = {}
    for name, url in pages.items():
        page.goto(url)
        look_at(page, name, LAPTOP)
        problems[name] = serious_violations(page)
    # The coach's draft is listed on their dashboard with a link to go on.
    page.goto("/dashboards/coach/")
    page.locator("div[data-table=drafts]").get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("bservation")
    look_at(page, "observation-draft", LAPTOP)
    problems["observation-draft"] = serious_violations(page)
    sign_in_as(page, live_server, world.leader)
    page.goto(f"/dashboards/coach/{world.coach.pk}/")
    problems["coach-for-leader"] = serious_violations(page)
    assert {name: found for name, found in problems.items() if found} == {}


def test_on_a_phone_the_alerts_list_is_cards_not_a_word_a_line(page, live_server, world):  # noqa: F811
    """Each alert a card, its cells the screen's width. (make_alert reads the shipped
    rubrics, which the page fixture loads.)"""
    make_alert(world.practitioner)
    make_alert(world.unassigned, current=None)
    sign_in_as(page, live_server, world.leader)
    page.set_viewport_size({"width": PHONE, "height": 900})
    page.goto("/coaching/alerts/")
    expect(page.locator("tbody tr")).to_have_count(2)
    look_at(page, "alerts", PHONE)
    assert page.evaluate(NARROW_CELLS) == []
    assert overflow(page) + serious_violations(page) == []


def test_the_menus_open_under_the_content_security_policy(page, live_server, world):  # noqa: F811
    """Bootstrap's dropdowns run from the bundled script; the reminder log is one click
    away for an organization admin; narrower than a laptop the menus fold away; and
    /favicon.ico answers with the icon."""
    sign_in_as(page, live_server, world.org_admin)
    page.set_viewport_size({"width": LAPTOP, "height": 900})
    page.goto("/dashboards/")
    reminder_log = page.get_by_role("link", name="Reminder log")
    expect(reminder_log).to_be_hidden()
    page.get_by_role("button", name="Certification").click()
    reminder_log.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reminder log")
    # Between a phone and a laptop the menus fold under the menu button, not onto rows.
    for width in (768, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        expect(page.get_by_role("button", name="Menu")).to_be_visible()
        assert page.locator("nav.navbar").bounding_box()["height"] < 80
    icon = page.request.get("/favicon.ico")
    assert (icon.status, icon.headers["content-type"]) == (200, "image/svg+xml")


# The lists a leader, an admin or a certifier acts from, each with rows to show.
LISTS = {
    "observations": "/observations/",
    "plans": "/coaching/plans/",
    "people": "/people/",
    "queue": "/certification/queue/",
    "disputes": "/observations/disputes/?status=all",
    "reminders-sent": "/certification/reminders/?show=sent",
    "reminders-failed": "/certification/reminders/?show=failed",
    "reminders-scheduled": "/certification/reminders/?show=scheduled",
}


@pytest.fixture
def lists(world, history):  # noqa: F811
    """A row or more on each list, seen by the purveyor (who sees every organization, so
    the lists show their organization columns too)."""
    today = history.today
    make_plan(world, started_on=today - dt.timedelta(20))
    observed = Observation.objects.filter(practitioner=world.practitioner, status="submitted")
    dispute_raise(observation=observed.latest("observed_on"), by=world.practitioner, reason="No.")
    for program in ("practitioner", "coach"):
        make_period(world.coach, world.purveyor_admin, program, today - dt.timedelta(300))
    evidence(world.coach, world.unassigned, [today - dt.timedelta(d) for d in (40, 25, 10)])
    # Ari's certificate lapses in 45 days: a reminder is scheduled, one sent, one failed.
    years = dates.period_from(Program.objects.get(code="practitioner").rules(), today)
    lapsing = make_period(
        world.away_practitioner,
        world.outsider,
        valid_from=today - (years.valid_until - today) + dt.timedelta(45),
    )
    remind(lapsing, world.away_practitioner)
    failed(lapsing, world.outsider, role="leader")
    return world


def test_on_a_phone_the_lists_people_act_from_are_cards(page, live_server, lists):  # noqa: F811
    sign_in_as(page, live_server, lists.purveyor_admin)
    page.set_viewport_size({"width": PHONE, "height": 900})
    problems = {}
    for name, url in LISTS.items():
        page.goto(url)
        expect(page.locator("main tbody tr").first).to_be_visible()
        look_at(page, name, PHONE)
        if found := overflow(page) + page.evaluate(NARROW_CELLS):
            problems[name] = found
    assert problems == {}
    # The queue's buttons stand at the start of their card, in reach.
    page.goto(LISTS["queue"])
    assert in_view(page, page.get_by_role("button", name="Certify"))

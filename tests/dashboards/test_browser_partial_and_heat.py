"""The leader's dashboard in Chromium at 1280 px: the month still running is drawn apart,
and the heat map of a whole rubric fits its box, weakest item first and in view.

Nothing is frozen: the live server reads the real clock, so this month is partial."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from coaching.models import ItemMonth
from miiwrap.dashboards.leader import scales
from tests.browser import ARTIFACTS, page  # noqa: F401  (fixture)
from tests.dashboards.conftest import observe
from tests.factories import PASSWORD, rubric_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def month_so_far(world):
    """81 last month, 70 on this month's first day; every measured item counted last
    month for both teams, its share falling item by item from 95 to about 40."""
    today = world.home.local_today()
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    observe(world.coach, world.practitioner, last_month + dt.timedelta(4), 81, "adequate")
    observe(world.coach, world.practitioner, this_month, 70, "borderline")
    version = rubric_version()
    measured = scales(version)
    for team, shift in ((world.team_a, 0), (world.team_b, -8)):
        sums = {}
        for n, (code, (_, low, high)) in enumerate(measured.items()):
            share = 95 - 55 * n / max(len(measured) - 1, 1)
            sums[code] = [10 * (low + (share + shift) / 100 * (high - low)), 10]
        ItemMonth.objects.create(
            organization=world.home,
            team_id=team.pk,
            rubric=version.rubric,
            month=last_month,
            sums=sums,
        )
    return this_month, len(measured)


def test_a_partial_month_and_a_heat_map_that_fits(page, world, month_so_far):  # noqa: F811
    this_month, items = month_so_far
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/accounts/login/?next=/dashboards/")
    page.get_by_label("Email or username").fill(world.leader.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile("/dashboards/$"))

    label = f"{this_month:%b %Y}"
    trend = page.locator("figure[data-chart=trend]")
    point = trend.locator(f"circle[data-series=Everyone][data-label='{label}']")
    assert point.get_attribute("data-partial") == "true"
    expect(trend.locator(f"rect[data-partial='{label}']")).to_have_count(1)
    expect(page.locator("div[data-table=trend] thead")).to_contain_text(f"{label} (so far)")

    heat = page.locator("div[data-table=items] .table-responsive")
    scroll, client = heat.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll <= client  # no column out of sight
    rows = page.locator("div[data-table=items] tbody tr")
    expect(rows).to_have_count(items)
    weakest = rows.first.locator("td").first
    assert "heat-" in weakest.get_attribute("class")
    box, frame = weakest.bounding_box(), heat.bounding_box()
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]

    ARTIFACTS.mkdir(exist_ok=True)
    for section in ("trend", "items", "coaches", "sessions"):
        found = page.locator(f"section[aria-labelledby={section}-heading]")
        found.screenshot(path=str(ARTIFACTS / f"leader-{section}.png"))

"""Each dashboard in Chromium, opened as its role: the charts' numbers are the data's.

Nothing is frozen: the live server reads the real clock, so the observations are dated in
the two months before this one, and every expected number is worked out here from the
rows, the way a reader would check a chart by hand. One test walks through the roles,
since a browser and a flushed database cost seconds each.
"""

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from certification.models import Program
from miiwrap.charts import format_number
from observations.models import Observation
from tests.browser import page, screenshot  # noqa: F401  (fixture)
from tests.factories import (
    PASSWORD,
    full_scores,
    make_observation,
    make_period,
    make_person,
    rubric_version,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ATTRIBUTES = "(els, names) => els.map(e => names.map(name => e.getAttribute(name)))"
CELLS = "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"


def month_start(day, back):
    """The first day of the month `back` months before `day`'s."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def scores(version, rating, raised=0, yes_no=1):
    """Every rating at `rating`, the first `raised` of them one higher."""
    made = full_scores(version, rating=rating, yes_no=yes_no)
    ratings = [item.code for item in version.items.all() if item.kind == "rating"]
    for code in ratings[:raised]:
        made[code] += 1
    return made


@pytest.fixture
def history(world, shipped_programs):
    """Two past months of scores: North (Pat, and Cora as a practitioner) and South (Uma).

    Pat's latest is a band below their first. A draft, an observation older than the
    dashboard's year and one in another organization must all stay off the charts.
    """
    version = rubric_version()
    other_coach = make_person(world.home, "coach", first_name="Cal")  # Cora's observer
    today = world.home.local_today()
    earlier, later = month_start(today, 2), month_start(today, 1)

    def observe(coach, practitioner, day, **fields):
        return make_observation(coach, practitioner, version, observed_on=day, **fields)

    observe(world.coach, world.practitioner, earlier + dt.timedelta(4), scores=scores(version, 3))
    observe(other_coach, world.coach, earlier + dt.timedelta(11), scores=scores(version, 2, 12))
    observe(world.coach, world.unassigned, earlier + dt.timedelta(8), scores=scores(version, 1))
    observe(world.coach, world.practitioner, later + dt.timedelta(2), scores=scores(version, 2))
    observe(world.coach, world.practitioner, later + dt.timedelta(8), scores=scores(version, 2, 3))
    observe(world.coach, world.unassigned, later + dt.timedelta(6), scores=scores(version, 3))
    observe(world.coach, world.practitioner, later + dt.timedelta(10), submit=False)
    observe(world.coach, world.unassigned, month_start(today, 13), scores=scores(version, 0))
    away = (world.outsider, world.away_practitioner)
    observe(*away, later + dt.timedelta(4), scores=scores(version, 0))
    make_period(world.practitioner, world.coach, valid_from=today - dt.timedelta(60))
    return SimpleNamespace(version=version, today=today, months=(earlier, later))


def sign_in(page, person, then):  # noqa: F811
    """Through the real login form, landing on `then`."""
    page.goto(f"/accounts/login/?next={then}")
    page.get_by_label("Email or username").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(f"{re.escape(then)}$"))


def sign_out(page):  # noqa: F811
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def attributes(locator, *names):
    """[[each name's value] for each element], in the page's order."""
    return locator.evaluate_all(ATTRIBUTES, list(names))


def points(locator):
    return attributes(locator, "data-label", "data-value")


def trend_points(page, series):  # noqa: F811
    circles = page.locator(f"figure[data-chart=trend] circle[data-series='{series}']")
    return dict(points(circles))


def table_rows(page, key):  # noqa: F811
    return page.locator(f"div[data-table={key}] tbody tr").evaluate_all(CELLS)


def in_leaders_year(history):
    """The submitted observations the leader's default year covers, on the default rubric."""
    start = month_start(history.today, 11)
    seen = Observation.objects.submitted().filter(observed_on__range=(start, history.today))
    return seen.filter(rubric_version=history.version).select_related("practitioner__team")


def monthly_means(observations, group):
    """{group name: {"Mon YYYY": mean overall score as the chart writes it}}."""
    found = {}
    for seen in observations:
        month = f"{seen.observed_on:%b %Y}"
        found.setdefault(group(seen), {}).setdefault(month, []).append(seen.overall_score)
    return {
        name: {month: format_number(sum(s) / Decimal(len(s))) for month, s in months.items()}
        for name, months in found.items()
    }


def latest_bands(observations):
    """{band: practitioners whose latest observation is in it}."""
    latest = {}
    for seen in sorted(observations, key=lambda o: (o.observed_on, o.pk)):
        latest[seen.practitioner_id] = seen.band
    return Counter(latest.values())


def test_each_role_reads_the_data_in_its_dashboards_charts(page, world, history):  # noqa: F811
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    check_leader(page, world, history)
    sign_out(page)
    check_purveyor_admin(page, world, history)
    sign_out(page)
    check_coach(page, world, history)
    sign_out(page)
    check_practitioner(page, world, history)
    assert script_errors == []


def check_leader(page, world, history):  # noqa: F811
    """The trend draws each team's monthly mean, the bands count each practitioner's
    latest observation, and the pipeline charts draw the pipeline table."""
    home = in_leaders_year(history).filter(practitioner__organization=world.home)
    expected = {
        **monthly_means(home, lambda seen: seen.practitioner.team.name),
        **monthly_means(home, lambda seen: "Everyone"),
    }
    assert set(expected["North"]) == {f"{month:%b %Y}" for month in history.months}
    sign_in(page, world.leader, "/dashboards/")
    expect(page.get_by_role("heading", name=world.home.name)).to_be_visible()
    screenshot(page, "dashboard-leader")

    drawn = attributes(page.locator("figure[data-chart=trend] circle"), "data-series")
    assert {name for (name,) in drawn} == {"Everyone", "North", "South", None}  # None: legend
    for series, means in expected.items():
        assert trend_points(page, series) == means, series
    latest = latest_bands(home)
    assert latest == {"high": 2, "adequate": 1}  # Pat fell from high, Uma rose from low
    bands = dict(points(page.locator("figure[data-chart=bands] rect[data-label]")))
    assert bands == {band: str(latest[band]) for band in history.version.bands}
    check_pipeline(page)


def check_pipeline(page):  # noqa: F811
    """Each program's bar chart draws its row of the pipeline table, state by state."""
    states = page.locator("div[data-table=pipeline] thead th").all_text_contents()
    rows = table_rows(page, "pipeline")
    figures = page.locator("figure[data-chart=pipeline]")
    assert {row[0] for row in rows} == set(Program.objects.values_list("name", flat=True))
    assert figures.count() == len(rows)
    for index, row in enumerate(rows):
        bars = points(figures.nth(index).locator("rect[data-label]"))
        assert [label for label, _ in bars] == states[1:-1]
        assert [value for _, value in bars] == row[1:-1], row[0]
    by_state = dict(zip(states, rows[0], strict=True))
    assert by_state["Program"] == "MiiWrap Practitioner"
    # Pat holds a current period; Cora and Uma have recent observations and none.
    assert (by_state["Certified"], by_state["In progress"], by_state["Total"]) == ("1", "2", "3")


def check_purveyor_admin(page, world, history):  # noqa: F811
    """Across organizations, each organization is a series of its own."""
    names = {world.home.pk: world.home.name, world.away.pk: world.away.name}
    expected = monthly_means(
        in_leaders_year(history), lambda seen: names[seen.practitioner.organization_id]
    )
    assert set(expected) == set(names.values())
    sign_in(page, world.purveyor_admin, "/dashboards/")
    expect(page.get_by_role("heading", name="All organizations")).to_be_visible()
    screenshot(page, "dashboard-purveyor")
    for organization, means in expected.items():
        assert trend_points(page, organization) == means, organization


def check_coach(page, world, history):  # noqa: F811
    """Pat is listed with their latest score and due date, and one click starts the form."""
    latest = Observation.objects.submitted().filter(practitioner=world.practitioner)
    latest = latest.latest("observed_on")
    every = Program.objects.get(code="practitioner").observe_every_days
    due_on = latest.observed_on + dt.timedelta(every)
    days = (due_on - history.today).days
    sign_in(page, world.coach, "/dashboards/coach/")
    expect(page.get_by_role("heading", name="My caseload")).to_be_visible()
    screenshot(page, "dashboard-coach")

    observed_on = f"{latest.observed_on:%Y-%m-%d}"
    score = format_number(latest.overall_score)
    assert [row[:5] for row in table_rows(page, "caseload")] == [
        [world.practitioner.full_name, "North", observed_on, score, latest.band]
    ]
    urgency = f"Overdue by {-days} days" if days < 0 else f"Due in {days} days"
    due = table_rows(page, "due")
    assert [row for row in due if row[1] == "Observation due"] == [
        [
            world.practitioner.full_name,
            "Observation due",
            observed_on,
            f"{due_on:%Y-%m-%d}",
            urgency,
            "Start observation",
        ]
    ]
    # Sessions due sit in the same list, each with its own label and a link to the plan.
    for row in (row for row in due if row[1] != "Observation due"):
        assert (row[0], row[1]) == (world.practitioner.full_name, "Session due")
        assert row[-1] in ("Log session", "Log session under the plan")
    page.locator("div[data-table=due]").get_by_role("link", name="Start observation").click()
    chosen = world.practitioner.pk
    expect(page).to_have_url(re.compile(rf"/observations/new/\?practitioner={chosen}$"))
    expect(page.get_by_role("combobox", name="Practitioner")).to_have_value(str(chosen))


def check_practitioner(page, world, history):  # noqa: F811
    """Each submitted observation is a point, oldest on the left; the bands are lines."""
    own = Observation.objects.submitted().filter(practitioner=world.practitioner)
    own = own.order_by("observed_on", "pk")
    expected = [[f"{seen.observed_on:%Y-%m-%d}", format_number(seen.overall_score)] for seen in own]
    overall = next(metric for metric in history.version.metrics.all() if metric.is_overall)
    sign_in(page, world.practitioner, "/dashboards/practitioner/")
    expect(page.get_by_role("heading", name="Where I stand")).to_be_visible()
    screenshot(page, "dashboard-practitioner")

    chart = page.locator(f"figure[data-chart='trend-{history.version.rubric_id}']")
    markers = chart.locator("circle[data-value]")
    assert len(expected) == 3  # the draft is not one
    assert points(markers) == expected
    xs = [float(x) for (x,) in attributes(markers, "cx")]
    assert xs == sorted(set(xs))  # left to right, oldest first
    thresholds = dict(
        attributes(chart.locator("line[data-threshold]"), "data-threshold", "data-value")
    )
    assert thresholds == {t["band"]: format_number(t["minimum"]) for t in overall.thresholds}

"""A month still running is drawn and judged apart on the leader dashboard: three days of
December at 70 against a November at 81 is no collapse. Today is 3 December 2026, noon in
New York, where Riverbend works."""

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse

from certification.models import Program
from tests.dashboards.conftest import observe
from tests.factories import make_assignment, make_person

D = dt.date
LEADER = reverse("dashboards:leader")
NOVEMBER_ON = {"start": "2026-11-01", "end": "2026-12-03"}


@pytest.fixture
def december(world, time_machine):
    """Pat, observed by Cora: 80 and 82 in November, then 8 observations at 70 in the
    first three days of December. Olga coaches Quinn and observed nobody."""
    time_machine.move_to(dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC), tick=False)
    observe(world.coach, world.practitioner, D(2026, 11, 5), 80, "adequate")
    observe(world.coach, world.practitioner, D(2026, 11, 20), 82, "adequate")
    for n in range(8):
        observe(world.coach, world.practitioner, D(2026, 12, 1 + n % 3), 70, "borderline")
    world.olga = make_person(world.home, "coach", team=world.team_a, first_name="Olga")
    quinn = make_person(world.home, "practitioner", team=world.team_a, first_name="Quinn")
    make_assignment(world.olga, quinn)
    return world


def table(client, key, **query):
    response = client.get(LEADER, {**query, "export": key})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def cells_of(page, key, name):
    """The class and text of each cell in one row of a table on the page."""
    section = page.split(f'data-table="{key}"', 1)[1].split("</table>", 1)[0]
    row = next(r for r in section.split("<tr>") if f">{name}<" in r)
    return re.findall(r'<td class="([^"]*)">([^<]*)</td>', row)


def test_the_trend_labels_december_so_far_and_november_whole(december, login):
    rows = table(login(december.leader), "trend", **NOVEMBER_ON)
    assert rows[0] == ["Team", "Nov 2026", "Dec 2026 (so far)", "Observations"]
    assert rows[-1] == ["Everyone", "81.0", "70.0", "10"]


def test_the_chart_draws_december_apart_from_the_months_before(december, login):
    page = login(december.leader).get(LEADER, NOVEMBER_ON).content.decode()
    chart = page.split('data-chart="trend"', 1)[1].split("</svg>", 1)[0]
    december_point = re.search(r'<circle [^>]*data-label="Dec 2026"[^>]*>', chart).group()
    november_point = re.search(r'<circle [^>]*data-label="Nov 2026"[^>]*>', chart).group()
    assert 'data-partial="true"' in december_point
    assert 'fill="#fff"' in december_point
    assert "data-partial" not in november_point
    assert 'data-partial="Dec 2026"' in chart  # its grey column and its "so far"
    assert ">so far</text>" in chart
    assert "Dec 2026 is only partly counted" in page


def test_coach_activity_never_shades_the_month_still_running(december, login):
    """Olga's caseload of one expects about one observation a month; she made none. Her
    November is short; her December, three days old, is not judged."""
    page = login(december.leader).get(LEADER, NOVEMBER_ON).content.decode()
    november, december_cell = cells_of(page, "coaches", december.olga.full_name)[2:4]
    assert november == ("text-end table-warning", "0")
    assert december_cell == ("text-end text-body-secondary fst-italic", "0")
    assert "Dec 2026 (so far)" in table(login(december.leader), "coaches", **NOVEMBER_ON)[0]


def test_sessions_due_count_only_the_days_of_december_so_far(december, login):
    """November and 3 of December's 31 days (today counts: a session today is held)."""
    every = Program.objects.get(code="practitioner").session_every(False)
    due = (1 + 3 / 31) * (365.25 / 12) / every
    rows = table(login(december.leader), "sessions", **NOVEMBER_ON)
    olga = next(row for row in rows if row[0] == december.olga.full_name)
    assert olga[3] == str(round(due, 1))
    assert olga[3] != str(round(2 * (365.25 / 12) / every, 1))  # not two whole months


def test_the_current_month_is_the_organizations_own(world, login, time_machine):
    """At 03:00 UTC on 1 December it is still 30 November in New York: November runs."""
    time_machine.move_to(dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC), tick=False)
    assert world.home.time_zone == "America/New_York"
    observe(world.coach, world.practitioner, D(2026, 11, 30), 75, "adequate")
    heading = table(login(world.leader), "trend")[0]
    assert heading[-3:] == ["Oct 2026", "Nov 2026 (so far)", "Observations"]

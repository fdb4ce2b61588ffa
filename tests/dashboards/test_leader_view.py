"""The leader dashboard's numbers, filters and downloads."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from certification import models as certification
from certification import roster
from certification.models import Program
from coaching.models import ItemMonth
from miiwrap.people.models import Person
from tests.dashboards.conftest import observe
from tests.factories import make_period, make_person, rubric_version

D = dt.date
LEADER = reverse("dashboards:leader")


@pytest.fixture
def scored(world, frozen):
    """North: Pat 80 and 90 in May, 70 in June. South: Uma 60 in May. Cora (a coach)
    observed them all; an Elsewhere observation must never show at home."""
    observe(world.coach, world.practitioner, D(2026, 5, 4), 80, "adequate")
    observe(world.coach, world.practitioner, D(2026, 5, 20), 90, "high")
    observe(world.coach, world.practitioner, D(2026, 6, 10), 70, "borderline")
    observe(world.coach, world.unassigned, D(2026, 5, 12), 60, "low")
    observe(world.outsider, world.away_practitioner, D(2026, 6, 1), 10, "low")
    return world


def table(response, key):
    """The rows of one table as text, read back from its CSV download."""
    download = response.client.get(LEADER, {**response.wsgi_request.GET.dict(), "export": key})
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_trend_is_each_teams_monthly_mean_and_everyones(scored, login):
    response = login(scored.leader).get(LEADER)
    rows = {row[0]: row for row in table(response, "trend")}
    heading = table(response, "trend")[0]
    # 30 June, its last day, is today: June is not over, so it is marked partial.
    may, june = heading.index("May 2026"), heading.index("Jun 2026 (so far)")
    assert (rows["North"][may], rows["North"][june]) == ("85.0", "70.0")
    assert (rows["South"][may], rows["South"][june]) == ("60.0", "")
    assert rows["Everyone"][may] == "76.67"  # (80 + 90 + 60) / 3, not the mean of means
    assert rows["Everyone"][-1] == "4"
    assert "Elsewhere" not in str(rows)


def test_the_chart_draws_the_thresholds_and_the_points(scored, login):
    page = login(scored.leader).get(LEADER).content.decode()
    assert 'data-threshold="high" data-value="85"' in page
    assert 'data-series="North" data-label="May 2026" data-value="85"' in page


def test_bands_count_each_practitioners_latest_observation(scored, login):
    response = login(scored.leader).get(LEADER)
    rows = {row[0]: row[1] for row in table(response, "bands")[1:]}
    # Pat's latest is borderline (June); Uma's low. Cora is not a practitioner's latest.
    assert rows == {"high": "0", "adequate": "0", "borderline": "1", "low": "1"}


def test_a_team_filter_narrows_every_section(scored, login):
    response = login(scored.leader).get(LEADER, {"team": scored.team_b.pk})
    assert [row[0] for row in table(response, "trend")[1:]] == ["South", "Everyone"]
    assert [row[0] for row in table(response, "overdue")[1:]] == [scored.unassigned.full_name]
    assert [row[0] for row in table(response, "bands")[1:]] == [
        "high",
        "adequate",
        "borderline",
        "low",
    ]
    assert table(response, "bands")[4][1] == "1"


def test_the_date_range_chooses_the_months(scored, login):
    response = login(scored.leader).get(LEADER, {"start": "2026-06-01", "end": "2026-06-30"})
    rows = table(response, "trend")
    assert rows[0] == ["Team", "Jun 2026 (so far)", "Observations"]
    assert {row[0]: row[1] for row in rows[1:]} == {"North": "70.0", "Everyone": "70.0"}


def test_the_pipeline_agrees_with_the_roster(scored, login):
    make_period(scored.practitioner, scored.purveyor_admin, valid_from=D(2024, 8, 1))
    make_period(scored.coach, scored.purveyor_admin, valid_from=D(2025, 9, 1))
    response = login(scored.leader).get(LEADER)
    rows = table(response, "pipeline")
    program = Program.objects.with_rules().get(code="practitioner")
    people = certification.on_roster(Person.objects.filter(organization=scored.home), program)
    expected = [str(n) for _, _, n in roster.counts(roster.standings(people, program))]
    practitioner_row = next(row for row in rows if row[0] == program.name)
    assert len(rows[0]) == len(expected) + 2
    assert practitioner_row[1:-1] == expected
    assert practitioner_row[-1] == str(sum(int(n) for n in expected))


def test_expirations_count_by_30_60_and_90_days(scored, login):
    # Valid from 2024-08-01: expires 2026-07-31, 31 days after 2026-06-30.
    make_period(scored.practitioner, scored.purveyor_admin, valid_from=D(2024, 8, 1))
    response = login(scored.leader).get(
        LEADER, {"program": Program.objects.get(code="practitioner").pk}
    )
    assert table(response, "expirations")[1][1:] == ["0", "1", "1"]
    expiring = table(response, "expiring")
    assert expiring[1][0] == scored.practitioner.full_name
    assert expiring[1][4:] == ["2026-07-31", "31"]


def test_overdue_lists_who_waited_longest_first(scored, login):
    """The cadence is 30 days: Uma (last 12 May) is overdue; Pat (10 June) is not;
    the never observed wait from hire: Cora since 2020, a newcomer since 1 May."""
    newcomer = make_person(scored.home, "practitioner", hire_date=D(2026, 5, 1))
    response = login(scored.leader).get(LEADER)
    rows = table(response, "overdue")[1:]
    assert [row[0] for row in rows] == [
        scored.coach.full_name,
        newcomer.full_name,
        scored.unassigned.full_name,
    ]
    assert rows[1][2:5] == ["", "2026-05-31", "30"]
    assert rows[2][2:5] == ["2026-05-12", "2026-06-11", "19"]


def test_coach_activity_counts_each_month_against_the_cadence(scored, login):
    response = login(scored.leader).get(LEADER)
    rows = {row[0]: row for row in table(response, "coaches")}
    heading = rows["Coach"]
    cora = rows[scored.coach.full_name]
    assert cora[1:3] == ["1", "1.0"]  # one practitioner every 30 days
    assert cora[heading.index("May 2026")] == "3"
    assert cora[heading.index("Jun 2026 (so far)")] == "1"
    assert cora[-1] == "4"


def test_the_heat_map_puts_the_weakest_item_first(scored, login):
    version = rubric_version()
    rated = [item for item in version.items.all() if item.kind == "rating"][:2]
    ItemMonth.objects.create(
        organization=scored.home,
        team_id=scored.team_a.pk,
        rubric=version.rubric,
        month=D(2026, 4, 1),
        sums={item.code: [total, 1] for item, total in zip(rated, (4.0, 1.0), strict=True)},
    )
    response = login(scored.leader).get(LEADER)
    rows = table(response, "items")
    # An item a row, so a long rubric grows down the page: Everyone first, then each team.
    assert rows[0] == ["Item", "Everyone", "North"]
    assert [row[0] for row in rows[1:]] == [rated[1].label, rated[0].label]
    low, high = rated[0].scale_min, rated[0].scale_max
    assert rows[2][2] == str(round(100 * (4.0 - low) / (high - low), 1))


def test_the_purveyor_compares_every_organization(scored, login):
    response = login(scored.purveyor_admin).get(LEADER, {"organization": "all"})
    rows = {row[0] for row in table(response, "trend")[1:]}
    assert rows == {"Riverbend Family Services", "Elsewhere County", "Everyone"}
    one = login(scored.purveyor_admin).get(LEADER, {"organization": scored.away.pk})
    assert {row[0] for row in table(one, "trend")[1:]} == {"East", "Everyone"}


def test_a_start_after_the_end_is_a_form_error_that_keeps_what_was_typed(scored, login):
    response = login(scored.leader).get(LEADER, {"start": "2026-07-01", "end": "2026-06-01"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The start must be on or before the end." in page
    assert 'value="2026-07-01"' in page


@pytest.mark.parametrize(
    "params",
    [{"start": "yesterday"}, {"rubric": "999999"}, {"program": "x"}, {"start": "2020-01-01"}],
)
def test_bad_filters_get_400_not_500(scored, login, params):
    response = login(scored.leader).get(LEADER, params)
    assert response.status_code == 400


def test_an_unknown_table_gets_404(scored, login):
    assert login(scored.leader).get(LEADER, {"export": "salaries"}).status_code == 404


def test_a_download_is_safe_to_open_in_a_spreadsheet(scored, login):
    Person.objects.filter(pk=scored.unassigned.pk).update(first_name="=HYPERLINK(1)")
    response = login(scored.leader).get(LEADER)
    names = [row[0] for row in table(response, "overdue")[1:]]
    assert any(name.startswith("'=HYPERLINK") for name in names)
    assert not any(name.startswith("=") for name in names)


def test_names_in_tables_are_escaped(scored, login):
    Person.objects.filter(pk=scored.unassigned.pk).update(first_name="<b>Uma</b>")
    page = login(scored.leader).get(LEADER).content.decode()
    assert "&lt;b&gt;Uma&lt;/b&gt;" in page
    assert "<b>Uma</b>" not in page


def test_the_filters_show_what_was_chosen(scored, login):
    page = login(scored.leader).get(LEADER, {"team": scored.team_b.pk}).content.decode()
    assert f'<option value="{scored.team_b.pk}" selected>South</option>' in page
    assert f'<option value="{scored.team_a.pk}">North</option>' in page
    assert '<input type="date" name="start"' in page

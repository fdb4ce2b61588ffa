"""Internal capacity read from the database: a small hand-counted world, the leader
dashboard's section and the purveyor's comparison for every persona, and their queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from certification.models import Program
from miiwrap.dashboards import capacity
from tests.dashboards.conftest import TODAY
from tests.dashboards.test_query_counts import LEADER_QUERIES
from tests.factories import make_observation, make_period, make_person, move_team

pytestmark = pytest.mark.usefixtures("shipped_programs")

D = dt.date
CERTIFIED_ON = D(2025, 1, 2)


@pytest.fixture
def counted(world, frozen):
    """Riverbend, hand-counted. Front-line practitioners: Pat and Max (North), Uma (South),
    and Nia, hired 2026-05-01. Certified coaches: Cora (North) and Cody (South), who left
    2026-03-15. Max moved from North to South on 2026-05-01. The practitioner program
    wants a first certification within 45 days of hire. Pat was certified on 2026-05-01
    on three observations: two by Cora, one by the purveyor's trainer Tess."""
    Program.objects.filter(code="practitioner").update(deadline_days_after_hire=45)
    home = world.home
    cody = make_person(home, "coach", "practitioner", team=world.team_b, first_name="Cody")
    cody.leave_date = D(2026, 3, 15)
    cody.save()
    for coach in (world.coach, cody):
        make_period(coach, world.purveyor_admin, "coach", valid_from=CERTIFIED_ON)
    world.max = make_person(home, "practitioner", team=world.team_a, first_name="Max")
    move_team(world.max, world.team_b, D(2026, 5, 1))
    world.nia = make_person(
        home, "practitioner", team=world.team_a, first_name="Nia", hire_date=D(2026, 5, 1)
    )
    tess = make_person(world.purveyor, "purveyor_admin", "coach", first_name="Tess")
    observers = [world.coach, world.coach, tess]
    observed = [
        make_observation(observer, world.practitioner, observed_on=D(2026, 4, n + 1))
        for n, observer in enumerate(observers)
    ]
    make_period(
        world.practitioner,
        world.coach,
        valid_from=D(2026, 5, 1),
        evidence=[{"id": o.pk, "observer": str(o.coach)} for o in observed],
    )
    return world


def figures(world, team=None):
    return capacity.read([world.home], TODAY, team)[world.home.pk]


def ratio_at(found, day):
    return next(p for p in found.trend if p.day == day)


def test_a_coach_leaving_mid_year_halves_the_ratio_from_that_month(counted):
    found = figures(counted)
    feb, march = ratio_at(found, D(2026, 2, 28)), ratio_at(found, D(2026, 3, 31))
    # Nia is not hired yet in February or March: three front-line practitioners.
    assert (feb.coaches, feb.practitioners, feb.per_practitioner) == (2, 3, Decimal("0.67"))
    assert (march.coaches, march.per_practitioner) == (1, Decimal("0.33"))
    assert (found.now.coaches, found.now.practitioners) == (1, 4)
    assert found.now.per_practitioner == Decimal("0.25")


def test_the_leaving_coach_counts_in_coach_turnover(counted):
    found = figures(counted)
    # Today is a month end: two coaches at the eight Jul-Feb, one at the four from March.
    assert found.coach_turnover.leavers == 1
    assert found.coach_turnover.mean_headcount == Decimal("1.67")  # 20 / 12
    assert found.coach_turnover.percent == Decimal("60")
    assert found.practitioner_turnover.leavers == 0


def test_a_practitioner_moving_team_is_counted_on_the_team_they_were_on(counted):
    north, south = figures(counted, counted.team_a), figures(counted, counted.team_b)
    april, may = D(2026, 4, 30), D(2026, 5, 31)
    assert (ratio_at(north, april).practitioners, ratio_at(north, may).practitioners) == (2, 2)
    assert (ratio_at(south, april).practitioners, ratio_at(south, may).practitioners) == (1, 2)
    # North in May: Pat, and Nia (hired on the first) in place of Max.
    assert ratio_at(north, D(2026, 3, 31)).practitioners == 2


def test_a_new_hire_past_45_days_is_at_risk_by_name(counted):
    (hire,) = figures(counted).new_hires
    assert hire.person.name == counted.nia.full_name
    assert (hire.days_since_hire, hire.days_left, hire.status) == (60, -15, "Past deadline")


def test_evidence_share_counts_the_purveyors_observer_apart(counted):
    share = figures(counted).evidence
    assert (share.own, share.purveyor, share.other) == (2, 1, 0)
    assert (share.percent("own"), share.percent("purveyor")) == (Decimal("67"), Decimal("33"))


def test_one_coach_only_counts_practitioners_assigned_a_single_coach(counted):
    found = figures(counted).dependence
    # Pat has Cora; Uma, Max and Nia have nobody.
    assert (found.practitioners, found.one_coach, found.no_coach) == (4, 1, 3)


def test_an_organization_with_nobody_has_empty_figures(world, frozen):
    found = figures(world)  # no certified coach, no evidence
    assert found.now.coaches == 0 and found.evidence.percent("own") is None


# The leader dashboard's section


def test_the_leader_reads_capacity_on_their_dashboard(counted, login):
    content = login(counted.leader).get(reverse("dashboards:leader")).content.decode()
    assert "Internal capacity" in content
    assert counted.nia.full_name in content and "Past deadline" in content
    assert 'data-chart="capacity"' in content


def test_an_outsiders_dashboard_shows_none_of_anothers_capacity(counted, login):
    content = login(counted.outsider).get(reverse("dashboards:leader")).content.decode()
    assert "Internal capacity" in content
    assert counted.nia.full_name not in content


# The purveyor's comparison


URL = reverse("dashboards:capacity")


def test_the_purveyor_compares_every_client_organization(counted, login):
    response = login(counted.purveyor_admin).get(URL)
    assert response.status_code == 200
    names = [row[0].value for row in response.context["capacity"].rows]
    assert names == ["Elsewhere County", "Riverbend Family Services"]
    riverbend = response.context["capacity"].rows[1]
    assert [c.value for c in riverbend[1:5]] == [4, 1, 0, Decimal("2.5")]
    assert counted.nia.full_name in response.content.decode()


@pytest.mark.parametrize("persona", ["leader", "org_admin", "coach", "practitioner", "outsider"])
def test_everyone_but_the_purveyor_gets_404(counted, login, persona):
    assert login(getattr(counted, persona)).get(URL).status_code == 404


def test_signed_out_the_comparison_asks_to_sign_in(client):
    assert client.get(URL).status_code == 302


def test_the_comparison_downloads_as_csv(counted, login):
    response = login(counted.purveyor_admin).get(URL + "?export=capacity")
    assert response.status_code == 200
    assert b"Riverbend Family Services" in b"".join(response.streaming_content)


def test_a_table_the_page_has_not_is_404(counted, login):
    assert login(counted.purveyor_admin).get(URL + "?export=nope").status_code == 404


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def grow_capacity(world, n):
    """`n` more practitioners, each certified on evidence by Cora."""
    for _ in range(n):
        person = make_person(world.home, "practitioner", team=world.team_a)
        seen = make_observation(world.coach, person, observed_on=D(2026, 4, 1))
        make_period(person, world.coach, valid_from=D(2026, 5, 1), evidence=[{"id": seen.pk}])


# Sign-in (3), the notifications in the navigation (1), the organizations (1), the
# capacity reads (7: see miiwrap.dashboards.capacity.read), and the names' links (1).
COMPARISON_QUERIES = 13


@pytest.mark.parametrize("more", [1, 6])
def test_the_comparisons_queries_do_not_grow_with_its_rows(counted, login, more):
    grow_capacity(counted, more)
    assert queries(login(counted.purveyor_admin), URL) == COMPARISON_QUERIES


@pytest.mark.parametrize("more", [1, 6])
def test_capacity_reads_seven_queries_whatever_the_rows(counted, more):
    grow_capacity(counted, more)
    with CaptureQueriesContext(connection) as captured:
        capacity.read([counted.home, counted.away], TODAY)
    assert len(captured) == 7


def test_an_organization_admin_reads_capacity_on_the_dashboard(counted, login):
    content = login(counted.org_admin).get(reverse("dashboards:leader")).content.decode()
    assert "Internal capacity" in content and counted.nia.full_name in content


def test_the_purveyors_dashboard_of_all_organizations_compares_them_without_a_trend(counted):
    found = capacity.section([counted.away, counted.home], TODAY)
    assert [row[0].value for row in found["capacity"].rows] == [
        "Elsewhere County",
        "Riverbend Family Services",
    ]
    assert found["capacity_trend"] is None
    assert found["new_hires"].headings[1] == "Organization"


def test_one_organizations_section_has_its_month_ends_in_a_table(counted):
    found = capacity.section([counted.home], TODAY)
    rows = found["capacity_trend"].rows
    assert len(rows) == 12
    assert [c.value for c in rows[7]] == ["Feb 2026", 3, 2, 0, Decimal("6.7")]
    assert rows[-1][0].value == "Jun 2026"  # today is its last day: a whole month


def test_a_team_chosen_on_the_dashboard_narrows_capacity_to_it(counted, login):
    url = reverse("dashboards:leader") + f"?team={counted.team_b.pk}"
    response = login(counted.leader).get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Internal capacity" in content
    assert counted.nia.full_name not in content  # Nia is on North


@pytest.mark.parametrize("more", [1, 6])
def test_a_team_dashboards_queries_do_not_grow_with_capacity_rows(counted, login, more):
    grow_capacity(counted, more)
    url = reverse("dashboards:leader") + f"?team={counted.team_a.pk}"
    client = login(counted.leader)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    assert len(captured) == TEAM_DASHBOARD_QUERIES


# The leader's (tests/dashboards/test_query_counts.py), the observers of the evidence kept
# here (1), the team's memberships (1), and the chosen team the filter form reads (1).
TEAM_DASHBOARD_QUERIES = LEADER_QUERIES + 3


def test_evidence_ignores_calibration_entries(counted):
    seen = make_observation(counted.coach, counted.unassigned, observed_on=D(2026, 4, 20))
    make_period(
        counted.unassigned,
        counted.coach,
        valid_from=D(2026, 5, 2),
        evidence=[{"id": seen.pk}, {"calibration_attempt": 5, "case": "A"}],
    )
    share = figures(counted).evidence
    assert (share.own, share.purveyor, share.other) == (3, 1, 0)


def test_evidence_decided_before_the_twelve_months_is_not_counted(counted):
    seen = make_observation(counted.coach, counted.unassigned, observed_on=D(2025, 6, 1))
    make_period(
        counted.unassigned, counted.coach, valid_from=D(2025, 6, 30), evidence=[{"id": seen.pk}]
    )
    assert figures(counted).evidence.total == 3


def test_the_leader_downloads_the_capacity_table(counted, login):
    url = reverse("dashboards:leader") + "?export=capacity"
    response = login(counted.leader).get(url)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "Riverbend Family Services" in text and "Elsewhere County" not in text


def test_the_leader_downloads_the_new_hires_by_name(counted, login):
    response = login(counted.leader).get(reverse("dashboards:leader") + "?export=new_hires")
    assert counted.nia.full_name in b"".join(response.streaming_content).decode()


def test_after_a_write_to_one_organization_the_comparison_reads_only_its_parts_again(
    counted, login, monkeypatch
):
    """Comparing organizations, capacity and readiness are kept one organization apiece:
    a write to one reads that one's figures again, and the sections equal ones read
    afresh."""
    from miiwrap import generations
    from miiwrap.dashboards import leader

    read = []
    for module, name in ((capacity, "read"), (leader.readiness, "for_leader_dashboard")):
        real = getattr(module, name)

        def spy(organizations, *args, _real=real, _name=name, **kwargs):
            read.append((_name, sorted(org.pk for org in organizations)))
            return _real(organizations, *args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    client = login(counted.purveyor_admin)
    url = reverse("dashboards:leader") + "?organization=all"
    assert client.get(url).status_code == 200
    assert [name for name, _ in read] == ["read", "for_leader_dashboard"]  # all in one pass
    read.clear()
    generations.touched(counted.away)
    kept = client.get(url).context
    assert read == [("read", [counted.away.pk]), ("for_leader_dashboard", [counted.away.pk])]
    with generations.uncached():
        fresh = client.get(url).context
    for name in ("capacity", "new_hires", "readiness"):
        assert kept[name] == fresh[name], name

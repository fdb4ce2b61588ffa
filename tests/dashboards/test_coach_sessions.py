"""The leader's coaching sessions table: sessions each coach held in the range against
those due at the program's pace (certified or not), and their plans' goals met."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching.models import Goal
from observations.models import Rubric
from tests.factories import make_assignment, make_org, make_period, make_person, make_session

D = dt.date
LEADER = reverse("dashboards:leader")
APRIL_TO_JUNE = {"start": "2026-04-01", "end": "2026-06-30"}
HEADING = ["Coach", "Caseload", "Certified", "Sessions due", "Sessions held", "Goals met"]


def goal(plan, status="active", reason=""):
    return Goal.objects.create(
        plan=plan,
        rubric=Rubric.objects.first(),
        description="Reflections",
        target=50,
        started_on=plan.started_on,
        status=status,
        status_reason=reason,
    )


@pytest.fixture
def coached(world, frozen):
    """Cora coaches Pat (certified: a session every 90 days) and Quinn (not: every 30).
    She held sessions on 31 March (before the range), 15 April, 10 May and 30 June; Olga,
    who has no caseload, held one with Quinn on 1 June and so joins Quinn's plan. Pat's
    plan: one goal met, one active; Quinn's: one met, one dropped."""
    quinn = make_person(world.home, "practitioner", team=world.team_a, first_name="Quinn")
    make_assignment(world.coach, quinn)
    olga = make_person(world.home, "coach", team=world.team_a, first_name="Olga")
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 9, 1))
    pat_plan = make_session(world.practitioner, world.coach, D(2026, 3, 31)).plan
    make_session(world.practitioner, world.coach, D(2026, 4, 15))
    quinn_plan = make_session(quinn, world.coach, D(2026, 5, 10)).plan
    make_session(quinn, world.coach, D(2026, 6, 30))
    make_session(quinn, olga, D(2026, 6, 1))
    goal(pat_plan, "met"), goal(pat_plan)
    goal(quinn_plan, "met"), goal(quinn_plan, "dropped", "Not the priority now.")
    world.quinn, world.olga = quinn, olga
    return world


def table(client, key="sessions", **query):
    response = client.get(LEADER, {**query, "export": key})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_sessions_held_in_the_range_against_those_due(coached, login):
    """Three months (April to June) of one certified practitioner (30.4375 / 90 a month)
    and one not (30.4375 / 30): 3 x (0.3382 + 1.0146) = 4.06 due; 3 held in the range."""
    rows = table(login(coached.leader), **APRIL_TO_JUNE)
    assert rows[0] == HEADING
    found = {row[0]: row[1:] for row in rows[1:]}
    assert found[coached.coach.full_name] == ["2", "1", "4.1", "3", "2 of 4"]
    assert found[coached.olga.full_name] == ["0", "0", "0.0", "1", "1 of 2"]


def test_one_month_counts_one_month_of_sessions_due(coached, login):
    """May alone: 1.35 due, one held (10 May)."""
    rows = table(login(coached.leader), start="2026-05-01", end="2026-05-31")
    cora = next(row for row in rows if row[0] == coached.coach.full_name)
    assert cora[3:5] == ["1.4", "1"]


def test_once_certified_a_practitioner_owes_fewer_sessions(coached, login):
    """Quinn certified too: 3 x 2 x 0.3382 = 2.03 due, and the 3 held meet it."""
    make_period(coached.quinn, coached.purveyor_admin, valid_from=D(2025, 9, 1))
    client = login(coached.leader)
    cora = next(r for r in table(client, **APRIL_TO_JUNE) if r[0] == coached.coach.full_name)
    assert cora[1:5] == ["2", "2", "2.0", "3"]
    page = client.get(LEADER, APRIL_TO_JUNE).content.decode()
    assert "Coaching sessions" in page


def test_the_program_s_pace_is_read(coached, login):
    from certification.models import Program

    Program.objects.filter(code="practitioner").update(session_every_days_certified=30)
    cora = next(
        r for r in table(login(coached.leader), **APRIL_TO_JUNE) if r[0] == coached.coach.full_name
    )
    assert cora[3] == "6.1"  # 3 months x 2 practitioners x 30.4375 / 30


def test_months_before_the_program_expected_sessions_owe_none(coached, login):
    """Sessions expected from 20 May: May and June owe them, April not:
    2 x (0.3382 + 1.0146) = 2.71 due; the 3 sessions held still count."""
    from certification.models import Program

    Program.objects.filter(code="practitioner").update(sessions_expected_from=D(2026, 5, 20))
    cora = next(
        r for r in table(login(coached.leader), **APRIL_TO_JUNE) if r[0] == coached.coach.full_name
    )
    assert cora[3:5] == ["2.7", "3"]


def test_a_short_count_is_shaded(coached, login):
    page = login(coached.leader).get(LEADER, APRIL_TO_JUNE).content.decode()
    section = page[page.index('id="sessions-heading"') :]
    assert '<td class="text-end table-warning">3</td>' in section


def test_a_team_filter_keeps_its_coaches(coached, login):
    rows = table(login(coached.leader), team=coached.team_b.pk, **APRIL_TO_JUNE)
    assert [row[0] for row in rows[1:]] == []


def test_the_purveyor_sees_each_organization_s_coaches_summed(coached, login):
    make_org("Empty County")
    rows = table(login(coached.purveyor_admin), organization="all", **APRIL_TO_JUNE)
    found = {row[0]: row[1:] for row in rows[1:]}
    assert found[coached.home.name] == ["2", "1", "4.1", "4", "3 of 6"]
    assert found[coached.away.name][:2] == ["1", "0"]
    assert found["Empty County"] == ["0", "0", "0.0", "0", "0 of 0"]  # listed, no coaches


def test_the_table_costs_the_same_queries_for_more_coaches(coached, login):
    def count():
        client = login(coached.leader)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LEADER, APRIL_TO_JUNE).status_code == 200
        return len(captured)

    before = count()
    for n in range(8):
        coach = make_person(coached.home, "coach", team=coached.team_a)
        person = make_person(coached.home, "practitioner", team=coached.team_a)
        make_assignment(coach, person)
        goal(make_session(person, coach, D(2026, 5, n + 1)).plan, "met")
    assert count() == before


@pytest.mark.parametrize("persona", ["leader", "org_admin", "purveyor_admin"])
def test_leaders_and_admins_read_the_home_coaches_sessions(coached, login, persona):
    query = {**APRIL_TO_JUNE, "organization": coached.home.pk}
    if persona != "purveyor_admin":
        query.pop("organization")
    rows = table(login(getattr(coached, persona)), **query)
    assert {coached.coach.full_name, coached.olga.full_name} <= {row[0] for row in rows}


def test_the_outsider_reads_only_their_own_coaches(coached, login):
    names = {row[0] for row in table(login(coached.outsider), **APRIL_TO_JUNE)[1:]}
    assert names == {coached.outsider.full_name}


@pytest.mark.parametrize("persona", ["coach", "practitioner", "unassigned"])
def test_coaches_and_practitioners_get_404_for_the_table(coached, login, persona):
    response = login(getattr(coached, persona)).get(LEADER, {"export": "sessions"})
    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in(coached, client):
    response = client.get(LEADER, {"export": "sessions"})
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_leader_reading_a_coach_s_dashboard_sees_the_sessions_due(coached, login):
    """Quinn, not certified, last coached 30 June: not due. Pat, certified, coached 15
    April: due 14 July, within the 14 days."""
    url = reverse("dashboards:coach", args=[coached.coach.pk])
    response = login(coached.leader).get(url, {"export": "due"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    sessions = [row[:5] for row in rows if row[1] == "Session due"]
    assert sessions == [
        [
            coached.practitioner.full_name,
            "Session due",
            "2026-04-15",
            "2026-07-14",
            "Due in 14 days",
        ]
    ]
    assert login(coached.outsider).get(url).status_code == 404

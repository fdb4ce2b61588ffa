"""The coach dashboard: the caseload at a glance, and whom to observe next."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from coaching.models import CoachingPlan, CoachingSession, Momentum
from tests.dashboards.conftest import grow, observe
from tests.factories import make_assignment, make_period, make_person, make_session

D = dt.date
COACH = reverse("dashboards:coach")


def rows(client, key, url=COACH):
    response = client.get(url, {"export": key})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def caseload(world, frozen):
    """Pat (observed 10 June, 90, certified) and two more: Quinn observed 20 May,
    Rae never (hired 2026-06-20)."""
    quinn = make_person(world.home, "practitioner", team=world.team_a, first_name="Quinn")
    rae = make_person(world.home, "practitioner", hire_date=D(2026, 6, 20), first_name="Rae")
    for person in (quinn, rae):
        make_assignment(world.coach, person)
    observe(world.coach, world.practitioner, D(2026, 6, 10), 90, "high")
    observe(world.coach, quinn, D(2026, 5, 20), 72, "borderline")
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 9, 1))
    Momentum.objects.create(
        person=world.practitioner,
        rubric=world.practitioner.observations.first().rubric_version.rubric,
        direction="slipping",
        slope=-1.5,
        last_observed_on=D(2026, 6, 10),
        computed_on=D(2026, 6, 30),
    )
    return world, quinn, rae


def test_the_caseload_shows_each_practitioners_latest_and_certification(caseload, login):
    world, quinn, rae = caseload
    found = {row[0]: row for row in rows(login(world.coach), "caseload")}
    assert found[world.practitioner.full_name][2:9] == [
        "2026-06-10",
        "90.0",
        "high",
        "Slipping",
        "Certified",
        "Expires 2027-08-31",
        "0",
    ]
    assert found[quinn.full_name][2:4] == ["2026-05-20", "72.0"]
    assert found[rae.full_name][2] == ""
    assert world.unassigned.full_name not in found


def test_whom_to_observe_next_is_sorted_by_urgency(caseload, login):
    """Quinn was due 19 June (overdue); Pat is due 10 July (in 10 days); Rae, never
    observed, 20 July: beyond the 14 days shown."""
    world, quinn, _ = caseload
    found = [row for row in rows(login(world.coach), "due")[1:] if row[1] == "Observation due"]
    assert [row[0] for row in found] == [quinn.full_name, world.practitioner.full_name]
    assert found[0][2:5] == ["2026-05-20", "2026-06-19", "Overdue by 11 days"]
    assert found[1][2:5] == ["2026-06-10", "2026-07-10", "Due in 10 days"]


def test_sessions_due_are_listed_with_observations_most_urgent_first(caseload, login):
    """Pat, certified (every 90 days), last coached 10 April: due 9 July. Quinn, not
    certified (every 30), coached 5 June: due 5 July. Rae, never coached, hired 20 June:
    due 20 July, beyond the 14 days shown."""
    world, quinn, _ = caseload
    make_session(world.practitioner, world.coach, D(2026, 4, 10))
    make_session(quinn, world.coach, D(2026, 6, 5))
    found = rows(login(world.coach), "due")
    assert found[0] == ["Practitioner", "Due for", "Last one", "Due on", "Urgency", "Next step"]
    assert [row[:5] for row in found[1:]] == [
        [quinn.full_name, "Observation due", "2026-05-20", "2026-06-19", "Overdue by 11 days"],
        [quinn.full_name, "Session due", "2026-06-05", "2026-07-05", "Due in 5 days"],
        [world.practitioner.full_name, "Session due", "2026-04-10", "2026-07-09", "Due in 9 days"],
        [
            world.practitioner.full_name,
            "Observation due",
            "2026-06-10",
            "2026-07-10",
            "Due in 10 days",
        ],
    ]


def test_a_session_due_today_or_overdue_is_marked(caseload, login):
    """Quinn coached 31 May: due 30 June, today. Rae, never coached, is counted from her
    hire on 20 June, not from an assignment dated before it: not listed."""
    world, quinn, rae = caseload
    make_session(quinn, world.coach, D(2026, 5, 31))
    make_session(world.practitioner, world.coach, D(2026, 3, 31))  # due 29 June
    sessions = {row[0]: row for row in rows(login(world.coach), "due") if row[1] == "Session due"}
    assert sessions[quinn.full_name][3:5] == ["2026-06-30", "Due today"]
    assert sessions[world.practitioner.full_name][3:5] == ["2026-06-29", "Overdue by 1 days"]
    assert rae.full_name not in sessions


def test_a_session_due_is_logged_under_the_active_plan_or_on_its_own(caseload, login):
    world, quinn, _ = caseload
    plan = make_session(quinn, world.coach, D(2026, 5, 1)).plan
    closed = make_session(world.practitioner, world.coach, D(2026, 1, 5)).plan
    CoachingPlan.objects.filter(pk=closed.pk).update(status="closed", closed_reason="Done.")
    client = login(world.coach)
    page = client.get(COACH).content.decode()
    under_plan = reverse("coaching:session_with", args=[quinn.pk])
    assert f'href="{under_plan}"' in page and "Log session under the plan" in page
    response = client.get(under_plan)
    assert response.status_code == 302
    assert response.url == reverse("coaching:session_new", args=[plan.pk])
    alone = reverse("coaching:session_with", args=[world.practitioner.pk])
    assert f'href="{alone}"' in page
    form = client.get(alone)
    assert form.status_code == 200 and "a session on its own" in form.content.decode()
    posted = client.post(
        alone,
        {
            "form_token": "session-alone-token-0001",
            "held_on": "2026-06-29",
            "minutes": "30",
            "format": "debrief",
            "notes": "Routine check-in.",
            "next_step": "Observe a family meeting.",
        },
    )
    assert posted.status_code == 302
    session = CoachingSession.objects.get(notes="Routine check-in.")
    assert session.plan is None and session.practitioner == world.practitioner
    assert session.coach == world.coach
    again = client.get(reverse("dashboards:practitioner", args=[world.practitioner.pk]))
    assert "on its own" in again.content.decode()
    # A leader reading the dashboard sees the steps, not links to the coach's pages.
    leader_page = login(world.leader).get(f"{COACH}{world.coach.pk}/").content.decode()
    assert "Session due" in leader_page and f'href="{alone}"' not in leader_page
    assert "Session due" in page and "Observation due" in page


def test_one_click_starts_an_observation_of_the_one_due(caseload, login):
    world, quinn, _ = caseload
    page = login(world.coach).get(COACH).content.decode()
    start = f"{reverse('observations:new')}?practitioner={quinn.pk}"
    assert f'href="{start}"' in page
    form = login(world.coach).get(start).content.decode()
    assert f'<option value="{quinn.pk}" selected>' in form


def test_open_alerts_are_counted_and_listed(world, login, frozen):
    people = grow(world, 50)
    alerted = people[::5]
    client = login(world.coach)
    found = {row[0]: row[-1] for row in rows(client, "caseload")[1:]}
    assert {name for name, n in found.items() if n == "1"} == {p.full_name for p in alerted}
    assert len(rows(client, "alerts")) == 1 + len(alerted)


def test_a_dismissed_alert_is_listed_with_its_status_but_not_counted_to_follow_up(
    world, login, frozen
):
    from coaching.models import DriftAlert

    people = grow(world, 150)
    alerted = people[::5]
    dismissed = DriftAlert.objects.get(practitioner=alerted[0])
    DriftAlert.objects.filter(pk=dismissed.pk).update(
        status="dismissed", dismissal_reason="Unusual sessions."
    )
    client = login(world.coach)
    caseload = rows(client, "caseload")
    assert caseload[0][-1] == "Alerts to follow up"
    counted = {row[0]: row[-1] for row in caseload[1:]}
    assert counted[alerted[0].full_name] == "0"
    assert counted[alerted[1].full_name] == "1"
    listed = {row[1]: row[-1] for row in rows(client, "alerts")[1:]}
    assert listed[alerted[0].full_name] == "Dismissed as a false alarm"
    assert listed[alerted[1].full_name] == "Open"


def test_a_leader_reads_a_coachs_dashboard(caseload, login):
    world, quinn, _ = caseload
    url = reverse("dashboards:coach", args=[world.coach.pk])
    response = login(world.leader).get(url)
    assert f"{world.coach.full_name}\N{RIGHT SINGLE QUOTATION MARK}s caseload" in (
        response.content.decode()
    )
    assert quinn.full_name in {row[0] for row in rows(login(world.leader), "caseload", url)}


def test_an_ended_assignment_leaves_the_caseload(caseload, login):
    world, quinn, _ = caseload
    quinn.coach_assignments.update(ends_on=D(2026, 6, 1))
    names = {row[0] for row in rows(login(world.coach), "caseload")}
    assert quinn.full_name not in names


def test_an_empty_caseload_says_so(world, login, frozen):
    lonely = make_person(world.home, "coach")
    page = login(lonely).get(COACH).content.decode()
    assert "Nobody is assigned to you now." in page
    assert "Nobody is due in the next 14 days." in page

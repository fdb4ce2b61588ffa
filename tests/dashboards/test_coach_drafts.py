"""A coach's unfinished observations: on their dashboard and their own page, with a link
to go on; never on the pages others read about them."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.dashboards.conftest import NOW
from tests.dashboards.test_coach_view import rows
from tests.factories import make_assignment, make_observation, make_person, rubric_version

COACH = reverse("dashboards:coach")


@pytest.fixture
def drafts(world, frozen, time_machine):
    """Two drafts by the coach (Pat's started first, Quinn's saved last) and one by
    another coach of Pat's, which is not theirs to see."""
    quinn = make_person(world.home, "practitioner", team=world.team_a, first_name="Quinn")
    make_assignment(world.coach, quinn)
    version = rubric_version()
    time_machine.move_to(NOW - dt.timedelta(hours=3), tick=False)
    pats = make_observation(
        world.coach, world.practitioner, version, submit=False, observed_on=dt.date(2026, 6, 29)
    )
    time_machine.move_to(NOW - dt.timedelta(hours=2), tick=False)
    quinns = make_observation(
        world.coach, quinn, version, submit=False, observed_on=dt.date(2026, 6, 30)
    )
    other = make_person(world.home, "coach", first_name="Cal")
    make_observation(other, world.practitioner, version, submit=False)
    make_observation(world.coach, world.practitioner, version, observed_on=dt.date(2026, 6, 1))
    time_machine.move_to(NOW, tick=False)
    return world, pats, quinns


def test_the_coachs_drafts_are_listed_last_saved_first_with_a_link_to_go_on(drafts, login):
    world, pats, quinns = drafts
    client = login(world.coach)
    assert rows(client, "drafts") == [
        ["Practitioner", "Rubric", "Observed on", "Started", "Last saved", "Next step"],
        # Riverbend keeps New York time: 16:00 UTC less two hours is 10:00 there.
        [
            quinns.practitioner.full_name,
            quinns.rubric_version.rubric.name,
            "2026-06-30",
            "2026-06-30 10:00",
            "2026-06-30 10:00",
            "Continue",
        ],
        [
            world.practitioner.full_name,
            pats.rubric_version.rubric.name,
            "2026-06-29",
            "2026-06-30 09:00",
            "2026-06-30 09:00",
            "Continue",
        ],
    ]
    page = client.get(COACH).content.decode()
    assert "Observations to finish" in page
    for draft in (pats, quinns):
        assert f'href="{reverse("observations:edit", args=[draft.pk])}">Continue</a>' in page


def test_a_leader_reading_a_coachs_dashboard_sees_none_of_their_drafts(drafts, login):
    world, pats, _ = drafts
    url = reverse("dashboards:coach", args=[world.coach.pk])
    page = login(world.leader).get(url).content.decode()
    assert "Observations to finish" not in page
    assert reverse("observations:edit", args=[pats.pk]) not in page
    assert login(world.leader).get(url, {"export": "drafts"}).status_code == 404


def test_a_coach_with_no_drafts_sees_no_section(world, login, frozen):
    page = login(world.coach).get(COACH).content.decode()
    assert "Observations to finish" not in page


def test_the_coachs_own_page_lists_their_drafts_to_continue(drafts, login):
    world, pats, quinns = drafts
    own = reverse("people:detail", args=[world.coach.pk])
    page = login(world.coach).get(own).content.decode()
    assert 'id="drafts"' in page
    assert "last saved 2026-06-30 10:00" in page  # in Riverbend's time, as on the dashboard
    for draft in (pats, quinns):
        assert f'href="{reverse("observations:edit", args=[draft.pk])}">Continue</a>' in page
    seen_by_leader = login(world.leader).get(own).content.decode()
    assert 'id="drafts"' not in seen_by_leader

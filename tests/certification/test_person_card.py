"""The certification card on every person page, and the Certification pages' entry point."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.certification.conftest import D, evidence, observe
from tests.factories import make_period

PERSONAS = ["coach", "practitioner", "leader", "org_admin", "purveyor_admin"]


def certification_section(response):
    content = response.content.decode()
    start = content.index('id="certification-heading"')
    return content[start : content.index("</section>", start)]


@pytest.mark.parametrize("viewer", PERSONAS)
def test_everyone_who_sees_the_person_sees_one_state_and_one_date(
    world, certified_coach, login, viewer
):
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 9, 1))
    response = login(getattr(world, viewer)).get(world.practitioner.get_absolute_url())
    section = certification_section(response)
    assert 'data-state="window_open"' in section
    assert "Window open until <strong>2026-08-31</strong>" in section
    assert "Toward recertification: 0 of 2 qualifying observations; 2 more by 2026-08-31" in section


def test_a_coach_holding_two_programs_has_their_cards_and_the_observers(
    world, certified_coach, login
):
    section = certification_section(login(world.leader).get(world.coach.get_absolute_url()))
    assert re.findall(r'data-program="(\w+)" data-state="(\w+)"', section) == [
        ("practitioner", "certified"),
        ("coach", "certified"),
        ("observer", "not_certified"),  # every coach is on its path
    ]
    assert "Expires <strong>2027-01-01</strong>" in section
    assert "Recertification window opens 2026-10-03" in section


def test_a_newcomer_sees_what_would_certify_them(world, certified_coach, login):
    observe(certified_coach, world.practitioner, D(2026, 6, 1))
    section = certification_section(
        login(world.practitioner).get(world.practitioner.get_absolute_url())
    )
    assert "In progress" in section
    assert "1 of 3 qualifying observations; 2 more by 2026-11-28" in section
    assert "At least 2 activity types among them" in section


@pytest.mark.parametrize(
    "viewer, buttons",
    [
        ("coach", True),
        ("purveyor_admin", True),
        ("leader", False),
        ("org_admin", False),
        ("practitioner", False),
    ],
)
def test_only_certifiers_see_decision_buttons(world, certified_coach, login, viewer, buttons):
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 9, 1))
    section = certification_section(
        login(getattr(world, viewer)).get(world.practitioner.get_absolute_url())
    )
    assert ("Recertify…" in section) is buttons
    assert ("Revoke…" in section) is buttons
    assert "Certificate" in section


def test_the_history_lists_each_period_and_its_events(world, certified_coach, login):
    evidence(certified_coach, world.practitioner)
    login(world.coach).post(
        reverse("certification:decide", args=[world.practitioner.pk, "practitioner"])
    )
    section = certification_section(login(world.leader).get(world.practitioner.get_absolute_url()))
    assert "History (1 period)" in section
    assert "2026-06-30 to 2028-06-29" in section
    coach_dashboard = reverse("dashboards:coach", args=[world.coach.pk])
    assert (
        f'2026-06-30 · Certified by <a href="{coach_dashboard}">{world.coach.full_name}</a>'
        in section
    )


def test_an_override_is_shown_in_the_history(world, certified_coach, login):
    login(world.coach).post(
        reverse("certification:decide", args=[world.practitioner.pk, "practitioner"]),
        {"override_reason": "Observed at the state conference."},
    )
    section = certification_section(login(world.leader).get(world.practitioner.get_absolute_url()))
    assert "Decided against the rule: Observed at the state conference." in section


def test_a_leader_without_a_program_sees_that_none_applies(world, frozen, login):
    section = certification_section(
        login(world.purveyor_admin).get(world.leader.get_absolute_url())
    )
    assert "No certification program applies" in section


def test_the_person_page_takes_the_same_queries_with_a_long_history(world, certified_coach, login):
    client = login(world.leader)

    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            client.get(world.practitioner.get_absolute_url())
        return len(captured)

    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2020, 3, 2))
    observe(certified_coach, world.practitioner, D(2026, 4, 1))
    few = count_queries()
    for year in (2022, 2024):
        make_period(world.practitioner, world.purveyor_admin, valid_from=D(year, 3, 2))
    for day in (D(2026, 5, 1), D(2026, 6, 1)):
        observe(certified_coach, world.practitioner, day)
    assert count_queries() == few


@pytest.mark.parametrize(
    "persona, goes_to",
    [
        ("leader", "/certification/practitioner/"),
        ("org_admin", "/certification/practitioner/"),
        ("purveyor_admin", "/certification/practitioner/"),
        ("coach", "/certification/queue/"),
        ("practitioner", None),
    ],
)
def test_the_certification_entry_point_goes_where_the_role_works(world, login, persona, goes_to):
    response = login(getattr(world, persona)).get(reverse("certification:index"))
    if goes_to is None:
        assert response.status_code == 404
    else:
        assert response["Location"] == goes_to


@pytest.mark.parametrize(
    "persona, links",
    [
        ("leader", {"Rosters"}),
        ("coach", {"Decisions"}),
        ("purveyor_admin", {"Rosters", "Decisions", "Reminder log"}),
        ("practitioner", set()),
    ],
)
def test_the_navigation_offers_the_certification_pages_by_role(world, login, persona, links):
    content = login(getattr(world, persona)).get(world.practitioner.get_absolute_url())
    content = content.content.decode()
    nav = content[content.index("<nav") : content.index("</nav>")]
    named = ("Rosters", "Decisions", "Reminder log")
    assert {name for name in named if f">{name}</a>" in nav} == links

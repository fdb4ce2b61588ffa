"""The navigation: menus by purpose, each holding the pages a viewer's roles open."""

import re

import pytest
from django.urls import resolve, reverse

from miiwrap.navigation import menus
from miiwrap.people.access import Viewer

LEADER = Viewer(user_id=1, person_id=1, organization_id=1, roles=frozenset({"leader"}))
ORG_ADMIN = Viewer(user_id=2, person_id=2, organization_id=1, roles=frozenset({"org_admin"}))
COACH = Viewer(
    user_id=3, person_id=3, organization_id=1, roles=frozenset({"coach", "practitioner"})
)
PRACTITIONER = Viewer(user_id=4, person_id=4, organization_id=1, roles=frozenset({"practitioner"}))
PURVEYOR = Viewer(user_id=5, person_id=5, organization_id=9, roles=frozenset({"purveyor_admin"}))


def shown(viewer, path="/"):
    """{menu: [its links' labels]} as the viewer sees them on `path`."""
    return {
        menu.label: [link.label for link in menu.links] for menu in menus(viewer, resolve(path))
    }


def test_an_organization_admin_finds_the_reminder_log_under_certification():
    assert shown(ORG_ADMIN) == {
        "Dashboards": ["Dashboard"],
        "People": ["People"],
        "Observations": ["Observations", "Disputes", "Calibration", "Reliability"],
        "Coaching": ["Plans", "Alerts", "Events"],
        "Certification": ["Rosters", "Reminder log"],
        "Admin": ["Admin"],
    }


def test_a_leader_does_not_see_the_reminder_log_the_view_refuses_them():
    assert shown(LEADER)["Certification"] == ["Rosters"]
    assert "Admin" not in shown(LEADER)


def test_the_purveyor_admin_sees_every_certification_page():
    assert shown(PURVEYOR)["Certification"] == [
        "Rosters",
        "Decisions",
        "Reminder log",
        "Internal capacity",
    ]


def test_a_leader_reads_capacity_on_their_dashboard_not_in_the_comparison():
    assert "Internal capacity" not in shown(LEADER)["Certification"]
    assert "Internal capacity" not in shown(ORG_ADMIN)["Certification"]


def test_a_coach_who_also_practises_has_both_dashboards_in_one_menu():
    found = shown(COACH)
    assert found["Dashboards"] == ["Caseload", "Where I stand"]
    assert found["Observations"] == ["Observations", "New observation", "Disputes", "Calibration"]
    assert found["Certification"] == ["Decisions"]


def test_a_practitioner_has_plain_links_and_one_menu_for_coaching_and_events():
    found = menus(PRACTITIONER, resolve("/"))
    assert [(menu.single.label if menu.single else None) for menu in found] == [
        "Where I stand",
        "Observations",
        None,
    ]
    assert [link.label for link in found[-1].links] == ["Plans", "Events"]


@pytest.mark.parametrize(
    "path, active",
    [
        ("/certification/reminders/", "Reminder log"),
        ("/certification/queue/", "Decisions"),
        ("/certification/practitioner/", "Rosters"),
        ("/coaching/alerts/", "Alerts"),
        ("/coaching/plans/", "Plans"),
        ("/observations/new/", "New observation"),
        ("/dashboards/", "Dashboard"),
        ("/dashboards/capacity/", "Internal capacity"),
        ("/events/", "Events"),
        ("/events/1/attendance/", "Events"),
    ],
)
def test_the_page_shown_marks_its_link_and_its_menu(path, active):
    # A purveyor admin who also coaches: every link there is.
    found = menus(Viewer(person_id=6, roles=PURVEYOR.roles | COACH.roles), resolve(path))
    links = [link.label for menu in found for link in menu.links if link.active]
    assert links == [active]
    assert [menu.label for menu in found if menu.active] == [
        menu.label for menu in found if any(link.label == active for link in menu.links)
    ]


def test_the_menus_are_drawn_as_bootstrap_dropdowns(world, login):
    page = login(world.org_admin).get(reverse("certification:reminders")).content.decode()
    assert re.search(
        r'<button type="button" class="nav-link dropdown-toggle active" id="menu-certification"'
        r' data-bs-toggle="dropdown"',
        page,
    )
    reminders = reverse("certification:reminders")
    assert (
        f'class="dropdown-item active" aria-current="page" href="{reminders}">Reminder log' in page
    )


def test_a_leaders_page_has_no_reminder_log_link(world, login):
    page = login(world.leader).get(reverse("dashboards:leader")).content.decode()
    assert reverse("certification:reminders") not in page


def test_the_reminder_rules_list_in_the_admin_links_to_the_log(world, login):
    page = login(world.org_admin).get("/admin/certification/reminderrule/").content.decode()
    assert f'<a href="{reverse("certification:reminders")}">Reminder log</a>' in page


def test_everyone_with_a_person_finds_the_events_under_coaching():
    assert shown(LEADER)["Coaching"] == ["Plans", "Alerts", "Events"]
    assert shown(COACH)["Coaching"] == ["Plans", "Alerts", "Events"]
    assert shown(PURVEYOR)["Coaching"] == ["Plans", "Alerts", "Events"]


def test_a_login_that_is_nobodys_has_no_events_link():
    assert "Coaching" not in shown(Viewer(user_id=9))


def test_the_events_pages_link_is_drawn_for_a_practitioner(world, login):
    page = login(world.practitioner).get(reverse("dashboards:practitioner")).content.decode()
    assert f'href="{reverse("community:list")}"' in page


def test_favicon_ico_answers_with_the_projects_icon(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/favicon.svg")
    assert (
        'rel="icon" href="/static/favicon.svg"' in client.get("/accounts/login/").content.decode()
    )


def test_the_new_hires_page_marks_the_people_link():
    (people,) = [m for m in menus(LEADER, resolve("/people/new-hires/")) if m.label == "People"]
    assert [link.label for link in people.links if link.active] == ["People"]

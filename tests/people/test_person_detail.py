"""A person's page: every persona against every person, then what the page shows."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_assignment, make_person

HOME = ["coach", "practitioner", "unassigned", "leader", "org_admin"]
AWAY = ["outsider", "away_practitioner"]
PERSONAS = [*HOME, "purveyor_admin", *AWAY]

# viewer -> the people whose page they may open
MAY_OPEN = {
    "purveyor_admin": set(PERSONAS),
    "leader": set(HOME),
    "org_admin": set(HOME),
    "coach": {"coach", "practitioner"},
    "practitioner": {"practitioner"},
    "unassigned": {"unassigned"},
    "outsider": set(AWAY),
    "away_practitioner": {"away_practitioner"},
}


def section(response, heading):
    """The HTML of the card whose heading starts with `heading`."""
    content = response.content.decode()
    start = content.index(f'<h2 class="h5">{heading}')
    return content[start : content.index("</section>", start)]


@pytest.mark.parametrize("target", PERSONAS)
@pytest.mark.parametrize("viewer", PERSONAS)
def test_person_page_is_200_where_visible_and_404_otherwise(world, login, viewer, target):
    person = getattr(world, target)
    response = login(getattr(world, viewer)).get(person.get_absolute_url())
    if target in MAY_OPEN[viewer]:
        assert response.status_code == 200
        assert f'<h1 class="h3 mb-1">{person.full_name}</h1>' in response.content.decode()
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("target", HOME)
def test_outsider_gets_404_on_home_person(world, login, target):
    response = login(world.outsider).get(getattr(world, target).get_absolute_url())
    assert response.status_code == 404


def test_a_missing_person_is_404_even_for_the_purveyor(world, login):
    assert login(world.purveyor_admin).get("/people/999999/").status_code == 404


def test_anonymous_is_redirected_to_login(client, world):
    url = world.practitioner.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


def test_a_user_without_a_person_gets_404(client, world):
    client.force_login(get_user_model().objects.create_user("loose", "l@example.org", "pw"))
    assert client.get(world.practitioner.get_absolute_url()).status_code == 404


def test_a_person_who_left_cannot_open_their_own_page(world, login):
    world.practitioner.leave_date = dt.date(2024, 1, 1)
    world.practitioner.save()
    assert login(world.practitioner).get(world.practitioner.get_absolute_url()).status_code == 404


def test_shows_the_persons_details(world, login):
    person = make_person(
        world.home,
        "practitioner",
        team=world.team_b,
        first_name="Dana",
        staff_id="RB-77",
        job_title="Family partner",
        email="dana@example.org",
    )
    content = login(world.leader).get(person.get_absolute_url()).content.decode()
    assert "Family partner · Riverbend Family Services · South" in content
    assert '<a href="mailto:dana@example.org">dana@example.org</a>' in content
    assert "RB-77" in content
    assert "2020-01-06" in content
    assert "Has a login" in content
    assert ">Practitioner</span>" in content


def test_shows_a_left_badge_and_no_login(world, login):
    person = make_person(world.home, login=False, leave_date=dt.date(2024, 3, 31))
    content = login(world.leader).get(person.get_absolute_url()).content.decode()
    assert "Left 2024-03-31" in content
    assert "No login" in content


def test_practitioner_sees_their_coach(world, login):
    response = login(world.practitioner).get(world.practitioner.get_absolute_url())
    coaches = section(response, "Coaches")
    assert world.coach.full_name in coaches
    assert "from 2020-02-01, ongoing" in coaches


def test_practitioner_sees_their_coach_named_without_a_link_they_cannot_open(world, login):
    response = login(world.practitioner).get(world.practitioner.get_absolute_url())
    assert world.coach.get_absolute_url() not in section(response, "Coaches")
    assert login(world.practitioner).get(world.coach.get_absolute_url()).status_code == 404


def test_leader_gets_a_link_to_the_coachs_dashboard(world, login):
    response = login(world.leader).get(world.practitioner.get_absolute_url())
    coach_dashboard = reverse("dashboards:coach", args=[world.coach.pk])
    assert f'href="{coach_dashboard}"' in section(response, "Coaches")


def test_a_practitioner_without_a_coach_is_told_so(world, login):
    response = login(world.unassigned).get(world.unassigned.get_absolute_url())
    assert "No coach assigned." in section(response, "Coaches")


def test_coaches_list_shows_an_ended_assignment_with_its_end(world, login):
    make_assignment(
        world.leader, world.unassigned, starts_on=dt.date(2021, 1, 1), ends_on=dt.date(2021, 6, 30)
    )
    response = login(world.org_admin).get(world.unassigned.get_absolute_url())
    assert "from 2021-01-01 to 2021-06-30" in section(response, "Coaches")


def test_coach_sees_their_caseload_on_their_own_page(world, login):
    response = login(world.coach).get(world.coach.get_absolute_url())
    caseload = section(response, "Caseload")
    assert "(1)" in caseload
    view = reverse("dashboards:practitioner", args=[world.practitioner.pk])
    assert f'href="{view}"' in caseload  # the coach opens their practitioner's view
    assert "North · since 2020-02-01" in caseload


def test_leader_sees_a_coachs_caseload(world, login):
    response = login(world.leader).get(world.coach.get_absolute_url())
    assert world.practitioner.full_name in section(response, "Caseload")


def test_caseload_leaves_out_ended_and_future_assignments(world, login):
    ended = make_person(world.home, "practitioner", first_name="Ended")
    future = make_person(world.home, "practitioner", first_name="Future")
    make_assignment(world.coach, ended, starts_on=dt.date(2021, 1, 1), ends_on=dt.date(2021, 2, 1))
    make_assignment(world.coach, future, starts_on=dt.date(2999, 1, 1))
    caseload = section(login(world.leader).get(world.coach.get_absolute_url()), "Caseload")
    assert "(1)" in caseload
    assert "Ended" not in caseload
    assert "Future" not in caseload


def test_a_person_with_no_caseload_has_no_caseload_section(world, login):
    response = login(world.leader).get(world.unassigned.get_absolute_url())
    assert b"Caseload" not in response.content


def test_query_count_does_not_grow_with_the_caseload(world, login):
    client = login(world.leader)
    url = world.coach.get_absolute_url()
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        make_assignment(world.coach, make_person(world.home, "practitioner", team=world.team_b))
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert "(6)" in section(response, "Caseload")
    assert len(many) == len(few)


def history(response):
    content = response.content.decode()
    start = content.index('id="history"')
    return content[start : content.index("</section>", start)]


def test_the_history_shows_a_role_change_with_who_and_the_old_value(world, login):
    from tests.miiwrap.test_audit_admin import admin_url, roles_form

    client = login(world.org_admin)
    grant = world.unassigned.roles.get()
    grant.save()  # its first history row, as `populate_history` gives rows older than it
    client.post(
        admin_url(world.unassigned), roles_form(client, world.unassigned, grant, role="coach")
    )
    section_ = history(login(world.leader).get(world.unassigned.get_absolute_url()))
    assert "Role: Coach" in section_
    admin = world.org_admin
    assert f'by <strong><a href="{admin.get_absolute_url()}">{admin.full_name}</a></strong>' in (
        section_
    )
    assert "<del>Practitioner</del> → <ins>Coach</ins>" in section_


def test_the_history_shows_an_assignment_ending_and_a_details_change(world, login):
    assignment = world.practitioner.coach_assignments.get()
    assignment.ends_on = dt.date(2025, 6, 30)
    assignment.save()
    world.practitioner.job_title = "Lead facilitator"
    world.practitioner.save()
    section_ = history(login(world.leader).get(world.practitioner.get_absolute_url()))
    assert "<del>—</del> → <ins>2025-06-30</ins>" in section_
    assert "<del>—</del> → <ins>Lead facilitator</ins>" in section_


def test_a_coach_sees_no_history_of_assignments_they_cannot_see(world, login):
    other_coach = make_person(world.home, "coach", first_name="Otis")
    ended = make_assignment(other_coach, world.practitioner, ends_on=dt.date(2021, 1, 1))
    ended.starts_on = dt.date(2019, 5, 5)
    ended.save()
    section_ = history(login(world.coach).get(world.practitioner.get_absolute_url()))
    assert "Coach assignment from 2019-05-05" not in section_
    leader = history(login(world.leader).get(world.practitioner.get_absolute_url()))
    assert "Coach assignment from 2019-05-05" in leader

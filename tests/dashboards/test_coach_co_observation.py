"""The coach dashboard's co-observation section: the share of the coach's recent visits a
second observer scored, against the program's setting, and the partners to ask next."""

import datetime as dt

import pytest
from django.urls import reverse

from certification.models import Program
from miiwrap import generations
from miiwrap.dashboards import coach as coach_dashboard
from observations import services
from observations.models import CoObservation
from tests.factories import make_assignment, make_observation, make_person, rubric_version

pytestmark = pytest.mark.usefixtures("shipped_programs")
URL = reverse("dashboards:coach")


def co_observed_visit(coach, practitioner, second, on):
    """A visit both observers scored (the way the app does it)."""
    version = rubric_version()
    visit = make_observation(coach, practitioner, submit=False, observed_on=on)
    co = services.co_observation_invite(observation=visit, second=second, by=coach)
    definition = version.definition()
    services.co_observation_save(co=co, scores=visit.scores, definition=definition, submit=True)
    services.observation_submit(observation=visit, definition=definition)
    return CoObservation.objects.get(pk=co.pk)


@pytest.fixture
def colleagues(world):
    return [make_person(world.home, "coach", first_name=name) for name in ("Abe", "Bea", "Cal")]


def section(world):
    return coach_dashboard.build(world.coach)["co_observed"]


def test_a_coach_below_the_share_is_due_and_one_above_is_not(world, colleagues):
    today = world.home.local_today()
    for n in range(6):
        make_observation(world.coach, world.practitioner, observed_on=today - dt.timedelta(n))
    found = section(world)
    assert (found.observed, found.co_observed, found.wanted_percent) == (6, 0, 15)
    assert found.is_due
    co_observed_visit(world.coach, world.practitioner, colleagues[0], today)
    found = section(world)
    # 1 of 7 is 14 %: still under 15 %.
    assert (found.observed, found.co_observed, found.percent, found.is_due) == (7, 1, 14, True)
    co_observed_visit(world.coach, world.practitioner, colleagues[1], today)
    assert not section(world).is_due


def test_visits_older_than_ninety_days_and_drafts_do_not_count(world, colleagues):
    today = world.home.local_today()
    make_observation(world.coach, world.practitioner, observed_on=today - dt.timedelta(91))
    make_observation(world.coach, world.practitioner, submit=False, observed_on=today)
    found = section(world)
    assert (found.observed, found.is_due) == (0, False)


def test_the_program_setting_decides_and_zero_asks_for_none(world, colleagues):
    today = world.home.local_today()
    make_observation(world.coach, world.practitioner, observed_on=today)
    program = Program.objects.practitioner_path().first()
    program.co_observed_percent = 0
    program.save()
    assert not section(world).is_due


def test_partners_rotate_the_least_recent_first_and_never_first_of_all(world, colleagues):
    abe, bea, cal = colleagues
    today = world.home.local_today()
    co_observed_visit(world.coach, world.practitioner, bea, today - dt.timedelta(10))
    co_observed_visit(world.coach, world.practitioner, abe, today - dt.timedelta(5))
    names = [row[0].text for row in section(world).partners.rows]
    assert names == [cal.full_name, bea.full_name, abe.full_name]


def test_the_coach_reads_it_on_the_dashboard_with_whom_to_ask(world, login, colleagues):
    today = world.home.local_today()
    make_observation(world.coach, world.practitioner, observed_on=today)
    page = login(world.coach).get(URL).content.decode()
    part = page.split('id="co-observed"')[1].split("</section>")[0]
    assert "0 of your 1 observation" in part and "due" in part
    assert colleagues[0].full_name in part


def test_a_co_observation_write_bumps_every_organization_it_names(
    world, colleagues, django_capture_on_commit_callbacks
):
    staff = make_person(world.purveyor, "coach", first_name="Val")
    make_assignment(staff, world.practitioner)
    calls = []

    def read():
        keep = generations.Kept([world.purveyor.pk], ("co",))
        return keep("test.co", lambda: calls.append(1) or len(calls))

    visit = make_observation(world.coach, world.practitioner, submit=False)
    read()
    with django_capture_on_commit_callbacks(execute=True):
        CoObservation.objects.create(
            observation=visit, second_observer=staff, invited_by=world.coach
        )
    assert read() == 2  # the purveyor's, the second observer's organization, was touched


def test_the_section_is_there_for_a_leader_reading_a_coachs_dashboard(world, login, colleagues):
    url = reverse("dashboards:coach", args=[world.coach.pk])
    assert 'id="co-observed"' in login(world.leader).get(url).content.decode()

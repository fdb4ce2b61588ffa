"""The world seed_demo builds, read by many tests: built once for this module (it takes
seconds), each test reading it inside a transaction that is rolled back."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import connection
from django.db.models import F
from django.test import RequestFactory
from django.urls import reverse

from coaching.models import CoachAssignment, TrainerAssignment, trainer_certified_on
from miiwrap.people import demo
from miiwrap.people.models import Organization, Person, Role, Team
from tests.people.test_seed_demo import TODAY, logins, seed, table_sizes

pytestmark = pytest.mark.time_machine(
    dt.datetime(2025, 6, 16, 12, tzinfo=ZoneInfo("America/New_York")), tick=False
)


@pytest.fixture
def output(demo_output):
    """What seed_demo printed building the module's world: built once, as of TODAY."""
    return demo_output


@pytest.fixture
def active_practitioners(output):
    return Person.objects.active_on(TODAY).with_role(Role.PRACTITIONER)


def holders(role):
    return Person.objects.with_role(role)


# --- The shape of the world ---------------------------------------------------------------


def test_it_builds_the_purveyor_and_four_client_organizations(output):
    purveyor = Organization.objects.get(is_purveyor=True)
    assert purveyor.name == "MiiWrap Institute"
    assert Organization.objects.filter(is_purveyor=False).count() == 4


def test_every_role_is_present(output):
    for role in Role.values:
        assert holders(role).active_on(TODAY).exists(), role


def test_the_purveyor_has_two_admins_one_of_whom_also_coaches(output):
    admins = holders(Role.PURVEYOR_ADMIN)
    assert admins.count() == 2
    assert set(admins.values_list("organization__is_purveyor", flat=True)) == {True}
    assert admins.with_role(Role.COACH).count() == 1


def test_every_client_organization_has_one_org_admin_and_two_to_four_teams(output):
    for org in Organization.objects.filter(is_purveyor=False):
        assert holders(Role.ORG_ADMIN).filter(organization=org).count() == 1
        assert 2 <= org.teams.count() <= 4


def test_every_team_has_a_leader_one_or_two_coaches_and_five_to_ten_practitioners(output):
    for team in Team.objects.all():
        members = Person.objects.active_on(TODAY).filter(team=team)
        coaches = members.with_role(Role.COACH)
        practitioners = members.with_role(Role.PRACTITIONER).exclude(pk__in=coaches)
        assert members.with_role(Role.LEADER).count() == 1
        assert 1 <= coaches.count() <= 2
        assert 5 <= practitioners.count() <= 10


def test_coaches_in_client_organizations_also_hold_the_practitioner_role(output):
    client_coaches = holders(Role.COACH).filter(organization__is_purveyor=False)
    assert client_coaches.exists()
    assert not client_coaches.exclude(pk__in=holders(Role.PRACTITIONER)).exists()


def test_practitioners_carry_wraparound_job_titles(output):
    pure = holders(Role.PRACTITIONER).exclude(pk__in=holders(Role.COACH))
    titles = set(pure.values_list("job_title", flat=True))
    assert titles == {"Care Coordinator", "Facilitator", "Family Partner", "Youth Partner"}


def test_client_organizations_span_several_us_time_zones(output):
    zones = set(Organization.objects.filter(is_purveyor=False).values_list("time_zone", flat=True))
    assert len(zones) >= 3
    assert all(zone.startswith(("America/", "Pacific/Honolulu")) for zone in zones)


def test_hire_dates_spread_over_the_past_eight_years(output):
    hired = sorted(Person.objects.values_list("hire_date", flat=True))
    assert hired[-1] <= TODAY
    assert hired[0] >= TODAY - dt.timedelta(days=8 * 365)
    assert hired[0] < TODAY - dt.timedelta(days=5 * 365)
    assert hired[-1] > TODAY - dt.timedelta(days=365)


def test_staff_ids_are_set_and_unique_in_each_organization(output):
    rows = Person.objects.values_list("organization_id", "staff_id")
    assert all(staff_id for _, staff_id in rows)
    assert len(set(rows)) == len(rows)


# --- Leavers ------------------------------------------------------------------------------


def test_between_three_and_ten_percent_of_people_have_left(output):
    left = Person.objects.exclude(leave_date=None).count()
    assert 0.03 <= left / Person.objects.count() <= 0.10


def test_leave_dates_fall_after_hire_dates_and_before_today(output):
    for hired, left in Person.objects.exclude(leave_date=None).values_list(
        "hire_date", "leave_date"
    ):
        assert hired < left < TODAY


def test_people_who_left_have_no_current_assignment(output):
    leavers = Person.objects.exclude(leave_date=None)
    assert leavers.exists()
    current = CoachAssignment.objects.current(TODAY)
    assert not current.filter(practitioner__in=leavers).exists()
    assert not current.filter(coach__in=leavers).exists()


def test_assignments_of_people_who_left_end_on_their_leave_date(output):
    leavers = Person.objects.exclude(leave_date=None).with_role(Role.PRACTITIONER)
    for person in leavers:
        last = person.coach_assignments.order_by("starts_on").last()
        assert last.ends_on == person.leave_date
    for coach in leavers.with_role(Role.COACH):
        ends = set(coach.caseload_assignments.values_list("ends_on", flat=True))
        assert ends <= {coach.leave_date}


# --- Coaching -----------------------------------------------------------------------------


def test_every_active_practitioner_has_a_current_coach_from_their_organization(
    active_practitioners,
):
    assert active_practitioners.count() > 50
    for person in active_practitioners:
        (assignment,) = CoachAssignment.objects.current(TODAY).filter(practitioner=person)
        coach = assignment.coach
        assert coach.organization_id == person.organization_id
        assert coach.has_role(Role.COACH)
        assert not coach.has_left(TODAY)


def test_most_practitioners_are_coached_from_their_own_team(active_practitioners):
    current = CoachAssignment.objects.current(TODAY).filter(practitioner__in=active_practitioners)
    same_team = current.filter(coach__team=F("practitioner__team"))
    assert same_team.count() / current.count() > 0.8


def test_some_active_practitioners_had_an_earlier_coach(active_practitioners):
    ended = CoachAssignment.objects.filter(practitioner__in=active_practitioners).exclude(
        ends_on=None
    )
    assert ended.exists()
    for earlier in ended:
        later = CoachAssignment.objects.current(TODAY).get(practitioner=earlier.practitioner)
        assert later.coach_id != earlier.coach_id
        assert later.starts_on == earlier.ends_on + dt.timedelta(days=1)


def test_every_assignment_passes_the_models_own_validation(output):
    for assignment in CoachAssignment.objects.select_related("coach", "practitioner"):
        assignment.full_clean()
        assert assignment.starts_on >= assignment.practitioner.hire_date
        assert assignment.starts_on >= assignment.coach.hire_date
        coach_left = assignment.coach.leave_date
        assert coach_left is None or assignment.ends_on <= coach_left
    for person in Person.objects.all():
        person.full_clean()


# --- Logins -------------------------------------------------------------------------------


def test_every_person_has_a_login_named_by_their_lowercase_email(output):
    people = Person.objects.select_related("user")
    assert not people.filter(user=None).exists()
    for person in people:
        assert person.email == person.email.lower()
        assert person.email.endswith(f"@{person.organization.slug}.example")
        assert person.user.username == person.user.email == person.email
        assert (person.user.first_name, person.user.last_name) == (
            person.first_name,
            person.last_name,
        )


def test_the_password_is_hashed_once_for_everyone(output):
    hashes = set(get_user_model().objects.values_list("password", flat=True))
    assert len(hashes) == 1
    assert hashes.pop() != demo.PASSWORD


def test_the_printed_logins_authenticate_with_the_demo_password(output):
    shown = logins(output)
    expected = [
        "Purveyor admin",
        "Trainer",
        "Organization admin",
        "Leader",
        "Coach",
        "Practitioner",
    ]
    assert list(shown) == expected
    request = RequestFactory().post("/accounts/login/")
    for email in shown.values():
        user = authenticate(request, username=email, password="miiwrap-demo")
        assert user is not None and user.email == email
        assert authenticate(request, username=email, password="wrong") is None


def test_each_printed_login_holds_the_role_it_is_shown_for(output):
    roles = {
        "Purveyor admin": Role.PURVEYOR_ADMIN,
        "Trainer": Role.COACH,
        "Organization admin": Role.ORG_ADMIN,
        "Leader": Role.LEADER,
        "Coach": Role.COACH,
        "Practitioner": Role.PRACTITIONER,
    }
    first_client = demo.identities(1, 1)[1].slug
    for label, email in logins(output).items():
        person = Person.objects.get(email=email)
        assert person.has_role(roles[label])
        assert not person.has_left(TODAY)
        if label not in ("Purveyor admin", "Trainer"):
            assert person.organization.slug == first_client


def test_the_printed_coach_coaches_the_printed_practitioner_whose_team_the_leader_leads(output):
    shown = {label: Person.objects.get(email=email) for label, email in logins(output).items()}
    current = CoachAssignment.objects.current(TODAY)
    assert current.filter(coach=shown["Coach"], practitioner=shown["Practitioner"]).exists()
    assert not shown["Practitioner"].has_role(Role.COACH)
    assert shown["Leader"].team_id == shown["Coach"].team_id


def test_the_printed_trainer_observes_a_coach_of_the_printed_organization(output):
    trainer = Person.objects.get(email=logins(output)["Trainer"])
    first_client = demo.identities(1, 1)[1].slug
    coaches = TrainerAssignment.objects.current(TODAY).filter(trainer=trainer)
    assert coaches.filter(coach__organization__slug=first_client).exists()
    assert trainer_certified_on(trainer, TODAY)


def sign_in(client, email):
    response = client.post(reverse("login"), {"username": email, "password": demo.PASSWORD})
    assert response.status_code == 302
    return client.get(reverse("home"), follow=True)


def test_the_printed_practitioner_signs_in_and_lands_on_where_they_stand(output, client):
    person = Person.objects.get(email=logins(output)["Practitioner"])
    response = sign_in(client, person.email)
    assert response.redirect_chain[-1][0] == reverse("dashboards:practitioner")
    assert person.full_name in response.content.decode()


def test_the_printed_coach_signs_in_and_sees_the_printed_practitioner(output, client):
    shown = logins(output)
    practitioner = Person.objects.get(email=shown["Practitioner"])
    response = sign_in(client, shown["Coach"])
    assert response.redirect_chain[-1][0] == reverse("dashboards:coach")
    assert reverse("dashboards:practitioner", args=[practitioner.pk]) in response.content.decode()


def test_it_prints_a_one_line_summary_of_what_it_created(output):
    people, users = Person.objects.count(), get_user_model().objects.count()
    practitioners, coaches = holders(Role.PRACTITIONER).count(), holders(Role.COACH).count()
    line = output.splitlines()[0]
    assert line.startswith(f"Created 5 organizations, {Team.objects.count()} teams and ")
    assert f"{people} people ({practitioners} practitioners, {coaches} coaches)" in line
    assert f"with {users} logins" in line


# --- Running again ------------------------------------------------------------------------


def test_running_twice_adds_nothing_and_says_so(output):
    before = table_sizes()
    again = seed()
    assert table_sizes() == before
    assert again.startswith("Nothing to add: all 5 organizations are already there.")
    assert logins(again) == logins(output)


def test_it_refreshes_the_planner_statistics_after_loading(output):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'people_person'")
        else:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'people_person' "
                "AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)"
            )
        assert cursor.fetchone()[0] >= 1

"""Observations carry their practitioner's organization: every way of writing one sets it,
a practitioner who moves takes theirs along, and the list shows each persona exactly the
rows the rule of miiwrap/people/access.py gives them."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q
from django.urls import reverse

from miiwrap import generations, paging
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person
from observations.models import ActivityType, Observation
from tests.conftest import require
from tests.factories import make_assignment, make_observation, make_person, rubric_version
from tests.observations.test_imports import row_for, run
from tests.observations.test_list_view import add_observations

URL = reverse("observations:list")


def by_the_rule(user):
    """What access.py says `user` sees, spelled as plainly as it reads: submitted
    observations of the people Person.visible_to gives, and whatever they wrote."""
    viewer = viewer_for(user)
    if viewer.person_id is None and not viewer.sees_everything:
        return set()
    mine = Q(coach_id=viewer.person_id)
    submitted = ~Q(status=Observation.Status.DRAFT)
    if viewer.sees_everything:
        return set(Observation.objects.filter(mine | submitted))
    people = Person.objects.visible_to(user)
    return set(Observation.objects.filter((Q(practitioner__in=people) & submitted) | mine))


def listed(client, person):
    """The rows listed, computed for this read (a list kept from an earlier read of the
    same viewer holds its HTML, not its rows)."""
    client.force_login(person.user)
    with generations.uncached():
        response = client.get(URL)
    assert response.status_code == 200
    return set(response.context["page"].object_list)


def move(person, organization):
    person.organization = organization
    person.team = None
    person.save()


@pytest.fixture
def crowd(world):
    """The access world, with the rows whose organization tells most: a purveyor coach's
    observation of a home coach, a home practitioner coached from elsewhere, a purveyor
    leader who coaches and observed at home, drafts, and a practitioner who moved."""
    world.paco = make_person(world.purveyor, "coach", first_name="Paco")
    world.lena = make_person(world.purveyor, "leader", "coach", first_name="Lena")
    world.mover = make_person(world.home, "practitioner", first_name="Mo")
    make_assignment(world.outsider, world.unassigned)
    rows = [
        make_observation(world.coach, world.practitioner),
        make_observation(world.coach, world.unassigned),
        make_observation(world.coach, world.practitioner, submit=False, scores={}),
        make_observation(world.paco, world.coach),
        make_observation(world.lena, world.practitioner),
        make_observation(world.lena, world.unassigned, submit=False, scores={}),
        make_observation(world.outsider, world.away_practitioner),
        make_observation(world.coach, world.mover),
    ]
    move(world.mover, world.away)
    world.rows = rows
    return world


PERSONAS = [
    "leader",
    "org_admin",
    "coach",
    "practitioner",
    "unassigned",
    "purveyor_admin",
    "outsider",
    "away_practitioner",
    "paco",
    "lena",
    "mover",
]


# Every way of writing an observation names the practitioner's organization


def test_the_service_sets_it(world):
    observation = make_observation(world.coach, world.practitioner)
    observation.refresh_from_db()
    assert observation.organization_id == world.home.pk


def test_a_purveyor_coachs_observation_belongs_to_the_practitioners_organization(world):
    paco = make_person(world.purveyor, "coach", first_name="Paco")
    observation = make_observation(paco, world.away_practitioner)
    assert Observation.objects.get(pk=observation.pk).organization_id == world.away.pk


def test_the_import_sets_it(world):
    result = run([row_for(world.practitioner, world.coach), row_for(world.unassigned, world.coach)])
    assert result.created == 2
    assert set(Observation.objects.values_list("organization_id", flat=True)) == {world.home.pk}


def test_bulk_create_sets_it_when_only_the_practitioner_id_is_given(world):
    version = rubric_version()
    made = Observation.objects.bulk_create(
        [
            Observation(
                practitioner_id=world.away_practitioner.pk,
                coach_id=world.outsider.pk,
                rubric_version=version,
                activity=ActivityType.objects.first(),
                observed_on=dt.date(2024, 5, 1),
            )
        ]
    )
    assert made[0].organization_id == world.away.pk
    assert Observation.objects.get().organization_id == world.away.pk


def test_the_test_helpers_bulk_rows_set_it(world):
    add_observations(world.coach, world.practitioner, 3)
    assert set(Observation.objects.values_list("organization_id", flat=True)) == {world.home.pk}


def test_changing_the_practitioner_moves_the_observation(world):
    paco = make_person(world.purveyor, "coach", first_name="Paco")
    observation = make_observation(paco, world.practitioner)
    observation.practitioner = world.away_practitioner
    observation.save()
    assert Observation.objects.get(pk=observation.pk).organization_id == world.away.pk


# A practitioner who moves takes their observations along


def test_a_move_takes_the_practitioners_observations_along(world):
    observation = make_observation(world.coach, world.practitioner)
    move(Person.objects.get(pk=world.practitioner.pk), world.away)
    assert Observation.objects.get(pk=observation.pk).organization_id == world.away.pk


def test_after_a_move_the_new_organization_sees_them_and_the_old_one_not(world, client):
    observation = make_observation(world.coach, world.practitioner)
    move(world.practitioner, world.away)
    assert observation in listed(client, world.outsider)
    assert observation not in listed(client, world.leader)
    assert observation in listed(client, world.coach)  # they wrote it


def test_saving_a_person_without_a_move_writes_no_observation(world):
    make_observation(world.coach, world.practitioner)
    person = Person.objects.get(pk=world.practitioner.pk)
    person.first_name = "Patricia"
    before = Observation.objects.get().updated_at
    person.save()
    assert Observation.objects.get().updated_at == before


# The list shows what the rule says


@pytest.mark.parametrize("persona", PERSONAS)
def test_visible_to_is_the_rule(crowd, persona):
    user = getattr(crowd, persona).user
    assert set(Observation.objects.visible_to(user)) == by_the_rule(user)


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_list_shows_the_rules_rows(crowd, client, persona):
    person = getattr(crowd, persona)
    assert listed(client, person) == by_the_rule(person.user)


def test_the_crowd_tells_the_organizations_apart(crowd, client):
    """The rule's edges the world reaches: rows seen across organizations, and the moved."""
    of_coach, lenas, lenas_draft, moved = (crowd.rows[i] for i in (3, 4, 5, 7))
    assert of_coach in listed(client, crowd.leader)  # a purveyor coach's, of a home coach
    assert {lenas, lenas_draft} <= listed(client, crowd.lena)  # hers, in another org
    assert crowd.rows[1] in listed(client, crowd.outsider)  # coached from elsewhere
    assert crowd.rows[0] not in listed(client, crowd.outsider)
    assert moved in listed(client, crowd.outsider) and moved not in listed(client, crowd.leader)


def test_a_leaders_list_is_one_organization_when_nothing_lies_elsewhere(world):
    sql = str(Observation.objects.visible_to(world.leader.user).query)
    assert '"organization_id" = ' in sql
    assert " IN " not in sql and "UNION" not in sql


# The count: exact, but for the purveyor on PostgreSQL


def test_where_the_database_keeps_no_estimate_the_purveyor_gets_an_exact_count(
    world, client, monkeypatch
):
    """SQLite keeps none (estimated_count answers None there); on PostgreSQL the test
    takes the estimate away to see the same."""
    monkeypatch.setattr(paging, "ESTIMATE_FROM", 0)
    if connection.vendor == "sqlite":
        assert paging.estimated_count(Observation.objects.all()) is None
    else:
        monkeypatch.setattr(paging, "estimated_count", lambda queryset: None)
    add_observations(world.coach, world.practitioner, 60)
    client.force_login(world.purveyor_admin.user)
    response = client.get(URL)
    assert response.context["page"].paginator.count == 60
    assert not response.context["page"].paginator.estimated
    assert b"60 observations" in response.content and b"about" not in response.content


def test_an_estimated_count_reads_about_and_still_pages(world, client, monkeypatch):
    monkeypatch.setattr(paging, "estimated_count", lambda queryset: 1_000_000)
    add_observations(world.coach, world.practitioner, 60)
    client.force_login(world.purveyor_admin.user)
    first = client.get(URL)
    assert b"about 1,000,000 observations" in first.content
    assert b"Page 1 of 20000" in first.content and b"page=2" in first.content
    assert len(first.context["page"].object_list) == 50
    # A short page ends the list: its count is known exactly from it.
    second = client.get(URL, {"page": 2})
    assert len(second.context["page"].object_list) == 10
    assert b"60 observations" in second.content and b"about" not in second.content


def test_only_who_sees_everything_gets_an_estimate(world, client, monkeypatch):
    monkeypatch.setattr(paging, "estimated_count", lambda queryset: 1_000_000)
    add_observations(world.coach, world.practitioner, 60)
    client.force_login(world.leader.user)
    response = client.get(URL)
    assert response.context["page"].paginator.count == 60
    assert b"about" not in response.content


@pytest.mark.postgres
def test_on_postgresql_the_purveyor_reads_about_and_a_leader_an_exact_count(
    world, client, monkeypatch
):
    require(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/DB to run it",
    )
    monkeypatch.setattr(paging, "ESTIMATE_FROM", 0)
    add_observations(world.coach, world.practitioner, 60)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Observation._meta.db_table}")
    client.force_login(world.purveyor_admin.user)
    purveyor = client.get(URL)
    assert purveyor.context["page"].paginator.estimated
    assert b"about " in purveyor.content
    client.force_login(world.leader.user)
    leader = client.get(URL)
    assert leader.context["page"].paginator.count == 60
    assert b"about" not in leader.content


def test_a_stored_row_given_another_practitioner_by_id_moves_too(world):
    paco = make_person(world.purveyor, "coach", first_name="Paco")
    stored = Observation.objects.get(pk=make_observation(paco, world.practitioner).pk)
    stored.practitioner_id = world.away_practitioner.pk
    stored.save()
    assert Observation.objects.get(pk=stored.pk).organization_id == world.away.pk

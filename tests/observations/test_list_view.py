"""The observation list: who sees which rows, each filter, bad input, pages and query count."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from miiwrap import generations
from miiwrap.people.models import Person
from observations import services
from observations.models import ActivityType, Observation
from tests.factories import full_scores, make_observation, make_person, rubric_version

URL = reverse("observations:list")


def rows(response):
    return set(response.context["page"].object_list)


def add_observations(coach, practitioner, count, version=None):
    """`count` scored, submitted observations in one query, dated one day apart."""
    version = version or rubric_version()
    scores = full_scores(version, rating=2)
    template = Observation(rubric_version=version, scores=scores)
    services.apply_scores(template, version.definition())
    activity = ActivityType.objects.first()
    made = Observation.objects.bulk_create(
        Observation(
            coach=coach,
            practitioner=practitioner,
            rubric_version=version,
            activity=activity,
            observed_on=dt.date(2021, 1, 1) + dt.timedelta(days=i),
            scores=scores,
            status=Observation.Status.SUBMITTED,
            metrics=template.metrics,
            overall_score=template.overall_score,
            band=template.band,
        )
        for i in range(count)
    )
    # A bulk write skips the signals: declared, as the app's own are (miiwrap.generations).
    generations.touched(practitioner.organization_id, coach.organization_id)
    return made


@pytest.fixture
def seen(world):
    """One observation of each home practitioner, one away, and the coach's own draft."""
    return {
        "of_practitioner": make_observation(world.coach, world.practitioner),
        "of_unassigned": make_observation(world.coach, world.unassigned),
        "of_coach": make_observation(world.purveyor_admin_coach, world.coach),
        "away": make_observation(world.outsider, world.away_practitioner),
        "draft": make_observation(world.coach, world.practitioner, submit=False, scores={}),
    }


@pytest.fixture
def world(world):
    # A purveyor coach observes anyone, and so observes the home coach as a practitioner.
    world.purveyor_admin_coach = make_person(world.purveyor, "coach", first_name="Paco")
    return world


# Who sees what


def test_anonymous_is_redirected_to_login(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={URL}"


def test_practitioner_sees_only_their_own_under_my_observations(world, login, seen):
    response = login(world.practitioner).get(URL)
    assert response.status_code == 200
    assert rows(response) == {seen["of_practitioner"]}
    assert b'<h1 class="h3 mb-0">My observations</h1>' in response.content
    assert "team" not in response.context["filter"].form.fields


def test_coach_sees_what_they_observed_and_what_they_were_observed_on(world, login, seen):
    response = login(world.coach).get(URL)
    expected = {seen["of_practitioner"], seen["of_unassigned"], seen["of_coach"], seen["draft"]}
    assert rows(response) == expected
    assert b'<h1 class="h3 mb-0">Observations</h1>' in response.content


def test_the_coachs_draft_is_marked_as_a_draft(world, login, seen):
    response = login(world.coach).get(URL, {"status": "draft"})
    assert rows(response) == {seen["draft"]}
    assert b'<span class="badge text-bg-secondary">Draft</span>' in response.content


@pytest.mark.parametrize("persona", ["leader", "org_admin"])
def test_leaders_see_their_organization_without_drafts(world, login, seen, persona):
    response = login(getattr(world, persona)).get(URL)
    assert rows(response) == {seen["of_practitioner"], seen["of_unassigned"], seen["of_coach"]}


def test_outsider_sees_nothing_of_home(world, login, seen):
    response = login(world.outsider).get(URL)
    assert rows(response) == {seen["away"]}
    assert world.practitioner.full_name.encode() not in response.content


def test_purveyor_sees_every_organization_but_not_others_drafts(world, login, seen):
    response = login(world.purveyor_admin).get(URL)
    assert rows(response) == set(Observation.objects.submitted())
    assert seen["draft"] not in rows(response)


def test_a_person_who_left_sees_nothing(world, login, seen):
    Person.objects.filter(pk=world.practitioner.pk).update(leave_date=dt.date(2024, 6, 1))
    assert rows(login(world.practitioner).get(URL)) == set()


def test_rows_show_score_band_and_a_link_to_the_detail(world, login, seen):
    response = login(world.practitioner).get(URL)
    observation = seen["of_practitioner"]
    assert observation.get_absolute_url().encode() in response.content
    assert b'<span class="badge text-bg-success">high</span>' in response.content
    assert b"100.0" in response.content


# Filters


def test_filter_by_practitioner(world, login, seen):
    response = login(world.leader).get(URL, {"practitioner": world.unassigned.pk})
    assert rows(response) == {seen["of_unassigned"]}


def test_filter_by_team(world, login, seen):
    response = login(world.leader).get(URL, {"team": world.team_b.pk})
    assert rows(response) == {seen["of_unassigned"]}


def test_filter_by_coach(world, login, seen):
    response = login(world.leader).get(URL, {"coach": world.purveyor_admin_coach.pk})
    assert rows(response) == {seen["of_coach"]}


def test_filter_by_rubric(world, login, seen):
    mi = make_observation(world.coach, world.practitioner, rubric_version("mi-coding"))
    rubric = mi.rubric_version.rubric
    assert rows(login(world.leader).get(URL, {"rubric": rubric.pk})) == {mi}


def test_filter_by_dates_includes_both_ends(world, login):
    made = add_observations(world.coach, world.practitioner, 5)  # 1 to 5 January 2021
    response = login(world.leader).get(URL, {"date_from": "2021-01-02", "date_to": "2021-01-04"})
    assert {o.observed_on.day for o in rows(response)} == {2, 3, 4}
    assert len(made) == 5


def test_filter_by_band(world, login, seen):
    low = make_observation(
        world.coach, world.practitioner, scores=full_scores(rubric_version(), rating=0, yes_no=0)
    )
    assert low.band == "low"
    assert rows(login(world.leader).get(URL, {"band": "low"})) == {low}


def test_band_choices_come_from_the_versions_in_use(world, login):
    choices = login(world.leader).get(URL).context["filter"].form.fields["band"].choices
    values = [value for value, _ in choices]
    # Coaching feedback, MI coding rubric, MiiWrap fidelity tool: by rubric name.
    assert values == ["", "high", "adequate", "borderline", "low", "good", "fair", "below fair"]


def test_filter_by_status(world, login, seen):
    services.observation_acknowledge(observation=seen["of_unassigned"])
    assert rows(login(world.leader).get(URL, {"status": "acknowledged"})) == {seen["of_unassigned"]}


def test_team_choices_name_only_what_the_viewer_sees(world, login, seen):
    fields = login(world.leader).get(URL).context["filter"].form.fields
    assert world.away_team not in fields["team"].queryset
    assert world.team_a in fields["team"].queryset


def test_practitioner_and_coach_are_found_by_name_email_or_id(world, login, seen):
    client = login(world.leader)
    by_name = rows(client.get(URL, {"practitioner": world.practitioner.first_name}))
    by_email = rows(client.get(URL, {"practitioner": world.practitioner.email.upper()}))
    by_id = rows(client.get(URL, {"practitioner": str(world.practitioner.pk)}))
    assert by_name == by_email == by_id
    assert by_name and all(o.practitioner == world.practitioner for o in by_name)
    coached = rows(client.get(URL, {"coach": world.coach.last_name}))
    assert coached and all(o.coach == world.coach for o in coached)


def test_a_search_that_matches_nobody_lists_nothing(world, login, seen):
    response = login(world.leader).get(URL, {"practitioner": "x' OR 1=1"})
    assert response.status_code == 200
    assert rows(response) == set()


@pytest.mark.parametrize(
    "query, field",
    [
        ({"date_from": "last tuesday"}, "date_from"),
        ({"date_to": "2021-02-30"}, "date_to"),
        ({"team": "-1"}, "team"),
        ({"band": "<script>"}, "band"),
        ({"status": "deleted"}, "status"),
        ({"rubric": "9" * 30}, "rubric"),
    ],
)
def test_bad_filter_input_shows_the_error_and_never_fails(world, login, seen, query, field):
    response = login(world.leader).get(URL, query)
    assert response.status_code == 200
    assert field in response.context["filter"].form.errors


def test_naming_someone_elses_practitioner_lists_nothing(world, login, seen):
    response = login(world.leader).get(URL, {"practitioner": world.away_practitioner.pk})
    assert response.status_code == 200
    assert rows(response) == set()


def test_a_bad_page_number_shows_the_last_page(world, login, seen):
    response = login(world.leader).get(URL, {"page": "999"})
    assert response.status_code == 200
    assert response.context["page"].number == 1


# Pages and queries


def test_fifty_rows_a_page_and_filters_kept_across_pages(world, login):
    add_observations(world.coach, world.practitioner, 120)
    client = login(world.leader)
    first = client.get(URL, {"practitioner": world.practitioner.pk})
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.num_pages == 3
    assert f"practitioner={world.practitioner.pk}&amp;page=2".encode() in first.content
    last = client.get(URL, {"practitioner": world.practitioner.pk, "page": 3})
    assert len(last.context["page"].object_list) == 20


def queries_for(client, **query):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, query)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("persona", ["leader", "coach", "practitioner", "purveyor_admin"])
def test_query_count_does_not_grow_with_the_rows(world, login, persona):
    client = login(getattr(world, persona))
    add_observations(world.coach, world.practitioner, 10)
    few = queries_for(client)
    add_observations(world.coach, world.practitioner, 990)
    assert Observation.objects.count() == 1000
    assert queries_for(client) == few
    assert few <= 12


def test_filters_are_labelled_in_plain_words(world, login):
    fields = login(world.leader).get(URL).context["filter"].form.fields
    labels = [field.label for field in fields.values()]
    assert labels == ["Team", "Practitioner", "Coach", "Rubric", "From", "To", "Band", "Status"]

"""Feedback quality: the share of a coach's observations that tie growth areas to items and
agree a next step, beside their coaching rubric scores; counted by hand here."""

import datetime as dt

import pytest
from django.urls import reverse

from miiwrap.dashboards import feedback
from miiwrap.people.models import Person
from tests.factories import make_observation, make_person
from tests.trainers import make_trainer, observe_coaching

START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 31)


def give(coach, practitioner, day, items, next_steps, submit=True):
    return make_observation(
        coach,
        practitioner,
        observed_on=day,
        growth_areas="Reflect before asking.",
        growth_areas_items=items,
        next_steps=next_steps,
        submit=submit,
    )


@pytest.fixture
def counted(world):
    """Cora: 3 submitted practice observations in 2024, 1 of them tied with a next step;
    a draft and a 2023 one, both tied, do not count. Her trainer scored her coaching 100
    and 66.67 in 2024 (stored to the hundredth: mean 83.335), and 0 in 2025: the latest,
    whatever the range."""
    coach, pat = world.coach, world.practitioner
    give(coach, pat, dt.date(2024, 2, 1), ["mi-reflect"], "Two reflections per question.")
    give(coach, pat, dt.date(2024, 3, 1), [], "Try a summary.")
    give(coach, pat, dt.date(2024, 4, 1), ["mi-reflect"], "")
    give(coach, pat, dt.date(2024, 5, 1), ["mi-reflect"], "Next time: a summary.", submit=False)
    give(coach, pat, dt.date(2023, 6, 1), ["ep-voice"], "Ask the family first.")
    trainer = make_trainer(world)
    observe_coaching(trainer, coach, rating=3, day=dt.date(2024, 2, 10))
    observe_coaching(trainer, coach, rating=2, day=dt.date(2024, 6, 10))
    observe_coaching(trainer, coach, rating=0, day=dt.date(2025, 2, 10))
    return trainer


def test_the_counts_match_a_hand_count(world, counted):
    coach = Person.objects.filter(pk=world.coach.pk).with_feedback_quality(START, END).get()
    assert (coach.observed, coach.tied) == (3, 1)
    assert round(feedback.share(coach.tied, coach.observed), 2) == 33.33
    assert float(coach.coaching_mean) == pytest.approx(83.335)
    assert (coach.coaching_latest, coach.coaching_on) == (0, dt.date(2025, 2, 10))


def test_a_trainers_coaching_observations_are_not_counted_as_their_feedback(world, counted):
    trainer = Person.objects.filter(pk=counted.pk).with_feedback_quality(START, END).get()
    assert (trainer.observed, trainer.tied, trainer.coaching_mean) == (0, 0, None)
    assert feedback.share(trainer.tied, trainer.observed) is None


def test_every_coach_on_a_page_is_read_in_one_query(world, counted, django_assert_num_queries):
    for _ in range(5):
        make_person(world.home, "coach")
    coaches = Person.objects.with_role("coach").with_feedback_quality(START, END)
    with django_assert_num_queries(1):
        rows = list(coaches)
    assert len(rows) == 8  # Cora, the trainer, five more, and the outsider


def test_the_coach_sees_their_own_on_their_dashboard(world, login, counted, time_machine):
    time_machine.move_to(dt.datetime(2024, 12, 31, 16, tzinfo=dt.UTC), tick=False)
    response = login(world.coach).get(reverse("dashboards:coach"))
    table = response.context["feedback"]
    assert response.status_code == 200
    assert [c.value for c in table.rows[0][1:3]] == [3, 1]
    assert "My feedback" in response.content.decode()


def test_the_leader_sees_each_coach_beside_coach_activity(world, login, counted):
    query = {"start": "2024-01-01", "end": "2024-12-31"}
    response = login(world.leader).get(reverse("dashboards:leader"), query)
    assert response.status_code == 200
    rows = {row[0].value: row for row in response.context["feedback"].rows}
    cora = rows[world.coach.full_name]
    assert [c.value for c in cora[1:3]] == [3, 1]
    assert round(cora[3].value, 2) == 33.33
    assert float(cora[6].value) == pytest.approx(83.335)
    assert cora[0].hrefs == [reverse("dashboards:coach", args=[world.coach.pk])]
    coach_dashboard = reverse("dashboards:coach", args=[world.coach.pk])
    assert f'<a href="{coach_dashboard}">{world.coach.full_name}</a>' in response.content.decode()
    assert world.outsider.full_name not in rows


def test_the_leaders_feedback_table_downloads(world, login, counted):
    query = {"start": "2024-01-01", "end": "2024-12-31", "export": "feedback"}
    response = login(world.leader).get(reverse("dashboards:leader"), query)
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert f"{world.coach.full_name},3,1,33.33" in body


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("coach", 200),
        ("leader", 200),
        ("org_admin", 200),
        ("purveyor_admin", 200),
        ("practitioner", 404),
        ("outsider", 404),
    ],
)
def test_who_opens_the_coachs_dashboard_with_its_feedback(world, login, persona, status):
    url = reverse("dashboards:coach", args=[world.coach.pk])
    response = login(getattr(world, persona)).get(url)
    assert response.status_code == status
    if status == 200:
        assert "feedback" in response.context


def test_a_trainer_does_not_open_the_dashboard_of_a_coach_they_support(world, login):
    trainer = make_trainer(world)
    url = reverse("dashboards:coach", args=[world.coach.pk])
    assert login(trainer).get(url).status_code == 404


def test_anonymous_is_sent_to_sign_in(world, client):
    response = client.get(reverse("dashboards:coach", args=[world.coach.pk]))
    assert response.status_code == 302


def test_the_coach_sees_their_coaching_scores_in_their_own_trend(world, login, counted):
    response = login(world.coach).get(reverse("dashboards:practitioner"))
    trends = {name: table for name, _, table in response.context["trends"]}
    assert response.status_code == 200
    coaching = [row[1].value for row in trends["Coaching feedback"].rows]
    assert [float(v) for v in coaching] == [100.0, 66.67, 0.0]


def test_the_leaders_trend_of_the_coach_has_no_coaching_in_practice_figures(world, login, counted):
    query = {"start": "2024-01-01", "end": "2024-12-31"}
    response = login(world.leader).get(reverse("dashboards:leader"), query)
    # Cora's three practice observations of Pat; none of the trainer's of Cora.
    assert response.context["trend"].rows[-1][-1].value == 3


def test_the_purveyor_compares_every_organizations_coaches(world, login, counted):
    query = {"organization": "all", "start": "2024-01-01", "end": "2024-12-31"}
    response = login(world.purveyor_admin).get(reverse("dashboards:leader"), query)
    assert response.status_code == 200
    names = {row[0].value for row in response.context["feedback"].rows}
    assert {world.coach.full_name, world.outsider.full_name, counted.full_name} <= names


@pytest.mark.parametrize("persona", ["coach", "practitioner"])
def test_the_leaders_feedback_table_is_not_for_coaches_or_practitioners(world, login, persona):
    response = login(getattr(world, persona)).get(reverse("dashboards:leader"))
    assert response.status_code == 404

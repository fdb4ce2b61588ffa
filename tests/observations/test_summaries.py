"""The summaries kept on write (observations.summaries) equal the same figures read afresh
from the observations, after each kind of write; and what reads them answers as the
observations themselves would."""

import datetime as dt
import itertools
import random
import threading

import pytest
from django.db import close_old_connections, connection
from django.db.models import OuterRef, Subquery

from miiwrap import months
from miiwrap.people.models import Person
from observations import services, summaries
from observations.models import ActivityType, Observation, Rubric
from tests.conftest import require
from tests.factories import full_scores, make_observation, make_person, rubric_version

pytestmark = pytest.mark.usefixtures("shipped_rubrics")

DAY = dt.date(2024, 5, 10)


def up_to_date():
    latest, coach_months = summaries.check()
    assert latest == []
    assert coach_months == []


@pytest.fixture
def observed(world):
    """A few observations of two practitioners by the coach, on two rubrics and months."""
    mi = rubric_version("mi-coding")
    made = [
        make_observation(world.coach, world.practitioner, observed_on=DAY),
        make_observation(world.coach, world.practitioner, observed_on=DAY - dt.timedelta(40)),
        make_observation(world.coach, world.practitioner, mi, observed_on=DAY),
        make_observation(world.coach, world.unassigned, observed_on=DAY, growth_areas_items=[]),
    ]
    up_to_date()
    return made


def amend(observation, by, **changes):
    changed = Observation.objects.get(pk=observation.pk)
    for name, value in changes.items():
        setattr(observation, name, value)
    version = rubric_version()
    return services.observation_amend(
        observation=observation,
        changed=changed,
        definition=version.definition(),
        amended_by=by,
        reason="Corrected.",
    )


def test_a_submitted_observation_is_counted_and_a_draft_is_not(world, observed):
    make_observation(world.coach, world.practitioner, submit=False, observed_on=DAY)
    up_to_date()
    assert (
        Person.objects.filter(pk=world.practitioner.pk)
        .with_last_observation(only=["last_observed_on"])
        .get()
        .last_observed_on
        == DAY
    )


def test_submitting_a_draft_counts_it(world, observed):
    draft = make_observation(
        world.coach, world.practitioner, submit=False, observed_on=DAY + dt.timedelta(1)
    )
    version = rubric_version()
    services.observation_submit(observation=draft, definition=version.definition())
    up_to_date()
    latest = Person.objects.filter(pk=world.practitioner.pk).with_last_observation().get()
    assert (latest.last_id, latest.last_observed_on) == (draft.pk, DAY + dt.timedelta(1))


@pytest.mark.parametrize(
    "changes",
    [
        {"observed_on": DAY - dt.timedelta(100)},
        {"observed_on": DAY + dt.timedelta(60)},
        {"scores": "low"},
        {"growth_areas_items": [], "next_steps": ""},
    ],
    ids=["earlier", "later month", "score", "feedback"],
)
def test_an_amendment_recounts_the_months_and_the_latest_it_left_and_reached(
    world, observed, changes
):
    if changes.get("scores") == "low":
        changes["scores"] = full_scores(rubric_version(), rating=1)
    amend(observed[0], world.coach, **changes)
    up_to_date()


def test_an_acknowledgement_changes_nothing_counted(world, observed):
    observation = observed[0]
    before = summaries.check()
    services.observation_acknowledge(observation=observation, response="Thanks.")
    assert summaries.check() == before == ([], [])


def test_deleting_an_observation_recounts_what_it_counted_in(world, observed):
    observed[0].delete()
    up_to_date()
    Observation.objects.filter(practitioner=world.practitioner).delete()
    up_to_date()
    assert not Person.objects.filter(pk=world.practitioner.pk).with_last_observation().get().last_id


def test_bulk_writes_keep_the_summaries(world, observed):
    version = rubric_version()
    made = Observation.objects.bulk_create(
        Observation(
            coach=world.coach,
            practitioner=practitioner,
            rubric_version=version,
            activity=ActivityType.objects.first(),
            observed_on=DAY + dt.timedelta(days),
            status="submitted",
            overall_score=50,
            band="Developing",
        )
        for days, practitioner in [(3, world.practitioner), (70, world.unassigned)]
    )
    up_to_date()
    for row in made:
        row.observed_on -= dt.timedelta(400)
    Observation.objects.bulk_update(made, ["observed_on"])
    up_to_date()
    other = make_person(world.home, "practitioner", team=world.team_b)
    Observation.objects.filter(pk=made[0].pk).update(practitioner=other, band="Proficient")
    up_to_date()
    Observation.objects.filter(practitioner=world.unassigned).update(status="draft")
    up_to_date()
    assert summaries.raw_delete(Observation.objects.filter(pk__in=[m.pk for m in made])) == 2
    up_to_date()


def test_a_save_of_a_row_loaded_with_deferred_fields_recounts_what_it_left(world, observed):
    row = Observation.objects.only("pk", "observed_on").get(pk=observed[0].pk)
    row.observed_on = DAY - dt.timedelta(365)
    row.save(update_fields=["observed_on"])
    up_to_date()
    row = Observation.objects.only("pk", "practitioner").get(pk=observed[1].pk)
    row.practitioner = world.unassigned
    row.save()
    up_to_date()


def test_rebuild_recounts_everything(world, observed):
    from observations.models import CoachMonth, LatestObservation

    LatestObservation.objects.all().delete()
    CoachMonth.objects.filter(coach=world.coach).update(observed=99)
    assert summaries.check() != ([], [])
    summaries.rebuild()
    up_to_date()


def oracle_latest(people, rubric_id=None):
    """with_last_observation as it read before the summary: a probe into the observations."""
    latest = Observation.objects.submitted().of_practice().filter(practitioner=OuterRef("pk"))
    if rubric_id is not None:
        latest = latest.filter(rubric_version__rubric_id=rubric_id)
    latest = latest.order_by("-observed_on", "-pk")
    fields = {"last_observed_on": "observed_on", "last_band": "band", "last_id": "pk"}
    return list(
        people.annotate(**{k: Subquery(latest.values(v)[:1]) for k, v in fields.items()})
        .order_by("pk")
        .values_list("pk", *fields)
    )


def random_history(world, rng, n=60):
    """Observations of the home organization's people by its coaches, on every rubric
    (coaching observations of coaches too), on random days, some drafts."""
    versions = {code: rubric_version(code) for code in ("miiwrap-fidelity", "mi-coding")}
    coaching = rubric_version("coaching-feedback")
    second = make_person(world.home, "coach", "practitioner", team=world.team_b)
    coaches = [world.coach, second]
    practitioners = [world.practitioner, world.unassigned, world.coach]
    start = dt.date(2023, 11, 1)
    for _ in range(n):
        coach = rng.choice(coaches)
        version = rng.choice([*versions.values(), coaching])
        day = start + dt.timedelta(rng.randrange(400))
        feedback = {
            "growth_areas_items": rng.choice([[], ["x"]]),
            "next_steps": rng.choice(["", "Reflect more."]),
        }
        if version is coaching:  # a trainer's observation of coaching, stored as imported
            Observation.objects.bulk_create(
                [
                    Observation(
                        coach=coach,
                        practitioner=next(c for c in coaches if c != coach),
                        rubric_version=version,
                        activity=ActivityType.objects.first(),
                        observed_on=day,
                        status=rng.choice(["submitted", "draft"]),
                        overall_score=rng.randrange(100),
                        **feedback,
                    )
                ]
            )
            continue
        make_observation(
            coach,
            rng.choice([p for p in practitioners if p != coach]),
            version,
            submit=rng.random() < 0.85,
            observed_on=day,
            scores=full_scores(version, rating=rng.choice([1, 2, 3, None])),
            **feedback,
        )
    return coaches


def test_the_latest_observation_read_from_the_summary_equals_the_probe(world):
    random_history(world, random.Random(7))
    up_to_date()
    people = Person.objects.filter(organization=world.home)
    fields = ["last_observed_on", "last_band", "last_id"]
    for rubric in [None, *Rubric.objects.values_list("pk", flat=True)]:
        rubric_id = rubric
        kept = list(
            people.with_last_observation(rubric_id, fields)
            .order_by("pk")
            .values_list("pk", *fields)
        )
        assert kept == oracle_latest(people, rubric_id), rubric


def test_coach_counts_equal_counts_of_the_observations_for_any_range(world):
    rng = random.Random(11)
    coaches = random_history(world, rng)
    ids = [coach.pk for coach in coaches]
    days = [dt.date(2023, 10, 20) + dt.timedelta(rng.randrange(480)) for _ in range(24)]
    for start, end in itertools.islice(zip(days[::2], days[1::2], strict=True), 12):
        start, end = min(start, end), max(start, end)
        counted = summaries.coach_counts(ids, start, end)
        expected = Person.objects.filter(pk__in=ids).with_feedback_quality(start, end)
        for coach in expected:
            mine = [v for (pk, _), v in counted.items() if pk == coach.pk]
            assert (sum(o for o, _ in mine), sum(t for _, t in mine)) == (
                coach.observed,
                coach.tied,
            ), (start, end)
        for (pk, month), (observed, _) in counted.items():
            first, last = max(start, month), min(end, months.last_day(month))
            in_month = (
                Observation.objects.submitted()
                .of_practice()
                .filter(coach_id=pk, observed_on__range=(first, last))
            )
            assert in_month.count() == observed, (pk, month, start, end)


def test_a_coaching_rubric_turned_to_practice_is_read_as_practice_at_once(world):
    coaches = random_history(world, random.Random(3), n=30)
    Rubric.objects.filter(code="coaching-feedback").update(audience="practitioner")
    start, end = dt.date(2023, 11, 15), dt.date(2024, 12, 15)
    counted = summaries.coach_counts([c.pk for c in coaches], start, end)
    expected = Person.objects.filter(pk__in=[c.pk for c in coaches])
    for coach in expected.with_feedback_quality(start, end):
        assert sum(o for (pk, _), (o, _) in counted.items() if pk == coach.pk) == coach.observed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_writers_for_the_same_people_at_once_leave_the_summaries_right(
    shipped_rubrics, world, threads_close_connections
):
    """Two transactions submitting for the same practitioner and coach at the same moment:
    each recomputes after the other committed (the lock), so neither's count is lost."""
    require(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/DB to run it",
    )
    start = threading.Barrier(4)
    failures = []

    def submit(day):
        try:
            start.wait(10)
            make_observation(world.coach, world.practitioner, observed_on=day)
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            failures.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=submit, args=(DAY + dt.timedelta(n),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    up_to_date()
    latest = Person.objects.filter(pk=world.practitioner.pk).with_last_observation().get()
    assert latest.last_observed_on == DAY + dt.timedelta(3)

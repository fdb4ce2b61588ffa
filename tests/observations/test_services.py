"""Observation services: drafts, submission, amendment, acknowledgement, recomputation."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from miiwrap.people.models import Organization, Person
from observations import services
from observations.models import Observation
from tests.factories import full_scores, make_observation, make_person, rubric_version


def errors_of(call):
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


def test_a_draft_may_be_incomplete(world):
    observation = make_observation(world.coach, world.practitioner, submit=False, scores={})
    assert observation.status == Observation.Status.DRAFT
    assert observation.band == ""


def test_submit_demands_every_required_item(world):
    scores = full_scores(rubric_version())
    del scores["ep-voice"]
    errors = errors_of(lambda: make_observation(world.coach, world.practitioner, scores=scores))
    assert errors == {"item__ep-voice": ["Score this item."]}
    assert not Observation.objects.exists()


def test_submit_stores_the_computed_scores(world):
    version = rubric_version()
    observation = make_observation(world.coach, world.practitioner, scores=full_scores(version, 2))
    observation.refresh_from_db()
    assert observation.status == Observation.Status.SUBMITTED
    assert observation.overall_score == Decimal("69.77")
    assert observation.band == "borderline"
    assert observation.metrics["fidelity"]["met"] == ["borderline"]
    assert observation.submitted_at is not None


def test_mi_coding_with_no_questions_submits_with_an_undefined_ratio(world):
    version = rubric_version("mi-coding")
    scores = full_scores(version, rating=4, count=0)
    observation = make_observation(world.coach, world.practitioner, version, scores=scores)
    assert observation.metrics["r-q"]["value"] is None
    assert observation.overall_score is None
    assert observation.band == "good"  # every defined threshold metric is good


@pytest.mark.time_machine(dt.datetime(2025, 3, 1, 3, 30, tzinfo=dt.UTC), tick=False)
def test_the_date_is_read_in_the_organizations_time_zone(world):
    # 03:30 UTC on 1 March is still 28 February in Los Angeles.
    Organization.objects.filter(pk=world.home.pk).update(time_zone="America/Los_Angeles")
    world.practitioner.organization.refresh_from_db()
    errors = errors_of(
        lambda: make_observation(world.coach, world.practitioner, observed_on=dt.date(2025, 3, 1))
    )
    assert errors["observed_on"] == ["The observation date cannot be in the future."]
    assert make_observation(world.coach, world.practitioner, observed_on=dt.date(2025, 2, 28))


def test_the_date_cannot_precede_the_hire_date(world):
    errors = errors_of(
        lambda: make_observation(world.coach, world.practitioner, observed_on=dt.date(2020, 1, 5))
    )
    assert errors["observed_on"] == [
        f"{world.practitioner} was hired on 2020-01-06; pick a later date."
    ]


def test_the_date_cannot_follow_the_leave_date(world):
    world.practitioner.leave_date = dt.date(2023, 6, 30)
    world.practitioner.save()
    errors = errors_of(
        lambda: make_observation(world.coach, world.practitioner, observed_on=dt.date(2023, 7, 1))
    )
    assert "left on 2023-06-30" in errors["observed_on"][0]


def test_only_a_coach_may_observe(world):
    errors = errors_of(lambda: make_observation(world.leader, world.practitioner))
    assert errors["practitioner"] == [f"{world.leader} does not hold the coach role."]


def test_a_coach_from_another_organization_may_not_observe(world):
    errors = errors_of(lambda: make_observation(world.outsider, world.practitioner))
    assert "another organization" in errors["practitioner"][0]


def test_a_purveyor_coach_may_observe_anyone(world):
    trainer = make_person(world.purveyor, "coach", "purveyor_admin")
    assert make_observation(trainer, world.away_practitioner).pk


def test_only_someone_holding_the_rubrics_audience_role_is_observed(world):
    trainer = make_person(world.purveyor, "coach", "purveyor_admin")
    errors = errors_of(lambda: make_observation(trainer, world.leader))
    assert errors["practitioner"] == [
        f"{world.leader} does not hold the practitioner role this rubric observes."
    ]
    assert not Observation.objects.exists()


def test_a_draft_of_someone_the_rubric_does_not_observe_is_refused_too(world):
    trainer = make_person(world.purveyor, "coach", "purveyor_admin")
    errors = errors_of(lambda: make_observation(trainer, world.org_admin, submit=False))
    assert "does not hold the practitioner role" in errors["practitioner"][0]


@pytest.mark.parametrize("audience", ["practitioner", "coach"])
def test_the_forms_choices_and_the_submit_rule_agree_on_everyone(world, audience):
    rubric = rubric_version().rubric
    rubric.audience = audience
    people = Person.objects.prefetch_related("roles")
    chosen = set(rubric.observable_among(Person.objects.all()))
    allowed = {person for person in people if rubric.audience_problem(person) is None}
    assert chosen == allowed and chosen  # the same people, and not nobody


def test_amendment_keeps_the_old_values_who_and_why(world):
    observation = make_observation(world.coach, world.practitioner)
    before = Observation.objects.get(pk=observation.pk)
    observation.scores = full_scores(rubric_version(), 2)
    services.observation_amend(
        observation=observation,
        changed=before,
        definition=rubric_version().definition(),
        amended_by=world.coach,
        reason="Scored the wrong meeting",
    )
    observation.refresh_from_db()
    amendment = observation.amendments.get()
    assert observation.band == "borderline"
    assert amendment.previous["band"] == "high"
    assert amendment.previous["overall_score"] == "100.00"
    assert amendment.previous["scores"]["ep-voice"] == 3
    assert (amendment.amended_by, amendment.reason) == (world.coach, "Scored the wrong meeting")


def test_amendment_needs_a_reason(world):
    observation = make_observation(world.coach, world.practitioner)
    errors = errors_of(
        lambda: services.observation_amend(
            observation=observation,
            changed=observation,
            definition=rubric_version().definition(),
            amended_by=world.coach,
            reason="  ",
        )
    )
    assert errors == {"reason": ["Say why the observation is being changed."]}
    assert not observation.amendments.exists()


def test_acknowledging_records_the_time_once_and_keeps_the_response(world, time_machine):
    observation = make_observation(world.coach, world.practitioner)
    time_machine.move_to(dt.datetime(2025, 1, 2, 12, tzinfo=ZoneInfo("UTC")), tick=False)
    services.observation_acknowledge(observation=observation, response=" Thanks, will try. ")
    first = observation.acknowledged_at
    time_machine.move_to(dt.datetime(2025, 1, 3, 12, tzinfo=ZoneInfo("UTC")), tick=False)
    services.observation_acknowledge(observation=observation, response="")
    observation.refresh_from_db()
    assert observation.status == Observation.Status.ACKNOWLEDGED
    assert observation.acknowledged_at == first
    assert observation.response == "Thanks, will try."


def test_a_draft_cannot_be_acknowledged(world):
    draft = make_observation(world.coach, world.practitioner, submit=False)
    with pytest.raises(ValidationError):
        services.observation_acknowledge(observation=draft)


def test_recompute_fixes_stored_scores_and_counts_only_changes(world):
    right = make_observation(world.coach, world.practitioner)
    wrong = make_observation(world.coach, world.practitioner)
    Observation.objects.filter(pk=wrong.pk).update(band="low", overall_score=Decimal("1"))
    assert services.observations_recompute(Observation.objects.all()) == 1
    wrong.refresh_from_db()
    right.refresh_from_db()
    assert (wrong.band, wrong.overall_score) == ("high", Decimal("100.00"))
    assert right.band == "high"

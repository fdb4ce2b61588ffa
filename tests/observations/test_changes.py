"""What an amendment changed, in words: on unsaved observations, no database."""

import datetime as dt
from decimal import Decimal

from miiwrap.people.models import Person
from observations import scoring
from observations.changes import described
from observations.models import ActivityType, Observation

DEFINITION = scoring.RubricDef(
    items=(
        scoring.ItemDef("voice", "Family voice leads", scoring.RATING, scale_max=3, allows_na=True),
        scoring.ItemDef("team", "Team present", scoring.YES_NO),
        scoring.ItemDef("q", "Questions", scoring.COUNT, required=False),
    ),
    metrics=(
        scoring.MetricDef(
            "overall", "Overall", scoring.PERCENT_OF_POSSIBLE, ("voice", "team"), is_overall=True
        ),
    ),
    bands=("high", "low"),
)
HOME_VISIT = ActivityType(pk=1, name="Home visit")
PAT = Person(pk=1, first_name="Pat", last_name="Lee")


def observation(**fields):
    values = {
        "practitioner": PAT,
        "observed_on": dt.date(2024, 5, 1),
        "activity": HOME_VISIT,
        "mode": "live",
        "duration_minutes": 45,
        "scores": {"voice": 2, "team": 1, "q": 4},
        "strengths": "Warm.",
        "overall_score": Decimal("75.00"),
        "band": "low",
        **fields,
    }
    return Observation(**values)


def test_nothing_changed_says_nothing():
    assert described(observation(), observation(), DEFINITION) == []


def test_each_item_is_named_with_its_old_and_new_answer():
    before = observation()
    after = observation(scores={"voice": 3, "team": 0, "q": 5})
    assert described(before, after, DEFINITION) == [
        "Family voice leads: 2 → 3",
        "Team present: yes → no",
        "Questions: 4 → 5",
    ]


def test_not_applicable_and_unscored_are_words():
    before = observation(scores={"voice": "na"})
    after = observation(scores={"voice": 1, "team": 1})
    assert described(before, after, DEFINITION) == [
        "Family voice leads: not applicable → 1",
        "Team present: not scored → yes",
    ]  # Questions: unscored before and after, so not listed


def test_the_visit_and_the_overall_score():
    before = observation()
    after = observation(
        observed_on=dt.date(2024, 5, 2),
        mode="recorded",
        duration_minutes=None,
        overall_score=Decimal("87.50"),
        band="high",
    )
    assert described(before, after, DEFINITION) == [
        "Date observed: 2024-05-01 → 2024-05-02",
        "Mode: Live → Recorded",
        "Duration: 45 min → —",
        "Overall score: 75 % (low) → 87.5 % (high)",
    ]


def test_feedback_is_said_to_be_rewritten_and_its_items_named():
    after = observation(strengths="Warm and clear.", strengths_items=["voice"])
    assert described(observation(), after, DEFINITION) == [
        "Strengths: rewritten",
        "Strengths now tied to: Family voice leads",
    ]


def test_a_rubric_without_an_overall_score_names_the_band():
    no_overall = scoring.RubricDef(items=DEFINITION.items, metrics=(), bands=("good", "fair"))
    before, after = (
        observation(overall_score=None, band="fair"),
        observation(overall_score=None, band="good"),
    )
    assert described(before, after, no_overall) == ["Band: fair → good"]

"""The scoring module against hand-worked examples; no database."""

import json

import pytest

from observations import rubric_io, scoring
from observations.scoring import NA, ItemDef, MetricDef, RubricDef, Threshold


def shipped(code):
    """A shipped rubric's definition, built from its JSON without touching the database."""
    data = next(d for d in rubric_io.shipped_rubrics() if d["rubric"]["code"] == code)
    items = tuple(
        ItemDef(
            code=i["code"],
            label=i["label"],
            kind=i["kind"],
            scale_min=i["scale_min"],
            scale_max=i["scale_max"],
            allows_na=i["allows_na"],
            required=i["required"],
            domain=i["domain"],
        )
        for i in data["items"]
    )
    metrics = tuple(
        MetricDef(
            code=m["code"],
            label=m["label"],
            kind=m["kind"],
            numerator=tuple(m["numerator"]),
            denominator=tuple(m["denominator"]),
            thresholds=tuple(Threshold(t["band"], t["minimum"]) for t in m["thresholds"]),
            is_overall=m["is_overall"],
        )
        for m in data["metrics"]
    )
    return RubricDef(items=items, metrics=metrics, bands=tuple(data["version"]["bands"]))


MITI = shipped("mi-coding")
FIDELITY = shipped("miiwrap-fidelity")


def miti_scores(**overrides):
    scores = {
        "cct": 4, "sst": 3, "partnership": 4, "empathy": 3,
        "gi": 2, "persuade": 1, "persuade-permission": 1, "question": 10,
        "sr": 6, "cr": 6, "affirm": 2, "seek": 3, "autonomy": 1, "confront": 0,
    }  # fmt: skip
    scores.update(overrides)
    return scores


def value(result, code):
    return result.metric(code).value


# MI coding rubric, worked by hand:
#   Technical = (4 + 3) / 2 = 3.5 -> fair (>= 3, < 4)
#   Relational = (4 + 3) / 2 = 3.5 -> fair (>= 3.5 exactly)
#   %CR = 6 / (6 + 6) = 50 % -> good (>= 50 exactly)
#   R:Q = (6 + 6) / 10 = 1.2 -> fair
#   MI-adherent = 3 + 2 + 1 = 6; non-adherent = 1 + 0 = 1


def test_miti_summary_scores_match_the_hand_worked_example():
    result = scoring.compute(MITI, miti_scores())
    assert value(result, "technical") == 3.5
    assert value(result, "relational") == 3.5
    assert value(result, "pct-cr") == 50.0
    assert value(result, "r-q") == 1.2
    assert value(result, "mi-adherent") == 6
    assert value(result, "mi-non-adherent") == 1


def test_miti_bands_and_thresholds_met_at_their_exact_edges():
    result = scoring.compute(MITI, miti_scores())
    assert result.metric("relational").band == "fair"
    assert result.metric("relational").met == ("fair",)
    assert result.metric("pct-cr").band == "good"
    assert result.metric("pct-cr").met == ("good", "fair")
    assert result.metric("mi-adherent").band is None


def test_miti_overall_band_is_the_weakest_thresholded_metric():
    assert scoring.compute(MITI, miti_scores()).band == "fair"
    assert scoring.compute(MITI, miti_scores(cct=2, sst=2)).band == "below fair"
    all_good = miti_scores(cct=5, sst=4, partnership=4, empathy=4, question=5)
    assert scoring.compute(MITI, all_good).band == "good"


def test_miti_has_no_overall_percentage():
    assert scoring.compute(MITI, miti_scores()).overall is None


def test_no_questions_leaves_the_ratio_undefined_not_an_error():
    result = scoring.compute(MITI, miti_scores(question=0))
    assert result.metric("r-q").value is None
    assert result.metric("r-q").band is None
    assert result.metric("r-q").met == ()
    # The undefined ratio is left out of the overall band, not counted as failing.
    assert result.band == "fair"


def test_no_reflections_leaves_percent_complex_undefined():
    result = scoring.compute(MITI, miti_scores(sr=0, cr=0))
    assert value(result, "pct-cr") is None
    assert value(result, "r-q") == 0.0
    assert result.metric("r-q").band == "below fair"


def test_percent_complex_reflections_just_below_fair():
    # 39 / 100 = 39 % -> below fair; 40 / 100 -> fair
    assert scoring.compute(MITI, miti_scores(cr=39, sr=61)).metric("pct-cr").band == "below fair"
    assert scoring.compute(MITI, miti_scores(cr=40, sr=60)).metric("pct-cr").band == "fair"


def fidelity_scores(rating, indicators=1, **overrides):
    scores = {
        item.code: (rating if item.kind == "rating" else indicators) for item in FIDELITY.items
    }
    scores.update(overrides)
    return scores


# MiiWrap fidelity tool: 13 rated items (0-3) and 4 indicators (0/1): 43 points possible.


def test_fidelity_is_the_percentage_of_possible_points():
    result = scoring.compute(FIDELITY, fidelity_scores(3))
    assert result.overall == 100.0
    assert result.band == "high"
    # 13 x 2 + 4 = 30 of 43 = 69.77 % -> borderline
    result = scoring.compute(FIDELITY, fidelity_scores(2))
    assert result.overall == 69.77
    assert result.band == "borderline"


def test_not_applicable_items_leave_numerator_and_denominator():
    # Four wraparound items NA: 9 x 3 + 4 = 31 possible. Scores 9 x 2 + 4 = 22 -> 70.97 %
    na = dict.fromkeys(("wp-team", "wp-plan", "wp-natural", "wp-transition"), NA)
    result = scoring.compute(FIDELITY, fidelity_scores(2, **na))
    assert result.overall == 70.97
    assert result.metric("wraparound").value == pytest.approx(66.67)


def test_indicators_score_the_share_present():
    result = scoring.compute(FIDELITY, fidelity_scores(3, 0, **{"ind-agenda": 1}))
    assert result.metric("indicators").value == 25.0


def test_band_edges_of_the_fidelity_tool():
    rubric = RubricDef(
        items=(ItemDef("a", "A", "rating", 0, 100),),
        metrics=(
            MetricDef(
                "fidelity",
                "Fidelity",
                "percent_of_possible",
                ("a",),
                thresholds=(
                    Threshold("high", 85),
                    Threshold("adequate", 75),
                    Threshold("borderline", 65),
                ),
                is_overall=True,
            ),
        ),
        bands=("high", "adequate", "borderline", "low"),
    )
    bands = {
        score: scoring.compute(rubric, {"a": score}).band for score in (85, 84, 75, 74, 65, 64)
    }
    assert bands == {
        85: "high", 84: "adequate", 75: "adequate", 74: "borderline", 65: "borderline", 64: "low"
    }  # fmt: skip


def test_an_unscored_draft_has_no_scores_and_no_band():
    result = scoring.compute(FIDELITY, {})
    assert result.overall is None
    assert result.band is None
    assert all(m.value is None for m in result.metrics)


def test_results_serialise_to_json():
    stored = scoring.compute(MITI, miti_scores(question=0)).as_json()
    assert json.loads(json.dumps(stored))["r-q"] == {"value": None, "band": None, "met": []}


# Validation


def test_a_complete_set_of_scores_has_no_problems():
    assert scoring.problems(MITI, miti_scores(), complete=True) == {}


def test_missing_required_items_matter_only_when_complete():
    scores = miti_scores()
    del scores["cct"]
    assert scoring.problems(MITI, scores, complete=False) == {}
    assert scoring.problems(MITI, scores, complete=True) == {"cct": "Score this item."}


@pytest.mark.parametrize(
    "code, bad, message",
    [
        ("question", -1, "A count cannot be negative."),
        ("question", 10**400, "A count above 9999 is not plausible; check the number."),
        ("cct", 6, "Choose a rating from 1 to 5."),
        ("cct", 0, "Choose a rating from 1 to 5."),
        ("cct", "4", "Enter a whole number."),
        ("cct", True, "Enter a whole number."),
        ("cct", NA, "This item cannot be marked not applicable."),
    ],
)
def test_bad_scores_are_named_with_what_to_fix(code, bad, message):
    assert scoring.problems(MITI, miti_scores(**{code: bad}), complete=False) == {code: message}


def test_yes_no_takes_only_yes_or_no():
    problems = scoring.problems(FIDELITY, {"ind-agenda": 2}, complete=False)
    assert problems == {"ind-agenda": "Answer yes or no."}


def test_not_applicable_is_accepted_where_the_item_allows_it():
    assert scoring.problems(FIDELITY, {"wp-team": NA}, complete=False) == {}
    assert scoring.problems(FIDELITY, {"ind-summary": NA}, complete=False) == {
        "ind-summary": "This item cannot be marked not applicable."
    }


def test_unknown_items_are_reported():
    assert scoring.problems(MITI, {"nope": 1}, complete=False) == {
        "nope": "This item is not on the rubric."
    }

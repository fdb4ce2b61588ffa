"""What a coaching goal may aim at and the goals proposed from an alert or an observation
(coaching.goals): plain data, no database."""

import pytest

from coaching import goals
from observations.scoring import (
    COUNT,
    MEAN,
    PERCENT,
    RATING,
    RATIO,
    SUM,
    YES_NO,
    ItemDef,
    MetricDef,
    RubricDef,
    Threshold,
)

DEFINITION = RubricDef(
    items=(
        ItemDef("reflect", "Reflections", RATING, 0, 3),
        ItemDef("summary", "Summaries", YES_NO, 0, 1),
        ItemDef("empathy", "Empathy", RATING, 1, 5),
        ItemDef("cr", "Complex reflection", COUNT, 0, 0),
        ItemDef("sr", "Simple reflection", COUNT, 0, 0),
    ),
    metrics=(
        MetricDef(
            "pct-cr",
            "% complex reflections",
            PERCENT,
            ("cr",),
            ("cr", "sr"),
            (
                Threshold("good", 50),
                Threshold("fair", 40),
            ),
        ),
        MetricDef("relational", "Relational", MEAN, ("empathy",), (), (Threshold("good", 4),)),
        MetricDef("r-q", "R:Q", RATIO, ("sr", "cr"), ("sr",), (Threshold("good", 2),)),
        MetricDef("total", "Total", SUM, ("cr", "sr")),
    ),
    bands=("good", "fair"),
)


def test_items_aim_at_a_percentage_of_their_range():
    assert goals.target_range(DEFINITION, ["reflect"], "") == (0.0, 100.0, goals.ITEM_UNIT)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("pct-cr", (0.0, 100.0, "%")), ("relational", (1.0, 5.0, "")), ("r-q", (0.0, None, ""))],
)
def test_a_metric_aims_in_its_own_unit(metric, expected):
    assert goals.target_range(DEFINITION, [], metric) == expected


def test_a_sound_goal_has_no_problems():
    assert goals.problems(DEFINITION, ["reflect", "summary"], "", 80) == {}
    assert goals.problems(DEFINITION, [], "pct-cr", 50) == {}
    assert goals.problems(DEFINITION, [], "r-q", 2.5) == {}


def test_a_goal_needs_items_or_a_metric_but_not_both():
    assert "item_codes" in goals.problems(DEFINITION, [], "", 50)
    assert (
        "Aim at items or at a metric"
        in goals.problems(DEFINITION, ["reflect"], "pct-cr", 50)["metric_code"]
    )


def test_an_item_not_on_the_version_is_named():
    found = goals.problems(DEFINITION, ["reflect", "gone"], "", 50)
    assert found == {"item_codes": "Not on this rubric's current version: gone."}


def test_a_behaviour_count_is_refused_with_the_metric_to_use_instead():
    found = goals.problems(DEFINITION, ["cr"], "", 50)["item_codes"]
    assert found.startswith("Complex reflection: a behaviour count has no range")
    assert "% complex reflections" in found


def test_a_metric_with_no_direction_is_refused():
    assert "no direction" in goals.problems(DEFINITION, [], "total", 5)["metric_code"]
    assert "Not on this rubric" in goals.problems(DEFINITION, [], "nope", 5)["metric_code"]


@pytest.mark.parametrize(
    ("items", "metric", "target", "bad"),
    [
        (["reflect"], "", 100.0, False),
        (["reflect"], "", 100.5, True),
        (["reflect"], "", -1, True),
        ([], "pct-cr", 0, False),
        ([], "pct-cr", 101, True),
        ([], "relational", 0.9, True),
        ([], "relational", 5, False),
        ([], "r-q", 40, False),
        ([], "r-q", -0.1, True),
    ],
)
def test_the_target_lies_within_the_measures_range(items, metric, target, bad):
    found = goals.problems(DEFINITION, items, metric, target)
    assert ("target" in found) is bad


def test_the_target_error_says_the_range():
    found = goals.problems(DEFINITION, [], "relational", 7)
    assert found == {"target": "The target must lie from 1 to 5 (its unit)."}


def test_an_alerts_items_are_proposed_back_at_their_level_before_the_decline():
    moved = [
        {"code": "reflect", "label": "Reflections", "baseline": 2.4, "current": 1.5},
        {
            "code": "metric:pct-cr",
            "label": "% complex reflections",
            "baseline": 46.04,
            "current": 32,
        },
        {"code": "cr", "label": "Complex reflection", "baseline": 5, "current": 2},
        {"code": "gone", "label": "Removed item", "baseline": 2, "current": 1},
    ]
    proposed = goals.from_moved(moved, DEFINITION, metric_prefix="metric:")
    assert proposed == [
        {"description": "Reflections", "item_codes": ["reflect"], "metric_code": "", "target": 80},
        {
            "description": "% complex reflections",
            "item_codes": [],
            "metric_code": "pct-cr",
            "target": 46.0,
        },
    ]


def test_growth_areas_are_proposed_one_level_up():
    scores = {"reflect": 1, "empathy": 5, "summary": "na"}
    proposed = goals.from_growth_areas(["reflect", "empathy", "summary", "cr"], scores, DEFINITION)
    # reflect 1 of 0-3 → 2 of 3 = 67 %; empathy already at the top stays 100 %; an
    # indicator marked not applicable aims at its top; a count is left out.
    assert [(p["item_codes"], p["target"]) for p in proposed] == [
        (["reflect"], 67),
        (["empathy"], 100),
        (["summary"], 100),
    ]


def test_percent_of_range_reads_the_items_own_scale():
    assert goals.percent_of_range(DEFINITION.items[2], 3) == 50.0
    assert goals.percent_of_range(ItemDef("flat", "Flat", RATING, 2, 2), 2) == 100.0

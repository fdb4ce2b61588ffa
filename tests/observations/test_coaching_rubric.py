"""The shipped coaching feedback rubric: loaded by its migration, scored like the others."""

import json

from observations import rubric_io, scoring
from observations.models import Rubric
from tests.factories import rubric_version
from tests.trainers import COACHING, coaching_scores


def test_the_coaching_rubric_is_loaded_with_ten_described_items(db):
    version = rubric_version(COACHING)
    items = list(version.items.all())
    assert version.rubric.audience == "coach"
    assert version.rubric.observes_coaching
    assert version.status == "published"
    assert len(items) == 10
    for item in items:
        assert [level.value for level in item.levels.all()] == [0, 1, 2, 3]
        assert all(level.descriptor for level in item.levels.all())
    overall = [m for m in version.metrics.all() if m.is_overall]
    assert [m.code for m in overall] == ["coaching"]
    assert sorted(overall[0].numerator) == sorted(item.code for item in items)


def test_it_is_the_only_rubric_that_observes_coaching(db):
    assert list(Rubric.objects.of_coaching().values_list("code", flat=True)) == [COACHING]
    practice = set(Rubric.objects.of_practice().values_list("code", flat=True))
    assert practice == {"miiwrap-fidelity", "mi-coding"}


def test_the_shipped_file_passes_the_import_checks_and_matches_the_database(db):
    shipped = next(d for d in rubric_io.shipped_rubrics() if d["rubric"]["code"] == COACHING)
    rubric_io.check(shipped)
    dumped = rubric_io.dump_version(rubric_version(COACHING))
    assert dumped["rubric"]["audience"] == "coach"
    assert [i["code"] for i in dumped["items"]] == [i["code"] for i in shipped["items"]]
    assert json.loads(json.dumps(dumped))["metrics"][-1]["thresholds"][0] == {
        "band": "high",
        "minimum": 85,
    }


def test_scores_are_the_share_of_possible_points_banded_like_the_fidelity_tool(db):
    version = rubric_version(COACHING)
    definition = version.definition()
    assert scoring.compute(definition, coaching_scores(version, 3)).overall == 100
    # Eight items at 2 and two at 3: 22 of 30 points, 73.33 %: borderline.
    scores = coaching_scores(version, 2)
    scores["specific"] = scores["next-step"] = 3
    result = scoring.compute(definition, scores)
    assert round(result.overall, 2) == 73.33
    assert result.band == "borderline"


def test_a_not_applicable_practice_item_leaves_numerator_and_denominator(db):
    version = rubric_version(COACHING)
    scores = coaching_scores(version, 3)
    scores["practice"] = scoring.NA
    scores["time"] = 0
    # 8 items at 3 and one at 0: 24 of 27.
    assert round(scoring.compute(version.definition(), scores).overall, 2) == 88.89

"""The shipped readiness instrument and what an assessment says, against hand-worked
examples; scored by observations.scoring, with no database."""

from miiwrap.implementation import readiness
from observations import rubric_io, scoring
from tests.observations.test_scoring import shipped

CODE = "miiwrap-readiness"
READINESS = shipped(CODE)
DOMAINS = ["leadership", "policies", "supervision", "caseload", "coaching", "data", "voice"]


def document():
    return next(d for d in rubric_io.shipped_rubrics() if d["rubric"]["code"] == CODE)


def by_domain(**ratings):
    """Scores from {domain: [rating of each of its items, in order]}."""
    scores = {}
    for domain, values in ratings.items():
        codes = [item.code for item in READINESS.items if item.domain == domain]
        assert len(codes) == len(values), domain
        scores.update(zip(codes, values, strict=True))
    return scores


WORKED = by_domain(
    leadership=[3, 3, 2, 2],  # 10 / 4 = 2.5
    policies=[1, 1, 0, 2],  # 4 / 4 = 1.0
    supervision=[2, 2, 2, 2],  # 2.0
    caseload=[0, 1, 1],  # 2 / 3 = 0.67
    coaching=[3, 3, 3, 3],  # 3.0
    data=[2, 1, 0],  # 1.0
    voice=[1, 2, 1, 2],  # 1.5
)


def test_the_instrument_assesses_organizations_in_seven_domains_of_about_25_items():
    data = document()
    assert data["rubric"]["audience"] == "organization"
    assert [d["code"] for d in data["domains"]] == DOMAINS
    assert len(READINESS.items) == 26
    rubric_io.check(data)


def test_every_item_is_rated_0_to_3_with_a_descriptor_for_each_level():
    for item in document()["items"]:
        assert (item["kind"], item["scale_min"], item["scale_max"]) == ("rating", 0, 3)
        assert [level["value"] for level in item["levels"]] == [0, 1, 2, 3]
        assert all(level["descriptor"].strip() for level in item["levels"]), item["code"]


def test_the_domain_scores_are_the_mean_of_their_items():
    found = {d.code: d.value for d in readiness.domain_scores(READINESS, WORKED)}
    assert found == {
        "leadership": 2.5,
        "policies": 1.0,
        "supervision": 2.0,
        "caseload": 0.67,
        "coaching": 3.0,
        "data": 1.0,
        "voice": 1.5,
    }


def test_the_overall_score_is_the_share_of_possible_points_and_bands_it():
    # 10 + 4 + 8 + 2 + 12 + 3 + 6 = 45 points of 26 × 3 = 78: 57.69 %, under 60.
    result = scoring.compute(READINESS, WORKED)
    assert (result.overall, result.band) == (57.69, "emerging")


def test_one_more_point_reaches_the_developing_band():
    # 46 of 78 is 58.97 %; 47 of 78 is 60.26 %.
    assert scoring.compute(READINESS, {**WORKED, "pd-plan-forms": 2}).overall == 58.97
    assert scoring.compute(READINESS, {**WORKED, "pd-plan-forms": 2}).band == "emerging"
    raised = {**WORKED, "pd-plan-forms": 2, "pd-strengths": 1}
    assert scoring.compute(READINESS, raised).overall == 60.26
    assert scoring.compute(READINESS, raised).band == "developing"


def test_every_item_at_its_top_is_ready_and_at_zero_is_early():
    top = {item.code: 3 for item in READINESS.items}
    bottom = {item.code: 0 for item in READINESS.items}
    assert (scoring.compute(READINESS, top).overall, scoring.compute(READINESS, top).band) == (
        100.0,
        "ready",
    )
    assert scoring.compute(READINESS, bottom).band == "early"


def test_a_draft_scores_only_the_items_rated_so_far():
    result = scoring.compute(READINESS, {"lc-sponsor": 3, "lc-vision": 0})
    assert result.overall == 50.0
    assert result.metric("leadership").value == 1.5
    assert result.metric("voice").value is None


def test_the_weakest_items_are_the_lowest_rated_in_the_instruments_order():
    weakest = readiness.weakest_items(READINESS, WORKED, count=4)
    # The zeros first (pd-strengths, ct-size, du-outcomes), then the first 1: pd-policy.
    assert [item.code for item in weakest] == [
        "pd-strengths",
        "ct-size",
        "du-outcomes",
        "pd-policy",
    ]


def test_items_already_at_their_top_are_never_among_the_weakest():
    top = {item.code: 3 for item in READINESS.items}
    assert readiness.weakest_items(READINESS, top) == []


def test_the_weakest_domains_are_the_lowest_means():
    weakest = readiness.weakest_domains(READINESS, WORKED)
    assert [(d.code, d.value) for d in weakest] == [("caseload", 0.67), ("policies", 1.0)]


def test_the_change_since_the_previous_assessment_says_which_way_each_item_moved():
    before = ({"lc-sponsor": 1, "lc-vision": 2, "lc-team": 2}, {"lc-sponsor": "No sponsor yet"})
    after = ({"lc-sponsor": 3, "lc-vision": 1, "lc-team": 2, "lc-resources": 1}, {})
    found = {c.code: c for c in readiness.changes(READINESS, before, after)}
    assert found["lc-sponsor"].direction == readiness.UP
    assert found["lc-sponsor"].before_note == "No sponsor yet"
    assert found["lc-vision"].direction == readiness.DOWN
    assert found["lc-team"].direction == readiness.SAME
    assert found["lc-resources"].direction == readiness.NEW
    assert found["pd-policy"].direction == readiness.UNSCORED
    tally = readiness.tally(found.values())
    assert (tally["up"], tally["down"], tally["same"], tally["new"]) == (1, 1, 1, 1)


def test_a_first_assessment_has_nothing_before_it():
    changes = readiness.changes(READINESS, None, (WORKED, {}))
    assert len(changes) == 26
    assert {c.direction for c in changes} == {readiness.NEW}

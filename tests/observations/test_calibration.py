"""A coach's scores beside the master code (observations.calibration), worked by hand.

No database: a small rubric of plain ItemDefs, two ratings on 0-3, one on 1-5 that allows
not applicable, a present/absent item and a behaviour count.
"""

from decimal import Decimal
from fractions import Fraction

from observations import calibration, scoring
from observations.scoring import NA, ItemDef, RubricDef

RUBRIC = RubricDef(
    items=(
        ItemDef("voice", "Family voice", scoring.RATING, 0, 3),
        ItemDef("reflect", "Reflections", scoring.RATING, 0, 3),
        ItemDef("plan", "Plan", scoring.RATING, 1, 5, allows_na=True),
        ItemDef("agenda", "Agenda set", scoring.YES_NO, allows_na=True),
        ItemDef("questions", "Questions asked", scoring.COUNT),
    ),
    metrics=(),
)
MASTER = {"voice": 2, "reflect": 2, "plan": 3, "agenda": 1, "questions": 10}


def compared(mine, master=MASTER):
    return calibration.compare(RUBRIC, master, mine)


def row(comparison, code):
    return next(r for r in comparison.items if r.item.code == code)


def test_identical_scores_agree_exactly_on_every_counted_item():
    comparison = compared(dict(MASTER))
    assert comparison.as_fields() == {
        "items_compared": 4,
        "items_exact": 4,
        "items_within_one": 4,
        "signed_difference": Decimal("0.000"),
        "absolute_difference": Decimal("0.000"),
    }


def test_every_item_is_listed_in_the_rubrics_order_with_both_scores():
    comparison = compared({**MASTER, "voice": 3})
    assert [(r.item.code, r.mine, r.master) for r in comparison.items] == [
        ("voice", 3, 2),
        ("reflect", 2, 2),
        ("plan", 3, 3),
        ("agenda", 1, 1),
        ("questions", 10, 10),
    ]


def test_a_rating_one_level_off_is_within_one_but_not_exact():
    voice = row(compared({**MASTER, "voice": 1}), "voice")
    assert (voice.exact, voice.within_one, voice.difference) == (False, True, -1)


def test_a_rating_two_levels_off_is_not_within_one():
    comparison = compared({**MASTER, "voice": 0, "plan": 5})
    assert row(comparison, "voice").within_one is False
    assert row(comparison, "plan").difference == 2
    assert row(comparison, "plan").within_one is False
    assert (comparison.exact, comparison.within_one) == (2, 2)


def test_a_yes_no_mismatch_is_never_within_one():
    agenda = row(compared({**MASTER, "agenda": 0}), "agenda")
    # The numbers are one apart, but present against absent is simply a disagreement.
    assert agenda.difference == -1
    assert (agenda.exact, agenda.within_one) == (False, False)


def test_not_applicable_against_not_applicable_agrees():
    master = {**MASTER, "plan": NA, "agenda": NA}
    comparison = compared({**master}, master)
    assert row(comparison, "plan").exact and row(comparison, "plan").within_one
    assert row(comparison, "agenda").exact and row(comparison, "agenda").within_one
    assert comparison.as_fields()["items_compared"] == 4
    assert comparison.as_fields()["items_exact"] == 4


def test_a_number_against_the_masters_not_applicable_is_a_miss():
    master = {**MASTER, "plan": NA}
    plan = row(compared({**MASTER, "plan": 3}, master), "plan")
    assert plan.difference is None
    assert (plan.counted, plan.exact, plan.within_one) == (True, False, False)


def test_not_applicable_against_the_masters_number_is_a_miss():
    comparison = compared({**MASTER, "plan": NA})
    plan = row(comparison, "plan")
    assert (plan.counted, plan.exact, plan.within_one) == (True, False, False)
    assert (comparison.compared, comparison.exact, comparison.within_one) == (4, 3, 3)


def test_a_miss_on_not_applicable_stays_out_of_the_mean_differences():
    # Only voice (+1) and reflect (0) are rated items both scored with a number.
    comparison = compared({**MASTER, "voice": 3, "plan": NA})
    assert comparison.signed_difference == Fraction(1, 2)
    assert comparison.absolute_difference == Fraction(1, 2)


def test_counts_are_shown_but_not_counted():
    comparison = compared({**MASTER, "questions": 4})
    questions = row(comparison, "questions")
    assert (questions.mine, questions.master, questions.counted) == (4, 10, False)
    assert questions.difference == -6  # shown on the page beside the master's count
    assert (comparison.compared, comparison.exact, comparison.within_one) == (4, 4, 4)
    assert comparison.absolute_difference == 0


def test_items_the_master_left_unscored_are_not_counted():
    master = {code: score for code, score in MASTER.items() if code != "reflect"}
    comparison = compared({**MASTER, "reflect": 0}, master)
    assert row(comparison, "reflect").master is None
    assert row(comparison, "reflect").counted is False
    assert comparison.as_fields()["items_compared"] == 3
    assert comparison.as_fields()["items_exact"] == 3


def test_an_item_the_coach_left_unscored_is_counted_as_a_miss():
    mine = {code: score for code, score in MASTER.items() if code != "voice"}
    comparison = compared(mine)
    voice = row(comparison, "voice")
    assert (voice.mine, voice.counted, voice.exact, voice.within_one) == (None, True, False, False)
    assert comparison.signed_difference == 0  # reflect and plan, both agreeing


def test_a_lenient_coach_has_a_positive_signed_difference():
    # voice +1, reflect +1, plan +2: mean 4/3 both ways.
    fields = compared({**MASTER, "voice": 3, "reflect": 3, "plan": 5}).as_fields()
    assert fields["signed_difference"] == Decimal("1.333")
    assert fields["absolute_difference"] == Decimal("1.333")


def test_a_severe_coach_has_a_negative_signed_difference():
    # voice -2, reflect -1, plan -1: mean -4/3, absolute 4/3.
    fields = compared({**MASTER, "voice": 0, "reflect": 1, "plan": 2}).as_fields()
    assert fields["signed_difference"] == Decimal("-1.333")
    assert fields["absolute_difference"] == Decimal("1.333")


def test_lenient_and_severe_items_cancel_in_the_signed_but_not_the_absolute_difference():
    comparison = compared({**MASTER, "voice": 3, "reflect": 1})
    assert comparison.signed_difference == 0
    assert comparison.absolute_difference == Fraction(2, 3)
    assert comparison.as_fields()["absolute_difference"] == Decimal("0.667")


def test_the_differences_cover_rating_items_only():
    # The agenda (yes/no) and the count are off, the ratings agree: no difference.
    comparison = compared({**MASTER, "agenda": 0, "questions": 1})
    assert comparison.signed_difference == 0
    assert comparison.absolute_difference == 0
    assert comparison.exact == 3


def test_with_no_rated_item_scored_by_both_the_differences_are_none():
    master = {"agenda": 1, "questions": 2}
    fields = compared({"agenda": 1, "questions": 2}, master).as_fields()
    assert fields == {
        "items_compared": 1,
        "items_exact": 1,
        "items_within_one": 1,
        "signed_difference": None,
        "absolute_difference": None,
    }


def test_with_nothing_compared_every_figure_is_zero_or_none():
    fields = compared({}, {}).as_fields()
    assert fields["items_compared"] == 0
    assert fields["items_within_one"] == 0
    assert fields["signed_difference"] is None


def test_as_fields_rounds_to_three_places():
    rubric = RubricDef(
        items=tuple(ItemDef(f"r{n}", f"R{n}", scoring.RATING, 0, 9) for n in range(7)),
        metrics=(),
    )
    master = {f"r{n}": 1 for n in range(7)}
    # One item off by 2 among seven: 2/7 = 0.285714...; then -1 among seven: -0.142857...
    up = calibration.compare(rubric, master, {**master, "r0": 3}).as_fields()
    down = calibration.compare(rubric, master, {**master, "r0": 0}).as_fields()
    assert up["signed_difference"] == Decimal("0.286")
    assert up["signed_difference"].as_tuple().exponent == -3
    assert down["signed_difference"] == Decimal("-0.143")
    assert down["absolute_difference"] == Decimal("0.143")

"""Agreement statistics against published and hand-worked examples; no database."""

import math

import pytest

from observations.agreement import (
    ICC,
    adjacent_agreement,
    cohen_kappa,
    exact_agreement,
    gwet_ac1,
    icc_1_1,
    icc_2_1,
)


def pairs_from_table(table, categories):
    """The (rater A, rater B) pairs a published agreement table counts: A by row, B by column."""
    return [
        (categories[row], categories[column])
        for row, counts in enumerate(table)
        for column, count in enumerate(counts)
        for _ in range(count)
    ]


# Shrout & Fleiss (1979), Table 2: 6 targets (rows) scored by 4 judges (columns).
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]

# Boyd et al. (1982) as given by Altman (1991, pp. 403-405) and the Stata manual's `kap`
# example: two radiologists classify 85 xeromammograms as normal, benign, suspected
# cancer or cancer. Radiologist A by row, B by column.
RADIOLOGISTS = [
    [21, 12, 0, 0],
    [4, 17, 1, 0],
    [3, 9, 15, 2],
    [0, 0, 0, 1],
]

# SAS/STAT PROC FREQ "Agreement Study": two dermatologists rate 88 patients' skin
# condition as terrible, poor, marginal or clear. Dermatologist 1 by row.
SKIN_CONDITION = [
    [10, 4, 1, 0],
    [5, 10, 12, 2],
    [2, 4, 12, 5],
    [0, 2, 6, 13],
]

# Kundel & Polansky (2003), Radiology 228:303-308, Table A1: two readers grade 110
# mammograms absent, minimal, moderate or severe. Reader 2 by row, reader 1 by column.
MAMMOGRAMS = [
    [34, 10, 2, 0],
    [6, 8, 8, 2],
    [2, 5, 4, 12],
    [0, 1, 2, 14],
]

# PMC7222679, Table 1 (a hypothetical example of the kappa paradox): two spine surgeons
# say whether a finding is present on 200 MRIs. Assessor 2 by row, assessor 1 by column.
SPINE_MRI = [
    [130, 56],
    [9, 5],
]


# Exact and adjacent agreement, by hand: of the five pairs below three are equal, four
# lie within one point ((4, 2) is two apart), all five within two.
FIVE_PAIRS = [(3, 3), (2, 3), (4, 2), (1, 1), (2, 2)]


def test_exact_agreement_is_the_share_of_equal_pairs():
    assert exact_agreement(FIVE_PAIRS) == pytest.approx(3 / 5)


def test_adjacent_agreement_counts_pairs_within_one_point():
    assert adjacent_agreement(FIVE_PAIRS) == pytest.approx(4 / 5)


def test_adjacent_agreement_takes_a_wider_band():
    assert adjacent_agreement(FIVE_PAIRS, within=2) == 1.0


def test_adjacent_agreement_on_percentages_reads_points():
    assert adjacent_agreement([(85.0, 82.5), (70.0, 90.0)], within=5) == 0.5


def test_adjacent_agreement_refuses_a_negative_band():
    with pytest.raises(ValueError, match="negative"):
        adjacent_agreement(FIVE_PAIRS, within=-1)


def test_a_pair_missing_a_score_is_refused_by_position():
    with pytest.raises(ValueError, match="Pair 1 has no score from rater B"):
        exact_agreement([(2, 2), (3, None), (1, 1)])


def test_a_nan_score_is_refused_not_dropped():
    with pytest.raises(ValueError, match="Pair 0 has no score from rater A"):
        adjacent_agreement([(math.nan, 2), (3, 3)])


def test_agreement_needs_a_pair():
    with pytest.raises(ValueError, match="at least 1"):
        exact_agreement([])


# Perfect agreement: nothing off the diagonal, so observed disagreement is 0 and every
# kappa is 1 − 0 / (chance disagreement) = 1; AC1 is (1 − pe) / (1 − pe) = 1.
PERFECT = [(1, 1), (2, 2), (3, 3), (4, 4), (2, 2), (3, 3)]


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_perfect_agreement_gives_kappa_one(weights):
    assert cohen_kappa(PERFECT, [1, 2, 3, 4], weights) == 1.0


def test_perfect_agreement_gives_ac1_one():
    assert gwet_ac1([(1, 1), (0, 0), (1, 1), (1, 1)], [0, 1]) == 1.0


def test_perfect_agreement_gives_icc_one_with_its_interval():
    result = icc_2_1([[2, 2, 2], [3, 3, 3], [1, 1, 1], [4, 4, 4]])
    assert (result.value, result.lower, result.upper) == (1.0, 1.0, 1.0)


def test_perfect_agreement_gives_one_way_icc_one():
    result = icc_1_1([[2, 2], [3, 3, 3], [1], [4, 4]])
    assert (result.value, result.lower, result.upper) == (1.0, 1.0, 1.0)


# Total disagreement on a present/absent item, 10 sessions: rater A says 0 where B says
# 1 five times, and the reverse five times.
#   po = 0; each rater says 0 half the time, so kappa's pe = .5·.5 + .5·.5 = .5
#   kappa = (0 − .5) / (1 − .5) = −1
#   AC1: π0 = π1 = .5, pe = (.5·.5 + .5·.5) / (2 − 1) = .5, AC1 = (0 − .5) / .5 = −1
OPPOSED = [(0, 1)] * 5 + [(1, 0)] * 5


def test_total_disagreement_gives_kappa_minus_one():
    assert cohen_kappa(OPPOSED, [0, 1]) == pytest.approx(-1)


def test_total_disagreement_gives_ac1_minus_one():
    assert gwet_ac1(OPPOSED, [0, 1]) == pytest.approx(-1)


def test_opposite_ends_of_the_scale_give_linear_kappa_minus_one():
    # Scale 1-4, pairs (1, 4) and (4, 1): linear weight of each is |0 − 3| / 3 = 1, so
    # observed disagreement Σ v·o = 2. Margins: each rater gave 1 once and 4 once, so
    # e(1,1) = e(1,4) = e(4,1) = e(4,4) = 1·1/2 and chance disagreement Σ v·e = .5 + .5 = 1.
    # κw = 1 − 2 / 1 = −1.
    assert cohen_kappa([(1, 4), (4, 1)], [1, 2, 3, 4], "linear") == pytest.approx(-1)


# A Latin square: every subject gets every score once and every rater gives every score
# once, so subjects differ in nothing and all the spread is disagreement.
#   grand mean 2; row means and column means all 2, so MSR = MSC = 0
#   residuals are the scores minus 2: six of ±1, SSE = 6 on (3−1)(3−1) = 4 df, MSE = 1.5
#   ICC(2,1) = (0 − 1.5) / (0 + 2·1.5 + 3·(0 − 1.5)/3) = −1.5 / 1.5 = −1
#   one-way: MSB = 0, MSW = 6 / (9 − 3) = 1, ICC(1,1) = (0 − 1) / (0 + 2·1) = −0.5,
#   the floor −1/(k − 1) for three raters
LATIN_SQUARE = [[1, 2, 3], [2, 3, 1], [3, 1, 2]]


def test_total_disagreement_gives_icc_minus_one():
    assert icc_2_1(LATIN_SQUARE).value == pytest.approx(-1)


def test_total_disagreement_leaves_the_two_way_interval_undefined():
    # With MSC = 0 and b = 1 + k·ICC·(n − 1)/(n·(1 − ICC)) = 1 − 1 = 0, Satterthwaite's degrees
    # of freedom are 0/0.
    result = icc_2_1(LATIN_SQUARE)
    assert (result.lower, result.upper) == (None, None)


def test_total_disagreement_gives_one_way_icc_its_floor():
    assert icc_1_1(LATIN_SQUARE).value == pytest.approx(-0.5)


# Published weighted kappa: Stata's `kap` manual entry (radiologists, above) reports
# kappa 0.4728, 0.5684 with its weights `w` (1 − |i − j|/(k − 1), linear) and Altman
# rounds them to 0.47 and 0.57. Cross-checked in a scratch environment with
# statsmodels.stats.inter_rater.cohens_kappa and sklearn cohen_kappa_score, which both
# give 0.472789, 0.568399 and, with quadratic weights, 0.671371.
def test_radiologists_kappa_matches_the_published_figure():
    pairs = pairs_from_table(RADIOLOGISTS, [1, 2, 3, 4])
    assert cohen_kappa(pairs, [1, 2, 3, 4]) == pytest.approx(0.4728, abs=0.00005)


def test_radiologists_linear_weighted_kappa_matches_the_published_figure():
    pairs = pairs_from_table(RADIOLOGISTS, [1, 2, 3, 4])
    assert cohen_kappa(pairs, [1, 2, 3, 4], "linear") == pytest.approx(0.5684, abs=0.00005)


def test_radiologists_quadratic_weighted_kappa_matches_the_libraries():
    pairs = pairs_from_table(RADIOLOGISTS, [1, 2, 3, 4])
    assert cohen_kappa(pairs, [1, 2, 3, 4], "quadratic") == pytest.approx(0.671371, abs=5e-7)


def test_mammogram_kappas_match_the_published_vcd_output():
    # R's vcdExtra documents its Mammograms data with vcd::Kappa's printed output:
    # unweighted 0.3713, weighted 0.5964 with "Equal-Spacing" weights, 1 − |i − j|/(k − 1).
    scale = ["absent", "minimal", "moderate", "severe"]
    pairs = pairs_from_table(MAMMOGRAMS, scale)
    assert cohen_kappa(pairs, scale) == pytest.approx(0.3713, abs=0.00005)
    assert cohen_kappa(pairs, scale, "linear") == pytest.approx(0.5964, abs=0.00005)


def test_skin_condition_kappas_match_the_sas_example():
    # SAS reports simple kappa 0.3449 and, with its default Cicchetti-Allison (linear)
    # weights, weighted kappa 0.5082; statsmodels gives 0.344875 and 0.508160.
    scale = ["terrible", "poor", "marginal", "clear"]
    pairs = pairs_from_table(SKIN_CONDITION, scale)
    assert cohen_kappa(pairs, scale) == pytest.approx(0.3449, abs=0.00005)
    assert cohen_kappa(pairs, scale, "linear") == pytest.approx(0.5082, abs=0.00005)


def test_an_unused_level_in_the_middle_of_the_scale_still_counts_in_the_weights():
    # Scores 1, 2 and 4 on a 1-4 scale: 4 is three steps from 1, not two. sklearn's
    # cohen_kappa_score(weights="linear") gives 19/35 with labels=[1, 2, 3, 4] and 13/25
    # without them.
    pairs = list(zip([1, 2, 4, 1, 2, 4, 2, 1], [1, 2, 4, 2, 1, 2, 2, 1], strict=True))
    assert cohen_kappa(pairs, [1, 2, 3, 4], "linear") == pytest.approx(19 / 35)
    assert cohen_kappa(pairs, [1, 2, 4], "linear") == pytest.approx(13 / 25)


def test_kappa_is_undefined_when_both_raters_gave_one_score_to_everything():
    assert cohen_kappa([(1, 1), (1, 1), (1, 1)], [0, 1]) is None


def test_ac1_stays_defined_when_both_raters_gave_one_score_to_everything():
    # π1 = 1, π0 = 0, so pe = 0 and AC1 = (1 − 0) / (1 − 0).
    assert gwet_ac1([(1, 1), (1, 1), (1, 1)], [0, 1]) == 1.0


# Gwet's AC1 where one answer dominates (PMC7222679, Table 1): the article reports
# Po = 0.675, Pe = 0.668 and kappa 0.022 although two thirds of the MRIs are agreed on.
#   "present" makes up (186 + 139) / 400 = 0.8125 of all scores, "absent" 0.1875
#   AC1's pe = 2 · 0.8125 · 0.1875 / (2 − 1) = 0.3046875
#   AC1 = (0.675 − 0.3046875) / (1 − 0.3046875) = 0.5326
# Cross-checked with irrCAC (Python) CAC(table).gwet(): 0.53258, pa 0.675, pe 0.30469.
SPINE_PAIRS = [
    (assessor_1, assessor_2)
    for assessor_2, assessor_1 in pairs_from_table(SPINE_MRI, ["present", "absent"])
]


def test_spine_kappa_matches_the_published_figure():
    assert cohen_kappa(SPINE_PAIRS, ["present", "absent"]) == pytest.approx(0.022, abs=0.0005)


def test_spine_ac1_stays_near_the_raw_agreement():
    assert exact_agreement(SPINE_PAIRS) == 0.675
    assert gwet_ac1(SPINE_PAIRS, ["present", "absent"]) == pytest.approx(0.5326, abs=0.00005)


def test_an_unknown_category_is_refused_by_pair():
    with pytest.raises(ValueError, match=r"Pair 2 holds 5, which is not on the scale"):
        cohen_kappa([(1, 1), (2, 2), (5, 2)], [1, 2, 3, 4])


def test_ac1_refuses_an_unknown_category():
    with pytest.raises(ValueError, match="'maybe'"):
        gwet_ac1([("yes", "no"), ("yes", "maybe")], ["yes", "no"])


def test_a_scale_needs_two_distinct_categories():
    with pytest.raises(ValueError, match="at least two categories"):
        cohen_kappa([(1, 1), (1, 1)], [1])
    with pytest.raises(ValueError, match="each listed once"):
        cohen_kappa([(1, 1), (2, 2)], [1, 2, 2])


def test_kappa_refuses_unknown_weights():
    with pytest.raises(ValueError, match="Unknown weights 'squared'"):
        cohen_kappa(PERFECT, [1, 2, 3, 4], "squared")


def test_kappa_needs_two_pairs():
    with pytest.raises(ValueError, match="at least 2 scored pairs; got 1"):
        cohen_kappa([(1, 1)], [1, 2])


# Shrout & Fleiss (1979) publish ICC(1,1) = .17 and ICC(2,1) = .29 for their Table 2.
# R's psych::ICC prints the 95 % limits: ICC1 −0.133 to 0.72, ICC2 0.019 to 0.76.
# pingouin.intraclass_corr agrees: ICC(1,1) 0.165742 [−0.13, 0.72], ICC(A,1) 0.289764
# [0.02, 0.76].
def test_shrout_fleiss_icc_2_1_matches_the_published_value():
    assert icc_2_1(SHROUT_FLEISS).value == pytest.approx(0.29, abs=0.005)
    assert icc_2_1(SHROUT_FLEISS).value == pytest.approx(0.289764, abs=5e-7)


def test_shrout_fleiss_icc_2_1_interval_matches_psych():
    result = icc_2_1(SHROUT_FLEISS)
    assert result.lower == pytest.approx(0.019, abs=0.0005)
    assert result.upper == pytest.approx(0.76, abs=0.005)


def test_shrout_fleiss_icc_2_1_reports_its_design():
    result = icc_2_1(SHROUT_FLEISS, confidence=0.95)
    assert (result.subjects, result.raters, result.confidence) == (6, 4, 0.95)


def test_a_lower_confidence_gives_a_narrower_interval():
    wide, narrow = icc_2_1(SHROUT_FLEISS), icc_2_1(SHROUT_FLEISS, confidence=0.90)
    assert wide.lower < narrow.lower < narrow.value < narrow.upper < wide.upper


def test_shrout_fleiss_icc_1_1_matches_the_published_value_and_psych():
    result = icc_1_1(SHROUT_FLEISS)
    assert result.value == pytest.approx(0.17, abs=0.005)
    assert result.lower == pytest.approx(-0.133, abs=0.0005)
    assert result.upper == pytest.approx(0.72, abs=0.005)


def test_one_way_icc_on_balanced_groups_uses_k_itself():
    assert icc_1_1(SHROUT_FLEISS).raters == 4


def test_absolute_agreement_counts_a_steady_offset_as_disagreement():
    # Rater B scores every session one point above rater A: exact agreement 0.
    #   row means 1.5, 2.5, 3.5, grand 2.5: MSR = 2·(1 + 0 + 1)/2 = 2
    #   column means 2 and 3: MSC = 3·(.25 + .25)/1 = 1.5; every residual is 0, MSE = 0
    #   ICC(2,1) = (2 − 0) / (2 + 0 + 2·(1.5 − 0)/3) = 2/3
    assert icc_2_1([[1, 2], [2, 3], [3, 4]]).value == pytest.approx(2 / 3)


# Rotating raters, unequal groups, by hand: subject s1 scored 1 and 3, s2 5 and 7, s3
# 3, 5, 4 and 4 (N = 8 scores on n = 3 subjects).
#   means 2, 6, 4; grand mean 32/8 = 4
#   SSB = 2·(2−4)² + 2·(6−4)² + 4·(4−4)² = 16 on 2 df: MSB = 8
#   SSW = (1 + 1) + (1 + 1) + (1 + 1 + 0 + 0) = 6 on 8 − 3 = 5 df: MSW = 1.2
#   k0 = (8 − (2² + 2² + 4²)/8) / (3 − 1) = (8 − 3)/2 = 2.5
#   ICC(1,1) = (8 − 1.2) / (8 + 1.5·1.2) = 6.8/9.8 = 34/49 ≈ 0.6939
#   F0 = 8/1.2 = 6.667; from F tables F.975(2, 5) = 8.434 and F.975(5, 2) = 39.30:
#   FL = 6.667/8.434 = 0.7905, lower = (0.7905 − 1)/(0.7905 + 1.5) = −0.0915
#   FU = 6.667·39.30 = 262.0,  upper = (262.0 − 1)/(262.0 + 1.5) = 0.9905
# statsmodels' anova_lm on the same data gives the same MSB = 8 and MSW = 1.2.
ROTATING = {"s1": [1, 3], "s2": [5, 7], "s3": [3, 5, 4, 4]}


def test_one_way_icc_on_unequal_groups_matches_the_hand_computation():
    result = icc_1_1(ROTATING)
    assert result.value == pytest.approx(34 / 49)
    assert result.raters == pytest.approx(2.5)
    assert result.subjects == 3


def test_one_way_icc_interval_on_unequal_groups_matches_the_f_tables():
    result = icc_1_1(ROTATING)
    assert result.lower == pytest.approx(-0.0915, abs=0.0005)
    assert result.upper == pytest.approx(0.9905, abs=0.0005)


def test_a_subject_with_one_score_adds_to_the_spread_between_subjects_only():
    # s4's single score leaves SSW and its df alone but moves MSB, N and k0.
    assert icc_1_1({**ROTATING, "s4": [9]}).value != pytest.approx(34 / 49)
    assert icc_1_1({**ROTATING, "s4": [9]}).subjects == 4


def test_all_scores_identical_leave_icc_undefined():
    assert icc_2_1([[3, 3], [3, 3], [3, 3]]) == ICC(None, None, None, 3, 2, 0.95)
    assert icc_1_1([[3, 3], [3], [3, 3, 3]]).value is None


def test_two_subjects_and_two_raters_with_no_difference_leave_icc_undefined():
    # MSR = MSC = 0, MSE = 1: the denominator 0 + 1 + 2·(0 − 1)/2 is 0.
    assert icc_2_1([[1, 2], [2, 1]]).value is None


def test_an_incomplete_row_is_refused_by_position():
    matrix = [row[:] for row in SHROUT_FLEISS]
    matrix[2][1] = None
    with pytest.raises(ValueError, match=r"Row 2 has a score missing"):
        icc_2_1(matrix)


def test_a_short_row_is_refused_by_subject_name():
    matrix = {"case-1": [4, 5, 4], "case-2": [2, 3], "case-3": [1, 1, 2]}
    with pytest.raises(ValueError, match=r"Subject 'case-2' has 2 of 3 raters' scores"):
        icc_2_1(matrix)


def test_a_nan_in_the_matrix_is_refused():
    with pytest.raises(ValueError, match="Row 1 has a score missing"):
        icc_2_1([[1, 2], [3, math.nan], [2, 2]])


def test_a_score_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError, match="'4'"):
        icc_2_1([[1, 2], [3, "4"]])


def test_icc_needs_two_subjects():
    with pytest.raises(ValueError, match="at least 2 subjects"):
        icc_2_1([[1, 2, 3]])
    with pytest.raises(ValueError, match="at least 2 subjects; got 1"):
        icc_1_1([[1, 2, 3]])


def test_icc_2_1_needs_two_raters():
    with pytest.raises(ValueError, match="at least 2 raters"):
        icc_2_1([[1], [2], [3]])


def test_one_way_icc_refuses_a_missing_score_by_subject_name():
    with pytest.raises(ValueError, match="Subject 's2' has a score missing"):
        icc_1_1({"s1": [1, 2], "s2": [3, None, 4]})


def test_one_way_icc_refuses_a_subject_without_scores():
    with pytest.raises(ValueError, match="Row 1 has no scores"):
        icc_1_1([[1, 2], [], [3, 4]])


def test_one_way_icc_needs_a_subject_scored_twice():
    with pytest.raises(ValueError, match="more than one rater"):
        icc_1_1([[1], [2], [3]])


@pytest.mark.parametrize("confidence", [0, 1, 95])
def test_confidence_must_be_a_share(confidence):
    with pytest.raises(ValueError, match="between 0 and 1"):
        icc_2_1(SHROUT_FLEISS, confidence=confidence)


def test_subjects_that_do_not_differ_have_a_value_but_no_interval():
    # Each rater scores both subjects alike; the raters differ: no between-subject variance.
    icc = icc_2_1([[1, 2, 2], [1, 2, 2]])
    assert icc.value is not None and icc.value <= 0
    assert (icc.lower, icc.upper) == (None, None)

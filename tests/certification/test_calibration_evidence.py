"""The calibration rule (an observer certification) on constructed attempts, worked by hand:
the latest attempt at each of the latest three cases, their items pooled, at least 80 %
within one point of the master code."""

import datetime as dt
from dataclasses import replace
from fractions import Fraction

from certification.evidence import (
    Attempt,
    Rule,
    counted_cases,
    evaluate,
    first_day,
    within_one_share,
)

D = dt.date
FIDELITY, MI = 1, 2
AS_OF = D(2026, 6, 30)
RULE = Rule(
    kind="initial",
    rubric_id=FIDELITY,
    rubric_name="MiiWrap fidelity tool",
    min_observations=3,
    within_days=365,
    source="calibration",
    min_cases=3,
    min_within_one_percent=80,
)
FIRST = D(2025, 6, 30)
_ids = iter(range(1, 10_000))


def attempt(case, day, within, compared=10, rubric_id=FIDELITY):
    return Attempt(
        id=next(_ids),
        case_id=case,
        case=f"Case {case}",
        rubric_id=rubric_id,
        submitted_on=day,
        items_compared=compared,
        items_within_one=within,
    )


def check(attempts, rule=RULE, **kw):
    return evaluate(rule, attempts, as_of=AS_OF, first=FIRST, **kw)


def test_the_look_back_starts_365_days_before_the_day():
    assert first_day(RULE, AS_OF) == FIRST


def test_three_cases_at_exactly_80_percent_pooled_meet_the_rule():
    """9 + 7 + 8 of 10 items: 24 of 30, exactly 80 %."""
    attempts = [attempt(1, D(2026, 1, 5), 9), attempt(2, D(2026, 2, 5), 7)]
    attempts.append(attempt(3, D(2026, 3, 5), 8))
    progress = check(attempts)
    assert within_one_share(progress.qualifying) == Fraction(4, 5)
    assert progress.meets
    assert progress.summary == "Meets the rule"
    assert progress.requirements[0].detail == "3 cases, 80 % of their items within one point"
    assert progress.evidence == tuple(attempts)


def test_one_item_short_of_80_percent_does_not_meet_it_and_says_so():
    """23 of 30 is 76.7 %: shown rounded down, never as if it met the standard."""
    attempts = [attempt(1, D(2026, 1, 5), 9), attempt(2, D(2026, 2, 5), 7)]
    attempts.append(attempt(3, D(2026, 3, 5), 7))
    progress = check(attempts)
    assert not progress.meets
    assert progress.summary == "3 cases, 76 % of their items within one point; 80 % needed"


def test_a_share_just_under_the_standard_is_not_rounded_up():
    """79 of 100 items, then 199 of 250: 278 of 350, 79.4 %, which reads 79 % and fails."""
    attempts = [attempt(1, D(2026, 1, 5), 79, compared=100)]
    attempts += [attempt(2, D(2026, 2, 5), 100, 125), attempt(3, D(2026, 3, 5), 99, 125)]
    assert within_one_share(attempts) == Fraction(278, 350)
    progress = check(attempts)
    assert not progress.meets
    assert "79 % of their items" in progress.summary


def test_the_items_are_pooled_not_the_case_shares_averaged():
    """4 of 4 (100 %), 4 of 4 (100 %) and 12 of 20 (60 %): the mean of the shares is 87 %,
    but the items pooled are 20 of 28, 71 %."""
    attempts = [attempt(1, D(2026, 1, 5), 4, 4), attempt(2, D(2026, 2, 5), 4, 4)]
    attempts.append(attempt(3, D(2026, 3, 5), 12, 20))
    progress = check(attempts)
    assert within_one_share(progress.qualifying) == Fraction(20, 28)
    assert not progress.meets


def test_fewer_cases_than_needed_say_how_many_so_far_and_by_when_more_are_due():
    """Two cases at 13 of 15: 86 %; the oldest stops counting after 2027-01-05."""
    attempts = [attempt(1, D(2026, 1, 5), 9), attempt(2, D(2026, 2, 5), 4, 5)]
    progress = check(attempts)
    assert not progress.meets
    requirement = progress.requirements[0]
    assert requirement.text == (
        "3 calibration cases on the MiiWrap fidelity tool since 2025-06-30 with at least "
        "80 % of items within one point of the master code"
    )
    assert requirement.detail == (
        "2 of 3 cases so far, 86 % of their items within one point; 1 more by 2027-01-05"
    )


def test_a_deadline_sooner_than_the_look_back_is_when_more_are_due():
    progress = check([attempt(1, D(2026, 1, 5), 9)], deadline=D(2026, 7, 15))
    assert progress.summary.endswith("; 2 more by 2026-07-15")


def test_with_no_case_there_is_no_share_to_show():
    progress = check([])
    assert progress.summary == "0 of 3 cases so far; 3 more"
    assert progress.qualifying == ()


def test_an_attempt_before_the_look_back_does_not_count_one_on_its_first_day_does():
    old = attempt(1, D(2025, 6, 29), 10)
    first = attempt(2, D(2025, 6, 30), 10)
    later = [attempt(3, D(2026, 1, 5), 10), attempt(4, D(2026, 2, 5), 10)]
    assert check([old, *later]).qualifying == tuple(later)
    assert not check([old, *later]).meets
    assert check([first, *later]).meets


def test_an_attempt_after_the_day_does_not_count_yet():
    attempts = [attempt(1, D(2026, 1, 5), 10), attempt(2, D(2026, 2, 5), 10)]
    assert not check([*attempts, attempt(3, D(2026, 7, 1), 10)]).meets
    assert check([*attempts, attempt(3, AS_OF, 10)]).meets


def test_a_case_attempted_twice_counts_once_by_its_latest_attempt():
    """Case 1 scored 5 of 10 in January and 10 of 10 in May: only May's counts, so the
    three latest cases are 2, 3 and 1 (10 + 7 + 7 of 30, 80 %)."""
    first_try = attempt(1, D(2026, 1, 5), 5)
    cases = [attempt(2, D(2026, 2, 5), 7), attempt(3, D(2026, 3, 5), 7)]
    second_try = attempt(1, D(2026, 5, 5), 10)
    progress = check([second_try, first_try, *cases])
    assert progress.qualifying == (*cases, second_try)
    assert progress.meets


def test_a_case_attempted_twice_is_not_two_of_the_cases_needed():
    attempts = [attempt(1, D(2026, 1, 5), 10), attempt(1, D(2026, 5, 5), 10)]
    attempts.append(attempt(2, D(2026, 2, 5), 10))
    progress = check(attempts)
    assert len(progress.qualifying) == 2
    assert progress.summary.startswith("2 of 3 cases so far")


def test_a_worse_latest_attempt_at_a_case_replaces_a_better_one():
    attempts = [attempt(1, D(2026, 1, 5), 10), attempt(2, D(2026, 2, 5), 8)]
    attempts += [attempt(3, D(2026, 3, 5), 8), attempt(1, D(2026, 4, 5), 5)]
    assert not check(attempts).meets  # 21 of 30
    assert check(attempts[:3]).meets  # 26 of 30


def test_only_the_latest_cases_are_pooled_so_an_old_weak_one_drops_out():
    weak = attempt(1, D(2025, 9, 1), 2)
    strong = [attempt(n, D(2026, n, 1), 9) for n in (2, 3, 4)]
    progress = check([weak, *strong])
    assert progress.qualifying == tuple(strong)
    assert progress.meets


def test_cases_on_another_rubric_and_attempts_with_nothing_compared_do_not_count():
    attempts = [attempt(1, D(2026, 1, 5), 10), attempt(2, D(2026, 2, 5), 10)]
    assert not check([*attempts, attempt(3, D(2026, 3, 5), 10, rubric_id=MI)]).meets
    assert not check([*attempts, attempt(3, D(2026, 3, 5), 0, compared=0)]).meets


def test_the_settings_are_the_rules():
    """One case at 90 % meets a rule of one case at 90 %, and not one at 91 %."""
    one = [attempt(1, D(2026, 1, 5), 9)]
    assert check(one, rule=replace(RULE, min_cases=1, min_within_one_percent=90)).meets
    assert not check(one, rule=replace(RULE, min_cases=1, min_within_one_percent=91)).meets


def test_the_certification_required_first_is_a_requirement_too():
    attempts = [attempt(n, D(2026, n, 1), 10) for n in (1, 2, 3)]
    progress = check(attempts, requires=("MiiWrap Coach", False))
    assert not progress.meets
    assert progress.summary == "Does not hold a current MiiWrap Coach certification"


def test_what_a_decision_keeps_of_an_attempt_names_no_observation():
    kept = attempt(7, D(2026, 1, 5), 9).as_json()
    assert "id" not in kept
    assert kept["case"] == "Case 7"
    assert (kept["submitted_on"], kept["items_compared"], kept["items_within_one"]) == (
        "2026-01-05",
        10,
        9,
    )


def test_counted_cases_reads_the_rule_alone():
    attempts = [attempt(n, D(2026, n, 1), 10) for n in (1, 2, 3, 4)]
    counted = counted_cases(replace(RULE, min_cases=2), attempts, as_of=AS_OF, first=FIRST)
    assert [a.case_id for a in counted] == [3, 4]

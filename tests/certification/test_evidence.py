"""The evidence rule on constructed observations, just inside and just outside every bound."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from certification.evidence import Rule, Seen, band_at_least, evaluate, first_day

D = dt.date
FIDELITY, MI = 1, 2
FIDELITY_BANDS = ("high", "adequate", "borderline", "low")
MI_BANDS = ("good", "fair", "below fair")
AS_OF = D(2026, 6, 30)
RULE = Rule(
    kind="initial",
    rubric_id=FIDELITY,
    rubric_name="MiiWrap fidelity tool",
    min_observations=3,
    within_days=180,
    min_overall=Decimal("85"),
    min_activity_types=2,
    observer_program="MiiWrap Coach",
    companion_rubric_id=MI,
    companion_name="MI coding rubric",
    companion_min_band="fair",
)
FIRST = AS_OF - dt.timedelta(days=180)  # 2026-01-01
_ids = iter(range(1, 10_000))


def seen(day, overall="90", activity="Home visit", **fields):
    return Seen(
        id=next(_ids),
        observed_on=day,
        rubric_id=fields.pop("rubric_id", FIDELITY),
        overall=None if overall is None else Decimal(overall),
        band=fields.pop("band", "high"),
        bands=fields.pop("bands", FIDELITY_BANDS),
        activity=activity,
        observer="Cora Coach",
        **fields,
    )


def coded(day, band="fair", **fields):
    return seen(day, overall=None, band=band, rubric_id=MI, bands=MI_BANDS, **fields)


def meeting(day=None, **fields):
    return seen(day or D(2026, 5, 1), activity="Family team meeting", **fields)


def enough():
    """Three qualifying observations in two activity types, and a fair MI coding."""
    return [
        seen(D(2026, 3, 2)),
        seen(D(2026, 4, 6)),
        meeting(),
        coded(D(2026, 4, 20)),
    ]


def check(observations, rule=RULE, first=FIRST, **kw):
    return evaluate(rule, observations, as_of=AS_OF, first=first, **kw)


def test_enough_evidence_meets_the_rule_and_is_kept():
    observations = enough()
    progress = check(observations)
    assert progress.meets
    assert progress.summary == "Meets the rule"
    assert {s.id for s in progress.evidence} == {s.id for s in observations}
    assert [s.observed_on for s in progress.qualifying] == [
        D(2026, 3, 2),
        D(2026, 4, 6),
        D(2026, 5, 1),
    ]


def test_first_day_is_the_look_back_or_the_window_and_never_before_a_revocation():
    assert first_day(RULE, AS_OF) == D(2026, 1, 1)
    renewal = replace(RULE, kind="renewal", within_days=None)
    assert first_day(renewal, AS_OF, window_opens=D(2026, 4, 1)) == D(2026, 4, 1)
    assert first_day(RULE, AS_OF, not_before=D(2026, 2, 1)) == D(2026, 2, 1)
    assert first_day(replace(RULE, within_days=None), AS_OF) == D.min


@pytest.mark.parametrize(
    "day, counts",
    [
        (FIRST, True),  # the first day counts
        (FIRST - dt.timedelta(days=1), False),  # the day before does not
        (AS_OF, True),  # the decision day counts
        (AS_OF + dt.timedelta(days=1), False),  # a later observation does not
    ],
)
def test_the_days_that_count_are_inclusive_at_both_ends(day, counts):
    observations = [seen(D(2026, 3, 2)), meeting(), seen(day), coded(D(2026, 4, 20))]
    assert check(observations).meets is counts


@pytest.mark.parametrize(
    "overall, counts", [("85.00", True), ("84.99", False), ("100", True), (None, False)]
)
def test_the_overall_score_threshold_is_inclusive(overall, counts):
    observations = [seen(D(2026, 3, 2)), meeting(), seen(D(2026, 6, 1), overall), coded(AS_OF)]
    assert check(observations).meets is counts


@pytest.mark.parametrize(
    "band, counts", [("high", True), ("adequate", True), ("borderline", False), ("", False)]
)
def test_a_band_standard_counts_that_band_and_better(band, counts):
    rule = replace(RULE, min_overall=None, min_band="adequate")
    observations = [
        seen(D(2026, 3, 2), overall="50", band="high"),
        meeting(overall="50", band="adequate"),
        seen(D(2026, 6, 1), overall="99", band=band),
        coded(AS_OF),
    ]
    assert check(observations, rule).meets is counts


def test_with_both_a_score_and_a_band_an_observation_needs_both():
    rule = replace(RULE, min_band="high")
    high_score_low_band = seen(D(2026, 6, 1), overall="95", band="adequate")
    observations = [seen(D(2026, 3, 2)), meeting(), high_score_low_band, coded(AS_OF)]
    assert not check(observations, rule).meets


@pytest.mark.parametrize("count, meets", [(2, False), (3, True)])
def test_the_number_of_observations_is_a_minimum(count, meets):
    observations = [meeting(), *[seen(D(2026, 2, n + 1)) for n in range(count - 1)]]
    progress = check([*observations, coded(AS_OF)])
    assert progress.meets is meets
    assert progress.requirements[0].detail.startswith(f"{count} of 3 qualifying observations")


def test_two_activity_types_are_needed_and_one_is_not_enough():
    same_kind = [seen(D(2026, 2, 1)), seen(D(2026, 3, 1)), seen(D(2026, 4, 1)), coded(AS_OF)]
    progress = check(same_kind)
    assert not progress.meets
    activities = progress.requirements[1]
    assert (activities.met, activities.detail) == (
        False,
        "3 qualifying observations in 1 activity type: Home visit; 1 more type needed",
    )
    assert check([*same_kind, meeting()]).meets


def test_more_observations_than_asked_never_read_as_more_than_all():
    observations = [*enough(), seen(D(2026, 5, 4))]
    assert check(observations).requirements[0].detail == ("4 qualifying observations, 3 needed")


def test_more_activity_types_than_asked_never_read_as_more_than_all():
    """Three types where two are asked for once read "3 of 2"."""
    kinds = [seen(D(2026, 2, 1)), meeting(), seen(D(2026, 4, 1), activity="Phone call")]
    activities = check([*kinds, coded(AS_OF)]).requirements[1]
    assert activities.met
    assert activities.detail == (
        "3 qualifying observations in 3 activity types: Family team meeting, Home visit, Phone call"
    )
    assert " of 2" not in activities.detail


def test_an_observer_without_the_certification_that_day_does_not_count():
    observations = [*enough(), seen(D(2026, 6, 2), observer_certified=False)]
    observations[0] = replace(observations[0], observer_certified=False)
    progress = check(observations)
    assert not progress.meets
    assert progress.requirements[0].detail == (
        "2 of 3 qualifying observations; 1 more by 2026-10-03 "
        "(2 more scored high enough, but the observer was not certified)"
    )


def test_a_rule_without_an_observer_program_counts_any_observer():
    rule = replace(RULE, observer_program="")
    observations = [replace(s, observer_certified=False) for s in enough()]
    assert check(observations, rule).meets


@pytest.mark.parametrize(
    "band, day, meets",
    [
        ("fair", D(2026, 4, 20), True),
        ("good", D(2026, 4, 20), True),
        ("below fair", D(2026, 4, 20), False),
        ("fair", FIRST, True),
        ("fair", FIRST - dt.timedelta(days=1), False),  # outside the days that count
    ],
)
def test_the_companion_rubrics_latest_observation_must_reach_its_band(band, day, meets):
    observations = [*enough()[:3], coded(day, band)]
    assert check(observations).meets is meets


def test_a_later_weaker_companion_observation_is_the_one_that_counts():
    observations = [*enough(), coded(D(2026, 6, 1), "below fair")]
    progress = check(observations)
    assert not progress.meets
    assert progress.requirements[2].detail == "Latest MI coding rubric: below fair on 2026-06-01"


def test_without_any_companion_observation_the_rule_says_so():
    progress = check(enough()[:3])
    assert progress.summary == "No MI coding rubric observation since 2026-01-01"


def test_the_summary_counts_what_is_there_and_says_by_when_the_rest_is_due():
    progress = check([seen(D(2026, 2, 10)), meeting(), coded(AS_OF)])
    # The oldest qualifying observation stops counting 180 days after it: 2026-08-09.
    assert progress.summary == "2 of 3 qualifying observations; 1 more by 2026-08-09"


def test_a_deadline_earlier_than_the_ageing_one_wins():
    progress = check([seen(D(2026, 2, 10)), coded(AS_OF)], deadline=D(2026, 7, 15))
    assert progress.summary == "1 of 3 qualifying observations; 2 more by 2026-07-15"


def test_a_deadline_already_passed_says_overdue():
    progress = check([coded(AS_OF)], deadline=D(2026, 6, 1))
    assert progress.summary == "0 of 3 qualifying observations; 3 more (overdue since 2026-06-01)"


def test_with_nothing_qualifying_and_no_deadline_there_is_no_date():
    assert check([coded(AS_OF)]).summary == "0 of 3 qualifying observations; 3 more"


def test_a_renewal_counts_from_the_window_and_is_due_by_expiry():
    rule = replace(
        RULE, kind="renewal", within_days=None, min_observations=2, companion_rubric_id=None
    )
    window = D(2026, 5, 1)
    before_window = seen(D(2026, 4, 30))
    progress = check([before_window, meeting(window)], rule, first=window, deadline=D(2026, 7, 30))
    assert progress.summary == "1 of 2 qualifying observations; 1 more by 2026-07-30"
    assert check([meeting(window), seen(AS_OF)], rule, first=window).meets


@pytest.mark.parametrize("held, meets", [(True, True), (False, False)])
def test_a_program_may_require_another_certification_first(held, meets):
    progress = check(enough(), requires=("MiiWrap Practitioner", held))
    assert progress.meets is meets
    assert progress.requirements[-1].text == "A current MiiWrap Practitioner certification"


def test_band_order_follows_the_rubric_version():
    assert band_at_least("high", "adequate", FIDELITY_BANDS)
    assert band_at_least("adequate", "adequate", FIDELITY_BANDS)
    assert not band_at_least("low", "adequate", FIDELITY_BANDS)
    assert not band_at_least("excellent", "adequate", FIDELITY_BANDS)  # unknown band
    assert not band_at_least("high", "stellar", FIDELITY_BANDS)  # unknown minimum


def test_the_evidence_kept_is_a_snapshot_of_each_observation():
    observation = seen(D(2026, 3, 2), overall="88.50", activity="Home visit")
    assert observation.as_json() == {
        "id": observation.id,
        "observed_on": "2026-03-02",
        "overall": "88.50",
        "band": "high",
        "activity": "Home visit",
        "observer": "Cora Coach",
    }


def test_requirements_read_as_plain_sentences():
    texts = [r.text for r in check(enough()).requirements]
    assert texts == [
        "3 observations on the MiiWrap fidelity tool at 85 or more since 2026-01-01, "
        "by an observer holding MiiWrap Coach",
        "At least 2 activity types among them",
        "The latest MI coding rubric observation since 2026-01-01 at fair or better",
    ]


# Disputes -----------------------------------------------------------------------------------


def test_a_disputed_observation_does_not_count_and_is_named():
    observations = enough()
    observations[0] = replace(observations[0], disputed=True)
    progress = check(observations)
    assert not progress.meets
    assert observations[0] not in progress.evidence
    assert progress.disputed == (observations[0],)
    assert progress.summary == (
        "2 of 3 qualifying observations; 1 more by 2026-10-03 "
        "(1 more disputed: counted once settled, if it qualifies)"
    )


def test_the_same_observation_undisputed_counts():
    observations = enough()
    assert check(observations).meets
    assert check([replace(o, disputed=False) for o in observations]).meets


def test_a_disputed_companion_leaves_the_one_before_it_as_the_latest():
    observations = [*enough(), coded(D(2026, 5, 20), band="below fair")]
    assert not check(observations).meets  # the latest MI coding is below fair
    observations[-1] = replace(observations[-1], disputed=True)
    progress = check(observations)
    assert progress.meets  # while disputed, the one before it is the latest
    assert progress.disputed == (observations[-1],)


def test_a_disputed_observation_outside_the_days_is_not_named():
    old = replace(seen(FIRST - dt.timedelta(days=1)), disputed=True)
    other_rubric = replace(seen(D(2026, 5, 5), rubric_id=99), disputed=True)
    assert check([*enough(), old, other_rubric]).disputed == ()

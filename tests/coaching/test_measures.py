"""What the drift job follows below the overall score: what rises with fidelity, and only that.

A behaviour count says nothing by itself: fewer confrontations is better practice, fewer
complex reflections worse. So items are followed when they are ratings or indicators, and
metrics when their bands (or a share of possible points) say higher is better.
"""

import datetime as dt

import pytest

from coaching import levels, services
from coaching.models import DriftAlert, ItemMonth
from observations.models import Item, Metric, Observation
from tests.factories import full_scores, make_observation, rubric_version

TODAY = dt.date(2026, 6, 30)


def mi_scores(n, *, complex_reflections, confront, empathy=4):
    """MI coding scores for the n-th observation: everything steady but what is given."""
    scores = full_scores(rubric_version("mi-coding"), rating=4, count=3)
    wobble = n % 2
    return {
        **scores,
        "empathy": empathy,
        "sr": 10 - complex_reflections,
        "cr": complex_reflections + wobble,
        "question": 5,
        "confront": confront + wobble,
    }


def observe_monthly(coach, person, scores_of, months, start=dt.date(2025, 1, 10)):
    """Submitted on the day observed, so a run for a past TODAY sees them."""
    version = rubric_version("mi-coding")
    made = [
        make_observation(
            coach,
            person,
            version,
            observed_on=start + dt.timedelta(days=30 * n),
            scores=scores_of(n),
        )
        for n in range(months)
    ]
    for observation in made:
        observation.submitted_at = dt.datetime.combine(
            observation.observed_on, dt.time(12), tzinfo=dt.UTC
        )
    Observation.objects.bulk_update(made, ["submitted_at"])
    return made


# --- the rubric's own say -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, rises", [("empathy", True), ("cr", False), ("confront", False), ("question", False)]
)
def test_ratings_rise_with_fidelity_and_behaviour_counts_do_not_say(db, code, rises):
    item = Item.objects.get(version=rubric_version("mi-coding"), code=code)
    assert item.rises_with_fidelity() is rises


def test_indicators_rise_with_fidelity(db):
    indicator = Item.objects.get(version=rubric_version(), code="ind-agenda")
    assert indicator.rises_with_fidelity() is True


@pytest.mark.parametrize(
    "rubric, code, rises, span",
    [
        ("mi-coding", "pct-cr", True, 100.0),
        ("mi-coding", "r-q", True, None),
        ("mi-coding", "technical", True, 4),
        ("mi-coding", "mi-adherent", False, None),
        ("mi-coding", "mi-non-adherent", False, None),
        ("miiwrap-fidelity", "engagement", True, 100.0),
    ],
)
def test_banded_metrics_and_shares_of_possible_points_rise_with_fidelity(
    db, rubric, code, rises, span
):
    version = rubric_version(rubric)
    metric = Metric.objects.get(version=version, code=code)
    item_spans = {item.code: item.scale_max - item.scale_min for item in version.items.all()}
    assert (metric.rises_with_fidelity(), metric.span(item_spans)) == (rises, span)


def test_the_measures_followed_are_those_and_never_the_overall_score(db):
    mi, fidelity = rubric_version("mi-coding").rubric_id, rubric_version().rubric_id
    followed = levels.measures([mi, fidelity])
    mi_codes = {code for rubric, code in followed if rubric == mi}
    assert mi_codes == {
        "cct",
        "sst",
        "partnership",
        "empathy",
        "metric:technical",
        "metric:relational",
        "metric:pct-cr",
        "metric:r-q",
    }
    assert (fidelity, "metric:fidelity") not in followed
    assert followed[(fidelity, "metric:mi-skills")] == levels.Measure(
        "MI interactional skills", 100
    )
    assert followed[(fidelity, "mi-reflect")] == levels.Measure("Reflections deepen meaning", 3)


# --- counting -------------------------------------------------------------------------------


def test_metric_values_are_counted_beside_the_item_scores(world):
    observe_monthly(
        world.coach,
        world.practitioner,
        lambda n: mi_scores(n, complex_reflections=6, confront=1),
        months=2,
    )
    services.count_item_months(TODAY)
    sums = ItemMonth.objects.get(team_id=world.team_a.pk, month=dt.date(2025, 1, 1)).sums
    assert sums["cr"] == [6, 1]
    assert sums["metric:pct-cr"] == [60.0, 1]
    assert sums["metric:r-q"] == [2.0, 1]
    assert "metric:pct-cr" in ItemMonth.objects.get(month=dt.date(2025, 2, 1)).sums


# --- judging --------------------------------------------------------------------------------


@pytest.fixture
def reflections_fall(world):
    """Two practitioners, eighteen months: from the thirteenth on, fewer complex
    reflections (a fall in % complex reflections) and fewer confrontations."""

    def scores(n):
        late = n >= 12
        return mi_scores(n, complex_reflections=1 if late else 6, confront=0 if late else 2)

    for person in (world.practitioner, world.unassigned):
        observe_monthly(world.coach, person, scores, months=18)


def test_a_metric_falling_across_the_organization_is_flagged_by_its_label(world, reflections_fall):
    services.drift_detect(today=TODAY)
    alert = DriftAlert.objects.get(scope="item", item_code="metric:pct-cr")
    assert alert.about() == "% Complex reflections across Riverbend Family Services"
    assert sorted(entry["label"] for entry in alert.moved) == ["Team North", "Team South"]


def test_fewer_confrontations_are_no_drift(world, reflections_fall):
    services.drift_detect(today=TODAY)
    flagged = set(DriftAlert.objects.filter(scope="item").values_list("item_code", flat=True))
    assert "confront" not in flagged and "cr" not in flagged
    assert flagged == {"metric:pct-cr"}


def test_the_items_that_fell_most_leave_out_counts_and_name_metrics(world):
    def scores(n):
        late = n >= 3
        return mi_scores(
            n,
            complex_reflections=1 if late else 6,
            confront=0 if late else 3,
            empathy=3 if late else 4,
        )

    made = observe_monthly(world.coach, world.practitioner, scores, months=6)
    version = made[0].rubric_version
    [moved] = levels.moved_items(
        [(version.rubric_id, [o.pk for o in made[:3]], [o.pk for o in made[3:]])],
        [version.rubric_id],
    )
    # % complex reflections fell about 50 of 100 points; empathy 1 of 4; relational with it.
    assert [entry["label"] for entry in moved] == [
        "% Complex reflections",
        "Empathy",
        "Relational",
    ]
    # 6 of 10, 7 of 11 and 6 of 10 reflections complex.
    assert moved[0]["baseline"] == pytest.approx((60 + 700 / 11 + 60) / 3, abs=0.01)


def _moved_as_read_before(groups, rubric_ids):
    """moved_items as it was: every card read whole as JSON, summed a value at a time."""

    def card(scores, metrics):
        def number(value):
            return isinstance(value, int | float) and not isinstance(value, bool)

        found = {code: value for code, value in (scores or {}).items() if number(value)}
        for code, metric in (metrics or {}).items():
            value = metric.get("value") if isinstance(metric, dict) else None
            if number(value):
                found[levels.METRIC + code] = value
        return found

    def summed(cards):
        sums = {}
        for one in cards:
            for code, value in one.items():
                levels._add(sums, code, value, 1)
        return sums

    wanted = {pk for _, before, after in groups for pk in (*before, *after)}
    rows = Observation.objects.filter(pk__in=wanted).values_list("pk", "scores", "metrics")
    cards = {pk: card(scores, metrics) for pk, scores, metrics in rows}
    followed = levels.measures(rubric_ids)
    return [
        levels._fell_most(
            summed(cards.get(pk, {}) for pk in before),
            summed(cards.get(pk, {}) for pk in after),
            levels._describer(followed, rubric),
        )
        for rubric, before, after in groups
    ]


def test_the_items_that_fell_most_are_as_reading_every_card_whole_found_them(world):
    """Read as numbers in the database and summed with numpy, to the bit as before: on
    uneven scores, a score that is no number, metrics with long fractions and groups in
    any order."""
    import random

    draw = random.Random(7)

    def scores(n):
        return mi_scores(
            n,
            complex_reflections=draw.randint(0, 9),
            confront=draw.randint(0, 3),
            empathy=draw.randint(1, 5),
        )

    made = observe_monthly(world.coach, world.practitioner, scores, months=14)
    made += observe_monthly(world.coach, world.unassigned, scores, months=9)
    Observation.objects.filter(pk=made[4].pk).update(scores={**made[4].scores, "empathy": "n/a"})
    Observation.objects.filter(pk=made[5].pk).update(metrics={"pct-cr": 12.5})
    rubric = made[0].rubric_version.rubric_id
    pks = [o.pk for o in made]
    groups = [
        (rubric, pks[:5], pks[5:9]),
        (rubric, pks[12:3:-2], pks[13:]),
        (rubric, [], pks[:2]),
        (rubric, pks[14:20], [*pks[3:8], 10**9]),
    ]
    assert levels.moved_items(groups, [rubric]) == _moved_as_read_before(groups, [rubric])
    assert any(levels.moved_items(groups, [rubric]))


def test_the_sums_behind_what_fell_are_those_of_adding_each_card_in_turn(world):
    """The totals themselves, not only their rounded means: metrics' long fractions
    added in the ids' order."""
    made = observe_monthly(
        world.coach,
        world.practitioner,
        lambda n: mi_scores(n, complex_reflections=n % 7, confront=1),
        months=9,
    )
    rubric = made[0].rubric_version.rubric_id
    codes = sorted(code for r, code in levels.measures([rubric]) if r == rubric)
    pks = [o.pk for o in made][::-1]
    ids, table = levels.measure_table(pks, codes)
    totals = {}
    for observation in Observation.objects.filter(pk__in=pks).order_by("-pk"):
        values = {**observation.scores}
        values.update(
            (levels.METRIC + code, metric["value"]) for code, metric in observation.metrics.items()
        )
        for code in codes:
            if isinstance(values.get(code), int | float):
                levels._add(totals, code, values[code], 1)
    assert any(code.startswith(levels.METRIC) for code in totals)
    assert levels._summed(ids, table, pks, codes) == totals

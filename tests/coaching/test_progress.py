"""Progress on coaching goals, measured from observations: worked by hand.

Items on the MiiWrap fidelity tool are rated 0 to 3, so a score is a share of its range:
0 → 0 %, 1 → 33.33 %, 2 → 66.67 %, 3 → 100 %. The MI coding rubric's % complex
reflections is CR / (SR + CR): with SR + CR = 100, CR is the percentage itself.
"""

import datetime as dt
import math
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from certification.models import Program
from coaching import progress
from coaching.models import DriftSettings
from coaching.progress import GoalSpec, measure_goals
from observations import scoring
from observations.models import ActivityType, Item, Observation, RubricVersion
from tests.factories import full_scores, make_period, rubric_version

TODAY = dt.date(2026, 7, 1)
DECLINE = dt.date(2026, 3, 1)
START = dt.date(2026, 4, 1)
SVG = "{http://www.w3.org/2000/svg}"


def observe(coach, person, day, version, **scores):
    """One submitted observation, every item at a middle score but those given, scored by
    observations.scoring as the submit service scores it."""
    scores = {**full_scores(version, rating=1, count=50), **scores}
    computed = scoring.compute(version.definition(), scores)
    return Observation.objects.create(
        coach=coach,
        practitioner=person,
        rubric_version=version,
        activity=ActivityType.objects.first(),
        observed_on=day,
        status=Observation.Status.SUBMITTED,
        scores=scores,
        metrics=computed.as_json(),
        overall_score=computed.overall,
        band=computed.band or "",
    )


def reflections(coach, person, day, percent):
    """An MI coding observation with this % complex reflections (CR of 100 reflections)."""
    version = rubric_version("mi-coding")
    return observe(coach, person, day, version, cr=percent, sr=100 - percent)


def skills(coach, person, day, reflect, open_questions, version=None):
    version = version or rubric_version()
    return observe(
        coach, person, day, version, **{"mi-reflect": reflect, "mi-open": open_questions}
    )


def item_goal(person, **fields):
    return GoalSpec(
        practitioner_id=person.pk,
        rubric_id=rubric_version().rubric_id,
        item_codes=["mi-reflect", "mi-open"],
        metric_code="",
        description=fields.pop("description", "Reflections and open questions"),
        target=fields.pop("target", 80),
        started_on=fields.pop("started_on", START),
        decline_on=fields.pop("decline_on", DECLINE),
        **fields,
    )


def metric_goal(person, **fields):
    return GoalSpec(
        practitioner_id=person.pk,
        rubric_id=rubric_version("mi-coding").rubric_id,
        item_codes=[],
        metric_code="pct-cr",
        description=fields.pop("description", "Complex reflections"),
        target=fields.pop("target", 50),
        started_on=fields.pop("started_on", START),
        decline_on=fields.pop("decline_on", DECLINE),
        **fields,
    )


def one(spec, today=TODAY, held_for=3):
    return measure_goals([spec], today, held_for)[0]


@pytest.fixture
def people(world):
    return SimpleNamespace(coach=world.coach, pat=world.practitioner, uma=world.unassigned)


@pytest.fixture
def skills_history(people):
    """Pat's reflections and open questions on the fidelity tool, hand-worked below."""
    coach, pat = people.coach, people.pat
    skills(coach, pat, dt.date(2026, 1, 5), 3, 2)  # (100 + 66.67) / 2 = 83.33
    skills(coach, pat, dt.date(2026, 2, 5), 2, 2)  # 66.67
    skills(coach, pat, dt.date(2026, 3, 10), 1, 1)  # 33.33, after the decline began
    skills(coach, pat, START, 1, 2)  # 50: on the day the plan started, still "at start"
    skills(coach, pat, dt.date(2026, 4, 20), 2, 2)  # 66.67
    skills(coach, pat, dt.date(2026, 5, 20), 3, 2)  # 83.33
    skills(coach, pat, dt.date(2026, 6, 20), 3, 3)  # 100


# --- items ---------------------------------------------------------------------------------


def test_items_before_at_start_and_since_are_worked_out_by_hand(skills_history, people):
    found = one(item_goal(people.pat))
    # Before the decline (1 March): 83.33 and 66.67 → 75.
    assert found.before == progress.Level(pytest.approx(75.0), 2)
    # From the decline to the start, the start day included: 33.33 and 50 → 41.67.
    assert found.at_start.mean == pytest.approx(125 / 3)
    assert found.at_start.count == 2
    # Since: 66.67, 83.33, 100 → 83.33.
    assert found.since.mean == pytest.approx(250 / 3)
    assert found.since.count == 3
    assert found.unit == "%"
    assert [day for day, _ in found.points] == [
        dt.date(2026, 1, 5),
        dt.date(2026, 2, 5),
        dt.date(2026, 3, 10),
        START,
        dt.date(2026, 4, 20),
        dt.date(2026, 5, 20),
        dt.date(2026, 6, 20),
    ]


def test_the_interval_rests_on_deviations_within_each_phase(skills_history, people):
    found = one(item_goal(people.pat))
    # Squared deviations from each phase's own mean:
    #   since 66.67, 83.33, 100 around 83.33: 277.8 + 0 + 277.8 = 555.6 (2 degrees)
    #   at start 33.33, 50 around 41.67: 69.4 + 69.4 = 138.9 (1 degree)
    #   before 83.33, 66.67 around 75: 138.9 (1 degree)
    # σ = √(833.3 / 4) = 14.43 on 4 degrees of freedom: fewer than the drift setting's 10
    # observations, but there are no peers on the rubric, so it is Pat's own.
    assert found.since.spread.sigma == pytest.approx(math.sqrt(2500 / 3 / 4))
    assert found.since.spread.freedom == 4
    assert found.since.spread.source == progress.Spread.OWN
    # 90 %: t(0.95, 4) = 2.1318; half width 2.1318 × 14.43 / √3 = 17.77.
    assert found.since.half_width == pytest.approx(
        2.13185 * math.sqrt(2500 / 12) / math.sqrt(3), rel=1e-4
    )


def test_from_the_drift_setting_s_count_on_their_own_spread_is_used_alone(skills_history, people):
    skills(people.coach, people.uma, dt.date(2026, 2, 1), 0, 0)  # a peer: 0 and 100
    skills(people.coach, people.uma, dt.date(2026, 3, 1), 3, 3)
    # The default wants 10 observations' worth (9 degrees): Pat's 4 are filled with Uma's
    # 5000 (0 and 100 around 50) on 1 degree: (833.3 + 5 × 5000) / 9.
    pooled = one(item_goal(people.pat)).since.spread
    assert pooled.source == progress.Spread.POOLED
    assert pooled.sigma == pytest.approx(math.sqrt((2500 / 3 + 5 * 5000) / 9))
    DriftSettings.objects.create(rubric_id=rubric_version().rubric_id, min_own_points=5)
    own = one(item_goal(people.pat)).since.spread
    assert own == progress.Spread(pytest.approx(math.sqrt(2500 / 3 / 4)), 4, "own")


def test_the_items_sentence_reads_since_never_because(skills_history, people):
    found = one(item_goal(people.pat))
    assert found.sentence() == (
        "Reflections and open questions: 75 % before the decline, 42 % when the plan "
        "started, 83 % in the 3 observations since (±18); target 80 %."
    )
    assert "because" not in found.sentence()


def test_an_item_missing_from_a_version_is_not_scored_there(skills_history, people):
    # Version 2 keeps reflections, rated 1 to 5, and drops open questions.
    second = RubricVersion.objects.create(
        rubric_id=rubric_version().rubric_id, number=2, status="published", bands=["high", "low"]
    )
    Item.objects.create(
        version=second,
        code="mi-reflect",
        label="Reflections",
        kind="rating",
        scale_min=1,
        scale_max=5,
    )
    second = RubricVersion.objects.with_structure().get(pk=second.pk)
    observe(people.coach, people.pat, dt.date(2026, 6, 25), second, **{"mi-reflect": 4})
    found = one(item_goal(people.pat))
    # On version 2, 4 of 1..5 is (4 − 1) / (5 − 1) = 75 %, alone: open questions are not
    # on it. Since: 66.67, 83.33, 100, 75 → 81.25.
    assert found.points[-1] == (dt.date(2026, 6, 25), pytest.approx(75.0))
    assert found.since.mean == pytest.approx(81.25)
    assert found.since.count == 4
    # Without a description, the goal is named by its items, as the newest version says.
    unnamed = one(item_goal(people.pat, description=""))
    opening = Item.objects.get(version=rubric_version(), code="mi-open").label
    assert unnamed.label == f"Reflections, {opening}"


def test_without_a_description_a_goal_is_named_by_its_items_or_metric(people):
    version = rubric_version()
    labels = dict(Item.objects.filter(version=version).values_list("code", "label"))
    found = one(item_goal(people.pat, description=""))
    assert found.label == f"{labels['mi-reflect']}, {labels['mi-open']}"
    assert one(metric_goal(people.pat, description="")).label == "% Complex reflections"


def test_not_applicable_and_count_items_leave_the_measure(people):
    version = rubric_version()
    observe(people.coach, people.pat, dt.date(2026, 4, 10), version, **{"wp-team": "na"})
    spec = GoalSpec(people.pat.pk, version.rubric_id, ["wp-team"], "", "", 80, START)
    found = one(spec)
    # Its only item was not applicable: no value, so no observation counted at all.
    assert found.since.count == 0
    assert found.points == ()


def test_a_count_has_no_range_so_a_goal_on_counts_has_no_value(people):
    reflections(people.coach, people.pat, dt.date(2026, 4, 20), 60)
    version = rubric_version("mi-coding")
    found = one(GoalSpec(people.pat.pk, version.rubric_id, ["cr"], "", "CR", 50, START))
    assert found.points == ()
    assert found.sentence() == "CR: no observation since the plan started yet; target 50 %."


def test_a_decline_dated_after_the_start_is_read_as_the_start(skills_history, people):
    found = one(item_goal(people.pat, decline_on=dt.date(2026, 5, 1)))
    # Before the start: 5 January, 5 February and 10 March, (83.33 + 66.67 + 33.33) / 3
    # = 61.11; at the start, only the start day's 50.
    assert found.before.mean == pytest.approx(55 / 0.9)
    assert found.at_start == progress.Level(pytest.approx(50.0), 1)
    assert found.since.count == 3


def test_certification_evidence_is_left_out_of_the_level_before(skills_history, people, world):
    high = skills(people.coach, people.pat, dt.date(2025, 12, 5), 3, 3)  # 100
    make_period(
        people.pat,
        world.purveyor_admin,
        valid_from=dt.date(2025, 12, 20),
        evidence=[{"id": high.pk, "observed_on": "2025-12-05"}],
    )
    found = one(item_goal(people.pat))
    # Counted, it would lift the level before to (100 + 83.33 + 66.67) / 3 = 83.33.
    assert found.before == progress.Level(pytest.approx(75.0), 2)
    assert (dt.date(2025, 12, 5), 100.0) not in found.points


def test_the_level_before_reads_at_most_the_drift_settings_points(skills_history, people):
    skills(people.coach, people.pat, dt.date(2025, 11, 5), 0, 0)  # 0
    assert one(item_goal(people.pat)).before.mean == pytest.approx(50.0)  # (0 + 83.3 + 66.7)/3
    DriftSettings.objects.create(rubric_id=rubric_version().rubric_id, before_points=2)
    # Only the last two before the decline: 83.33 and 66.67.
    assert one(item_goal(people.pat)).before.mean == pytest.approx(75.0)


def test_observations_after_today_are_not_read(skills_history, people):
    found = one(item_goal(people.pat), today=dt.date(2026, 5, 31))
    # 20 April and 20 May only: (66.67 + 83.33) / 2.
    assert found.since.count == 2
    assert found.since.mean == pytest.approx(75.0)


# --- a metric ------------------------------------------------------------------------------


@pytest.fixture
def cr_history(people):
    coach, pat = people.coach, people.pat
    for day, percent in [
        (dt.date(2026, 1, 10), 43),
        (dt.date(2026, 2, 10), 49),  # before the decline: 46
        (dt.date(2026, 3, 10), 28),
        (dt.date(2026, 3, 25), 36),  # at the start: 32
        (dt.date(2026, 4, 15), 42),
        (dt.date(2026, 5, 15), 47),
        (dt.date(2026, 6, 15), 52),  # since: 47
    ]:
        reflections(coach, pat, day, percent)


def test_a_metric_goal_reads_the_metric_as_scoring_computed_it(cr_history, people):
    found = one(metric_goal(people.pat))
    assert [value for _, value in found.points] == [43, 49, 28, 36, 42, 47, 52]
    assert (found.before.mean, found.at_start.mean, found.since.mean) == (46, 32, 47)
    # Within phases: since 25 + 0 + 25, at start 16 + 16, before 9 + 9 = 100 on 4 degrees:
    # σ = 5; half width t(0.95, 4) × 5 / √3 = 2.1318 × 2.887 = 6.15.
    assert found.since.spread.sigma == pytest.approx(5.0)
    assert found.since.half_width == pytest.approx(6.154, abs=1e-3)
    assert found.sentence() == (
        "Complex reflections: 46 % before the decline, 32 % when the plan started, 47 % in "
        "the 3 observations since (±6); target 50 %."
    )
    assert not found.met_offered


def test_a_metric_without_a_percentage_keeps_its_own_unit(people):
    version = rubric_version("mi-coding")
    observe(people.coach, people.pat, dt.date(2026, 4, 10), version, cct=4, sst=3)
    spec = GoalSpec(people.pat.pk, version.rubric_id, [], "technical", "", 4, START)
    found = one(spec)
    # Technical = mean(4, 3) = 3.5, in rating points; the label is the metric's own.
    assert found.unit == ""
    assert found.sentence() == ("Technical: 3.5 in the one observation since; target 4.")


def test_peers_fill_a_spread_resting_on_few_observations(people, world):
    coach, pat = people.coach, people.pat
    reflections(coach, pat, dt.date(2026, 2, 10), 43)
    reflections(coach, pat, dt.date(2026, 3, 10), 49)
    reflections(coach, pat, dt.date(2026, 4, 20), 50)
    for day, percent in [
        (dt.date(2026, 1, 5), 40),
        (dt.date(2026, 2, 5), 50),
        (dt.date(2026, 3, 5), 60),
    ]:
        reflections(coach, people.uma, day, percent)  # a peer in Pat's organization
    for day, percent in [(dt.date(2026, 1, 5), 0), (dt.date(2026, 2, 5), 100)]:
        reflections(world.outsider, world.away_practitioner, day, percent)  # not a peer
    found = one(metric_goal(pat, decline_on=None), held_for=1)
    # No decline date: before = the usual level before the plan, 43 and 49 → 46; at the
    # start, the last three up to it: the same two. Since: 50, once.
    # Own: 43, 49 around 46 = 18 on 1 degree. Peers: 40, 50, 60 around 50 = 200 on 2,
    # variance 100. The 9 degrees the drift setting wants: 1 own + 8 at the peers'.
    # σ² = (18 + 8 × 100) / 9 = 90.89; σ = 9.53; t(0.95, 9) = 1.8331; half 17.48.
    spread = found.since.spread
    assert spread.source == progress.Spread.POOLED
    assert spread.freedom == 9
    assert spread.sigma == pytest.approx(math.sqrt(818 / 9))
    assert found.since.half_width == pytest.approx(1.83311 * math.sqrt(818 / 9), rel=1e-4)
    assert found.sentence() == (
        "Complex reflections: 46 % usually before the plan, 46 % when the plan started, "
        "50 % in the one observation since (±17); target 50 %."
    )
    assert found.met_offered  # held for 1: the one observation is at the target
    assert found.met_note() == (
        "The target has held in the last observation since the plan started: this goal "
        "may be marked met."
    )


def test_peers_are_only_read_from_the_last_year(people):
    coach, pat = people.coach, people.pat
    reflections(coach, pat, dt.date(2026, 2, 10), 43)
    reflections(coach, pat, dt.date(2026, 3, 10), 49)
    reflections(coach, pat, dt.date(2026, 4, 20), 50)
    reflections(coach, people.uma, dt.date(2025, 6, 1), 40)  # 395 days before TODAY
    reflections(coach, people.uma, dt.date(2025, 6, 20), 60)
    found = one(metric_goal(pat, decline_on=None))
    # Only Pat's own: 43, 49 around 46 = 18 on 1 degree; σ = √18 = 4.24.
    assert found.since.spread == progress.Spread(pytest.approx(math.sqrt(18)), 1, "own")
    reflections(coach, people.uma, dt.date(2025, 7, 10), 80)  # within the year
    reflections(coach, people.uma, dt.date(2025, 8, 10), 60)
    found = one(metric_goal(pat, decline_on=None))
    # Pooled: (18 + 8 × 200) / 9, the peer's 80 and 60 around 70 giving 200 on 1 degree.
    assert found.since.spread == progress.Spread(
        pytest.approx(math.sqrt(1618 / 9)), 9, "own and peers"
    )


def test_with_nobody_to_pool_and_no_spread_of_their_own_there_is_no_interval(people):
    reflections(people.coach, people.pat, dt.date(2026, 4, 20), 55)
    found = one(metric_goal(people.pat))
    assert found.since.half_width is None
    assert found.sentence() == (
        "Complex reflections: 55 % in the one observation since; target 50 %."
    )


def test_no_observation_since_the_start_says_so(cr_history, people):
    found = one(metric_goal(people.pat), today=dt.date(2026, 4, 10))
    assert found.since == progress.Since(None, 0, spread=found.since.spread)
    assert found.sentence() == (
        "Complex reflections: 46 % before the decline, 32 % when the plan started, no "
        "observation since the plan started yet; target 50 %."
    )
    assert not found.met_offered


def test_one_observation_since_is_said_as_one(cr_history, people):
    found = one(metric_goal(people.pat), today=dt.date(2026, 4, 30))
    # Own spread: before 9 + 9, at start 16 + 16 = 50 on 2 degrees (the one since adds
    # none): σ = 5; t(0.95, 2) = 2.92; half 2.92 × 5 / √1 = 14.6.
    assert found.since.half_width == pytest.approx(2.919986 * 5, rel=1e-4)
    assert found.sentence().endswith("42 % in the one observation since (±15); target 50 %.")


# --- offered as met ------------------------------------------------------------------------


def test_met_is_offered_once_the_target_held_in_each_of_the_last_n(people):
    coach, pat = people.coach, people.pat
    reflections(coach, pat, dt.date(2026, 4, 10), 52)
    reflections(coach, pat, dt.date(2026, 4, 20), 49)  # one short: the run starts again
    reflections(coach, pat, dt.date(2026, 5, 10), 50)
    reflections(coach, pat, dt.date(2026, 5, 20), 55)
    spec = metric_goal(pat)
    assert not one(spec, today=dt.date(2026, 5, 15), held_for=2).met_offered  # 49, 50
    found = one(spec, today=dt.date(2026, 5, 31), held_for=2)  # 50, 55
    assert found.met_offered
    assert found.met_note() == (
        "The target has held in each of the last 2 observations since the plan started: "
        "this goal may be marked met."
    )
    assert not one(spec, today=dt.date(2026, 5, 31), held_for=3).met_offered  # 49 among them
    assert not one(spec, today=dt.date(2026, 5, 31), held_for=5).met_offered  # only 4 since


def test_the_rule_for_met_by_itself():
    assert progress.is_met([40, 50, 51, 60], 50, 3)
    assert not progress.is_met([50, 49.99, 60], 50, 3)
    assert not progress.is_met([60, 60], 50, 3)
    assert not progress.is_met([], 50, 0)


def test_the_practitioner_program_says_how_long_a_target_must_hold(people, world):
    program = Program.objects.get(code="practitioner")
    assert program.audience_role == "practitioner"
    assert progress.held_for_practitioners([people.pat.pk]) == {people.pat.pk: 3}
    program.goal_held_observations = 4
    program.save()
    assert progress.held_for_practitioners([people.pat.pk]) == {people.pat.pk: 4}


def test_a_second_practitioner_program_applies_to_those_on_its_path(
    people, world, django_assert_num_queries
):
    Program.objects.create(
        code="partners",
        name="Family partners",
        audience_role="practitioner",
        goal_held_observations=2,
        position=9,
    )
    make_period(people.uma, world.purveyor_admin, program_code="partners")
    with django_assert_num_queries(2):
        found = progress.held_for_practitioners([people.pat.pk, people.uma.pk])
    # Pat is on no path yet: the first program for practitioners (MiiWrap Practitioner).
    assert found == {people.pat.pk: 3, people.uma.pk: 2}


def test_without_a_practitioner_program_a_target_must_hold_three_times(people):
    Program.objects.filter(audience_role="practitioner").update(audience_role="")
    assert progress.held_for_practitioners([people.pat.pk]) == {people.pat.pk: 3}
    assert progress.HELD_FOR == 3


def test_goals_take_their_practitioner_s_n(people):
    coach = people.coach
    for person in (people.pat, people.uma):
        reflections(coach, person, dt.date(2026, 5, 10), 55)
        reflections(coach, person, dt.date(2026, 6, 10), 55)
    specs = [metric_goal(people.pat), metric_goal(people.uma)]
    found = measure_goals(specs, TODAY, {people.pat.pk: 3, people.uma.pk: 2})
    assert [f.held_for for f in found] == [3, 2]
    assert [f.met_offered for f in found] == [False, True]


# --- queries -------------------------------------------------------------------------------


def test_any_number_of_goals_is_measured_in_two_queries(
    skills_history, cr_history, people, django_assert_num_queries
):
    reflections(people.coach, people.uma, dt.date(2026, 4, 20), 40)
    specs = [item_goal(people.pat), metric_goal(people.pat)]
    with django_assert_num_queries(2):
        assert len(measure_goals(specs, TODAY)) == 2
    specs += [metric_goal(people.uma), item_goal(people.uma), item_goal(people.pat, target=90)]
    with django_assert_num_queries(2):
        found = measure_goals(specs, TODAY)
    with django_assert_num_queries(0):
        for each in found:
            each.sentence()
            each.chart()
    assert [f.spec for f in found] == specs
    assert found[2].since.mean == 40


def test_no_goals_read_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert measure_goals([], TODAY) == []


def test_a_spec_is_made_from_a_goal():
    goal = SimpleNamespace(
        plan=SimpleNamespace(practitioner_id=7),
        rubric_id=2,
        item_codes=["mi-reflect"],
        metric_code="",
        description="Reflections",
        target=80.0,
        started_on=START,
        decline_on=None,
    )
    assert GoalSpec.of(goal) == GoalSpec(7, 2, ("mi-reflect",), "", "Reflections", 80.0, START)


# --- Student's t ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "freedom, quantile", [(1, 6.3138), (2, 2.9200), (4, 2.1318), (9, 1.8331), (30, 1.6973)]
)
def test_the_t_quantile_matches_the_tables(freedom, quantile):
    assert progress.t_quantile(0.95, freedom) == pytest.approx(quantile, abs=1e-4)


def test_the_t_quantile_tends_to_the_normal_one():
    assert progress.t_quantile(0.95, 10_000) == pytest.approx(1.6449, abs=1e-3)


# --- the chart and the partial -------------------------------------------------------------


def parsed(svg):
    return ET.fromstring(str(svg))


def test_the_chart_is_valid_svg_with_every_mark(cr_history, people):
    found = one(metric_goal(people.pat))
    svg = parsed(found.chart())
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Complex reflections: progress since the plan started"
    desc = svg.find(f"{SVG}desc").text
    assert "2026-01-10 43 %" in desc and "Plan started 2026-04-01" in desc
    assert "Since the plan started: 47 % ± 6.2" in desc
    dots = [c for c in svg.iter(f"{SVG}circle") if c.get("data-day")]
    assert [(c.get("data-day"), c.get("data-value")) for c in dots][:2] == [
        ("2026-01-10", "43"),
        ("2026-02-10", "49"),
    ]
    assert len(dots) == 7
    lines = {line.get("data-line"): line for line in svg.iter(f"{SVG}line")}
    assert lines["before"].get("data-value") == "46"
    assert lines["target"].get("data-value") == "50"
    assert lines["since"].get("data-value") == "47"
    marks = {
        line.get("data-mark"): line for line in svg.iter(f"{SVG}line") if line.get("data-mark")
    }
    assert marks["start"].get("data-day") == "2026-04-01"
    assert marks["decline"].get("data-day") == "2026-03-01"
    band = next(r for r in svg.iter(f"{SVG}rect") if r.get("data-band") == "since")
    assert (band.get("data-low"), band.get("data-high")) == ("40.8", "53.2")
    # The band starts at the plan's start, and the decline comes before it.
    assert float(band.get("x")) == pytest.approx(float(marks["start"].get("x1")))
    assert float(marks["decline"].get("x1")) < float(marks["start"].get("x1"))


def test_the_chart_reads_in_grey(cr_history, people):
    svg = parsed(one(metric_goal(people.pat)).chart())
    colours = {
        element.get(attribute)
        for element in svg.iter()
        for attribute in ("fill", "stroke")
        if element.get(attribute) not in (None, "none")
    }
    for colour in colours:
        digits = colour.lstrip("#")
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        red, green, blue = digits[:2], digits[2:4], digits[4:]
        assert red == green == blue, colour


def test_the_chart_with_no_observation_says_so(people):
    svg = parsed(one(metric_goal(people.pat)).chart())
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "No data in this range" in texts
    assert not [c for c in svg.iter(f"{SVG}circle") if c.get("data-day")]
    assert not [r for r in svg.iter(f"{SVG}rect") if r.get("data-band")]


def test_the_partial_shows_the_sentence_the_chart_and_the_offer(people):
    coach, pat = people.coach, people.pat
    for day in (dt.date(2026, 4, 10), dt.date(2026, 5, 10), dt.date(2026, 6, 10)):
        reflections(coach, pat, day, 55)
    found = one(metric_goal(pat))
    html = render_to_string("coaching/_goal_progress.html", {"progress": found})
    assert "55 % in the 3 observations since; target 50 %." in html
    assert "<svg" in html and "data-met-offered" in html
    assert "this goal may be marked met" in html
    html = render_to_string(
        "coaching/_goal_progress.html", {"progress": one(metric_goal(pat, target=60))}
    )
    assert "<svg" in html and "data-met-offered" not in html

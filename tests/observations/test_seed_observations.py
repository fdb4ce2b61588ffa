"""seed_demo's observation layer: years of believable observations for the demo world."""

import datetime as dt
import itertools
import random
import re
import statistics
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from certification.demo import VISIT_KEY
from coaching.models import CoachAssignment
from miiwrap.people import demo
from miiwrap.people.models import Person, Role
from observations import demo as demo_observations
from observations import scoring, services
from observations.models import ActivityType, Observation, RubricVersion
from tests.factories import DEMO_NOW, DEMO_TODAY, seed_demo

TODAY, NOW = DEMO_TODAY, DEMO_NOW
pytestmark = pytest.mark.time_machine(NOW, tick=False)
ADDED_LINE = re.compile(
    r"^Added ([\d,]+) observations \(([\d,]+) on the MI coding rubric, "
    r"([\d,]+) on the MiiWrap fidelity tool\) in [\d.]+ s\.$",
    re.MULTILINE,
)


def routine():
    """The demo's routine visits; certification visits are certification.demo's."""
    return Observation.objects.exclude(import_key__startswith=VISIT_KEY)


@pytest.fixture(scope="module")
def routine_observations(demo_seeded, django_db_blocker):
    """The demo's routine observations, read once (thousands of rows) for the module's
    tests, which only read them."""
    rows = routine().select_related(
        "practitioner__organization", "coach", "rubric_version__rubric", "activity"
    )
    with django_db_blocker.unblock():
        return list(rows.order_by("practitioner_id", "observed_on", "pk"))


@pytest.fixture
def observations(routine_observations, db):
    # Through `db`, so that pytest-django runs these tests with the other database tests,
    # before any transactional test empties the shipped rubrics the demo needs.
    return routine_observations


@pytest.fixture
def definitions(db):
    versions = RubricVersion.objects.with_structure()
    return {version.pk: version.definition() for version in versions}


def on(rubric_code, rows):
    return [row for row in rows if row.rubric_version.rubric.code == rubric_code]


def fidelity(rows):
    return [float(row.overall_score) for row in on("miiwrap-fidelity", rows) if not row.is_draft]


def by_person(rows):
    people = defaultdict(list)
    for row in rows:
        people[row.practitioner].append(row)
    return people


def months(days):
    return dt.timedelta(days=round(days * 30.44))


def last_day(person):
    yesterday = TODAY - dt.timedelta(days=1)
    return min(person.leave_date, yesterday) if person.leave_date else yesterday


# --- What is there ------------------------------------------------------------------------


def test_it_says_how_many_observations_it_added_on_each_rubric(demo_output):
    total, mi, tool = (int(n.replace(",", "")) for n in ADDED_LINE.search(demo_output).groups())
    assert total == mi + tool == routine().count() > 1000
    assert mi == routine().filter(rubric_version__rubric__code="mi-coding").count()


def test_every_client_practitioner_who_stayed_a_while_is_observed(demo_output):
    window = TODAY - dt.timedelta(days=3 * 365)
    observed = set(Observation.objects.values_list("practitioner_id", flat=True))
    practitioners = Person.objects.with_role(Role.PRACTITIONER)
    long_enough = [p for p in practitioners if (last_day(p) - max(p.hire_date, window)).days > 120]
    assert len(long_enough) > 80
    assert {p.pk for p in long_enough} <= observed
    assert not Observation.objects.filter(practitioner__organization__is_purveyor=True).exists()


def test_coaches_who_also_practise_are_observed_too(demo_output):
    coaches = Person.objects.with_role(Role.COACH).with_role(Role.PRACTITIONER)
    assert Observation.objects.filter(practitioner__in=coaches).count() > 100


def test_each_observation_is_by_the_coach_assigned_that_day(observations):
    spans = defaultdict(list)
    for a in CoachAssignment.objects.all():
        spans[a.practitioner_id, a.coach_id].append((a.starts_on, a.ends_on or TODAY))
    for row in observations:
        covering = spans[row.practitioner_id, row.coach_id]
        assert any(start <= row.observed_on <= end for start, end in covering), row


def test_every_observation_passes_the_checks_the_coachs_form_applies(observations, definitions):
    coaches = Person.objects.prefetch_related("roles").select_related("organization")
    coach_rows = {person.pk: person for person in coaches}
    for row in observations:
        row.coach = coach_rows[row.coach_id]
        complete = not row.is_draft
        services.check_observation(row, definitions[row.rubric_version_id], complete=complete)


def test_visits_fall_on_weekdays_in_the_last_three_years_while_the_person_worked(observations):
    window = TODAY - dt.timedelta(days=3 * 365)
    for row in observations:
        person = row.practitioner
        assert row.observed_on.weekday() < 5
        assert max(window, person.hire_date) <= row.observed_on <= last_day(person)


def test_visits_come_every_four_to_ten_weeks(observations):
    gaps = []
    for rows in by_person(observations).values():
        days = [row.observed_on for row in rows]
        gaps += [(later - earlier).days for earlier, later in itertools.pairwise(days)]
    assert min(gaps) >= 26
    within = [gap for gap in gaps if gap <= 72]
    assert len(within) / len(gaps) > 0.95
    assert 42 <= statistics.median(gaps) <= 56


def test_about_a_quarter_are_mi_coding_of_twenty_recorded_minutes(observations):
    mi = on("mi-coding", observations)
    assert 0.2 <= len(mi) / len(observations) <= 0.3
    assert {(row.mode, row.duration_minutes) for row in mi} == {("recorded", 20)}
    tool_modes = {row.mode for row in on("miiwrap-fidelity", observations)}
    assert tool_modes == {"live", "document"}


def test_activities_are_the_loaded_types_and_vary(observations):
    used = {row.activity.name for row in observations}
    assert used <= set(ActivityType.objects.values_list("name", flat=True))
    assert len(used) >= 5
    assert "Plan document review" not in {
        row.activity.name for row in on("mi-coding", observations)
    }


# --- Scores -------------------------------------------------------------------------------


def test_submitted_observations_score_every_item_within_its_scale(observations, definitions):
    for row in observations:
        definition = definitions[row.rubric_version_id]
        complete = not row.is_draft
        assert scoring.problems(definition, row.scores, complete=complete) == {}, row.scores


def test_not_applicable_appears_now_and_then_and_only_where_allowed(observations, definitions):
    allowed = marked = 0
    for row in observations:
        for item in definitions[row.rubric_version_id].items:
            marked += row.scores.get(item.code) == scoring.NA
            allowed += item.allows_na and item.code in row.scores
    assert 0.05 <= marked / allowed <= 0.35


def test_stored_metrics_are_what_scoring_computes(observations):
    assert services.observations_recompute(Observation.objects.all()) == 0
    submitted = [row for row in observations if not row.is_draft]
    assert all(row.computed_at == row.submitted_at for row in submitted)
    assert all(row.band for row in on("miiwrap-fidelity", observations))


def test_bands_span_high_to_low_with_most_in_the_upper_two(observations):
    bands = [row.band for row in on("miiwrap-fidelity", observations)]
    assert set(bands) == {"high", "adequate", "borderline", "low"}
    upper = sum(band in ("high", "adequate") for band in bands)
    assert 0.6 <= upper / len(bands) <= 0.9


def test_new_hires_start_near_sixty_percent_and_reach_the_eighties_within_a_year(observations):
    first, settled = [], []
    for person, rows in by_person(observations).items():
        first += fidelity(r for r in rows if r.observed_on < person.hire_date + months(3))
        settled += fidelity(
            r
            for r in rows
            if person.hire_date + months(13) <= r.observed_on < person.hire_date + months(24)
        )
    assert len(first) > 40
    assert 55 <= statistics.mean(first) <= 67
    assert 80 <= statistics.mean(settled) <= 90


def test_steady_veterans_score_in_the_eighties_with_some_noise(observations):
    veterans = [
        fidelity(rows)
        for person, rows in by_person(observations).items()
        if person.hire_date < TODAY - dt.timedelta(days=5 * 365)
    ]
    assert len(veterans) > 20
    assert 80 <= statistics.mean(score for scores in veterans for score in scores) <= 90
    spreads = [statistics.stdev(scores) for scores in veterans if len(scores) > 5]
    assert 3 <= statistics.median(spreads) <= 10


def slide(rows):
    """How far the last six months fell below the year before them, in points."""
    cut = TODAY - dt.timedelta(days=183)
    recent = fidelity(r for r in rows if r.observed_on >= cut)
    before = fidelity(r for r in rows if cut - dt.timedelta(days=365) <= r.observed_on < cut)
    if len(recent) < 2 or len(before) < 3:
        return None
    return statistics.mean(before) - statistics.mean(recent)


def test_some_practitioners_slip_after_good_years(observations):
    tenured = {
        person: rows
        for person, rows in by_person(observations).items()
        if person.leave_date is None and person.hire_date < TODAY - dt.timedelta(days=3 * 365)
    }
    slides = [s for s in map(slide, tenured.values()) if s is not None]
    # Noise alone moves a six-month mean by up to about six points.
    slipping = [s for s in slides if s >= 8]
    assert len(slides) > 40
    assert 0.07 <= len(slipping) / len(slides) <= 0.3
    assert statistics.median(slides) < 3


def test_a_few_practitioners_struggle(observations):
    means = [
        statistics.mean(scores)
        for person, rows in by_person(observations).items()
        if person.hire_date < TODAY - dt.timedelta(days=2 * 365)
        and len(scores := fidelity(r for r in rows if r.observed_on > TODAY - months(12))) >= 3
    ]
    struggling = [mean for mean in means if mean < 72]
    assert 1 <= len(struggling) <= 0.12 * len(means)


def test_mi_reflections_and_questions_move_with_skill(observations):
    coded = [row for row in on("mi-coding", observations) if not row.is_draft]
    good = [row for row in coded if row.metrics["technical"]["band"] == "good"]
    weaker = [row for row in coded if row.metrics["technical"]["band"] != "good"]

    def mean_of(rows, code):
        values = [row.metrics[code]["value"] for row in rows]
        return statistics.mean(value for value in values if value is not None)

    assert len(good) > 50 and len(weaker) > 50
    assert mean_of(good, "r-q") > mean_of(weaker, "r-q") + 0.5
    assert mean_of(good, "pct-cr") > mean_of(weaker, "pct-cr") + 5
    assert {row.metrics["r-q"]["band"] for row in coded} >= {"good", "fair", "below fair"}


def test_a_segment_without_questions_leaves_the_ratio_undefined_now_and_then(observations):
    coded = [row for row in on("mi-coding", observations) if not row.is_draft]
    undefined = [row for row in coded if row.metrics["r-q"]["value"] is None]
    assert 1 <= len(undefined) <= 0.03 * len(coded)
    assert all(row.scores["question"] == 0 for row in undefined)


# --- Status, times, feedback --------------------------------------------------------------


def test_older_observations_are_mostly_acknowledged_and_drafts_are_recent(observations):
    older = [row for row in observations if row.observed_on < TODAY - dt.timedelta(days=90)]
    acknowledged = [row for row in older if row.status == Observation.Status.ACKNOWLEDGED]
    assert len(acknowledged) / len(older) > 0.85
    drafts = [row for row in observations if row.is_draft]
    assert 1 <= len(drafts) <= 30
    assert all(row.observed_on >= TODAY - dt.timedelta(days=14) for row in drafts)
    assert all(row.submitted_at is None and row.computed_at for row in drafts)
    recent = [row for row in observations if row.observed_on >= TODAY - dt.timedelta(days=30)]
    assert any(row.status == Observation.Status.SUBMITTED for row in recent)


def test_times_follow_the_visit_and_none_lies_in_the_future(observations):
    for row in observations:
        zone = ZoneInfo(row.practitioner.organization.time_zone)
        if row.submitted_at:
            assert (
                row.observed_on
                <= row.submitted_at.astimezone(zone).date()
                <= row.observed_on + dt.timedelta(days=4)
            )
            assert row.submitted_at < NOW
        if row.acknowledged_at:
            assert row.submitted_at <= row.acknowledged_at < NOW
        assert (row.acknowledged_at is not None) == (row.status == Observation.Status.ACKNOWLEDGED)


def fraction(item, value):
    low = item.scale_min if item.kind == scoring.RATING else 0
    high = item.scale_max if item.kind == scoring.RATING else 1
    return (value - low) / (high - low)


def test_growth_areas_name_the_lowest_scoring_items(observations, definitions):
    checked = 0
    for row in on("miiwrap-fidelity", observations):
        definition = definitions[row.rubric_version_id]
        rated = {
            item.code: fraction(item, row.scores[item.code])
            for item in definition.items
            if isinstance(row.scores.get(item.code), int)
        }
        if not row.growth_areas_items:
            continue
        weakest = max(rated[code] for code in row.growth_areas_items)
        others = [f for code, f in rated.items() if code not in row.growth_areas_items]
        assert weakest < 0.67 and weakest <= min(others)
        assert row.next_steps_items == row.growth_areas_items
        assert all(rated[code] == 1 for code in row.strengths_items)
        first = demo_observations.ITEM_FEEDBACK[row.growth_areas_items[0]][1]
        assert row.growth_areas.startswith(first)
        checked += 1
    assert checked > 500


def test_mi_feedback_speaks_of_reflections_and_questions(observations):
    coded = on("mi-coding", observations)
    assert any("R:Q" in row.growth_areas for row in coded)
    assert any("reflections were complex" in row.strengths for row in coded)


def test_most_observations_carry_feedback_and_a_few_a_reply(observations):
    submitted = [row for row in observations if not row.is_draft]
    with_feedback = [row for row in submitted if row.strengths or row.growth_areas]
    assert len(with_feedback) / len(submitted) > 0.8
    replies = [row for row in observations if row.response]
    acknowledged = [row for row in observations if row.status == Observation.Status.ACKNOWLEDGED]
    assert 0.05 <= len(replies) / len(acknowledged) <= 0.2
    assert all(row.status == Observation.Status.ACKNOWLEDGED for row in replies)


# --- Running again, seeds, scale ----------------------------------------------------------


def observation_rows(slugs=None):
    rows = routine()
    if slugs is not None:
        rows = rows.filter(practitioner__organization__slug__in=slugs)
    fields = ("practitioner__email", "coach__email", "observed_on", "rubric_version__rubric__code")
    return sorted(rows.values_list(*fields, "status", "overall_score", "growth_areas"))


def test_running_again_adds_no_observations(demo_output):
    before = observation_rows()
    again = seed_demo()
    assert observation_rows() == before
    assert "observations" not in again.split("\n\n")[0]


def test_a_larger_run_adds_observations_only_for_the_new_organization(demo_output):
    slugs = [identity.slug for identity in demo.identities(1, 4)]
    before = observation_rows(slugs)
    more = seed_demo("--orgs", "5")
    new_slug = demo.identities(1, 5)[5].slug
    assert observation_rows(slugs) == before
    added = ADDED_LINE.search(more).group(1).replace(",", "")
    assert int(added) == len(observation_rows([new_slug])) > 100


def test_the_same_seed_plans_the_same_observations_as_it_wrote(demo_output):
    slug = demo.identities(1, 1)[1].slug
    plan = demo.plan_organization(
        demo.identities(1, 1)[1], seed=1, today=TODAY, scale=demo.SCALES["demo"]
    )
    for person in plan.people:
        person.row = Person(email=person.email)
    setting = demo_observations.Setting(
        TODAY, 3, demo_observations.load_tools(), list(ActivityType.objects.filter(is_active=True))
    )
    planned = sorted(
        (o.practitioner.email, o.coach.email, o.observed_on, o.rubric_version.rubric.code)
        for o in demo_observations.observations_for(plan, seed=1, setting=setting)
    )
    details = sorted(
        (o.practitioner.email, o.observed_on, o.status, o.overall_score, o.growth_areas)
        for o in demo_observations.observations_for(plan, seed=1, setting=setting)
    )
    stored = observation_rows([slug])
    assert planned == [row[:4] for row in stored]
    assert details == sorted((row[0], row[2], *row[4:]) for row in stored)


def test_a_different_seed_plans_different_observations(db):
    identity = demo.identities(1, 1)[1]
    setting = demo_observations.Setting(
        TODAY, 3, demo_observations.load_tools(), list(ActivityType.objects.all())
    )
    plan = demo.plan_organization(identity, seed=1, today=TODAY, scale=demo.SCALES["demo"])

    def dates(seed_number):
        rows = demo_observations.observations_for(plan, seed=seed_number, setting=setting)
        return [(row.observed_on, row.scores) for row in rows]

    assert dates(1) == dates(1)
    assert dates(1) != dates(2)


def test_without_a_published_rubric_people_are_built_and_no_observations(demo_output):
    RubricVersion.objects.update(status=RubricVersion.Status.RETIRED)
    before = Observation.objects.count()
    more = seed_demo("--orgs", "5")
    assert more.startswith("Created 1 organization, ")
    assert "No observations: no published shipped rubric or activity type." in more
    assert Observation.objects.count() == before


def test_observations_are_inserted_in_batches(demo_output):
    with CaptureQueriesContext(connection) as queries:
        more = seed_demo("--orgs", "5")
    added = int(ADDED_LINE.search(more).group(1).replace(",", ""))
    visits = int(re.search(r"and ([\d,]+) certification visits", more).group(1).replace(",", ""))
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "observations_observation"')]
    assert 1 <= len(inserts) <= (added + visits) / 30


def test_state_scale_keeps_a_year_of_observations(demo_output):
    more = seed_demo("--scale", "state", "--orgs", "5")
    new_slug = demo.identities(1, 5)[5].slug
    dates = [row[2] for row in observation_rows([new_slug])]
    assert "Added " in more
    assert min(dates) >= TODAY - dt.timedelta(days=365)
    assert len(dates) > 500


# --- Planning, without the database -------------------------------------------------------


def test_a_new_hire_climbs_from_the_start_to_the_plateau_over_a_year():
    hired = dt.date(2024, 1, 1)
    path = demo_observations.Trajectory("steady", hired, plateau=0.86, start=0.6)
    assert path.level(hired) == pytest.approx(0.6)
    assert path.level(hired + months(6)) == pytest.approx(0.73, abs=0.01)
    assert path.level(hired + months(2)) < 0.63
    assert path.level(hired + months(12)) == pytest.approx(0.86)
    assert path.level(hired + months(30)) == pytest.approx(0.86)


def test_a_slide_takes_points_off_each_quarter_and_more_off_the_sliding_items():
    path = demo_observations.Trajectory(
        "slipping",
        dt.date(2015, 1, 1),
        plateau=0.88,
        start=0.6,
        slide_from=dt.date(2025, 1, 1),
        slide_per_quarter=0.04,
        sliding_items=frozenset({"a"}),
    )
    assert path.level(dt.date(2024, 12, 1)) == pytest.approx(0.88)
    half_year = dt.date(2025, 1, 1) + dt.timedelta(days=183)
    assert path.level(half_year) == pytest.approx(0.80, abs=0.002)
    levels = path.item_levels(half_year, ["a", "b"])
    assert levels["b"] == pytest.approx(0.80, abs=0.002)
    assert levels["a"] == pytest.approx(0.72, abs=0.003)


def test_poisson_draws_average_their_mean():
    rng = random.Random(3)
    for mean in (0.5, 4, 25):
        draws = [demo_observations.poisson(rng, mean) for _ in range(4000)]
        assert statistics.mean(draws) == pytest.approx(mean, rel=0.06)
        assert min(draws) >= 0


ITEMS = (
    scoring.ItemDef("rated", "Rated", scoring.RATING, 0, 3),
    scoring.ItemDef("wide", "Wide", scoring.RATING, 1, 5),
    scoring.ItemDef("present", "Present", scoring.YES_NO, allows_na=True),
    scoring.ItemDef("always", "Always", scoring.YES_NO),
)
DEFINITION = scoring.RubricDef(items=ITEMS, metrics=())


def test_drawn_scores_average_the_expected_fraction_of_each_items_maximum():
    rng = random.Random(5)
    levels = {"rated": 0.8, "wide": 0.7, "present": 0.9, "always": 0.3}
    draws = [
        demo_observations.draw_scores(rng, DEFINITION, levels, "Family team meeting")
        for _ in range(3000)
    ]
    for code, maximum in (("rated", 3), ("wide", 5), ("always", 1)):
        assert statistics.mean(d[code] for d in draws) == pytest.approx(
            levels[code] * maximum, rel=0.05
        )
    assert all(scoring.problems(DEFINITION, d, complete=True) == {} for d in draws)


def test_not_applicable_is_likelier_away_from_meetings_and_never_on_items_that_forbid_it():
    rng = random.Random(6)
    levels = dict.fromkeys(("rated", "wide", "present", "always"), 0.8)

    def na_share(activity):
        draws = [
            demo_observations.draw_scores(rng, DEFINITION, levels, activity) for _ in range(2000)
        ]
        assert not any(d["always"] == scoring.NA for d in draws)
        return sum(d["present"] == scoring.NA for d in draws) / len(draws)

    assert na_share("Family team meeting") < 0.1 < 0.2 < na_share("Home visit")


def test_feedback_turns_the_weakest_items_into_growth_areas_and_next_steps():
    scores = {"rated": 0, "wide": 5, "present": 1, "always": 0}
    result = scoring.compute(DEFINITION, scores)
    given = demo_observations.feedback(random.Random(1), DEFINITION, scores, result)
    assert set(given["growth_areas_items"]) == {"rated", "always"}
    assert given["next_steps_items"] == given["growth_areas_items"]
    assert set(given["strengths_items"]) == {"wide", "present"}
    assert "Rated: not yet consistent." in given["growth_areas"]
    assert "practise rated" in given["next_steps"]


def test_no_growth_area_is_invented_when_everything_went_well():
    scores = {"rated": 3, "wide": 5, "present": 1, "always": 1}
    result = scoring.compute(DEFINITION, scores)
    given = demo_observations.feedback(random.Random(1), DEFINITION, scores, result)
    assert given["growth_areas"] == given["next_steps"] == ""
    assert len(given["strengths_items"]) == 2


def test_every_demo_observation_names_its_practitioners_organization(observations):
    """Routine visits and certification visits alike (both bulk-written)."""
    assert Observation.objects.exists()
    elsewhere = Observation.objects.exclude(organization_id=F("practitioner__organization_id"))
    assert not elsewhere.exists()

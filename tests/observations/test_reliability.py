"""The reliability report: who opens it, figures checked by hand on a small world, the
sign of a co-observer's lean, and a query count that does not grow with the rows."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from miiwrap.people.models import Person
from observations import agreement, reliability, services
from observations.models import CoObservation
from tests.factories import (
    full_scores,
    make_assignment,
    make_observation,
    make_person,
    rubric_version,
)
from tests.observations import calibration_data

URL = reverse("observations:reliability")
TODAY = dt.date(2026, 12, 5)
pytestmark = pytest.mark.time_machine(dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC), tick=False)


def ratings(version):
    return [item.code for item in version.items.all() if item.kind == "rating"]


@pytest.fixture
def small(world):
    """Two home coaches score two cases coded at 2 everywhere (13 ratings, 4 yes/no):
    Cora at 3 on every rating (all within one, 13 apart by +1), Sol at 2 but 0 on the
    first two ratings (two items two points off)."""
    version = rubric_version()
    sol = make_person(world.home, "coach", first_name="Sol")
    cases = []
    for n in range(2):
        case = calibration_data.make_case(
            version, title=f"Case {n}", retain_until=dt.date(2099, 1, 1)
        )
        cases.append(calibration_data.master_code(case, None))
    round = calibration_data.make_round(
        *cases,
        coaches=[world.coach, sol],
        opens_on=dt.date(2026, 11, 1),
        due_on=dt.date(2026, 12, 31),
    )
    low = dict.fromkeys(ratings(version)[:2], 0)
    for case in cases:
        calibration_data.attempt_save(round, case, world.coach, full_scores(version, rating=3))
        calibration_data.attempt_save(round, case, sol, {**full_scores(version, rating=2), **low})
    return sol


def row_of(report, person):
    return next(row for row in report.coaches if row.coach.pk == person.pk)


def test_each_coach_is_measured_against_the_master_code_by_hand(world, small):
    report = reliability.build(Person.objects.filter(organization=world.home), TODAY)
    cora, sol = row_of(report, world.coach), row_of(report, small)
    assert (cora.calibration.sessions, cora.calibration.within_one_percent) == (2, 100)
    # Exact: the 4 yes/no items of 17, twice: 8 of 34, 23.5 % shown rounded down.
    assert cora.calibration.exact_percent == 23 and cora.calibration.lean == "1 point lenient"
    # Sol: 15 of 17 within one and the same; the two zeros pull the lean to -4/13.
    assert (sol.calibration.within_one_percent, sol.calibration.exact_percent) == (88, 88)
    assert sol.calibration.lean == "0.31 points severe"
    assert cora.passes and sol.passes
    leader_only = row_of(report, world.leader) if False else None
    assert leader_only is None and {r.coach.pk for r in report.coaches} == {
        world.coach.pk,
        small.pk,
    }


def test_items_the_pool_disagrees_on_most_come_first(world, small):
    report = reliability.build(Person.objects.filter(organization=world.home), TODAY)
    worst = report.items[:2]
    version = rubric_version()
    first_two = {i.label for i in version.items.all() if i.code in ratings(version)[:2]}
    assert {row.label for row in worst} == first_two
    assert all(row.tally.within_one_percent == 50 for row in worst)
    assert report.items[-1].tally.within_one_percent == 100


def test_a_coach_short_of_a_case_is_left_out_of_the_rounds_icc(world, small):
    version = rubric_version()
    late = make_person(world.home, "coach", first_name="Lou")
    (round,) = {a.round for a in small.calibration_attempts.all()}
    services.calibration_round_assign(round=round, coaches=[late])
    calibration_data.attempt_save(round, round.cases.first(), late, full_scores(version, 2))
    report = reliability.build(Person.objects.filter(organization=world.home), TODAY)
    ((_, icc, raters, cases),) = report.rounds
    assert (raters, cases) == (2, 2)
    # Both cases carry the same code and each coach scored them alike: the cases do not
    # differ, so none of the variance is between them.
    assert icc.value == 0


def test_a_co_observers_lean_is_theirs_and_the_observer_of_records_the_other_way(world, small):
    version = rubric_version()
    make_assignment(small, world.practitioner)
    visit = make_observation(
        world.coach, world.practitioner, submit=False, scores=full_scores(version, 3)
    )
    co = services.co_observation_invite(observation=visit, second=small, by=world.coach)
    services.co_observation_save(
        co=co, scores=full_scores(version, 2), definition=version.definition(), submit=True
    )
    services.observation_submit(observation=visit, definition=version.definition())
    assert CoObservation.objects.get().both_scored
    report = reliability.build(Person.objects.filter(organization=world.home), TODAY)
    assert row_of(report, small).co_observation.lean == "1 point severe"
    assert row_of(report, world.coach).co_observation.lean == "1 point lenient"
    assert report.trend[-1][2].sessions == 1


def test_a_rounds_icc_is_of_the_coaches_overall_scores(world):
    """Two cases coded 1 and 2 on every rating; one coach scores each as coded, the other a
    point higher: the overall scores form the matrix ICC(2,1) reads."""
    version = rubric_version()
    other = make_person(world.home, "coach", first_name="Sol")
    cases = []
    for rating in (1, 2):
        case = calibration_data.make_case(
            version, title=f"At {rating}", retain_until=dt.date(2099, 1, 1)
        )
        cases.append(calibration_data.master_code(case, None, scores=full_scores(version, rating)))
    round = calibration_data.make_round(
        *cases,
        coaches=[world.coach, other],
        opens_on=dt.date(2026, 11, 1),
        due_on=dt.date(2026, 12, 31),
    )
    attempts = {}
    for case, rating in zip(cases, (1, 2), strict=True):
        attempts[world.coach, case] = calibration_data.attempt_save(
            round, case, world.coach, full_scores(version, rating)
        )
        attempts[other, case] = calibration_data.attempt_save(
            round, case, other, full_scores(version, rating + 1)
        )
    report = reliability.build(Person.objects.filter(organization=world.home), TODAY)
    ((_, icc, raters, n),) = report.rounds
    matrix = [
        [float(attempts[coach, case].overall_score) for coach in (world.coach, other)]
        for case in cases
    ]
    assert (raters, n) == (2, 2) and icc == agreement.icc_2_1(matrix)
    assert icc.value is not None and icc.value < 1


# The page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["leader", "org_admin", "purveyor_admin", "outsider"])
def test_leaders_and_the_purveyor_open_the_report(world, login, small, persona):
    assert login(getattr(world, persona)).get(URL).status_code == 200


@pytest.mark.parametrize("persona", ["coach", "practitioner", "unassigned", "away_practitioner"])
def test_coaches_and_practitioners_get_404(world, login, small, persona):
    assert login(getattr(world, persona)).get(URL).status_code == 404


def test_a_leader_sees_their_coaches_and_an_outsider_none_of_them(world, login, small):
    assert small.full_name in login(world.leader).get(URL).content.decode()
    assert small.full_name not in login(world.outsider).get(URL).content.decode()


def test_the_purveyor_narrows_to_one_organization_and_junk_is_404(world, login, small):
    client = login(world.purveyor_admin)
    page = client.get(URL, {"organization": world.away.slug}).content.decode()
    assert world.away.name in page and small.full_name not in page
    assert small.full_name in client.get(URL, {"organization": world.home.slug}).content.decode()
    assert client.get(URL, {"organization": "no-such-place"}).status_code == 404
    assert client.get(URL, {"organization": "x" * 5000}).status_code == 404


def test_a_leader_cannot_pick_another_organization(world, login, small):
    page = login(world.outsider).get(URL, {"organization": world.home.slug}).content.decode()
    assert small.full_name not in page


def test_the_report_reads_a_constant_number_of_queries(world, login, small):
    client = login(world.leader)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    version = rubric_version()
    more = [make_person(world.home, "coach", first_name=f"Extra{n}") for n in range(3)]
    case = calibration_data.master_code(
        calibration_data.make_case(version, title="Another", retain_until=dt.date(2099, 1, 1)), None
    )
    round = calibration_data.make_round(
        case,
        coaches=more,
        name="Winter",
        opens_on=dt.date(2026, 11, 1),
        due_on=dt.date(2026, 12, 31),
    )
    for coach in more:
        calibration_data.attempt_save(round, case, coach, full_scores(version, rating=1))
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200
    assert len(many) == len(few)


def test_the_bar_is_the_observer_programs_and_is_met_exactly_not_as_rounded(world, small):
    """Sol has 15 of 17 items within one point on each case: 88.2 %. At a bar of 88 % he
    passes; at 89 % he does not, though both would read "88 %" rounded."""
    coaches = Person.objects.filter(organization=world.home)
    passing = reliability.build(coaches, TODAY, standard=reliability.Standard(3, 88))
    failing = reliability.build(coaches, TODAY, standard=reliability.Standard(3, 89))
    assert row_of(passing, small).passes and not row_of(failing, small).passes
    assert reliability.Standard.of_program() == reliability.Standard(3, 80)  # as shipped


def test_standing_reads_only_the_latest_cases(world, small):
    coaches = Person.objects.filter(organization=world.home)
    report = reliability.build(coaches, TODAY, standard=reliability.Standard(1, 80))
    assert row_of(report, small).standing.sessions == 1


def test_the_bar_follows_the_programs_settings(shipped_programs):
    from certification.models import EvidenceRule

    rule = EvidenceRule.objects.get(program__code="observer", kind="initial")
    rule.min_cases, rule.min_within_one_percent = 4, 90
    rule.save()
    assert reliability.Standard.of_program() == reliability.Standard(4, 90)


def test_the_purveyor_first_compares_organizations_from_the_kept_figures(world, login, small):
    rows = {
        r.organization.pk: r for r in reliability.by_organization([world.home, world.away], TODAY)
    }
    home, away = rows[world.home.pk], rows[world.away.pk]
    # Cora 34 of 34 within one point, Sol 30 of 34: 64 of 68.
    assert (home.coaches, home.calibration.sessions, home.calibration.within_one_percent) == (
        2,
        4,
        94,
    )
    assert (away.coaches, away.calibration.sessions, away.calibration.within_one_percent) == (
        0,
        0,
        None,
    )
    page = login(world.purveyor_admin).get(URL).content.decode()
    assert 'id="by-organization"' in page and 'id="by-coach"' not in page
    assert f"?organization={world.home.slug}" in page


def test_the_organizations_compared_read_a_constant_number_of_queries(world, login, small):
    client = login(world.purveyor_admin)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    from tests.factories import make_org

    for n in range(3):
        make_org(f"Another {n}")
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)

"""The demo world's calibration: master-coded cases, rounds over the last year, a coach
who failed and passed a re-test, a coach drifting lenient, and a round open now."""

import datetime as dt

import pytest
from django.urls import reverse

from miiwrap.people.models import Person
from observations import calibration
from observations.models import (
    CalibrationAssignment,
    CalibrationAttempt,
    CalibrationCase,
    CalibrationRound,
    CoObservation,
    Observation,
    RaterAlert,
)
from tests.factories import DEMO_NOW, rubric_version, seed_demo

TODAY = DEMO_NOW.date()
PASS = 80
pytestmark = pytest.mark.time_machine(DEMO_NOW, tick=False)


def by_round(coach):
    """[(round, within-one percent, signed difference)] of a coach, oldest first."""
    rows = CalibrationAttempt.objects.filter(coach=coach).results()
    return sorted(
        ((r["round"], r["within_percent"], r["signed"]) for r in rows),
        key=lambda row: row[0].opens_on,
    )


def test_every_case_has_a_master_code_a_reason_for_each_rated_item_and_consent(demo_output):
    version = rubric_version()
    cases = list(CalibrationCase.objects.all())
    assert len(cases) == 6
    for case in cases:
        assert case.is_master_coded and case.master_coder is not None
        assert case.consent_note and case.consent_on <= TODAY < case.retain_until
        rated = [i.code for i in version.items.all() if i.kind != "count"]
        assert all(case.rationale.get(code) for code in rated)
        assert set(case.master_scores) == {i.code for i in version.items.all()}


def test_stored_figures_equal_the_comparison_computed_again(demo_output):
    definition = rubric_version().definition()
    for attempt in CalibrationAttempt.objects.select_related("case"):
        again = calibration.compare(definition, attempt.case.master_scores, attempt.scores)
        stored = {name: getattr(attempt, name) for name in again.as_fields()}
        assert stored == again.as_fields()


def test_one_coach_failed_a_round_and_passed_the_re_test(demo_output):
    retests = CalibrationRound.objects.filter(name__startswith="Observer re-test")
    (retest,) = retests
    (coach,) = Person.objects.filter(calibration_assignments__round=retest)
    rounds = by_round(coach)
    failed = [row for row in rounds if row[1] < PASS]
    assert len(failed) == 1 and failed[0][0].due_on < retest.opens_on
    assert rounds[-1][0] == retest and rounds[-1][1] >= PASS


def test_one_coach_drifts_lenient_round_after_round(demo_output):
    leans = {
        coach: [signed for _, _, signed in by_round(coach)]
        for coach in Person.objects.filter(calibration_attempts__isnull=False).distinct()
    }
    drifting = [c for c, s in leans.items() if len(s) == 3 and s[0] < s[1] < s[2] and s[2] > 0.5]
    assert len(drifting) == 1
    others = [s[-1] for c, s in leans.items() if c not in drifting]
    assert max(others) < 0.5


def test_the_demo_coach_has_a_round_open_now_with_cases_to_score(demo_output, client):
    open_now = CalibrationRound.objects.filter(opens_on__lte=TODAY, due_on__gte=TODAY)
    (current,) = open_now
    coach = CalibrationAssignment.objects.filter(round=current).first().coach
    assert not CalibrationAttempt.objects.filter(round=current).exists()
    client.force_login(coach.user)
    page = client.get(reverse("observations:calibration")).content.decode()
    assert current.name in page and "To score" in page


def test_seeding_again_adds_no_calibration(demo_output):
    counts = [m.objects.count() for m in (CalibrationCase, CalibrationRound, CalibrationAttempt)]
    assert "Calibration:" in demo_output
    seed_demo()
    assert counts == [
        m.objects.count() for m in (CalibrationCase, CalibrationRound, CalibrationAttempt)
    ]


def test_about_one_visit_in_seven_was_co_observed_with_partners_rotating(demo_output):
    visits = list(CoObservation.objects.select_related("observation"))
    recent = Observation.objects.filter(
        rubric_version=rubric_version(), observed_on__gte=TODAY - dt.timedelta(days=180)
    ).exclude(status="draft")
    assert 0.08 < len(visits) / recent.count() < 0.22
    partners = {}
    for visit in visits:
        assert visit.both_scored and visit.second_observer_id != visit.observation.coach_id
        assert visit.second_observer.organization_id == visit.observation.organization_id
        partners.setdefault(visit.observation.coach_id, set()).add(visit.second_observer_id)
    assert max(len(found) for found in partners.values()) >= 3


def test_co_observed_figures_equal_the_comparison_computed_again(demo_output):
    definition = rubric_version().definition()
    for visit in CoObservation.objects.select_related("observation"):
        again = calibration.compare(definition, visit.observation.scores, visit.scores)
        fields = again.as_fields()
        del fields["absolute_difference"]
        assert {name: getattr(visit, name) for name in fields} == fields


def test_the_lenient_coach_and_only_they_have_a_rater_drift_alert(demo_output):
    (alert,) = RaterAlert.objects.open()
    assert alert.direction == "lenient" and alert.level > 0.5
    leans = [signed for _, _, signed in by_round(alert.coach)]
    assert leans == sorted(leans) and leans[-1] > 0.5

"""Calibration cases and rounds with as few arguments as a test needs."""

import datetime as dt

from observations import services
from observations.models import CalibrationAttempt, CalibrationCase, CalibrationRound
from tests.factories import full_scores

CONSENT_ON = dt.date(2026, 1, 5)
OPENS_ON = dt.date(2026, 2, 1)


def make_case(version, **fields):
    fields.setdefault("title", "Home visit, week 3")
    fields.setdefault("consent_on", CONSENT_ON)
    fields.setdefault("consent_note", "Mother signed; form in the consent binder.")
    fields.setdefault("retain_until", dt.date(2027, 1, 5))
    return CalibrationCase.objects.create(rubric_version=version, **fields)


def master_code(case, by, scores=None, rationale=None):
    """The case master coded through the service: every rating at 2 unless told."""
    version = case.rubric_version
    return services.calibration_case_code(
        case=case,
        scores=full_scores(version, rating=2) if scores is None else scores,
        rationale=rationale or {},
        by=by,
        definition=version.definition(),
    )


def make_round(*cases, coaches=(), **fields):
    fields.setdefault("name", "Spring calibration")
    fields.setdefault("opens_on", OPENS_ON)
    fields.setdefault("due_on", OPENS_ON + dt.timedelta(days=28))
    made = CalibrationRound.objects.create(**fields)
    made.cases.set(cases)
    services.calibration_round_assign(round=made, coaches=coaches)
    return made


def attempt_save(round, case, coach, scores, submit=True):
    attempt = CalibrationAttempt(round=round, case=case, coach=coach, scores=scores)
    return services.calibration_attempt_save(
        attempt=attempt, definition=case.rubric_version.definition(), submit=submit
    )

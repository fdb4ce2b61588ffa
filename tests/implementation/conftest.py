import datetime as dt

import pytest

from miiwrap.implementation import services
from miiwrap.implementation.models import ReadinessAssessment
from tests.factories import rubric_version


@pytest.fixture
def instrument(db):
    """The shipped readiness instrument, with its structure."""
    return rubric_version("miiwrap-readiness")


def ratings(instrument, value=2, **overrides):
    """Every item at `value`, but those named (underscores for hyphens)."""
    scores = {item.code: value for item in instrument.items.all()}
    scores.update({code.replace("_", "-"): v for code, v in overrides.items()})
    return scores


def make_assessment(
    organization, by, instrument, *, on=dt.date(2026, 3, 2), scores=None, notes=None, final=True
):
    """An assessment saved through the service, so it is scored like a real one."""
    assessment = ReadinessAssessment(
        organization=organization,
        version=instrument,
        recorded_by=by,
        assessed_on=on,
        scores=ratings(instrument) if scores is None else scores,
        notes=notes or {},
    )
    return services.readiness_assessment_save(
        assessment=assessment, leaders=[], definition=instrument.definition(), finalize=final
    )

"""A trainer persona and coaching-rubric observations, shared by the tests of the
coaching rubric across apps."""

import datetime as dt

from observations.models import ActivityType
from tests.factories import (
    make_observation,
    make_period,
    make_person,
    make_trainer_assignment,
    rubric_version,
)

COACHING = "coaching-feedback"
ACTIVITY = "Coaching feedback conversation"


def make_trainer(world, org=None, assign_to=None):
    """A coach in `org` (home by default) holding a current MiiWrap Trainer certification,
    assigned to `assign_to` (the home coach by default)."""
    trainer = make_person(org or world.home, "coach", first_name="Tess")
    make_period(trainer, world.purveyor_admin, "trainer", valid_from=dt.date(2024, 1, 2))
    make_trainer_assignment(trainer, assign_to or world.coach)
    return trainer


def coaching_scores(version, rating):
    return {item.code: rating for item in version.items.all()}


def observe_coaching(trainer, coach, rating=3, day=dt.date(2024, 5, 1), **fields):
    """A submitted coaching-rubric observation of `coach` by `trainer`, every item at
    `rating` (0-3), scored by the services."""
    version = rubric_version(COACHING)
    fields.setdefault("activity", ActivityType.objects.get(name=ACTIVITY))
    return make_observation(
        trainer,
        coach,
        version,
        observed_on=day,
        scores=coaching_scores(version, rating),
        **fields,
    )

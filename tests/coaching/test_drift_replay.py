"""End to end: the nightly job, replayed night by night on synthetic series stored as
observations, raises and closes its alerts on exactly the nights the in-memory trials
(coaching.drift_trials.online) say it should.

The same series both ways. The job pools its spread and its peers' level over every series
it reads, so its figures hang on the cohort; the trials pool over theirs. Here the trials
are run on exactly the six series stored (no others have observations), so both pool the
same scores: no PooledSpread needs to be set by hand, and nothing is pooled differently.
The scores are rounded to the hundredth before either sees them, as the database keeps
them. What the trials leave out is kept out of the series: no certification (so every
score counts, as in the trials) and no score below the adequate band (so the band rule,
which the trials do not run, never fires). The job is run from the night of the sixth
observation on, the first night the trials judge.
"""

import datetime as dt

import numpy as np
import pytest

from coaching import drift, drift_trials, services
from coaching.drift_trials import FIRST, LENGTH, SHIFT, SLIDE, STABLE, STEP
from coaching.models import DriftAlert
from tests.coaching.test_drift_job import observe
from tests.factories import make_person

START = dt.date(2022, 1, 10)
EVERY = 30  # days: about monthly, as in the trials
ADEQUATE = 75.0
PICKED = ((STABLE, 2), (STEP, 2), (SLIDE, 2))


def day_of(index):
    return START + dt.timedelta(days=EVERY * index)


def synthetic(seed):
    """Two series of each scenario from the trials' own generator, overall scores only,
    each never below the adequate band."""
    parts = []
    for scenario, count in PICKED:
        rng = np.random.default_rng([seed, drift_trials.SCENARIOS.index(scenario)])
        cohort = drift_trials.make_cohort(scenario, 50, rng)
        scores = np.round(cohort.scores, 2)
        keep = np.flatnonzero((scores >= ADEQUATE).all(axis=1))[:count]
        parts.append((scores[keep], cohort.change[keep], cohort.below[keep]))
    scores, change, below = (np.concatenate(part) for part in zip(*parts, strict=True))
    return drift_trials.Cohort(scores, None, change, below)


def replay(world, cohort):
    """(raised, closed): sets of (series, night index) from the job run on each night."""
    people = [
        make_person(world.home, "practitioner", team=world.team_a, first_name=f"Series{i}")
        for i in range(len(cohort.scores))
    ]
    for person, scores in zip(people, cohort.scores, strict=True):
        observe(world.coach, person, [float(s) for s in scores], start=START, every=EVERY)
    index = {person.pk: i for i, person in enumerate(people)}
    raised, closed, known = set(), set(), set()
    for night in range(FIRST, LENGTH):
        services.drift_detect(today=day_of(night))
        for alert in DriftAlert.objects.filter(scope="person"):
            series = index[alert.practitioner_id]
            if alert.pk not in known:
                known.add(alert.pk)
                raised.add((series, night))
            if alert.resolved_on == day_of(night):
                closed.add((series, night))
    return raised, closed


def expected(cohort):
    raised, _, _, closed = drift_trials.online(cohort, SHIFT, drift.DEFAULTS)
    as_set = lambda nights: {(int(i), int(n)) for i, n in zip(*np.nonzero(nights), strict=True)}  # noqa: E731
    return as_set(raised), as_set(closed)


@pytest.mark.parametrize("seed", [5, 11])
def test_the_job_raises_and_closes_on_the_nights_the_trials_do(world, seed):
    # Seed 5: a series alerted early by chance, closed, then raised again after its
    # change began. Seed 11: a stable series' false alarm, closed, raised and closed
    # again. Every changed series is alerted in both.
    cohort = synthetic(seed)
    assert len(cohort.scores) == 6
    want_raised, want_closed = expected(cohort)
    changed = {int(i) for i in np.flatnonzero(cohort.change < LENGTH)}
    assert {series for series, _ in want_raised} >= changed and want_closed
    assert replay(world, cohort) == (want_raised, want_closed)

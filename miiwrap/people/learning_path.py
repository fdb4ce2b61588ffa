"""A new hire's learning path: what the model expects in their first months, each step's
state read from the data (never ticked by hand). Plain functions over plain rows.

Steps, each due a number of days after hire: a MiiWrap training event attended, a first
submitted observation of their practice, a coaching plan, a first certification decision
in the practitioner program (due at the program's deadline after hire, the 45-day rule;
without a deadline it is due, never overdue), and a learning community event attended.

A step is *done* by its earliest piece of evidence dated from the hire date to today;
evidence dated before the hire does not count (it belongs to someone's earlier job),
with one exception: a certification still valid on the hire date means the person came
certified, and the step is done as of that decision. Otherwise a step is *due* up to and
including its due day, *overdue* after it.

Who is a new hire is internal capacity's definition (miiwrap.people.capacity.new_hires).
"""

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

TRAINING, OBSERVATION, PLAN, CERTIFICATION, COMMUNITY = (
    "training",
    "observation",
    "plan",
    "certification",
    "community",
)


class State(StrEnum):
    DONE = "done"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    expects: str
    due_days: int | None  # after hire; None: no due day


# Days after hire by which each step is expected; the certification step's is the
# practitioner program's deadline, given when the steps are made.
TRAINING_DAYS, OBSERVATION_DAYS, PLAN_DAYS, COMMUNITY_DAYS = 14, 30, 30, 90


def steps(deadline_days):
    """The path in the order it is walked; `deadline_days` the practitioner program's."""
    return [
        Step(TRAINING, "Training", "Attend a MiiWrap training event", TRAINING_DAYS),
        Step(OBSERVATION, "First observation", "A first observation of practice", OBSERVATION_DAYS),
        Step(PLAN, "Coaching plan", "A coaching plan with their coach", PLAN_DAYS),
        Step(CERTIFICATION, "First certification", "A first certification decision", deadline_days),
        Step(COMMUNITY, "Learning community", "Attend a learning community event", COMMUNITY_DAYS),
    ]


@dataclass(frozen=True)
class Evidence:
    """One record that may complete a step: when, what, and where it opens."""

    on: dt.date
    title: str
    url: str = ""
    until: dt.date | None = None  # a certification: the last day it is valid


@dataclass(frozen=True)
class Progress:
    step: Step
    state: State
    due_on: dt.date | None
    evidence: Evidence | None = None

    @property
    def summary(self):
        """The state in a few words, with the day that matters."""
        if self.state == State.DONE:
            return f"Done {self.evidence.on:%Y-%m-%d}" + (" (late)" if self.done_late else "")
        if self.due_on is None:
            return "Due (no deadline)"
        if self.state == State.OVERDUE:
            return f"Overdue: due {self.due_on:%Y-%m-%d}"
        return f"Due by {self.due_on:%Y-%m-%d}"

    @property
    def done_late(self):
        return (
            self.evidence is not None and self.due_on is not None and self.evidence.on > self.due_on
        )


def counts(step, evidence, hired, today):
    """Whether `evidence` completes `step` for someone hired on `hired`, seen on `today`."""
    if evidence.on > today:
        return False
    if evidence.on >= hired:
        return True
    came_certified = evidence.until is not None and evidence.until >= hired
    return step.key == CERTIFICATION and came_certified


def progress(step, evidence, hired, today):
    """The step's state from its candidate evidence (any order): the earliest that counts."""
    due_on = None if step.due_days is None else hired + dt.timedelta(days=step.due_days)
    found = sorted((e for e in evidence if counts(step, e, hired, today)), key=lambda e: e.on)
    if found:
        return Progress(step, State.DONE, due_on, found[0])
    late = due_on is not None and today > due_on
    return Progress(step, State.OVERDUE if late else State.DUE, due_on)


@dataclass(frozen=True)
class Checklist:
    person_id: int
    hired: dt.date
    today: dt.date
    steps: list  # [Progress], in path order

    @property
    def done(self):
        return sum(p.state == State.DONE for p in self.steps)

    @property
    def overdue(self):
        return sum(p.state == State.OVERDUE for p in self.steps)

    @property
    def days_since_hire(self):
        return (self.today - self.hired).days


def checklist(person_id, hired, today, evidence, deadline_days):
    """The person's path: `evidence` {step key: [Evidence]} (missing keys: none)."""
    return Checklist(
        person_id,
        hired,
        today,
        [progress(s, evidence.get(s.key, ()), hired, today) for s in steps(deadline_days)],
    )

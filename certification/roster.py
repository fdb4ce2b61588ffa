"""Everyone's standing in one program, for the roster and its CSV, in three queries.

The state comes from certification.dates.standing, the same function the person card
uses, applied to every person's periods on their own organization's today; so the
roster and the card can never disagree. Three flat reads (the people, their periods,
and the observations that make the never-certified "in progress") whatever the number
of people; the page's Person rows are a fourth.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.utils import timezone

from certification import dates
from certification.models import CertificationPeriod, EvidenceRule
from coaching.models import latest_momentum
from miiwrap.people.models import Person, todays_by_zone
from observations.models import Observation

# The states a roster lists, in the order its counts read.
STATES = [
    dates.State.NOT_CERTIFIED,
    dates.State.IN_PROGRESS,
    dates.State.CERTIFIED,
    dates.State.WINDOW_OPEN,
    dates.State.GRACE,
    dates.State.LAPSED,
    dates.State.REVOKED,
]


@dataclass
class Row(dates.OnDay):
    person_id: int
    today: dt.date
    standing: dates.Standing
    person: Person | None = None  # loaded for the rows shown
    momentum: str | None = None  # likewise: a coaching Momentum.Direction value

    @property
    def expires(self):
        """The expiry that matters: of the renewal decided ahead, or of the current period."""
        held = self.standing.held
        return held.period.valid_until if held else None


def standings(people, program, now=None):
    """[Row] for everyone in `people` who still works there, in the queryset's order."""
    now = now or timezone.now()
    found = list(people.values_list("pk", "organization__time_zone", "leave_date"))
    todays = todays_by_zone({zone for _, zone, _ in found}, now)
    held = _held(people, program)
    never_held = people.exclude(pk__in=program.periods.values("person_id"))
    observed = _observed(never_held, program, todays)
    rows = []
    for pk, zone, leave_date in found:
        today = todays[zone]
        if leave_date is not None and leave_date < today:
            continue
        accumulating = any(since <= day <= today for since, day in observed.get(pk, ()))
        rows.append(Row(pk, today, dates.standing(held.get(pk, []), today, accumulating)))
    return rows


def _held(people, program):
    periods = CertificationPeriod.objects.filter(program=program, person__in=people.values("pk"))
    return periods.held_by("person_id")


def _observed(people, program, todays):
    """{person id: [(first day that counts, observed on)]}: observations on the first
    certification's rubric in its look-back, for people never certified."""
    rule = program.evidence_rule(EvidenceRule.Kind.INITIAL)
    if rule is None or not todays:
        return {}
    look_back = dt.timedelta(days=rule.within_days) if rule.within_days is not None else None
    rows = Observation.objects.submitted().filter(
        practitioner__in=people.values("pk"),
        rubric_version__rubric_id=rule.rubric_id,
        observed_on__lte=max(todays.values()),
    )
    if look_back is not None:
        rows = rows.filter(observed_on__gte=min(todays.values()) - look_back)
    found = {}
    for person_id, zone, day in rows.values_list(
        "practitioner_id", "practitioner__organization__time_zone", "observed_on"
    ):
        since = todays[zone] - look_back if look_back is not None else dt.date.min
        found.setdefault(person_id, []).append((since, day))
    return found


def counts(rows):
    """[(state, label, count)] in the roster's order, every state listed."""
    found = Counter(row.state for row in rows)
    return [(state.value, dates.LABELS[state], found[state]) for state in STATES]


def matching(rows, state=None, month=None):
    """The rows in `state` (a dates.State value) whose expiry falls in `month` (year, month)."""
    if state:
        rows = [row for row in rows if row.state == state]
    if month:
        rows = [
            row for row in rows if row.expires and (row.expires.year, row.expires.month) == month
        ]
    return rows


def with_people(rows):
    """The rows, each with its Person (organization and team loaded), in one query."""
    people = Person.objects.select_related("organization", "team").in_bulk(
        [row.person_id for row in rows]
    )
    for row in rows:
        row.person = people[row.person_id]
    return rows


def with_momentum(rows):
    """The rows, each with its person's momentum (one query)."""
    latest = latest_momentum(row.person_id for row in rows)
    for row in rows:
        row.momentum = latest.get(row.person_id)
    return rows

"""Everyone's standing in one program, for the roster and its CSV.

The state comes from certification.decider, the one statement that decides where people
stand (held by tests to certification.dates.standing, which the person card uses), on
each person's own organization's today; so the roster and the card never disagree. One
query answers for everyone on the roster, however many; the page's Person rows are
another, for the rows shown.
"""

import functools
from collections import Counter
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from certification import dates, decider
from coaching.models import latest_momentum
from miiwrap.people.models import Organization, Person, todays_by_zone

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

STATE_OF = {state.value: state for state in dates.State}


@dataclass(eq=False)
class Row(dates.OnDay):
    decided: decider.Decided
    person: Person | None = None  # loaded for the rows shown
    momentum: str | None = None  # likewise: a coaching Momentum.Direction value

    @property
    def person_id(self):
        return self.decided.person_id

    @property
    def today(self):
        return self.decided.today

    @property
    def state(self):
        return STATE_OF[self.decided.state]

    @functools.cached_property
    def standing(self):
        return decider.standing_of(self.decided)

    @property
    def expires(self):
        """The expiry that matters: of the renewal decided ahead, or of the current period."""
        return self.decided.valid_until


def standings(people, program, now=None, few=True):
    """[Row] for everyone in `people` who still works there, by name: as
    certification.decider decides their standing in `program` (its rules prefetched);
    `few` as the decider takes it."""
    now = now or timezone.now()
    zones = set(Organization.objects.values_list("time_zone", flat=True).distinct())
    todays = todays_by_zone(zones, now)
    if not todays:
        return []
    sql, params = decider.statement(
        people, [program], todays, members=decider.Members.GIVEN, few=few
    )
    columns = ", ".join(f"d.{name}" for name in decider.COLUMNS)
    ordered = f"""
        SELECT {columns} FROM ({sql}) d
        INNER JOIN {decider.PERSON} p ON p.id = d.person_id
        WHERE p.leave_date IS NULL OR p.leave_date >= d.today
        ORDER BY p.last_name, p.first_name, p.id
    """
    with connection.cursor() as cursor:
        cursor.execute(ordered, params)
        rows = cursor.fetchall()
    typed = decider.typing()
    return [Row(decider.Decided._make(typed(row))) for row in rows]


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

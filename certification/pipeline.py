"""The certification pipeline of many people in several programs, in one statement.

The leader dashboard counts everyone on each program's roster by state, and lists who
expires soon. The states are certification.decider's, the one statement every reader of
the current period uses (held by tests to dates.standing); here it is grouped by program,
state and how soon the certified expire, those expiring soon one by one, so the same
rows also list them. Each person's today is their organization's, by time zone.
"""

import datetime as dt

from django.db import connection

from certification import decider

# The horizons expirations are counted within, in days.
EXPIRING_WITHIN = (30, 60, 90)


def read(people, programs, todays, few=True):
    """(counts, expiring) for the roster of each program, from one statement.

    counts: [(program id, state, expiring within days or None, people)];
    expiring: [(program id, person id, state, expires, today)] of those certified whose
    certification expires within the longest of EXPIRING_WITHIN, soonest first.
    `people` a Person queryset, `todays` {zone: today}, `few` as certification.decider
    takes it. The counting is the database's:
    those expiring soon are grouped one by one, so the same rows also list them."""
    return read_by_organization(people, programs, todays, few=few, apart=False).get(None, ([], []))


def read_by_organization(people, programs, todays, few=True, apart=True):
    """{organization id: (counts, expiring)} as `read` answers them, for each
    organization's people apart (or all together under None, unless `apart`)."""
    if not programs or not todays:
        return {}
    sql, params = decider.statement(people, programs, todays, horizons=EXPIRING_WITHIN, few=few)
    soon = "CASE WHEN within IS NOT NULL THEN {} END"
    organization = "p.organization_id" if apart else "NULL"
    grouped = (
        f"SELECT {organization}, program_id, state, within, {soon.format('person_id')}, "
        f"{soon.format('valid_until')}, {soon.format('today')}, COUNT(*) "
        f"FROM ({sql}) s "
        + (f"INNER JOIN {decider.PERSON} p ON p.id = s.person_id " if apart else "")
        + "GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )
    counted, expiring = {}, {}
    for org, program, state, within, person, expires, today, n in _rows(grouped, params):
        counts = counted.setdefault(org, {})
        counts[(program, state, within)] = counts.get((program, state, within), 0) + n
        if person is not None:
            expiring.setdefault(org, []).append(
                (program, person, state, _date(expires), _date(today))
            )
    found = {}
    for org, counts in counted.items():
        soonest = sorted(expiring.get(org, []), key=lambda row: (row[3], row[1]))
        found[org] = ([(*key, n) for key, n in counts.items()], soonest)
    return found


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _date(value):
    """SQLite hands back dates from raw SQL as ISO text."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value

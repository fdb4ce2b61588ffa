"""Where people stand in certification, decided by one SQL statement.

certification.dates.standing is the rule, in Python, for one person in one program: a
renewal decided ahead of its start (and not revoked) keeps them certified until its
expiry; otherwise the latest period that has started decides, and its dates say the
state (dates.state_on); someone who never held one is "in progress" while observations
on the first certification's rubric accumulate in its look-back, else "not certified".

Here the same rule is one statement, for any number of people in any number of programs,
each person read on their own organization's today. Every reader of the current period
uses it: the roster and its CSV (certification.roster), the leader's pipeline
(certification.pipeline), a coach's caseload (certification.models.with_standing), the
daily job's current periods (certification.jobs) and the drift job's evidence
(coaching.levels). Tests hold it to dates.standing on hand-made and generated worlds.

The statement's text is built once for each shape (how many zones and programs, which
people count, which options) and kept; a call only fills in its parameters and the
people's subquery. Dates are parameters, never computed by the database, so the same SQL
runs on PostgreSQL and SQLite.

What it answers, one row per person and program (`COLUMNS`): their today, the deciding
period's id and dates (None without one), the state (a dates.State value), `next_on`
(the date dates.next_date names; a lapse is named from its grace end) and `within`: for
a certification valid today or decided ahead, the first of the given horizons (days) its
expiry falls within, else None.
"""

import datetime as dt
import functools
import re
from collections import namedtuple
from enum import StrEnum

from django.core.exceptions import EmptyResultSet
from django.db import connection

from certification import dates
from certification.models import CertificationPeriod, EvidenceRule
from miiwrap.people.models import Organization, Person, RoleGrant
from observations.models import Observation, RubricVersion

State = dates.State
PERIOD = CertificationPeriod._meta.db_table
PERSON = Person._meta.db_table
ORGANIZATION = Organization._meta.db_table
ROLE = RoleGrant._meta.db_table
OBSERVATION = Observation._meta.db_table
VERSION = RubricVersion._meta.db_table

COLUMNS = [
    "person_id",
    "program_id",
    "today",
    "period_id",
    "state",
    "valid_from",
    "valid_until",
    "window_opens",
    "grace_ends",
    "revoked_on",
    "next_on",
    "within",
]
Decided = namedtuple("Decided", COLUMNS)
DATE_COLUMNS = [i for i, name in enumerate(COLUMNS) if name in {"today", "next_on"} or "_o" in name]
# The states of a period that has started and is not revoked: the daily job's "current".
STARTED = (State.CERTIFIED, State.WINDOW_OPEN, State.GRACE, State.LAPSED)
# The states in which a person holds a certification today, or its grace.
HOLDING = (State.CERTIFIED, State.WINDOW_OPEN, State.GRACE)


class Members(StrEnum):
    """Who is answered for in each program."""

    ROSTER = "roster"  # the program's roster: its audience role, and whoever holds or held it
    HELD = "held"  # whoever holds or held a period in it
    GIVEN = "given"  # every person given


def statement(
    people,
    programs,
    todays,
    *,
    members=Members.ROSTER,
    known=False,
    accumulating=True,
    horizons=(),
    few=True,
):
    """(sql, params) of one SELECT with `COLUMNS`, to run or to read from as a subquery.

    `people`: a Person queryset (None: everyone); `programs`: Program rows (their evidence
    rules prefetched, for "in progress"); `todays`: {zone: today}, or one date for every
    zone (as when they all share one). `known`: only periods decided by each today count,
    as things stood that day (for replays; nothing is decided in the future otherwise).
    `accumulating`: tell "in progress" from "not certified" (reads observations).
    `horizons`: days for `within`. `few`: the people are a small share of those who hold
    periods (an organization, a caseload), so only their periods are read; otherwise
    (an all-organizations view) every period of the programs is read in one pass, which
    is cheaper than probing for each of thousands.
    """

    if people is None:
        people_sql, people_params = f"SELECT id FROM {PERSON}", []
    else:
        try:
            people_sql, people_params = people.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:  # Django's word for a queryset it knows is empty
            people_sql, people_params = f"SELECT id FROM {PERSON} WHERE 1 = 0", []
    if not isinstance(todays, dt.date) and len(set(todays.values())) == 1:
        # One date everywhere (the usual case, and a caseload read on its coach's today):
        # a plain value, which also keeps the planner's estimates right.
        (todays,) = set(todays.values())
    zoned = not isinstance(todays, dt.date)
    days = todays.items() if zoned else [(None, todays)]
    rows = []
    for zone, today in days:
        for program in programs:
            rubric, since = _first_rule(program, today) if accumulating else (0, dt.date.min)
            rows.append(
                [
                    *([zone] if zoned else []),
                    program.pk,
                    program.audience_role,
                    today,
                    since,
                    rubric,
                    *(today + dt.timedelta(days=n) for n in horizons),
                ]
            )
    count = len(rows)
    if not rows:  # nobody to answer for: a row of days that selects nothing
        rows = [[*([""] if zoned else []), 0, "", dt.date.min, dt.date.min, 0]]
        rows[0] += [dt.date.min] * len(horizons)
    shape = (count, zoned, Members(members), known, tuple(horizons), few)
    parts, days_sql = _template(*shape)
    days_params = [value for row in rows for value in row]
    sql, params = [], []
    for part in parts:
        if part == "{people}":
            sql.append(people_sql)
            params += people_params
        elif part == "{days}":
            sql.append(days_sql)
            params += days_params
        else:
            sql.append(part)
    return "".join(sql), params


def read(people, programs, todays, **options):
    """[Decided] as `statement` decides them."""
    sql, params = statement(people, programs, todays, **options)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    typed = typing()
    return [Decided._make(typed(row)) for row in rows]


def typing():
    """What makes a row of `COLUMNS` as raw SQL returns it have dates as dates: nothing
    on PostgreSQL; SQLite hands back ISO text."""
    return _iso_dates if connection.vendor == "sqlite" else _as_is


def _as_is(row):
    return row


def _iso_dates(row):
    row = list(row)
    for i in DATE_COLUMNS:
        if isinstance(row[i], str):
            row[i] = dt.date.fromisoformat(row[i])
    return row


def standing_of(row):
    """A Decided row as the dates.Standing that dates.standing would give."""
    if row.period_id is None:
        return dates.Standing(State(row.state))
    period = dates.Period(row.valid_from, row.valid_until, row.window_opens, row.grace_ends)
    return dates.Standing(State(row.state), dates.Held(period, row.revoked_on, row.period_id))


def _first_rule(program, today):
    """(rubric id, first day counted) of the program's first-certification rule: what
    makes someone never certified "in progress"; (0, the first day) when it has none, or
    when it reads calibration, not observations of the person (certification.progress
    agrees: its _accumulating)."""
    rule = program.evidence_rule(EvidenceRule.Kind.INITIAL)
    if rule is None or rule.source == EvidenceRule.Source.CALIBRATION:
        return 0, dt.date.min
    if rule.within_days is None:
        return rule.rubric_id, dt.date.min
    return rule.rubric_id, today - dt.timedelta(days=rule.within_days)


MARKER = re.compile(r"(\{people\}|\{days\})")


@functools.cache
def _template(count, zoned, members, known, horizons, few):
    """The statement's text for this shape, split at its markers: `{people}` stands for
    the people's subquery, `{days}` for the rows of days (one per zone and program)."""
    names = [
        *(["zone"] if zoned else []),
        "program_id",
        "audience",
        "today",
        "since",
        "rubric_id",
        *(f"h{i}" for i in range(len(horizons))),
    ]
    one = "SELECT " + ", ".join(f"%s AS {name}" for name in names)
    days = " UNION ALL ".join([one] * count) if count else f"{one} WHERE 1 = 0"
    decided_by = "AND {alias}.decided_on <= z.today" if known else ""
    zone = "INNER JOIN {days} z ON z.zone = org.time_zone" if zoned else "CROSS JOIN {days} z"
    organization = f"INNER JOIN {ORGANIZATION} org ON org.id = p.organization_id" if zoned else ""
    if members == Members.HELD:
        pairs = f"""(SELECT DISTINCT person_id, program_id FROM {PERIOD}
                  WHERE person_id IN ({{people}})) h
                INNER JOIN {PERSON} p ON p.id = h.person_id
                {organization}
                {zone} AND z.program_id = h.program_id""".replace(
            "CROSS JOIN {days} z AND", "INNER JOIN {days} z ON"
        )
        where = ""
        if known:
            where = f"""WHERE EXISTS (SELECT 1 FROM {PERIOD} k
                WHERE k.person_id = p.id AND k.program_id = z.program_id
                  {decided_by.format(alias="k")})"""
    else:
        pairs = f"{PERSON} p {organization} {zone}"
        where = "WHERE p.id IN ({people})"
        if members == Members.ROSTER:
            where += f"""
              AND (EXISTS (SELECT 1 FROM {PERIOD} h
                           WHERE h.person_id = p.id AND h.program_id = z.program_id
                             {decided_by.format(alias="h")} AND h.person_id IN ({{people}}))
                   OR EXISTS (SELECT 1 FROM {ROLE} r
                              WHERE r.person_id = p.id AND r.role = z.audience
                                AND r.person_id IN ({{people}})))"""
    if zoned:
        periods_zone = f"""INNER JOIN {PERSON} dp ON dp.id = d.person_id
            INNER JOIN {ORGANIZATION} dorg ON dorg.id = dp.organization_id
            INNER JOIN {{days}} dz ON dz.zone = dorg.time_zone AND dz.program_id = d.program_id"""
    else:
        periods_zone = "INNER JOIN {days} dz ON dz.program_id = d.program_id"
    narrowed = "d.person_id IN ({people}) AND" if few else ""
    within = " ".join(f"WHEN c.valid_until <= z.h{i} THEN {n}" for i, n in enumerate(horizons))
    within = f"CASE {within} END" if horizons else "NULL"
    # The deciding period is the first of each person's in each program, newest start
    # first, once those revoked before they started are set aside: one pass over the
    # periods, numbered by a window. "In progress" probes a person's observations only
    # for those who never held a period (OFFSET 0 keeps PostgreSQL from hashing every
    # observation in the look-back instead of probing a few people's).
    sql = f"""
        SELECT p.id AS person_id, z.program_id, z.today, c.id AS period_id,
            CASE
                WHEN c.id IS NULL THEN CASE WHEN z.rubric_id <> 0 AND EXISTS (
                    SELECT 1 FROM {OBSERVATION} o
                    INNER JOIN {VERSION} v ON v.id = o.rubric_version_id
                    WHERE o.practitioner_id = p.id AND o.status <> 'draft'
                      AND v.rubric_id = z.rubric_id AND o.observed_on <= z.today
                      AND o.observed_on >= z.since
                    LIMIT 1 OFFSET 0
                ) THEN '{State.IN_PROGRESS}' ELSE '{State.NOT_CERTIFIED}' END
                WHEN c.valid_from > z.today THEN '{State.CERTIFIED}'
                WHEN c.revoked_on <= z.today THEN '{State.REVOKED}'
                WHEN c.window_opens > z.today THEN '{State.CERTIFIED}'
                WHEN c.valid_until >= z.today THEN '{State.WINDOW_OPEN}'
                WHEN c.grace_ends >= z.today THEN '{State.GRACE}'
                ELSE '{State.LAPSED}'
            END AS state,
            c.valid_from, c.valid_until, c.window_opens, c.grace_ends, c.revoked_on,
            CASE
                WHEN c.revoked_on <= z.today THEN c.revoked_on
                WHEN c.valid_until >= z.today THEN c.valid_until
                ELSE c.grace_ends
            END AS next_on,
            CASE WHEN c.id IS NULL OR c.revoked_on <= z.today OR c.valid_until < z.today
                THEN NULL ELSE {within} END AS within
        FROM {pairs}
        LEFT JOIN (
            SELECT d.id, d.person_id, d.program_id, d.valid_from, d.valid_until,
                d.window_opens, d.grace_ends, d.revoked_on,
                ROW_NUMBER() OVER (
                    PARTITION BY d.person_id, d.program_id
                    ORDER BY d.valid_from DESC, d.id DESC
                ) AS n
            FROM {PERIOD} d
            {periods_zone}
            WHERE {narrowed} NOT (d.valid_from > dz.today AND d.revoked_on IS NOT NULL
                       AND d.revoked_on <= dz.today)
              {decided_by.format(alias="d").replace("z.", "dz.")}
        ) c ON c.person_id = p.id AND c.program_id = z.program_id AND c.n = 1
        {where}
    """
    # The people are read once, whatever the number of places that narrow to them.
    return tuple(MARKER.split(sql)), f"({days})"

"""The certification pipeline of many people in several programs, in one statement each.

The leader dashboard counts everyone on each program's roster by state, and lists who
expires soon. certification.models.with_standing decides the same states through the
ORM, one query a program; for a whole organization Django spent longer compiling those
queries than the database spent running them. Here one hand-written statement covers
every program: a derived table finds, for each person on each roster, the one period
that decides (a renewal decided ahead, else the latest started), and the outer query
reads the state off that period's columns as dates.state_on does. A test holds its
answers to the roster's (certification.roster, dates.standing).

Dates are parameters, so the SQL is the same on PostgreSQL and SQLite; each person's
today is their organization's, by time zone.
"""

import datetime as dt

from django.db import connection

from certification import dates
from certification.models import CertificationPeriod, EvidenceRule, Program
from miiwrap.people.models import Organization, Person, RoleGrant
from observations.models import Observation, RubricVersion

PERIOD = CertificationPeriod._meta.db_table
PERSON = Person._meta.db_table
PROGRAM = Program._meta.db_table
ORGANIZATION = Organization._meta.db_table
ROLE = RoleGrant._meta.db_table
OBSERVATION = Observation._meta.db_table
VERSION = RubricVersion._meta.db_table
State = dates.State
# The horizons expirations are counted within, in days.
EXPIRING_WITHIN = (30, 60, 90)


def read(people, programs, todays):
    """(counts, expiring) for the roster of each program, from one statement.

    counts: [(program id, state, expiring within days or None, people)];
    expiring: [(program id, person id, state, expires, today)] of those certified whose
    certification expires within the longest of EXPIRING_WITHIN, soonest first.
    `people` a Person queryset, `todays` {zone: today}. The counting is the database's:
    those expiring soon are grouped one by one, so the same rows also list them."""
    if not programs or not todays:
        return [], []
    sql, params = _standing(people, programs, todays)
    soon = "CASE WHEN within IS NOT NULL THEN {} END"
    grouped = (
        f"SELECT program_id, state, within, {soon.format('person_id')}, "
        f"{soon.format('expires')}, {soon.format('today')}, COUNT(*) "
        f"FROM ({sql}) s GROUP BY 1, 2, 3, 4, 5, 6"
    )
    counted, expiring = {}, []
    for program, state, within, person, expires, today, n in _rows(grouped, params):
        counted[(program, state, within)] = counted.get((program, state, within), 0) + n
        if person is not None:
            expiring.append((program, person, state, _date(expires), _date(today)))
    expiring.sort(key=lambda row: (row[3], row[1]))
    return [(*key, n) for key, n in counted.items()], expiring


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _date(value):
    """SQLite hands back dates from raw SQL as ISO text."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _standing(people, programs, todays):
    """(sql, params): per person and program, the state, expiry and how soon."""
    people_sql, people_params = people.order_by().values("pk").query.sql_with_params()
    deciding, params = _deciding(people_sql, people_params, programs, todays)
    sql = f"""
        SELECT d.program_id, d.person_id, d.today,
            CASE
                WHEN c.id IS NULL THEN CASE WHEN EXISTS (
                    SELECT 1 FROM {OBSERVATION} o
                    INNER JOIN {VERSION} v ON v.id = o.rubric_version_id
                    WHERE o.practitioner_id = d.person_id AND o.status <> 'draft'
                      AND v.rubric_id = d.rule_rubric AND o.observed_on <= d.today
                      AND o.observed_on >= d.since
                ) THEN '{State.IN_PROGRESS}' ELSE '{State.NOT_CERTIFIED}' END
                WHEN c.valid_from > d.today THEN '{State.CERTIFIED}'
                WHEN c.revoked_on <= d.today THEN '{State.REVOKED}'
                WHEN c.window_opens > d.today THEN '{State.CERTIFIED}'
                WHEN c.valid_until >= d.today THEN '{State.WINDOW_OPEN}'
                WHEN c.grace_ends >= d.today THEN '{State.GRACE}'
                ELSE '{State.LAPSED}'
            END AS state,
            {_certifying("c.valid_until")} AS expires,
            CASE {
        " ".join(
            f"WHEN {_certifying('1')} IS NOT NULL AND c.valid_until <= d.in_{n} THEN {n}"
            for n in EXPIRING_WITHIN
        )
    } END AS within
        FROM ({deciding}) d
        LEFT JOIN (SELECT * FROM {PERIOD} WHERE person_id IN ({people_sql})) c
            ON c.id = d.period_id
    """
    return sql, [*params, *people_params]


def _certifying(value):
    """`value` where the deciding period certifies today (certified or window open)."""
    return (
        "CASE WHEN c.id IS NULL OR c.revoked_on <= d.today OR c.valid_until < d.today "
        f"THEN NULL ELSE {value} END"
    )


def _deciding(people_sql, people_params, programs, todays):
    """(sql, params) of a derived table: for each person on each program's roster, their
    today and horizons, the deciding period's id, and the first certification's rubric
    and look-back (for "in progress").

    The periods and role grants read are narrowed to the people's, here and in the join
    that reads the deciding period: the planner otherwise hashed every row of both
    tables rather than probe a few hundred people."""
    today, today_params = _by_zone(todays)
    horizons = [_by_zone(todays, days) for days in EXPIRING_WITHIN]
    horizon_columns = ", ".join(
        f"{sql} AS in_{days}" for (sql, _), days in zip(horizons, EXPIRING_WITHIN, strict=True)
    )
    rubric, rubric_params, since, since_params = _rules(programs, todays)
    ids = ", ".join(["%s"] * len(programs))
    sql = f"""
        SELECT pr.id AS program_id, p.id AS person_id, {today} AS today,
            {horizon_columns},
            {rubric} AS rule_rubric, {since} AS since,
            (SELECT c.id FROM {PERIOD} c
             WHERE c.person_id = p.id AND c.program_id = pr.id
               AND NOT (c.valid_from > {today} AND c.revoked_on IS NOT NULL
                        AND c.revoked_on <= {today})
             ORDER BY c.valid_from DESC, c.id DESC LIMIT 1) AS period_id
        FROM {PERSON} p
        INNER JOIN {ORGANIZATION} org ON org.id = p.organization_id
        INNER JOIN {PROGRAM} pr ON pr.id IN ({ids})
        WHERE p.id IN ({people_sql})
          AND (EXISTS (SELECT 1 FROM {PERIOD} h
                       WHERE h.person_id = p.id AND h.program_id = pr.id
                         AND h.person_id IN ({people_sql}))
               OR EXISTS (SELECT 1 FROM {ROLE} r
                          WHERE r.person_id = p.id AND r.role = pr.audience_role
                            AND r.person_id IN ({people_sql})))
    """
    params = [
        *today_params,
        *[param for _, extra in horizons for param in extra],
        *rubric_params,
        *since_params,
        *today_params,
        *today_params,
        *[program.pk for program in programs],
        *people_params,
        *people_params,
        *people_params,
    ]
    return sql, params


def _by_zone(todays, offset=0):
    """(sql, params): the row's organization's today (+ `offset` days), by time zone."""
    shift = dt.timedelta(days=offset)
    whens = " ".join("WHEN %s THEN %s" for _ in todays)
    params = [value for zone, day in todays.items() for value in (zone, day + shift)]
    return f"(CASE org.time_zone {whens} END)", params


def _rules(programs, todays):
    """(sql, params) twice: each program's first-certification rubric (none: 0), and the
    first day its look-back counts from (no limit: the first day there is). Never NULL:
    PostgreSQL would type a bare NULL as text, and SQLite has no date type to cast to."""
    rubric_whens, rubric_params, since_whens, since_params = [], [], [], []
    for program in programs:
        rule = program.evidence_rule(EvidenceRule.Kind.INITIAL)
        if rule is None:
            continue
        rubric_whens.append("WHEN %s THEN %s")
        rubric_params += [program.pk, rule.rubric_id]
        if rule.within_days is not None:
            zone_sql, zone_params = _by_zone(todays, -rule.within_days)
            since_whens.append(f"WHEN %s THEN {zone_sql}")
            since_params += [program.pk, *zone_params]
    rubric = f"(CASE pr.id {' '.join(rubric_whens)} ELSE %s END)" if rubric_whens else "%s"
    since = f"(CASE pr.id {' '.join(since_whens)} ELSE %s END)" if since_whens else "%s"
    return rubric, [*rubric_params, 0], since, [*since_params, dt.date.min]

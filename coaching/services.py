"""The drift job, people's actions on alerts, and coaching plans.

The drift job: every submitted observation in, alerts and momentum out.

1. Read the observations, sorted, as numeric columns (one query per organization).
2. Cut them into series (a practitioner on a rubric), set each one's baseline (the
   observations that earned the current certification, else the first N) and spread.
3. Run the control charts of coaching.drift on all series at once.
4. Keep one alert not closed for each series out of control: raise one where there is
   none, refresh the ongoing, close those back in control for long enough.
5. Nightly, bring the item sums of complete months up to date, then do the same for
   each team's monthly mean and each item's organization-wide monthly mean, and rewrite
   the momentum that changed.
6. Tell the coaches (by email) and the leaders (in their digest) of each new alert.

Run for everyone (`person_ids=None`, the nightly job: system-wide inputs first, then
each organization, then the telling; see drift_night) or for a few practitioners just
after their observation is submitted; the latter reads only their rows and judges a
short series against the spread the nightly job last pooled.
"""

import datetime as dt
import functools
import math
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from coaching import drift, levels
from coaching.models import (
    CoachAssignment,
    CoachingPlan,
    CoachingSession,
    DriftAlert,
    Goal,
    ItemMonth,
    ItemMonthsCounted,
    Momentum,
    OrganizationItemMonth,
    PooledSpread,
)
from miiwrap import generations, planner
from miiwrap.audit import record_created, update_with_history
from miiwrap.people.models import Person
from miiwrap.text import NOTE
from observations.models import Item, Metric, Observation, Rubric, RubricVersion

Scope = DriftAlert.Scope


@dataclass
class Report:
    observations: int = 0
    raised: dict = field(default_factory=dict)
    ongoing: int = 0
    resolved: int = 0
    momentum_written: int = 0
    item_months: str = "not counted"
    notified: int = 0
    seconds: dict = field(default_factory=dict)

    def summary(self):
        raised = ", ".join(f"{n} {scope}" for scope, n in self.raised.items()) or "none"
        return (
            f"{self.observations} observations read; alerts raised: {raised}; ongoing "
            f"{self.ongoing}; closed {self.resolved}; momentum rows written "
            f"{self.momentum_written}; item sums recounted: {self.item_months}; "
            f"notifications {self.notified}."
        )


def drift_detect(*, today, person_ids=None, zone=None):
    """Run the detector; nightly over everyone when `person_ids` is None. `zone` is where
    `today` was taken (None: the server's); a past `today` reads only what existed that
    night (levels.Night)."""
    if person_ids is None:
        return drift_night(today=today, zone=zone)
    report, started = Report(), time.monotonic()
    night = levels.Night.of(today, zone)
    rules = levels.rubric_rules()
    rows = levels.read_observations(person_ids, levels.below_adequate(rules), night)
    people = levels.people_of(np.unique(rows.person))
    report.observations = len(rows.obs)
    report.seconds["read"] = time.monotonic() - started
    pooled = pooled_spreads(rows, today, saved=True, past=night.is_past)
    found, momentum, moved = levels.person_level(rows, rules, today, person_ids, pooled, people)
    report.seconds["charts"] = time.monotonic() - started
    subjects = {f"person:{pk}" for pk in person_ids}
    sync = {"today": today, "rules": rules, "report": report}
    sync_alerts(found, moved, scope=Scope.PERSON, subjects=subjects, **sync)
    report.momentum_written = write_momentum(momentum, today, person_ids)
    report.seconds["people"] = time.monotonic() - started
    report.notified = tell_about(today)
    generations.touched_people(person_ids)
    report.seconds["total"] = time.monotonic() - started
    return report


# The nightly job, in three steps --------------------------------------------------------
#
# 1. drift_inputs, system-wide: read each organization's rows in turn, keeping only what
#    pools (moving ranges, early means, item step sums, team monthly means); pool the
#    spreads every practitioner is judged against, recount the item sums, judge the
#    teams' and the items' monthly means.
# 2. drift_organization, per organization: its practitioners' series against the night's
#    pools; their alerts and momentum. Organizations in any order, at once or not.
# 3. drift_done, system-wide: tell coaches and leaders of the night's new alerts.
#
# drift_night runs them in one process; miiwrap.nightly runs step 2 as one Celery task per
# organization. Memory is bounded by the largest organization (and, in step 1, sixteen
# bytes per observation: each moving range, whose median is the pooled σ, and its version).


def drift_night(*, today, zone=None):
    """The nightly job in one process: the same steps the fan-out runs as tasks."""
    report, started = (
        Report(raised={Scope.PERSON: 0, Scope.TEAM: 0, Scope.ITEM: 0}),
        time.monotonic(),
    )
    kept = {}
    with levels.one_night():
        inputs = drift_inputs(today, report=report, zone=zone, keep=kept)
        for organization in night_organizations():
            read = kept.pop(organization, None)
            drift_organization(organization, today, inputs, report=report, zone=zone, read=read)
            del read
    report.seconds["people"] = time.monotonic() - started
    drift_done(today, report=report)
    report.seconds["total"] = time.monotonic() - started
    return report


def night_organizations():
    """Every organization's id, in the order the night goes through them."""
    from miiwrap.people.models import Organization

    return list(Organization.objects.order_by("pk").values_list("pk", flat=True))


@dataclass(frozen=True)
class NightInputs:
    """What every practitioner's series is judged against on a night, pooled over all of
    them: per rubric version (sigma, moving ranges, peers' level, between-person
    variance), per rubric the item spreads ({code: spread}). Kept as JSON on the night's
    run (miiwrap.nightly) so that each organization's task, or one sent again, judges
    against the same."""

    pools: dict
    items: dict

    @classmethod
    def of(cls, pools, items):
        return cls(
            {
                int(v): [p.sigma, p.ranges, _finite_or_none(p.level), _finite_or_none(p.between)]
                for v, p in pools.items()
            },
            {int(rubric): dict(codes) for rubric, codes in items.items()},
        )

    def as_json(self):
        return {
            "pools": {str(v): pool for v, pool in self.pools.items()},
            "items": {str(r): codes for r, codes in self.items.items()},
        }

    @classmethod
    def from_json(cls, data):
        return cls(
            {int(v): pool for v, pool in data["pools"].items()},
            {int(r): codes for r, codes in data["items"].items()},
        )

    def pooled(self):
        """{version: levels.Pool}, each carrying its rubric's item spreads; a version
        without a pooled σ still carries them, as its rubric's series were pooled."""
        found = {}
        for version, rubric in RubricVersion.objects.values_list("pk", "rubric_id"):
            items = self.items.get(rubric, {})
            if version in self.pools:
                sigma, ranges, level, between = self.pools[version]
                found[version] = levels.Pool(
                    sigma, ranges, _nan_if_none(level), _nan_if_none(between), items
                )
            elif items:
                found[version] = levels.Pool(math.nan, items=items)
        return found


@levels.one_night()
def drift_inputs(today, *, report=None, zone=None, keep=None):
    """The night's system-wide first step (see above); returns its NightInputs. `keep`: a
    dict to hold each organization's rows as read ({organization: (rows, people)}, with
    the item scores the items rule reads), for the same process to judge them without
    reading them again (drift_night)."""
    report = report if report is not None else Report()
    started = time.monotonic()
    night = levels.Night.of(today, zone)
    rules = levels.rubric_rules()
    below = levels.below_adequate(rules)
    pool_parts, item_parts, team_parts = [], [], []
    for organization in night_organizations():
        rows = levels.read_observations(None, below, night, organization=organization)
        people = levels.people_of(organization=organization)
        report.observations += len(rows.obs)
        pool_parts.append(levels.pool_parts(rows))
        item_parts.append(levels.item_spread_parts(rows, rules))
        team_parts.append(levels.team_months(rows, people, today))
        if keep is not None:
            keep[organization] = (rows, people)
        del rows
    report.seconds["read"] = time.monotonic() - started
    pools = levels.pools_from(pool_parts)
    items = levels.item_spreads_from(item_parts)
    save_pools(pools, today)
    keep_item_spreads(items)
    report.seconds["charts"] = time.monotonic() - started
    report.item_months = count_item_months(today, night=night)
    report.seconds["sums"] = time.monotonic() - started
    sync = {"today": today, "rules": rules, "report": report}
    found, moved = levels.team_level_of(levels.joined_team_months(team_parts), rules, today)
    sync_alerts(found, moved, scope=Scope.TEAM, subjects=None, **sync)
    report.seconds["teams"] = time.monotonic() - started
    found, moved = levels.item_level(rules, today)
    sync_alerts(found, moved, scope=Scope.ITEM, subjects=None, **sync)
    report.seconds["items"] = time.monotonic() - started
    generations.touched(everyone=True)
    return NightInputs.of(pools, items)


def drift_organization(organization, today, inputs, *, report=None, zone=None, read=None):
    """One organization's part of the night: its practitioners' series (only its rows
    read, or `read`: (rows, people) as drift_inputs kept them) against the night's pools,
    their alerts and momentum; in one transaction, so a task that fails leaves nothing
    half done. Run twice, the second changes nothing."""
    report = report if report is not None else Report()
    night = levels.Night.of(today, zone)
    rules = levels.rubric_rules()
    with transaction.atomic():
        if read is None:
            rows = levels.read_observations(
                None, levels.below_adequate(rules), night, organization=organization
            )
            people = levels.people_of(organization=organization)
        else:
            rows, people = read
        found, momentum, moved = levels.person_level(
            rows, rules, today, None, inputs.pooled(), people, organization=organization
        )
        sync = {"today": today, "rules": rules, "report": report}
        sync_alerts(
            found,
            moved,
            scope=Scope.PERSON,
            subjects=None,
            where=Q(practitioner__organization_id=organization),
            **sync,
        )
        report.momentum_written += write_momentum(momentum, today, None, organization=organization)
    generations.touched(organization)
    return report


def drift_done(today, *, report=None):
    """The night's last system-wide step: tell coaches and leaders of its new alerts."""
    report = report if report is not None else Report()
    report.notified = tell_about(today)
    generations.touched(everyone=True)
    return report


def drift_check_soon(person_ids):
    """Queue a look at these practitioners' series once the current transaction commits
    (if the broker is down, the nightly job catches up)."""
    from coaching.tasks import detect_drift_for  # the tasks import this module
    from miiwrap.celery import enqueue_on_commit

    for person_id in sorted(set(person_ids)):
        enqueue_on_commit(detect_drift_for, person_id)


def pooled_spreads(rows, today, *, saved, past=False):
    """{version: levels.Pool}. Nightly: pooled over everyone and kept. For a few people:
    as kept, or pooled over their rows for a version never pooled yet (on a past night,
    also for one pooled only after it: a later night's pool was not there to use)."""
    here = levels.pooled_spreads(rows)
    if not saved:
        save_pools(here, today)
        return here
    kept = PooledSpread.objects.filter(rubric_version_id__in=list(here))
    if past:
        kept = kept.filter(computed_on__lte=today)
    kept = {
        version: levels.Pool(sigma, ranges, _nan_if_none(level), _nan_if_none(between), items)
        for version, sigma, ranges, level, between, items in kept.values_list(
            "rubric_version_id", "sigma", "moving_ranges", "level", "between", "item_spreads"
        )
    }
    return {version: kept.get(version, pool) for version, pool in here.items()}


def save_pools(pools, today):
    """Keep the night's pools ({version: levels.Pool}) for the checks of a few people."""
    for version, pool in pools.items():
        PooledSpread.objects.update_or_create(
            rubric_version_id=version,
            defaults={
                "sigma": pool.sigma,
                "moving_ranges": pool.ranges,
                "level": _finite_or_none(pool.level),
                "between": _finite_or_none(pool.between),
                "computed_on": today,
            },
        )


def keep_item_spreads(spreads):
    """Keep each rubric's item spreads ({rubric: {code: spread}}) on its versions' pooled
    rows, for the checks of a few people between nightly runs."""
    versions = RubricVersion.objects.filter(rubric_id__in=list(spreads))
    for version, rubric in versions.values_list("pk", "rubric_id"):
        PooledSpread.objects.filter(rubric_version_id=version).update(item_spreads=spreads[rubric])


def _finite_or_none(value):
    return value if math.isfinite(value) else None


def _nan_if_none(value):
    return math.nan if value is None else value


# 4. Alerts --------------------------------------------------------------------------------


def sync_alerts(found, moved, *, today, scope, subjects, rules, report, where=None):
    """Make the alerts of one scope match tonight's chart, series by series: one that is
    not closed is closed once its series is back in control for the rubric's
    `close_after` points (or is no longer reported), else refreshed; a series out of
    control tonight without one gets a new alert, whatever alerts it had before.
    `subjects` limits which alerts are in question (None: all), and so does `where` (a
    Q: an organization's practitioners' alerts); `rules` is
    levels.rubric_rules(). The items that moved are worked out (by `moved`) only for new
    alerts and those with new points."""
    active = DriftAlert.objects.filter(scope=scope, status__in=DriftAlert.ACTIVE)
    if subjects is not None:
        active = active.filter(subject__in=subjects)
    if where is not None:
        active = active.filter(where)
    active = {(a.subject, a.rubric_id): a for a in active}
    now = {f.key: f for f in found}
    back = {key: a for key, a in active.items() if is_back(now.get(key), rules)}
    going = {key: a for key, a in active.items() if key not in back}
    fresh = [f for key, f in now.items() if key not in active and f.out_now]
    grown = [f for key, f in now.items() if key in going and going[key].points != f.points]
    explained = dict(zip([f.key for f in fresh + grown], moved(fresh + grown), strict=True))
    report.ongoing += refresh(going, now, explained, today)
    report.resolved += close(back.values(), now, rules, today)
    new = raise_new([replace(f, moved=explained[f.key]) for f in fresh], today)
    report.raised[scope] = report.raised.get(scope, 0) + new


def close_after(rules, rubric_id):
    """Points in control in a row that close an alert on this rubric."""
    settings = rules.get(rubric_id)
    return settings.close_after if settings else drift.DEFAULTS.close_after


def is_back(latest, rules):
    """Its series is no longer reported, or back in control for long enough."""
    return latest is None or latest.calm >= close_after(rules, latest.rubric_id)


REFRESHED = ["rules", "baseline", "current", "sigma", "points", "moved"]
CHECKED = "Checked by the drift job"


def refresh(active, now, explained, today):
    """Ongoing episodes: write what changed (the level, the limit, new items that moved);
    the episode keeps its start and the rule that raised it. Every ongoing one is marked
    checked today."""
    ongoing, changed = [], []
    for key, alert in active.items():
        if key not in now:
            continue
        ongoing.append(alert.pk)
        latest = now[key].as_fields()
        latest["moved"] = list(explained[key]) if key in explained else alert.moved
        if any(_differs(getattr(alert, name), latest[name]) for name in REFRESHED):
            for name in REFRESHED:
                setattr(alert, name, latest[name])
            changed.append(alert)
    bulk_update_with_history(
        changed, DriftAlert, REFRESHED, batch_size=500, default_change_reason=CHECKED
    )
    # checked_on is bookkeeping, left out of the alert's history; a night run again writes
    # none (each row written leaves a dead one for vacuum, and a night's reruns added up).
    for start in range(0, len(ongoing), 5000):
        chunk = DriftAlert.objects.filter(pk__in=ongoing[start : start + 5000])
        chunk.exclude(checked_on=today).update(checked_on=today)
    generations.touched(*{alert.organization_id for alert in active.values()})
    return len(ongoing)


def _differs(stored, latest):
    if isinstance(stored, float) and isinstance(latest, float):
        return not math.isclose(stored, latest, rel_tol=1e-9, abs_tol=1e-9)
    return stored != latest


def close(alerts, now, rules, today):
    """Closed by the job (no resolver), with the reason in each alert's history; whatever
    people said of it, and only if it is still not closed."""
    reasons = {}
    for alert in alerts:
        reason = closing_reason(alert, now.get((alert.subject, alert.rubric_id)), rules)
        reasons.setdefault(reason, []).append(alert.pk)
    done = 0
    for reason, pks in reasons.items():
        for start in range(0, len(pks), 500):
            done += update_with_history(
                DriftAlert.objects.active().filter(pk__in=pks[start : start + 500]),
                reason=reason,
                status=DriftAlert.Status.RESOLVED,
                resolved_on=today,
                checked_on=today,
            )
    generations.touched(*{alert.organization_id for alert in alerts})
    return done


def closing_reason(alert, latest, rules):
    """What the alert's history says of its closing."""
    if latest is None:
        return "No longer out of control"
    unit = "observations" if alert.scope == Scope.PERSON else "months"
    return f"Back in control for {close_after(rules, alert.rubric_id)} {unit}"


def raise_new(fresh, today):
    """An alert for each series out of control without one; when two runs meet, the
    unique constraint (one not closed per series) keeps one (ON CONFLICT DO NOTHING)."""
    DriftAlert.objects.bulk_create(
        [DriftAlert(**f.as_fields(), raised_on=today, checked_on=today) for f in fresh],
        batch_size=500,
        ignore_conflicts=True,
    )
    record_raised(fresh, today)
    generations.touched(*{f.organization_id for f in fresh})
    return len(fresh)


def record_raised(fresh, today):
    """The first history row of each alert raised tonight (a bulk insert writes none), so
    the first change people make to it shows what it was before. One that another run
    recorded already is left alone. Copied in the database (audit.record_created)."""
    subjects = sorted({f.subject for f in fresh})
    for start in range(0, len(subjects), 500):
        raised = DriftAlert.objects.filter(
            subject__in=subjects[start : start + 500],
            raised_on=today,
            status=DriftAlert.Status.OPEN,
        )
        # NOT EXISTS, an anti-join on the history's id index: a NOT IN over a history
        # table that grows through the night, without statistics yet, was scanned per row.
        raised = raised.exclude(Exists(DriftAlert.history.filter(id=OuterRef("pk"))))
        record_created(raised, reason="Raised by the drift job")


# 5. Momentum ------------------------------------------------------------------------------


def write_momentum(rows, today, person_ids, organization=None):
    """Write only what changed: a night without new observations writes nothing."""
    existing = Momentum.objects.all()
    if person_ids is not None:
        existing = existing.filter(person_id__in=person_ids)
    if organization is not None:
        existing = existing.filter(person__organization_id=organization)
    known = {
        (person, rubric): (direction, round(slope, 9), seen)
        for person, rubric, direction, slope, seen in existing.values_list(
            "person_id", "rubric_id", "direction", "slope", "last_observed_on"
        )
    }
    changed = [
        Momentum(**row, computed_on=today)
        for row in rows
        if known.get((row["person_id"], row["rubric_id"]))
        != (row["direction"], round(row["slope"], 9), row["last_observed_on"])
    ]
    Momentum.objects.bulk_create(
        changed,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["person", "rubric"],
        update_fields=["direction", "slope", "last_observed_on", "computed_on"],
    )
    return len(changed)


# 5b. Item sums by month --------------------------------------------------------------------

# A practice rubric at a time (Rubric.audience, as Observation.objects.of_practice:
# coaching observations never reach the heat map or the team and item levels), in one
# pass over its observations: each team's month sums every item and metric of the
# rubric's versions in a column of its own, into a table for the recount (COUNTED).
# From it, each team's counted items are packed into its row's `sums`, and each
# organization's are added up, a row an item. Unpacking every score into a row of its
# own first (jsonb_each) made 21 million rows to sort at a million observations: 45 s
# of a first night; adding up the organizations from the packed rows, 4 s more.
COUNTED = "coaching_item_months_counted"
COUNT_SQL = """
    CREATE TEMPORARY TABLE {counted} AS
    SELECT organization_id, team_id, month, {sums_and_counts}
    FROM (
        SELECT p.organization_id, COALESCE(p.team_id, 0) AS team_id,
               {month} AS month, {values}
        FROM {observation} o
        JOIN {person} p ON p.id = o.practitioner_id
        JOIN {version} v ON v.id = o.rubric_version_id
        WHERE v.rubric_id = %s AND o.status <> 'draft' {months}
        {fence}
    ) observed
    GROUP BY organization_id, team_id, month
    HAVING {any_counted} > 0"""

PACK_SQL = """
    INSERT INTO {item_month} (organization_id, team_id, rubric_id, month, sums)
    SELECT organization_id, team_id, %s, month, {sums} FROM {counted}"""

# One SELECT an item, each reading the small table of counts again.
ORGANIZATION_SUMS_SQL = """
    INSERT INTO {organization_month} (organization_id, rubric_id, item_code, month, total, count)
    {items}"""
ORGANIZATION_ITEM_SQL = """
    SELECT organization_id, %s, %s, month, SUM(t{n}), SUM(c{n}) FROM {counted}
    GROUP BY organization_id, month HAVING SUM(c{n}) > 0"""


class ItemSumsSQL(NamedTuple):
    """What COUNT_SQL and PACK_SQL say differently per database."""

    month: str
    fence: str  # keeps a subquery apart, so each value is read from the JSON once a row
    packed: str  # one item's [total, count], NULL when none were counted
    object: str  # items named and packed as a JSON object: .format(pairs=…)
    joined: object  # such objects as one, without its NULLs: joined([object, …])


ITEM_MONTHS_PARTS = {
    "postgresql": ItemSumsSQL(
        month="date_trunc('month', o.observed_on)::date",
        fence="OFFSET 0",
        packed="CASE WHEN {count} > 0 THEN jsonb_build_array({total}, {count}) END",
        object="jsonb_build_object({pairs})",
        joined=lambda objects: f"jsonb_strip_nulls({' || '.join(objects)})",
    ),
    "sqlite": ItemSumsSQL(
        month="date(o.observed_on, 'start of month')",
        fence="LIMIT -1 OFFSET 0",
        packed="CASE WHEN {count} > 0 THEN json_array({total}, {count}) END",
        object="json_object({pairs})",
        # A merge patch drops the keys it sets to null.
        joined=lambda objects: functools.reduce(
            lambda whole, part: f"json_patch({whole}, {part})", objects, "'{}'"
        ),
    ),
}
# Codes packed by one JSON call: PostgreSQL takes at most 100 arguments a function.
CODES_A_CALL = 40


@transaction.atomic
def count_item_months(today, *, full=False, night=levels.PRESENT):
    """Bring the item sums of complete months up to date: recount the months whose
    observations changed (their fingerprint moved), unpacking scores in the database,
    or every month when `full`. Counts only what `night` saw. Says what it recounted.
    Two runs take turns."""
    ItemMonthsCounted.objects.get_or_create(pk=1, defaults={"counted_on": today})
    counted = ItemMonthsCounted.objects.select_for_update().get(pk=1)
    before = levels.complete_months_before(today)
    now = levels.month_fingerprints(before, night)
    every = full or not counted.months
    stale = sorted(m for m in {*now, *counted.months} if now.get(m) != counted.months.get(m))
    if not (every or stale):
        return "nothing changed"
    _recount(None if every else [dt.date.fromisoformat(m) for m in stale], before, night)
    if every:
        # Counted afresh, the sums are millions of rows the planner has not seen: on what it
        # knew, an empty table, it read one organization's item sums by scanning every row
        # (5 s a query, 419 s a night at a million observations).
        planner.analyze(ItemMonth, OrganizationItemMonth)
    counted.months, counted.counted_on = now, today
    counted.save()
    return "every month" if every else f"{len(stale)} month(s)"


def _recount(months, before, night):
    """Replace the sums of these months (None: every month before `before`) with a fresh
    count of item scores and metric values, by team and then by organization (the sum
    of its teams' rows). The items and metrics counted are those of the rubric's
    versions."""
    for model in (OrganizationItemMonth, ItemMonth):
        model.objects.filter(**_in_months(months)).delete()
    if months is None:
        where, days = "AND o.observed_on < %s", [before]
    else:
        spans = [(m, levels.next_month(m)) for m in months]
        ranges = " OR ".join(["(o.observed_on >= %s AND o.observed_on < %s)"] * len(spans))
        where, days = f"AND ({ranges})", [day for span in spans for day in span]
    seen, seen_params = night.seen_sql("o")
    where, days = where + seen, days + seen_params
    parts = ITEM_MONTHS_PARTS[connection.vendor]
    with connection.cursor() as cursor:
        for rubric, codes in _counted_codes().items():
            if codes:
                _count_item_months(cursor, parts, rubric, codes, where, days)


def _counted_codes():
    """{practice rubric: [code as counted]}: each item of its versions, then each metric,
    under levels.METRIC + its code."""
    found = {}
    for rubric in Rubric.objects.of_practice().order_by("pk"):
        items = Item.objects.filter(version__rubric=rubric).values_list("code", flat=True)
        metrics = Metric.objects.filter(version__rubric=rubric).values_list("code", flat=True)
        found[rubric.pk] = [
            *sorted(set(items)),
            *[levels.METRIC + code for code in sorted(set(metrics))],
        ]
    return found


def _count_item_months(cursor, parts, rubric, codes, months, days):
    """Count one rubric's item sums into COUNTED, then write them by team and by
    organization; `months` and `days`: the observations' test of the months counted."""
    vendor = connection.vendor
    columns = range(len(codes))
    values = ", ".join(f"{levels.value_sql(vendor, code)} AS x{n}" for n, code in enumerate(codes))
    value_params = [levels.json_key(vendor, code) for code in codes for _ in range(2)]
    cursor.execute(
        COUNT_SQL.format(
            counted=COUNTED,
            observation=Observation._meta.db_table,
            person=Person._meta.db_table,
            version=RubricVersion._meta.db_table,
            sums_and_counts=", ".join(f"SUM(x{n}) AS t{n}, COUNT(x{n}) AS c{n}" for n in columns),
            month=parts.month,
            values=values,
            months=months,
            fence=parts.fence,
            any_counted=" + ".join(f"COUNT(x{n})" for n in columns),
        ),
        [*value_params, rubric, *days],
    )
    objects = []
    for start in range(0, len(codes), CODES_A_CALL):
        pairs = ", ".join(
            f"%s, {parts.packed.format(total=f't{n}', count=f'c{n}')}"
            for n in range(start, min(start + CODES_A_CALL, len(codes)))
        )
        objects.append(parts.object.format(pairs=pairs))
    cursor.execute(
        PACK_SQL.format(
            item_month=ItemMonth._meta.db_table, sums=parts.joined(objects), counted=COUNTED
        ),
        [rubric, *codes],
    )
    items = " UNION ALL ".join(ORGANIZATION_ITEM_SQL.format(n=n, counted=COUNTED) for n in columns)
    cursor.execute(
        ORGANIZATION_SUMS_SQL.format(
            organization_month=OrganizationItemMonth._meta.db_table, items=items
        ),
        [value for code in codes for value in (rubric, code)],
    )
    cursor.execute(f"DROP TABLE {COUNTED}")


def _in_months(months):
    return {} if months is None else {"month__in": months}


# 6. Notifications -------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Whom an alert concerns, as certification.jobs.recipients reads a candidate."""

    person_id: int | None
    organization_id: int
    team_id: int | None

    @classmethod
    def of(cls, alert):
        team = alert.team_id or (alert.practitioner.team_id if alert.practitioner_id else None)
        return cls(alert.practitioner_id, alert.organization_id, team)


@dataclass(frozen=True)
class Telling:
    """Who hears of an alert, in the terms certification.jobs.recipients reads."""

    to_practitioner: bool = False
    to_coach: bool = True
    to_leader: bool = True


TO_COACH_AND_LEADER = Telling()


@transaction.atomic
def tell_about(today):
    """Claim the alerts to follow up that nobody was told of yet (raised now, or by a run
    that stopped before telling; not one dismissed meanwhile) and tell the practitioner's
    current coaches by email and the leaders in their daily digest. Two runs never claim
    the same alert; a claim whose notifications fail to be made is rolled back with them."""
    from certification.jobs import recipients
    from miiwrap.notifications.delivery import notify_all, pending
    from miiwrap.notifications.models import Notification, absolute_url
    from miiwrap.people.models import Person

    token = uuid.uuid4().hex
    DriftAlert.objects.to_follow_up().filter(told_by_run="").update(told_by_run=token)
    alerts = list(
        DriftAlert.objects.filter(told_by_run=token).select_related(
            "practitioner", "team", "organization", "rubric"
        )
    )
    audiences = {alert.pk: Audience.of(alert) for alert in alerts}
    finder = recipients(list(audiences.values()), today, today)
    told = [
        (a, *who) for a in alerts for who in finder.of(audiences[a.pk], TO_COACH_AND_LEADER, today)
    ]
    people = Person.objects.select_related("user").in_bulk({person for _, person, _ in told})
    # Each alert's link and text once, not once per person told: a first night tells of
    # thousands of alerts, four people each.
    links = {alert.pk: alert.get_absolute_url() for alert in alerts}
    texts = {alert.pk: _message(alert, absolute_url(links[alert.pk])) for alert in alerts}
    made = notify_all(
        [
            pending(
                people[person],
                Notification.Kind.ALERT,
                f"Drift: {alert.about()} on {alert.rubric}",
                texts[alert.pk],
                link=links[alert.pk],
                digest=role == "leader",
            )
            for alert, person, role in told
        ]
    )
    return len(made)


def _message(alert, url):
    moved = "".join(f"{alert.moved_heading()}: {line}\n" for line in alert.moved_text())
    return f"{alert.explanation()}\n{moved}\nRead it and note what you will do: {url}"


# People's actions -------------------------------------------------------------------------


# Each is taken only from the statuses named, so a post that meets an alert the job closed
# or someone else moved on meanwhile changes nothing; and only if it would change something,
# so a post sent twice is written once. None closes the alert: the drift job does that.


@transaction.atomic
def alert_acknowledge(*, alert, by, note):
    """Someone has read it and says what they will do (or changes what they said)."""
    return _take_up(
        alert,
        DriftAlert.Status.ACKNOWLEDGED,
        "note",
        note=note,
        acknowledged_by=by,
        acknowledged_at=timezone.now(),
    )


@transaction.atomic
def alert_address(*, alert, by, note, plan=None):
    """Someone says what is being done about it and, for an alert about a practitioner,
    which of their coaching plans answers it."""
    return _take_up(
        alert,
        DriftAlert.Status.ADDRESSING,
        "addressing_note",
        addressing_note=note,
        plan=plan,
        addressed_by=by,
        addressed_at=timezone.now(),
    )


@transaction.atomic
def alert_dismiss(*, alert, by, reason):
    """Someone judges it a false alarm: it stays in the lists, nobody is told of it
    again, and the job closes it once the series is back in control."""
    return _take_up(
        alert,
        DriftAlert.Status.DISMISSED,
        "dismissal_reason",
        dismissal_reason=reason,
        dismissed_by=by,
        dismissed_at=timezone.now(),
    )


def _take_up(alert, status, said, **values):
    """Move the alert to `status` with these values (`said`: the one holding what the
    person wrote), leaving the old ones in its history; only if its status still allows
    it and something new is said. True if it changed."""
    rows = DriftAlert.objects.filter(pk=alert.pk, status__in=DriftAlert.MAY_BECOME[status])
    unchanged = {said: values[said]}
    if "plan" in values:
        unchanged["plan"] = values["plan"]
    rows = rows.exclude(status=status, **unchanged)
    changed = bool(update_with_history(rows, status=status, **values))
    if changed:
        generations.touched(alert.organization_id)
    return changed


# Coaching plans ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    """What plan_start did: the plan the goals are in, and whether it was already active."""

    plan: CoachingPlan
    added: bool


@transaction.atomic
def plan_start(*, practitioner, coaches, started_on, goals, by, alert=None, observation=None):
    """Start a plan with these goals ({rubric, item_codes, metric_code, description,
    target, decline_on}); when the practitioner has an active plan, add the goals (and
    coaches) to it instead. Started from an alert, the alert is marked as being addressed
    by the plan. `coaches` empty: the practitioner's current coaches."""
    coaches = list(coaches) or current_coaches(practitioner, started_on)
    plan, added = _active_plan_for(
        practitioner=practitioner,
        organization_id=practitioner.organization_id,
        started_on=started_on,
        alert=alert,
        observation=observation,
        created_by=by,
    )
    plan.coaches.add(*coaches)
    for fields in goals:
        Goal.objects.create(plan=plan, started_on=started_on, created_by=by, **fields)
    if alert is not None:
        _address_by_plan(alert, plan, by, goals)
    return Started(plan, added)


def _active_plan_for(*, practitioner, **fields):
    """(a new plan, False), or (the practitioner's active plan, True) when the constraint
    of one active plan each refuses a new one; so two starts at once also make one plan."""
    try:
        with transaction.atomic():
            return CoachingPlan.objects.create(practitioner=practitioner, **fields), False
    except IntegrityError:
        return CoachingPlan.objects.active().get(practitioner=practitioner), True


def current_coaches(practitioner, day):
    """The coaches assigned to the practitioner on `day`."""
    assigned = CoachAssignment.objects.current(day).filter(practitioner=practitioner)
    return list(Person.objects.filter(pk__in=assigned.values("coach_id")))


def _address_by_plan(alert, plan, by, goals):
    """The alert a plan was started from is being addressed by it; what was said before
    about how stays, else the goals say it."""
    alert.refresh_from_db()
    if not alert.is_active:
        return
    said = alert.addressing_note or _goals_note(plan, goals)
    alert_address(alert=alert, by=by, note=said, plan=plan)


def _goals_note(plan, goals):
    named = "; ".join(goal["description"] for goal in goals)
    return f"Coaching plan from {plan.started_on:%Y-%m-%d}: {named}."[:NOTE]


@transaction.atomic
def goal_add(*, plan, by, **fields):
    return Goal.objects.create(plan=plan, created_by=by, **fields)


@transaction.atomic
def goal_change(*, goal, **fields):
    """Change what a goal aims at or its status; its history keeps the old values. A goal
    taken back to active forgets why it was met or dropped."""
    for name, value in fields.items():
        setattr(goal, name, value)
    if goal.status == Goal.Status.ACTIVE:
        goal.status_reason = ""
    goal.save()
    return goal


@transaction.atomic
def plan_change(*, plan, coaches, status, closed_reason):
    """Change a plan's coaches or status. Reopening a plan while another is active is
    refused (one active plan per practitioner)."""
    plan.status = status
    plan.closed_reason = closed_reason if status == CoachingPlan.Status.CLOSED else ""
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError:
        raise ValidationError(
            {"status": "This practitioner has another active plan; close it first."}
        ) from None
    plan.coaches.set(coaches)
    return plan


@transaction.atomic
def session_log(*, coach, goals, by, plan=None, practitioner=None, **fields):
    """Record a coaching session with the practitioner (the plan's, when not given), under
    their plan (and the goals it worked on, which must be the plan's) or on its own."""
    practitioner = practitioner or plan.practitioner
    if plan is not None and plan.practitioner_id != practitioner.pk:
        raise ValidationError("This plan belongs to someone else.")
    if any(plan is None or goal.plan_id != plan.pk for goal in goals):
        raise ValidationError({"goals": "Only the plan's own goals can be worked on."})
    session = CoachingSession.objects.create(
        practitioner=practitioner, plan=plan, coach=coach, created_by=by, **fields
    )
    session.goals.set(goals)
    return session


@transaction.atomic
def session_change(*, session, goals, **fields):
    for name, value in fields.items():
        setattr(session, name, value)
    session.save()
    session.goals.set(goals)
    return session


@transaction.atomic
def plan_comment(*, plan, author, text):
    return plan.comments.create(author=author, text=text)

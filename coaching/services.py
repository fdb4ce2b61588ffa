"""The drift job: every submitted observation in, alerts and momentum out.

1. Read the observations once, sorted, as numeric columns (one query).
2. Cut them into series (a practitioner on a rubric), set each one's baseline (the
   observations that earned the current certification, else the first N) and spread.
3. Run the control charts of coaching.drift on all series at once.
4. Keep one alert per episode: raise the new, refresh the ongoing, resolve the recovered.
5. Nightly, bring the item sums of complete months up to date, then do the same for
   each team's monthly mean and each item's organization-wide monthly mean, and rewrite
   the momentum that changed.
6. Tell the coaches (by email) and the leaders (in their digest) of each new alert.

Run for everyone (`person_ids=None`, the nightly job) or for a few practitioners just
after their observation is submitted; the latter reads only their rows and judges a
short series against the spread the nightly job last pooled.
"""

import datetime as dt
import math
import time
import uuid
from dataclasses import dataclass, field, replace

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from coaching import levels
from coaching.models import (
    DriftAlert,
    ItemMonth,
    ItemMonthsCounted,
    Momentum,
    OrganizationItemMonth,
    PooledSpread,
)
from miiwrap.audit import update_with_history
from miiwrap.people.models import Person
from observations.models import Observation, RubricVersion

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
            f"{self.ongoing}; resolved {self.resolved}; momentum rows written "
            f"{self.momentum_written}; item sums recounted: {self.item_months}; "
            f"notifications {self.notified}."
        )


def drift_detect(*, today, person_ids=None, zone=None):
    """Run the detector; nightly over everyone when `person_ids` is None. `zone` is where
    `today` was taken (None: the server's); a past `today` reads only what existed that
    night (levels.Night)."""
    report, started = Report(), time.monotonic()
    night = levels.Night.of(today, zone)
    rules = levels.rubric_rules()
    rows = levels.read_observations(person_ids, levels.below_adequate(rules), night)
    people = levels.people_of(None if person_ids is None else np.unique(rows.person))
    report.observations = len(rows.obs)
    report.seconds["read"] = time.monotonic() - started
    pooled = pooled_spreads(rows, today, saved=person_ids is not None, past=night.is_past)
    spreads = {} if person_ids is None else None
    found, momentum, moved = levels.person_level(
        rows, rules, today, person_ids, pooled, people, spreads
    )
    if spreads:
        keep_item_spreads(spreads)
    report.seconds["charts"] = time.monotonic() - started
    subjects = None if person_ids is None else {f"person:{pk}" for pk in person_ids}
    sync_alerts(found, moved, today=today, scope=Scope.PERSON, subjects=subjects, report=report)
    report.momentum_written = write_momentum(momentum, today, person_ids)
    report.seconds["people"] = time.monotonic() - started
    if person_ids is None:
        report.item_months = count_item_months(today, night=night)
        report.seconds["sums"] = time.monotonic() - started
        found, moved = levels.team_level(rows, people, rules, today)
        sync_alerts(found, moved, today=today, scope=Scope.TEAM, subjects=None, report=report)
        report.seconds["teams"] = time.monotonic() - started
        found, moved = levels.item_level(rules, today)
        sync_alerts(found, moved, today=today, scope=Scope.ITEM, subjects=None, report=report)
        report.seconds["items"] = time.monotonic() - started
    report.notified = tell_about(today)
    report.seconds["total"] = time.monotonic() - started
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
        for version, pool in here.items():
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


def sync_alerts(found, moved, *, today, scope, subjects, report):
    """Raise, refresh and resolve the alerts of one scope so they match `found`.
    `subjects` limits which alerts are in question (None: all). The items that moved are
    worked out (by `moved`) only for new episodes and those with new points."""
    active = DriftAlert.objects.filter(scope=scope, status__in=DriftAlert.ACTIVE)
    if subjects is not None:
        active = active.filter(subject__in=subjects)
    active = {(a.subject, a.rubric_id): a for a in active}
    now = {f.key: f for f in found}
    fresh = unclosed([f for key, f in now.items() if key not in active])
    grown = [f for key, f in now.items() if key in active and active[key].points != f.points]
    explained = dict(zip([f.key for f in fresh + grown], moved(fresh + grown), strict=True))
    report.ongoing += refresh(active, now, explained, today)
    report.resolved += resolve([a.pk for key, a in active.items() if key not in now], today)
    new = raise_new([replace(f, moved=explained[f.key]) for f in fresh], today)
    report.raised[scope] = report.raised.get(scope, 0) + new


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
    # checked_on is bookkeeping, left out of the alert's history.
    for start in range(0, len(ongoing), 5000):
        DriftAlert.objects.filter(pk__in=ongoing[start : start + 5000]).update(checked_on=today)
    return len(ongoing)


def _differs(stored, latest):
    if isinstance(stored, float) and isinstance(latest, float):
        return not math.isclose(stored, latest, rel_tol=1e-9, abs_tol=1e-9)
    return stored != latest


def resolve(pks, today):
    """Back in control: resolved by itself (no resolver), unless someone did it already."""
    done = 0
    for start in range(0, len(pks), 500):
        still_active = DriftAlert.objects.filter(status__in=DriftAlert.ACTIVE)
        done += update_with_history(
            still_active.filter(pk__in=pks[start : start + 500]),
            reason="Back in control",
            status=DriftAlert.Status.RESOLVED,
            resolved_on=today,
            checked_on=today,
        )
    return done


def unclosed(candidates):
    """Leave out episodes already closed: one alert per episode, and one someone resolved
    by hand stays resolved."""
    closed = set()
    subjects = sorted({f.subject for f in candidates})
    for start in range(0, len(subjects), 500):
        closed |= set(
            DriftAlert.objects.filter(
                subject__in=subjects[start : start + 500], status=DriftAlert.Status.RESOLVED
            ).values_list("subject", "rubric_id", "began_on")
        )
    return [f for f in candidates if (*f.key, f.began_on) not in closed]


def raise_new(fresh, today):
    """An alert for each new episode; when two runs meet, the unique constraints keep one
    of each (ON CONFLICT DO NOTHING)."""
    DriftAlert.objects.bulk_create(
        [DriftAlert(**f.as_fields(), raised_on=today, checked_on=today) for f in fresh],
        batch_size=500,
        ignore_conflicts=True,
    )
    return len(fresh)


# 5. Momentum ------------------------------------------------------------------------------


def write_momentum(rows, today, person_ids):
    """Write only what changed: a night without new observations writes nothing."""
    existing = Momentum.objects.all()
    if person_ids is not None:
        existing = existing.filter(person_id__in=person_ids)
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

ITEM_MONTHS_SQL = """
    INSERT INTO {item_month} (organization_id, team_id, rubric_id, item_code, month, total, count)
    SELECT p.organization_id, COALESCE(p.team_id, 0), v.rubric_id, {key}, {month},
           SUM({value}), COUNT(*)
    FROM {observation} o
    JOIN {person} p ON p.id = o.practitioner_id
    JOIN {version} v ON v.id = o.rubric_version_id
    {unpack}
    WHERE o.status <> 'draft' AND {is_number} {months}
    GROUP BY 1, 2, 3, 4, 5"""

# The organizations' sums, added up from their teams' in the database (through a cursor
# in Python the planner chose to walk the whole table's index in order: 9 s a month).
ORGANIZATION_SUMS_SQL = """
    INSERT INTO {organization_month} (organization_id, rubric_id, item_code, month, total, count)
    SELECT organization_id, rubric_id, item_code, month, SUM(total), SUM(count)
    FROM {item_month} {where}
    GROUP BY 1, 2, 3, 4"""

# Per database: the month, then how the item scores and the metrics' values are unpacked
# from their JSON (key, value, the join that unpacks, the test that it is a number).
# Metrics are counted under levels.METRIC + their code, apart from items.
ITEM_MONTHS_PARTS = {
    "postgresql": (
        "date_trunc('month', o.observed_on)::date",
        (
            "s.key",
            "(s.value #>> '{}')::float",
            "CROSS JOIN LATERAL jsonb_each(o.scores) s",
            "jsonb_typeof(s.value) = 'number'",
        ),
        (
            f"'{levels.METRIC}' || s.key",
            "(s.value ->> 'value')::float",
            "CROSS JOIN LATERAL jsonb_each(o.metrics) s",
            "jsonb_typeof(s.value -> 'value') = 'number'",
        ),
    ),
    "sqlite": (
        "date(o.observed_on, 'start of month')",
        ("s.key", "s.value", ", json_each(o.scores) s", "s.type IN ('integer', 'real')"),
        (
            f"'{levels.METRIC}' || s.key",
            "json_extract(s.value, '$.value')",
            ", json_each(o.metrics) s",
            "CASE WHEN s.type = 'object' THEN json_type(s.value, '$.value') END "
            "IN ('integer', 'real')",
        ),
    ),
}


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
    counted.months, counted.counted_on = now, today
    counted.save()
    return "every month" if every else f"{len(stale)} month(s)"


def _recount(months, before, night):
    """Replace the sums of these months (None: every month before `before`) with a fresh
    count of item scores and metric values, by team and then by organization (the sum
    of its teams' rows)."""
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
    month, *sources = ITEM_MONTHS_PARTS[connection.vendor]
    for key, value, unpack, is_number in sources:
        sql = ITEM_MONTHS_SQL.format(
            item_month=ItemMonth._meta.db_table,
            observation=Observation._meta.db_table,
            person=Person._meta.db_table,
            version=RubricVersion._meta.db_table,
            key=key,
            month=month,
            value=value,
            unpack=unpack,
            is_number=is_number,
            months=where,
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, days)
    where = "" if months is None else f"WHERE month IN ({', '.join(['%s'] * len(months))})"
    with connection.cursor() as cursor:
        cursor.execute(
            ORGANIZATION_SUMS_SQL.format(
                organization_month=OrganizationItemMonth._meta.db_table,
                item_month=ItemMonth._meta.db_table,
                where=where,
            ),
            months or [],
        )


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
    """Claim the active alerts nobody was told of yet (raised now, or by a run that
    stopped before telling) and tell the practitioner's current coaches by email and
    the leaders in their daily digest. Two runs never claim the same alert; a claim
    whose notifications fail to be made is rolled back with them."""
    from certification.jobs import recipients
    from miiwrap.notifications.delivery import notify_all, pending
    from miiwrap.notifications.models import Notification, absolute_url
    from miiwrap.people.models import Person

    token = uuid.uuid4().hex
    DriftAlert.objects.active().filter(told_by_run="").update(told_by_run=token)
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
    made = notify_all(
        [
            pending(
                people[person],
                Notification.Kind.ALERT,
                f"Drift: {alert.about()} on {alert.rubric}",
                _message(alert, absolute_url(alert.get_absolute_url())),
                link=alert.get_absolute_url(),
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


@transaction.atomic
def alert_acknowledge(*, alert, by, note):
    """Someone has read it and says what they will do; it stays until resolved."""
    alert.status = DriftAlert.Status.ACKNOWLEDGED
    alert.acknowledged_by, alert.acknowledged_at, alert.note = by, timezone.now(), note
    updated = update_with_history(
        DriftAlert.objects.filter(pk=alert.pk, status__in=DriftAlert.ACTIVE),
        status=alert.status,
        acknowledged_by=by,
        acknowledged_at=alert.acknowledged_at,
        note=note,
    )
    return bool(updated)


@transaction.atomic
def alert_resolve(*, alert, by, today, note=""):
    """Closed by hand; the same episode will not be raised again. The note on resolving
    is kept beside the one on acknowledging."""
    updated = update_with_history(
        DriftAlert.objects.filter(pk=alert.pk, status__in=DriftAlert.ACTIVE),
        status=DriftAlert.Status.RESOLVED,
        resolved_on=today,
        resolved_by=by,
        resolution_note=note,
    )
    return bool(updated)

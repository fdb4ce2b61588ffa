"""What the drift job reads and judges, at three levels: each practitioner's series of
observations, each team's monthly mean, and each item's organization-wide monthly mean.

Reads are a few queries whatever the number of people; the judging is coaching.drift's
control charts over coaching.series arrays. The writes are coaching.services'.
"""

import contextlib
import contextvars
import datetime as dt
import math
import operator
import zoneinfo
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.utils import timezone

from certification import decider
from certification.models import CertificationPeriod, Program
from coaching import drift
from coaching.models import DriftAlert, DriftSettings, ItemMonth, OrganizationItemMonth
from coaching.series import Series, pooled_sigma, ymd_to_date
from miiwrap.people.models import Person, Team
from observations.models import Item, Metric, Observation, Rubric, RubricVersion

Scope = DriftAlert.Scope
# Items named in an alert: the few that fell most.
MOVED_SHOWN = 3


@dataclass(frozen=True)
class Found:
    """A series in an episode now (any rule out of control), as an alert records it."""

    scope: str
    subject: str
    organization_id: int
    rubric_id: int
    rule: str  # the rule that fired first in the episode
    rules: tuple  # every rule in an episode now: {"rule", "statistic", "limit"}
    began_on: dt.date
    baseline: float
    baseline_from: str
    current: float
    sigma: float | None
    points: int
    practitioner_id: int | None = None
    team_id: int | None = None
    item_code: str = ""
    item_label: str = ""
    moved: tuple = ()
    # Tonight's chart: the latest point is out of control; the points in control since the
    # last one out (an alert closes once this reaches Params.close_after).
    out_now: bool = True
    calm: int = 0
    # What the items that moved are worked out from, only for the alerts that need them.
    source: tuple = field(default=(), compare=False, repr=False)

    @property
    def key(self):
        return (self.subject, self.rubric_id)

    def as_fields(self):
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("source", "out_now", "calm"):
            del fields[name]
        fields["moved"] = list(self.moved)
        fields["rules"] = list(self.rules)
        for name in ("baseline", "current", "sigma"):
            fields[name] = _maybe(fields[name])
        return fields


# Settings ---------------------------------------------------------------------------------


def rubric_rules():
    """{rubric id: DriftSettings}, an unsaved default one for a rubric without a row."""
    rules = {s.rubric_id: s for s in DriftSettings.objects.all()}
    # Practice rubrics only: coaching observations are a coach's own, never drift.
    for pk in Rubric.objects.of_practice().values_list("pk", flat=True):
        rules.setdefault(pk, DriftSettings(rubric_id=pk))
    return rules


def below_adequate(rules):
    """{version id: band names worse than the rubric's adequate band}."""
    found = {}
    for pk, rubric_id, bands in RubricVersion.objects.values_list("pk", "rubric_id", "bands"):
        adequate = rules[rubric_id].adequate_in(bands) if rubric_id in rules else ""
        found[pk] = bands[bands.index(adequate) + 1 :] if adequate in bands else []
    return found


# Reading observations ---------------------------------------------------------------------


@dataclass(frozen=True)
class Night:
    """Which observations the job reads for `today`. A past night (a replay) reads only
    what existed then: observed on or before that day and submitted by its end in the
    zone the day was taken in. The present day reads everything submitted, as the
    nightly job always has, so a run now sees what was just submitted wherever it is
    already tomorrow."""

    today: dt.date
    ends: dt.datetime | None = None  # None: the present, nothing left out

    @classmethod
    def of(cls, today, zone=None, now=None):
        """`zone`: where `today` was taken (None: the server's)."""
        where = zoneinfo.ZoneInfo(zone) if zone else timezone.get_default_timezone()
        ends = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=where)
        return cls(today, ends if ends <= (now or timezone.now()) else None)

    @property
    def is_past(self):
        return self.ends is not None

    def seen(self):
        """Q over observations. A submitted one without a submission time (older rows)
        is taken to have been there by its date."""
        if not self.is_past:
            return Q()
        return Q(observed_on__lte=self.today) & (
            Q(submitted_at__lt=self.ends) | Q(submitted_at=None)
        )

    def seen_sql(self, alias):
        """The same test as SQL on `alias`, and its parameters."""
        if not self.is_past:
            return "", []
        ends = connection.ops.adapt_datetimefield_value(self.ends)
        test = (
            f" AND {alias}.observed_on <= %s"
            f" AND ({alias}.submitted_at IS NULL OR {alias}.submitted_at < %s)"
        )
        return test, [connection.ops.adapt_datefield_value(self.today), ends]


PRESENT = Night(dt.date.max)


@dataclass
class Rows:
    """Submitted observations as numeric columns, sorted by practitioner, rubric, date."""

    person: np.ndarray
    rubric: np.ndarray
    version: np.ndarray
    ymd: np.ndarray  # the date as yyyymmdd
    obs: np.ndarray
    score: np.ndarray  # overall score; nan when the rubric has none
    below: np.ndarray  # bool: below the adequate band
    # The items rule's cards once read ({(rubric, look, first n): (codes, scores)}, see
    # recent_items), so a night that pools and then judges these rows reads them once.
    cards: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, values, rubric_of_version):
        """From (person, version, yyyymmdd, id, score, below) rows in any order: sorting
        here rather than in the database spares it a join and a sort of every row."""
        table = np.array(values, dtype=float).reshape(-1, 6)
        person, version, days, obs = table[:, :4].astype(np.int64).T
        ymd = _yyyymmdd(days)
        lookup = np.zeros(max(rubric_of_version, default=0) + 1, dtype=np.int64)
        lookup[list(rubric_of_version)] = list(rubric_of_version.values())
        rubric = lookup[version]
        order = np.lexsort((obs, ymd, rubric, person))
        columns = (person, rubric, version, ymd, obs, table[:, 4], table[:, 5] > 0)
        return cls(*(column[order] for column in columns))


def _yyyymmdd(days):
    """Days since 1970-01-01 as yyyymmdd numbers, for the whole column at once."""
    day = days.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    year = month.astype("datetime64[Y]")
    return (
        (year.astype(np.int64) + 1970) * 10000
        + (month.astype(np.int64) % 12 + 1) * 100
        + (day - month).astype(np.int64)
        + 1
    )


class DayNumber(Func):
    """A date as days since 1970-01-01: an integer subtraction in the database, where
    taking the year, month and day apart costs more than reading the row."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s - DATE '1970-01-01')")

    def as_sqlite(self, compiler, connection, **extra):
        template = "CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)"
        return self.as_sql(compiler, connection, template=template)


def read_observations(person_ids, below, night=PRESENT, organization=None):
    """Every submitted observation (of `person_ids`, or of the practitioners now in
    `organization`, when given) the night saw, in one query."""
    sql, params = observations_query(person_ids, below, night, organization)
    versions = dict(RubricVersion.objects.values_list("pk", "rubric_id"))
    # Through the cursor: Django's per-row value converters cost a second at a million
    # rows, and every column here is a plain number already.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return Rows.of(cursor.fetchall(), versions)


def observations_query(person_ids, below, night=PRESENT, organization=None):
    """(sql, params): read_observations' statement."""
    observations = Observation.objects.submitted().of_practice().filter(night.seen())
    if person_ids is not None:
        observations = observations.filter(practitioner_id__in=person_ids)
    if organization is not None:
        observations = observations.filter(practitioner__organization_id=organization)
    flags = [
        When(rubric_version_id=v, band__in=names, then=1) for v, names in below.items() if names
    ]
    is_below = Case(*flags, default=Value(0), output_field=IntegerField()) if flags else Value(0)
    rows = observations.order_by().values_list(
        "practitioner_id",
        "rubric_version_id",
        DayNumber("observed_on"),
        "pk",
        Cast("overall_score", FloatField()),
        is_below,
    )
    return rows.query.sql_with_params()


# Up to this many people, the evidence is read from their own periods; beyond, from
# every period in one pass (certification.decider's `few`).
FEW = 2000


def evidence_ids(today, person_ids, organization=None):
    """The observations that earned the certifications current today (of these people, or
    of those now in `organization`, when given): in each program, the period that decides
    a person's standing (certification.decider) while it certifies them or its grace
    lasts, a renewal decided ahead included, as things stood on `today`."""
    people = None
    if person_ids is not None:
        people = Person.objects.filter(pk__in=[int(pk) for pk in person_ids])
    if organization is not None:
        people = (people if people is not None else Person.objects).filter(
            organization_id=organization
        )
    sql, params = decider.statement(
        people,
        list(Program.objects.all()),
        today,
        members=decider.Members.HELD,
        known=True,
        accumulating=False,
        few=organization is not None or (person_ids is not None and len(person_ids) <= FEW),
    )
    states = ", ".join(f"'{state}'" for state in decider.HOLDING)
    current = f"SELECT period_id FROM ({sql}) d WHERE d.state IN ({states})"
    periods = CertificationPeriod.objects.filter(pk__in=RawSQL(current, params))
    ids = [
        entry["id"]
        for evidence in periods.exclude(evidence=[]).values_list("evidence", flat=True)
        for entry in evidence
        if isinstance(entry, dict) and isinstance(entry.get("id"), int)
    ]
    return np.array(ids, dtype=np.int64)


def people_of(pks=None, organization=None):
    """{person id: (organization, team, leave date)} of these people (None: everyone, or
    everyone now in `organization`), in one query."""
    people = Person.objects.all()
    if pks is not None:
        people = people.filter(pk__in=[int(pk) for pk in pks])
    if organization is not None:
        people = people.filter(organization_id=organization)
    rows = people.values_list("pk", "organization_id", "team_id", "leave_date")
    return {pk: rest for pk, *rest in rows}


# Judging series ---------------------------------------------------------------------------


@dataclass
class Baselines:
    begin: np.ndarray  # per series: the first monitored position
    level: np.ndarray  # per series: the baseline
    certified: np.ndarray  # per series: set by a certification's evidence
    rows: np.ndarray  # per row: part of its series' baseline


def baselines(series, values, settings, is_evidence=None):
    """Per series: the evidence's level when some rows are evidence, else the first N."""
    count = len(series)
    first_n = np.array([settings(s).baseline_n for s in range(count)], dtype=np.int64)
    if is_evidence is None:
        is_evidence = np.zeros(len(values), dtype=bool)
    certified = np.bincount(series.of_row, is_evidence, minlength=count) > 0
    last = np.full(count, -1)
    np.maximum.at(last, series.of_row[is_evidence], series.position[is_evidence])
    in_base = np.where(
        certified[series.of_row], is_evidence, series.position < first_n[series.of_row]
    )
    begin = np.where(certified, last + 1, first_n)
    return Baselines(begin, series.mean(values, in_base), certified, in_base)


def spread(series, values, pooled_by, pooled, settings):
    """Per series σ: its own when it has enough points, else the pooled one."""
    own, ranges = series.robust_sigma(series.moving_ranges(values, same=pooled_by))
    minimum = np.array([settings(s).min_own_points for s in range(len(series))])
    pooled_here = np.array([pooled.get(int(g), np.nan) for g in series.last(pooled_by)])
    use_own = (ranges + 1 >= minimum) & (own > 0)
    return np.where(use_own, own, pooled_here)


def chart(series, values, base, sigma, settings_of, below=None):
    """coaching.drift's rules on every series, run per group of series sharing settings;
    {rule: {field: array over all series}}."""
    x, lengths = series.matrix(values, base.begin)
    flags = None if below is None else series.matrix(below, base.begin, fill=False)[0]
    out = {}
    groups = {}
    for index in range(len(series)):
        groups.setdefault(id(settings_of(index)), []).append(index)
    for chosen in groups.values():
        chosen = np.array(chosen)
        params = settings_of(chosen[0]).params()
        found, recent = drift.check_recent(
            x[chosen],
            lengths[chosen],
            base.level[chosen],
            sigma[chosen],
            params,
            None if flags is None else flags[chosen],
            ends=params.close_after + 1,
        )
        for name, value in (("calm", drift.calm_points(recent)), ("out_now", recent[:, -1])):
            column = out.setdefault("lifecycle", {}).setdefault(
                name, np.zeros(len(series), value.dtype)
            )
            column[chosen] = value
        close = out.setdefault("lifecycle", {}).setdefault(
            "close_after", np.zeros(len(series), dtype=int)
        )
        close[chosen] = params.close_after
        for rule, signals in found.items():
            merged = out.setdefault(rule, {})
            for name in ("alarm", "began", "statistic", "limit"):
                column = merged.setdefault(
                    name, np.zeros(len(series), getattr(signals, name).dtype)
                )
                column[chosen] = getattr(signals, name)
    return out, lengths


def alarms(series, charted, lengths, base, *, row_day):
    """(series index, first rule, began on, rules, points, out now, calm) for each series
    in an episode or back from one for fewer than close_after points: one however many
    rules see the fall. The first rule is the one whose episode began first (in RULES
    order on a tie); rules are those in an episode now, with their statistic and limit,
    or, once all are back, the smoothed and summed ones (EWMA, CUSUM) as they stand."""
    found = []
    state = charted["lifecycle"]
    for index in np.flatnonzero(state["calm"] < state["close_after"]):
        out = [rule for rule in drift.RULES if charted[rule]["alarm"][index]]
        shown = out or [
            rule
            for rule in (drift.EWMA, drift.CUSUM)
            if np.isfinite(charted[rule]["statistic"][index])
        ]
        if out:
            first = min(out, key=lambda rule: charted[rule]["began"][index])
            offset = charted[drift.ANY]["began"][index]
        else:
            first = drift.EWMA
            offset = lengths[index] - 1 - state["calm"][index]
        began_row = series.start[index] + base.begin[index] + max(int(offset), 0)
        rules = tuple(
            {
                "rule": rule,
                "statistic": round(float(charted[rule]["statistic"][index]), 4),
                "limit": round(float(charted[rule]["limit"][index]), 4),
            }
            for rule in shown
        )
        found.append(
            (
                int(index),
                first,
                row_day(int(began_row)),
                rules,
                int(lengths[index]),
                bool(state["out_now"][index]),
                int(state["calm"][index]),
            )
        )
    return found


# Level 1: practitioners -------------------------------------------------------------------


def person_level(rows, rules, today, person_ids, pooled, people, spreads=None, organization=None):
    """(alarms, momentum rows, what works out their moved items) for every (practitioner,
    rubric) series. `pooled`: {version: Pool} (see pooled_spreads); the item spreads
    measured are noted in `spreads` when given (see judge_people). `person_ids` or
    `organization`: whose certifications' evidence to read (neither: everyone's)."""
    series = Series.split([rows.person, rows.rubric])
    if not len(series):
        return [], [], lambda found: []
    rubric_of, person_of = series.first(rows.rubric), series.first(rows.person)

    def settings(index):
        return rules[int(rubric_of[index])]

    is_evidence = np.isin(rows.obs, evidence_ids(today, person_ids, organization))
    judged = judge_people(series, rows, pooled, settings, is_evidence, spreads)
    found = []
    for index, began_row, fields in judged:
        person = int(person_of[index])
        organization, _, leave_date = people[person]
        if not settings(index).enabled or (leave_date and leave_date < today):
            continue
        found.append(
            Found(
                scope=Scope.PERSON,
                subject=f"person:{person}",
                organization_id=organization,
                rubric_id=int(rubric_of[index]),
                began_on=ymd_to_date(rows.ymd[began_row]),
                practitioner_id=person,
                source=(index, began_row),
                **fields,
            )
        )

    def moved(chosen):
        groups = [
            (f.rubric_id, *_before_and_after(series, rows, is_evidence, f, settings(f.source[0])))
            for f in chosen
        ]
        return moved_items(groups, list(rules))

    sigma = np.array([_pool_of(pooled, v).sigma for v in series.last(rows.version)])
    return found, person_momentum(series, rows, sigma, rules), moved


def judge_people(series, rows, pooled, settings, is_evidence, spreads=None):
    """(series index, row where the episode began, alert fields) for each series whose
    latest points hold an alarm or are not yet back for close_after points: the shift
    rule (coaching.drift.shift_many), the items rule (drift.item_many) and the band
    rule, run per group of series sharing settings (a rubric)."""
    zero = np.zeros(len(series), dtype=np.int64)
    x, lengths = series.matrix(rows.score, zero)
    usable = ~series.matrix(is_evidence, zero, fill=True)[0]
    below = series.matrix(rows.below, zero, fill=False)[0]
    pools = [_pool_of(pooled, v) for v in series.last(rows.version)]
    groups = {}
    for index in range(len(series)):
        groups.setdefault(id(settings(index)), []).append(index)
    found = []
    for chosen in groups.values():
        chosen = np.array(chosen)
        params = settings(chosen[0]).params()
        ends = params.close_after + 1
        items = item_falls(series, rows, chosen, usable, pools, params, ends)
        # Where the items rule runs too, the shift rule's limit leaves it its share of the
        # false alarms (see drift.Params.items_share).
        shifts = drift.shift_many(
            x[chosen],
            lengths[chosen],
            [pools[i].level for i in chosen],
            [pools[i].between for i in chosen],
            [pools[i].sigma for i in chosen],
            params,
            usable=usable[chosen],
            ends=ends,
            with_items=items.scored,
        )
        # New hires learn: the band rule, like the others, starts after the first scores.
        early = np.arange(below.shape[1]) < params.baseline_n
        band_count, band_out = drift.band_runs(below[chosen] & ~early, lengths[chosen], ends)
        if spreads is not None:
            rubric = int(rows.rubric[series.start[chosen[0]]])
            spreads[rubric] = {
                code: float(value)
                for code, value in zip(items.codes, items.spread, strict=True)
                if np.isfinite(value)
            }
        out, calm = drift.settle(
            [(shifts.out, shifts.back), (items.falls.out, items.falls.back), (band_out, ~band_out)]
        )
        judged = Judged(shifts, items, band_count, out, calm)
        for at in np.flatnonzero(calm < params.close_after):
            found.append(_person_alarm(series, int(chosen[at]), at, judged, params))
    return found


@dataclass
class Judged:
    """The rules' verdicts on a group of series (see judge_people)."""

    shifts: drift.Shifts
    items: "SeriesItems"
    band_count: np.ndarray
    out: np.ndarray
    calm: np.ndarray


def _person_alarm(series, index, at, judged, params):
    """One series' alarm, as (series index, began row, alert fields)."""
    shifts, items, band_count = judged.shifts, judged.items.falls, judged.band_count
    rules = []
    for rule, verdicts, limit in (
        (drift.SHIFT, shifts, round(float(shifts.limit[at]), 4)),
        (drift.ITEMS, items, params.items_limit),
    ):
        if np.isfinite(verdicts.statistic[at, -1]):
            statistic = round(float(verdicts.statistic[at, -1]), 4)
            rules.append({"rule": rule, "statistic": statistic, "limit": limit})
    if band_count[at] >= drift.BAND_POINTS:
        count = float(band_count[at])
        rules.append({"rule": drift.BAND, "statistic": count, "limit": float(drift.BAND_POINTS)})
    length = int(series.length[index])
    if shifts.out[at].any() and shifts.began[at] >= 0:
        rule, began = drift.SHIFT, int(shifts.began[at])
    elif items.out[at].any() and items.began[at] >= 0:
        rule, began = drift.ITEMS, int(items.began[at]) + int(judged.items.offset[at])
    else:  # the band rule's run: two (or more) below, ending at the last point out
        ended = length - 1 - int(judged.calm[at])
        rule = drift.BAND
        began = max(ended - max(int(band_count[at]), drift.BAND_POINTS) + 1, 0)
    known = shifts.began[at] >= 0
    fields = {
        "rule": rule,
        "rules": tuple(rules),
        "baseline": _maybe(shifts.level[at]) if known else None,
        "baseline_from": (
            f"their scores before the fall (up to {params.before_points}, not the "
            "certification's evidence), weighed with their peers' level"
        ),
        "current": _maybe(shifts.recent[at]) if known else None,
        "sigma": _maybe(shifts.sigma[at]),
        "points": length - began,
        "out_now": bool(judged.out[at, -1]),
        "calm": int(judged.calm[at]),
    }
    return index, int(series.start[index]) + began, fields


# The items rule reads each series' latest observations only: its windows reach no further.
def item_look(params):
    return params.before_points + drift.ITEMS_AFTER + params.close_after + 1


def item_falls(series, rows, chosen, usable, pools, params, ends):
    """drift.item_many over the chosen series (one rubric), on the items that rise with
    fidelity, each as a share (0-100) of its range; the item spread pooled over these
    series, or as given in the pools (Pool.items: the night's system-wide spreads, or as
    the nightly job last kept them for a few people)."""
    recent = recent_items(series, rows, chosen, params)
    kept = np.ones(recent.gaps.shape[:2], dtype=bool)
    for row_number, taken in enumerate(recent.picked):
        kept[row_number, : len(taken)] = usable[chosen[row_number], recent.offset[row_number] :][
            : len(taken)
        ]
    gaps = recent.gaps
    spread = _item_spread(pools, chosen, recent.codes, gaps)
    falls = drift.item_many(
        gaps, recent.short, spread, params, usable=kept, ends=ends, offset=recent.offset
    )
    scored = np.isfinite(gaps).any(axis=(1, 2)) if gaps.size else np.zeros(len(chosen), bool)
    return SeriesItems(falls, recent.offset, recent.codes, spread, scored)


@dataclass
class RecentItems:
    """The chosen series' latest part, as the items rule reads it (see recent_items)."""

    codes: list
    gaps: np.ndarray  # (series, positions, items): drift.item_gaps of the item shares
    offset: np.ndarray  # per series: the position its latest part starts at
    short: np.ndarray  # per series: the length of that part
    picked: list  # per series: the rows read, or none for a series too short to slip


def recent_items(series, rows, chosen, params):
    """The item scores of the chosen series' (one rubric's) latest observations, each as a
    share (0-100) of its range, less each observation's own mean (drift.item_gaps). What
    the items rule judges, and what the night's system-wide item spreads pool."""
    look = item_look(params)
    offset, short, picked = recent_rows(series, chosen, params)
    width = int(short.max()) if len(short) else 0
    rubric = int(rows.rubric[series.start[chosen[0]]])
    key = (rubric, look, params.baseline_n, len(chosen))
    if key not in rows.cards:
        codes, card = item_cards(rubric, rows, np.concatenate(picked) if picked else [])
        y = np.full((len(chosen), width, len(codes)), np.nan, dtype=np.float32)
        at = 0
        for row_number, taken in enumerate(picked):
            y[row_number, : len(taken)] = card[at : at + len(taken)]
            at += len(taken)
        del card
        rows.cards[key] = (codes, y)
    codes, y = rows.cards[key]
    return RecentItems(codes, drift.item_gaps(y.astype(float)), offset, short, picked)


def recent_rows(series, chosen, params):
    """Per chosen series: the position its latest part starts at, that part's length, and
    the rows whose item scores the items rule reads (none for a series too short for
    any stretch after its first baseline_n scores: it cannot slip)."""
    lengths = series.length[chosen]
    offset = np.maximum(lengths - item_look(params), 0)
    judged = lengths >= params.baseline_n + 2
    picked = [
        np.arange(series.start[i] + first, series.start[i] + series.length[i])
        if use
        else np.arange(0)
        for i, first, use in zip(chosen, offset, judged, strict=True)
    ]
    return offset, lengths - offset, picked


@dataclass
class SeriesItems:
    """The items rule's verdicts on a group of series, read from their latest part."""

    falls: drift.ItemFalls
    offset: np.ndarray  # per series: the position its latest part starts at
    codes: list
    spread: np.ndarray  # per item code: the spread the falls were measured in
    scored: np.ndarray  # per series: it has item scores, so the items rule judges it


def _item_spread(pools, chosen, codes, gaps):
    """As kept by the nightly job for the version (when kept), else pooled over `gaps`."""
    kept = pools[chosen[0]].items if len(chosen) else {}
    here = drift.item_spread(gaps)
    return np.array([kept.get(code, value) for code, value in zip(codes, here, strict=True)])


def item_cards(rubric, rows, taken):
    """(codes, (len(taken), items) array): the scores of the rows `taken` (in that order)
    on the rubric's items that rise with fidelity, as shares (0-100) of each item's range,
    NaN where not scored. The database picks each item's number out of the scores (no
    JSON reaches Python) in one query per chunk of rows; the shares are worked out per
    column, in the order of operations the one-value-at-a-time reading had, so to the bit."""
    codes, (low, high, version_at) = _remembered(("scales", rubric), _codes_and_scales, rubric)
    taken = np.asarray(taken, dtype=np.int64)
    card = np.full((len(taken), len(codes)), np.nan, dtype=np.float32)
    if not codes or not len(taken):
        return codes, card
    wanted = rows.obs[taken]
    order = np.argsort(wanted)
    for ids, versions, values in _item_values(wanted, codes):
        # A version of another rubric has no scale here (row 0): NaN.
        index = np.array([version_at.get(v, 0) for v in versions.tolist()], dtype=np.int64)
        lo, hi = low[index], high[index]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(hi > lo, 100 * (values - lo) / (hi - lo), np.nan)
        card[order[np.searchsorted(wanted, ids, sorter=order)]] = share
    return codes, card


# What a night reads of the rubrics' definitions, read once for the night (see one_night).
_NIGHT = contextvars.ContextVar("drift_night", default=None)


@contextlib.contextmanager
def one_night():
    """Within it, the rubrics' item codes, scales and measures are read once, not per
    organization (they do not change while a night runs). Nested, the outer one's stand."""
    token = _NIGHT.set({}) if _NIGHT.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _NIGHT.reset(token)


def _remembered(key, make, *args):
    kept = _NIGHT.get()
    if kept is None:
        return make(*args)
    if key not in kept:
        kept[key] = make(*args)
    return kept[key]


def _codes_and_scales(rubric):
    codes = item_codes(rubric)
    return codes, _item_scales(rubric, codes)


def item_codes(rubric):
    """The codes of the rubric's items that rise with fidelity, sorted."""
    followed = [code for (r, code) in measures([rubric]) if r == rubric]
    return sorted(c for c in followed if not c.startswith(METRIC))


def _item_scales(rubric, codes):
    """Per version of the rubric and item code, its scale (low, high) as arrays with a
    first row of NaN for what has none; and {version: its row}."""
    column = {code: n for n, code in enumerate(codes)}
    versions = {}
    low, high = [np.full(len(codes), np.nan)], [np.full(len(codes), np.nan)]
    items = Item.objects.filter(version__rubric_id=rubric, code__in=codes).values_list(
        "version_id", "code", "scale_min", "scale_max"
    )
    for version, code, lo, hi in items:
        if version not in versions:
            versions[version] = len(low)
            low.append(np.full(len(codes), np.nan))
            high.append(np.full(len(codes), np.nan))
        low[versions[version]][column[code]] = lo
        high[versions[version]][column[code]] = hi
    return np.array(low), np.array(high), versions


# Per database: an item's score when it is a number (else NULL), from the scores' JSON;
# the parameter is the item code (PostgreSQL) or its JSON path (SQLite). A metric's value
# the same way, from the metrics' JSON ({code: {"value": ...}}).
ITEM_VALUE_SQL = {
    "postgresql": "CASE WHEN jsonb_typeof(o.scores -> %s) = 'number' "
    "THEN (o.scores ->> %s)::float8 END",
    "sqlite": "CASE WHEN json_type(o.scores, %s) IN ('integer', 'real') "
    "THEN json_extract(o.scores, %s) END",
}
METRIC_VALUE_SQL = {
    "postgresql": "CASE WHEN jsonb_typeof(o.metrics -> %s -> 'value') = 'number' "
    "THEN (o.metrics -> %s ->> 'value')::float8 END",
    "sqlite": "CASE WHEN json_type(o.metrics, %s) IN ('integer', 'real') "
    "THEN json_extract(o.metrics, %s) END",
}
ITEM_VALUES_CHUNK = {"postgresql": 50_000, "sqlite": 400}


def _item_values(ids, codes):
    """(ids, versions, (rows, codes) float values, NaN where not a number) of these
    observations, a chunk at a time; a METRIC code reads the metric's value."""
    for sql, params in item_values_queries(ids, codes):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        if found:
            table = np.array(found, dtype=float).reshape(len(found), len(codes) + 2)
            yield table[:, 0].astype(np.int64), table[:, 1].astype(np.int64), table[:, 2:]


def item_values_queries(ids, codes):
    """(sql, params) of each chunk of item_cards' reading: the observations' ids, versions
    and these items' numbers (a METRIC code: the metric's value)."""
    vendor = connection.vendor
    columns = ", ".join(value_sql(vendor, code) for code in codes)
    column_params = [json_key(vendor, code) for code in codes for _ in range(2)]
    table = connection.ops.quote_name(Observation._meta.db_table)
    ids = np.sort(np.asarray(ids, dtype=np.int64))
    size = ITEM_VALUES_CHUNK.get(vendor, 400)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size].tolist()
        if vendor == "postgresql":
            where, params = "o.id = ANY(%s)", [chunk]
        else:
            where, params = f"o.id IN ({', '.join(['%s'] * len(chunk))})", chunk
        sql = f"SELECT o.id, o.rubric_version_id, {columns} FROM {table} o WHERE {where}"
        yield sql, column_params + params


def value_sql(vendor, code):
    """The SQL of this code's number on an observation `o`: ITEM_VALUE_SQL, or for a
    METRIC code METRIC_VALUE_SQL; its parameter, twice, is json_key's."""
    return (METRIC_VALUE_SQL if code.startswith(METRIC) else ITEM_VALUE_SQL)[vendor]


def json_key(vendor, code):
    """The parameter of value_sql for this code."""
    metric = code.startswith(METRIC)
    name = code.removeprefix(METRIC) if metric else code
    if vendor == "postgresql":
        return name
    return f'$."{name}".value' if metric else f'$."{name}"'


def _before_and_after(series, rows, is_evidence, found, settings):
    """The observation ids behind the usual level (up to before_points before the fall,
    not the evidence), and those since the fall began (at least two)."""
    index, began_row = found.source
    start = int(series.start[index])
    stop = start + int(series.length[index])
    first = min(began_row, stop - 2)
    lower = max(start, began_row - settings.before_points)
    before = [
        int(pk)
        for pk, evidence in zip(
            rows.obs[lower:began_row], is_evidence[lower:began_row], strict=True
        )
        if not evidence
    ]
    return before, rows.obs[max(first, start) : stop].tolist()


def person_momentum(series, rows, sigma, rules):
    """Momentum rows for every series long enough to have one."""
    x, lengths = series.matrix(rows.score, np.zeros(len(series), dtype=np.int64))
    rubric_of, person_of = series.first(rows.rubric), series.first(rows.person)
    last_day = series.last(rows.ymd)
    found = []
    for rubric_id in np.unique(rubric_of):
        chosen = np.flatnonzero(rubric_of == rubric_id)
        labels, slopes = drift.momentum_many(
            x[chosen], lengths[chosen], sigma[chosen], rules[int(rubric_id)].params()
        )
        for index, label, slope in zip(chosen, labels, slopes, strict=True):
            if label is not None:
                found.append(
                    {
                        "person_id": int(person_of[index]),
                        "rubric_id": int(rubric_id),
                        "direction": label,
                        "slope": float(slope),
                        "last_observed_on": ymd_to_date(last_day[index]),
                    }
                )
    return found


@dataclass(frozen=True)
class Pool:
    """What a practitioner's series is judged against on one rubric version, from everyone
    scored on it: the within-person sigma (robust, from moving ranges), and the peers'
    level and between-person variance (of each person's first scores), which shrink a
    short or selected baseline."""

    sigma: float
    ranges: int = 0
    level: float = math.nan
    between: float = math.nan
    items: dict = field(default_factory=dict, compare=False)  # {item code: spread}


NO_POOL = Pool(math.nan)


def _pool_of(pooled, version):
    return pooled.get(int(version), NO_POOL)


def pooled_spreads(rows, first_n=drift.DEFAULTS.baseline_n):
    """{version: Pool} over the rows read. The peers' level is the median of each series'
    mean of its first `first_n` scores; the between-person variance is those means'
    variance less the part their own noise explains (sigma²/first_n), never below a tenth
    of sigma² (drift.peers)."""
    return pools_from([pool_parts(rows, first_n)], first_n)


@dataclass
class PoolParts:
    """What pooled spreads are made of, from some of the rows: every valid moving range
    and each series' early mean (series with two scores or more), with their versions.
    A series lies within one organization, so the parts of each organization's rows,
    concatenated, are those of all rows: a night pools without holding every row."""

    ranges: np.ndarray
    range_versions: np.ndarray
    means: np.ndarray
    mean_versions: np.ndarray


def pool_parts(rows, first_n=drift.DEFAULTS.baseline_n):
    series = Series.split([rows.person, rows.rubric])
    ranges = series.moving_ranges(rows.score, same=rows.version)
    valid = ~np.isnan(ranges)
    early = series.mean(rows.score, series.position < first_n)
    enough = np.bincount(series.of_row, ~np.isnan(rows.score), minlength=len(series)) >= 2
    version_of = series.last(rows.version)
    return PoolParts(ranges[valid], rows.version[valid], early[enough], version_of[enough])


def pools_from(parts, first_n=drift.DEFAULTS.baseline_n):
    """{version: Pool} from the parts of all the rows, in a fixed order (the medians do not
    depend on it; the peers' variance, to the last bit, does)."""
    ranges = np.concatenate([p.ranges for p in parts] or [np.zeros(0)])
    range_versions = np.concatenate(
        [p.range_versions for p in parts] or [np.zeros(0, dtype=np.int64)]
    )
    means = np.concatenate([p.means for p in parts] or [np.zeros(0)])
    mean_versions = np.concatenate(
        [p.mean_versions for p in parts] or [np.zeros(0, dtype=np.int64)]
    )
    found = {}
    for version, (sigma, count) in pooled_sigma(ranges, range_versions).items():
        chosen = means[mean_versions == version]
        found[version] = Pool(sigma, count, *drift.peers(chosen, sigma, first_n))
    return found


def item_spread_parts(rows, rules):
    """{rubric: {code: (sum of squared steps, steps)}} of the items rule's latest part of
    each series in these rows (see drift.item_spread_sums): what the system-wide item
    spreads add up from, organization by organization."""
    series = Series.split([rows.person, rows.rubric])
    if not len(series):
        return {}
    rubric_of = series.first(rows.rubric)
    found = {}
    for rubric in np.unique(rubric_of):
        chosen = np.flatnonzero(rubric_of == rubric)
        recent = recent_items(series, rows, chosen, rules[int(rubric)].params())
        squares, counts = drift.item_spread_sums(recent.gaps)
        found[int(rubric)] = dict(zip(recent.codes, zip(squares, counts, strict=True), strict=True))
    return found


def item_spreads_from(parts):
    """{rubric: {code: spread}} from the parts of every organization (in a fixed order),
    the finite spreads only, as the nightly job keeps them."""
    sums = {}
    for part in parts:
        for rubric, codes in part.items():
            here = sums.setdefault(rubric, {})
            for code, (squares, count) in codes.items():
                total, seen = here.get(code, (0.0, 0))
                here[code] = (total + squares, seen + count)
    found = {}
    for rubric, codes in sums.items():
        names = list(codes)
        squares = np.array([codes[c][0] for c in names], dtype=float)
        counts = np.array([codes[c][1] for c in names], dtype=float)
        spread = drift.spread_from_sums(squares, counts)
        found[rubric] = {
            code: float(value)
            for code, value in zip(names, spread, strict=True)
            if np.isfinite(value)
        }
    return found


# Levels 2 and 3: teams and items, by month -------------------------------------------------


def complete_months_before(today):
    """Only whole months are judged: a month still running has too few observations."""
    return today.replace(day=1)


def team_months(rows, people, today):
    """(team, rubric, yyyymm, mean overall score) of complete months, from the rows the
    job already read, grouped with numpy: each practitioner counts in their team now."""
    ids = np.array(sorted(people), dtype=np.int64)
    teams = np.array([people[pk][1] or 0 for pk in ids], dtype=np.int64)
    team = teams[np.searchsorted(ids, rows.person)] if len(ids) else rows.person * 0
    month = rows.ymd // 100
    cutoff = int(complete_months_before(today).strftime("%Y%m"))
    use = (team > 0) & ~np.isnan(rows.score) & (month < cutoff)
    team, rubric, month, score = team[use], rows.rubric[use], month[use], rows.score[use]
    order = np.lexsort((month, rubric, team))
    team, rubric, month, score = team[order], rubric[order], month[order], score[order]
    groups = Series.split([team, rubric, month])
    mean = groups.mean(score, np.ones(len(score), dtype=bool))
    return groups.first(team), groups.first(rubric), groups.first(month), mean


def month_start(yyyymm):
    return dt.date(int(yyyymm) // 100, int(yyyymm) % 100, 1)


def next_month(day):
    """The first day of the month after `day`'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def judge_months(keys, months, values, rubric, pool, rules):
    """Alarms on monthly series (rows sorted by keys then month), as (series, [(index,
    alert fields, first monitored month)]); the spread is pooled across the series
    sharing a `pool` value (a rubric; a rubric's item)."""
    series = Series.split(keys)
    if not len(series):
        return series, []
    rubric_of = series.first(rubric)

    def settings(index):
        return rules[int(rubric_of[index])]

    base = baselines(series, values, settings)
    pooled = pooled_sigma(series.moving_ranges(values), pool)
    pooled = {group: sigma for group, (sigma, _) in pooled.items()}
    sigma = spread(series, values, pool, pooled, settings)
    charted, lengths = chart(series, values, base, sigma, settings)
    ewma = charted[drift.EWMA]["statistic"]
    first_monitored = months[np.minimum(series.start + base.begin, len(months) - 1)]
    found = []
    for index, rule, began, in_episode, points, out_now, calm in alarms(
        series, charted, lengths, base, row_day=lambda row: month_start(months[row])
    ):
        if not settings(index).enabled:
            continue
        fields = {
            "rule": rule,
            "rules": in_episode,
            "began_on": began,
            "baseline": float(base.level[index]),
            "baseline_from": f"the first {settings(index).baseline_n} months",
            "current": _number(ewma[index]),
            "sigma": _maybe(sigma[index]),
            "points": points,
            "out_now": out_now,
            "calm": calm,
        }
        found.append((index, fields, month_start(first_monitored[index])))
    return series, found


def team_level(rows, people, rules, today):
    """Each team's monthly mean overall score, judged like a practitioner's series."""
    return team_level_of(team_months(rows, people, today), rules, today)


def joined_team_months(parts):
    """The team_months of several organizations' rows as one, sorted as team_months
    sorts (a team lies within one organization, so nothing is averaged twice)."""
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0)
    team, rubric, month, mean = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.lexsort((month, rubric, team))
    return team[order], rubric[order], month[order], mean[order]


def team_level_of(months, rules, today):
    """team_level from the months already averaged (team, rubric, yyyymm, mean)."""
    team, rubric, month, mean = months
    series, found = judge_months([team, rubric], month, mean, rubric, rubric, rules)
    organization_of = dict(Team.objects.values_list("pk", "organization_id"))
    team_of, rubric_of = series.first(team), series.first(rubric)
    made = []
    for index, fields, monitored in found:
        team_id = int(team_of[index])
        made.append(
            Found(
                scope=Scope.TEAM,
                subject=f"team:{team_id}",
                organization_id=organization_of[team_id],
                rubric_id=int(rubric_of[index]),
                team_id=team_id,
                source=(monitored,),
                **fields,
            )
        )

    def moved(chosen):
        episodes = [(f.team_id, f.rubric_id, f.source[0], f.began_on) for f in chosen]
        return team_items_moved(episodes, complete_months_before(today))

    return made, moved


def team_items_moved(episodes, before):
    """For each (team, rubric, first monitored month, episode start): the items and
    metrics that fell most from the team's baseline months to the episode, from the
    counted item sums of the teams (their current members', as the monthly means are),
    in one query."""
    if not episodes:
        return []
    rubrics = {rubric for _, rubric, *_ in episodes}
    pairs = {(team, rubric) for team, rubric, *_ in episodes}
    rows = ItemMonth.objects.filter(month__lt=before).filter(
        reduce(operator.or_, (Q(team_id=t, rubric_id=r) for t, r in pairs))
    )
    sums = {}
    for _, team, rubric, code, month, total, count in rows.flat():
        sums.setdefault((team, rubric), []).append((code, month, total, count))
    followed = measures(list(rubrics))
    return [
        fell_most_in_sums(
            sums.get((team, rubric), []), monitored, began, _describer(followed, rubric)
        )
        for team, rubric, monitored, began in episodes
    ]


# A prime below 2**31: each fingerprint term stays small enough to add up exactly.
FINGERPRINT_PRIME = 2_147_483_647


def month_fingerprints(before, night=PRESENT):
    """{'yyyy-mm-01': [count, sum of ids, latest change, teams, organizations]} of the
    submitted observations of each month before `before`, in one grouped query. Any new,
    amended, moved or deleted observation, or a person moved to another team or
    organization, changes its months' fingerprints. A past night's count only what it
    saw, so the next present run recounts the months that gained rows since."""
    rows = (
        Observation.objects.submitted()
        .of_practice()
        .filter(night.seen(), observed_on__lt=before)
        .annotate(month=TruncMonth("observed_on"))
        .values("month")
        .annotate(
            count=Count("pk"),
            ids=Sum("pk"),
            latest=Max("updated_at"),
            teams=Sum(_weighted_ids("practitioner__team_id")),
            organizations=Sum(_weighted_ids("practitioner__organization_id")),
        )
        .order_by()
    )
    parts = ("count", "ids", "latest", "teams", "organizations")
    return {row["month"].isoformat(): [str(row[part]) for part in parts] for row in rows}


def _weighted_ids(field):
    """Each id times (the field + 1), modulo a prime: moves when the field does."""
    weight = Coalesce(F(field), Value(0), output_field=BigIntegerField()) + Value(1)
    return ExpressionWrapper(
        F("pk") * weight % Value(FINGERPRINT_PRIME), output_field=BigIntegerField()
    )


def item_months(today, followed):
    """(organization, rubric, item code, yyyymm, mean) of complete months, sorted, from
    the counted item sums (coaching.services.count_item_months), for the measures
    followed ({(rubric, code): Measure})."""
    rows = (
        OrganizationItemMonth.objects.filter(month__lt=complete_months_before(today))
        .order_by("organization_id", "rubric_id", "item_code", "month")
        .values_list("organization_id", "rubric_id", "item_code", "month", "total", "count")
    )
    return [
        (org, rubric, code, month.year * 100 + month.month, total / count)
        for org, rubric, code, month, total, count in rows.iterator(chunk_size=10_000)
        if count and (rubric, code) in followed
    ]


def item_level(rules, today):
    """Each measure's organization-wide monthly mean (see `measures`), judged like a
    practitioner's series."""
    followed = measures(list(rules))
    rows = item_months(today, followed)
    codes = sorted({row[2] for row in rows})
    number = {code: n for n, code in enumerate(codes)}
    table = np.array(
        [(org, rubric, number[code], month, mean) for org, rubric, code, month, mean in rows],
        dtype=float,
    ).reshape(-1, 5)
    org, rubric, item, month = (table[:, c].astype(np.int64) for c in range(4))
    pool = rubric * 100_000 + item
    series, found = judge_months([org, rubric, item], month, table[:, 4], rubric, pool, rules)
    org_of, rubric_of, item_of = series.first(org), series.first(rubric), series.first(item)
    made = []
    for index, fields, monitored in found:
        rubric_id, code = int(rubric_of[index]), codes[int(item_of[index])]
        organization = int(org_of[index])
        made.append(
            Found(
                scope=Scope.ITEM,
                subject=f"item:{organization}:{code}",
                organization_id=organization,
                rubric_id=rubric_id,
                item_code=code,
                item_label=followed[(rubric_id, code)].label,
                source=(monitored,),
                **fields,
            )
        )
    return made, lambda chosen: teams_moved(chosen, today)


def teams_moved(alerts, today):
    """For each item alert: the teams whose mean on the item fell most from the baseline
    months to the episode, read from the counted sums in one query."""
    if not alerts:
        return []
    sums = {}
    # Each alert's own organization and items, not every item of every organization named:
    # one query per organization, which its index finds. In one query, the test of every
    # (organization, item) pair on every row took 7 to 15 s on a first night (200,000
    # observations, 439 item alerts).
    codes = {}
    for alert in alerts:
        codes.setdefault(alert.organization_id, set()).add(alert.item_code)
    for organization, chosen in sorted(codes.items()):
        chosen = sorted(chosen)
        # Only these items read out of each row's sums (decoding them whole took 3 s).
        keys = [KeyTransform(code, "sums") for code in chosen]
        rows = ItemMonth.objects.filter(
            organization_id=organization, month__lt=complete_months_before(today)
        ).values_list("team_id", "rubric_id", "month", *keys)
        for team, rubric, month, *found in rows:
            for code, counted in zip(chosen, found, strict=True):
                if counted is not None:
                    sums.setdefault((organization, rubric, code), []).append(
                        (team, month, *counted)
                    )
    names = dict(Team.objects.values_list("pk", "name"))

    def team(pk):
        return (f"team:{pk}", f"Team {names[pk]}" if pk in names else "No team", 1.0)

    return [
        fell_most_in_sums(
            sums.get((a.organization_id, a.rubric_id, a.item_code), []),
            a.source[0],
            a.began_on,
            team,
        )
        for a in alerts
    ]


def fell_most_in_sums(rows, monitored, began, describe):
    """From (key, month, total, count) sums: the keys whose mean fell most from the months
    before `monitored` (the baseline) to those from `began` on (the episode), each fall a
    share of its scale. `describe(key)` gives (code, label, scale), or None to pass it
    over; a scale of None measures the fall against the old mean."""
    before, after = {}, {}
    for key, month, total, count in rows:
        chosen = before if month < monitored else after if month >= began else None
        if chosen is not None:
            _add(chosen, key, total, count)
    return _fell_most(before, after, describe)


def _add(sums, key, total, count):
    old_total, old_count = sums.get(key, (0.0, 0))
    sums[key] = (old_total + total, old_count + count)


def _fell_most(before, after, describe):
    """From {key: (total, count)} before and after: the few keys whose mean fell most, as
    an alert keeps them (see fell_most_in_sums for `describe`)."""
    falls = []
    for key in before.keys() & after.keys():
        described = describe(key)
        old, new = before[key][0] / before[key][1], after[key][0] / after[key][1]
        if described is None or new >= old:
            continue
        code, label, scale = described
        falls.append(((old - new) / (scale or max(abs(old), 1.0)), code, label, old, new))
    falls.sort(reverse=True)
    return tuple(
        {"code": code, "label": label, "baseline": round(old, 2), "current": round(new, 2)}
        for _, code, label, old, new in falls[:MOVED_SHOWN]
    )


def _number(value, fallback=np.nan):
    value = float(value)
    if np.isnan(value):
        value = float(fallback)
    return value


def _maybe(value):
    if value is None:
        return None
    value = float(value)
    return None if np.isnan(value) else value


# What moved -------------------------------------------------------------------------------

# Metrics share the item sums' code column with items, behind this prefix.
METRIC = "metric:"


@dataclass(frozen=True)
class Measure:
    """Something the item level follows and alerts name as having fallen."""

    label: str
    span: float | None  # the range its values move in; None: judged by relative change


def measures(rubric_ids):
    """{(rubric, code): Measure} of whatever rises with fidelity (Item.rises_with_fidelity,
    Metric.rises_with_fidelity), but the overall score, which the other levels follow.
    A metric's code carries the METRIC prefix. Labels from the newest version."""
    found, spans = {}, {}
    items = Item.objects.filter(version__rubric_id__in=rubric_ids).select_related("version")
    for item in items.order_by("version__number", "position"):
        rubric = item.version.rubric_id
        spans.setdefault(rubric, {})[item.code] = item.scale_max - item.scale_min
        if item.rises_with_fidelity():
            found[(rubric, item.code)] = Measure(item.label, spans[rubric][item.code] or None)
    metrics = Metric.objects.filter(version__rubric_id__in=rubric_ids, is_overall=False)
    for metric in metrics.select_related("version").order_by("version__number", "position"):
        rubric = metric.version.rubric_id
        if metric.rises_with_fidelity():
            span = metric.span(spans.get(rubric, {}))
            found[(rubric, METRIC + metric.code)] = Measure(metric.label, span)
    return found


def moved_items(groups, rubric_ids):
    """For each (rubric, baseline observation ids, recent observation ids): the measures
    whose mean fell most from the baseline to the recent ones, as a share of their range.
    Only the rubric's followed measures are read, as numbers (see measure_table)."""
    # Asked by every organization of a night, of the same rubrics.
    followed = _remembered(("measures", tuple(rubric_ids)), measures, rubric_ids)
    found = [()] * len(groups)
    for rubric in {rubric for rubric, _, _ in groups}:
        chosen = [n for n, group in enumerate(groups) if group[0] == rubric]
        codes = sorted(code for r, code in followed if r == rubric)
        if not codes:
            continue
        wanted = {pk for n in chosen for pk in (*groups[n][1], *groups[n][2])}
        ids, table = measure_table(sorted(wanted), codes)
        describe = _describer(followed, rubric)
        for n in chosen:
            _, before, after = groups[n]
            found[n] = _fell_most(
                _summed(ids, table, before, codes), _summed(ids, table, after, codes), describe
            )
    return found


def measure_table(ids, codes):
    """(ids sorted, (ids, codes) array): the observations' numbers by code (an item's
    score, or a metric's value for a METRIC code), NaN where not a number; read in the
    database, so no JSON reaches Python."""
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    table = np.full((len(ids), len(codes)), np.nan)
    for found, _, values in _item_values(ids, codes):
        table[np.searchsorted(ids, found)] = values
    return ids, table


def _summed(ids, table, chosen, codes):
    """{code: (total, count)} over the chosen observations' numbers (rows of `table`, by
    `ids`), the codes with some only. Totals add up from 0.0 in the chosen order, one
    observation at a time (a running sum, not numpy's pairwise one), so to the bit as
    adding each card's numbers in turn did."""
    rows = table[np.searchsorted(ids, np.asarray(chosen, dtype=np.int64))]
    present = ~np.isnan(rows)
    steps = np.vstack([np.zeros((1, len(codes))), np.where(present, rows, 0.0)])
    totals, counts = np.cumsum(steps, axis=0)[-1], present.sum(axis=0)
    return {
        code: (float(total), int(count))
        for code, total, count in zip(codes, totals, counts, strict=True)
        if count
    }


def _describer(followed, rubric):
    """What _fell_most asks of a code on this rubric: (code, label, range), or None for
    what is not followed."""

    def describe(code):
        measure = followed.get((rubric, code))
        return None if measure is None else (code, measure.label, measure.span)

    return describe

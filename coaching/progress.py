"""Progress on a coaching goal, measured from observations rather than claimed.

A goal follows either rubric items (per observation, the mean of those items' scores,
each as a share of its range on the version the observation was scored on, 0-100; an
item missing from a version is not scored there) or one metric (its value as
observations.scoring computed it when the observation was submitted). Three levels sit
side by side:

- before: the practitioner's usual level before the decline that prompted the goal: the
  mean of their last observations (at most the rubric's drift setting `before_points`)
  dated before `decline_on`, or before `started_on` when there is no decline date. Any
  observation that was a certification's evidence is left out: it was chosen for being
  high, and would overstate the level.
- at start: where they were when the plan started: the observations from `decline_on` up
  to and including `started_on`; without a decline date, the last AT_START_POINTS up to
  `started_on`.
- since: the observations after `started_on`, with a 90 % interval (see `spread`).

The low point that prompts a plan tends to rise by regression to the mean alone, so the
comparison that tells is since against before, not since against the start. And the words
are "since", never "because": observations show what changed, not what changed it.

`measure_goals` reads everything for any number of goals in two queries.
"""

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache

from django.db.models import CharField, F, IntegerField, Q, TextField, Value
from django.db.models.functions import Cast

from certification.models import CertificationPeriod, Program
from coaching import drift
from miiwrap import charts
from miiwrap.people.models import Person
from observations import scoring
from observations.models import Item, Metric, Observation

# Without a decline date, the level "when the plan started" is that of the last few.
AT_START_POINTS = 3
# Peers' spread is read from their observations of the last year.
PEER_DAYS = 365
# The default of Program.goal_held_observations, where no program says.
HELD_FOR = 3
CONFIDENCE = 0.90
PERCENT_KINDS = {scoring.PERCENT, scoring.PERCENT_OF_POSSIBLE}


@dataclass(frozen=True)
class GoalSpec:
    """What a goal's progress is measured from: item codes, or a metric code."""

    practitioner_id: int
    rubric_id: int
    item_codes: tuple
    metric_code: str
    description: str
    target: float
    started_on: dt.date
    decline_on: dt.date | None = None

    def __post_init__(self):
        object.__setattr__(self, "item_codes", tuple(self.item_codes or ()))

    @classmethod
    def of(cls, goal):
        """From a coaching goal (its plan's practitioner, rubric, codes, target, dates)."""
        return cls(
            practitioner_id=goal.plan.practitioner_id,
            rubric_id=goal.rubric_id,
            item_codes=goal.item_codes,
            metric_code=goal.metric_code,
            description=goal.description,
            target=goal.target,
            started_on=goal.started_on,
            decline_on=goal.decline_on,
        )


@dataclass(frozen=True)
class Level:
    """The mean of some observations' values; None when there are none."""

    mean: float | None
    count: int

    @classmethod
    def of(cls, values):
        values = list(values)
        return cls(sum(values) / len(values) if values else None, len(values))


@dataclass(frozen=True)
class Spread:
    """The spread (a standard deviation) the interval rests on, its degrees of freedom,
    and where it came from: OWN, POOLED (own and peers') or PEERS; None when unknown."""

    sigma: float | None
    freedom: float = 0
    source: str = ""

    OWN, POOLED, PEERS = "own", "own and peers", "peers"


NO_SPREAD = Spread(None)


@dataclass(frozen=True)
class Since(Level):
    """The level since the plan started, with the half width of its 90 % interval."""

    half_width: float | None = None
    spread: Spread = NO_SPREAD


@dataclass(frozen=True)
class Progress:
    """One goal's progress: its levels, the points behind them, and whether it may be
    offered as met; told as a sentence and drawn as a chart."""

    spec: GoalSpec
    label: str
    unit: str  # "%", or "" for a metric in its own unit (a rating, a ratio)
    points: tuple  # (date, value) of the observations counted, oldest first
    before: Level
    at_start: Level
    since: Since
    held_for: int
    met_offered: bool

    @property
    def target(self):
        return self.spec.target

    def sentence(self):
        """The levels in words, such as “Complex reflections: 46 % before the decline, 32 %
        when the plan started, 47 % in the 3 observations since (±6); target 50 %.” A level
        with no observation is left out; never a word of cause."""
        parts = []
        if self.before.count:
            where = "before the decline" if self.spec.decline_on else "usually before the plan"
            parts.append(f"{self.shown(self.before.mean)} {where}")
        if self.at_start.count:
            parts.append(f"{self.shown(self.at_start.mean)} when the plan started")
        parts.append(self._since_words())
        return f"{self.label}: {', '.join(parts)}; target {self.shown(self.target)}."

    def _since_words(self):
        count = self.since.count
        if count == 0:
            return "no observation since the plan started yet"
        which = "the one observation" if count == 1 else f"the {count} observations"
        said = f"{self.shown(self.since.mean)} in {which} since"
        if self.since.half_width is not None:
            said += f" (±{self.shown(self.since.half_width, unit=False)})"
        return said

    def met_note(self):
        """What the page says when the goal may be marked met; empty when not."""
        if not self.met_offered:
            return ""
        return f"The target has {self._held_words()}: this goal may be marked met."

    def met_reason(self):
        """Why a goal marked met from the offer is met, as its history keeps it."""
        return f"Marked met once the target ({self.shown(self.target)}) had {self._held_words()}."

    def _held_words(self):
        last = "the last" if self.held_for == 1 else f"each of the last {self.held_for}"
        observations = "observation" if self.held_for == 1 else "observations"
        return f"held in {last} {observations} since the plan started"

    def shown(self, value, unit=True):
        """A value as the sentence prints it: percentages whole, other values to one
        decimal."""
        if self.unit == "%":
            whole = Decimal(repr(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            text = charts.format_number(int(whole))
        else:
            text = charts.format_number(value)
        return f"{text} {self.unit}" if unit and self.unit else text

    def chart(self):
        since = self.since
        return charts.progress_chart(
            title=f"{self.label}: progress since the plan started",
            points=self.points,
            started_on=self.spec.started_on,
            declined_on=self.spec.decline_on,
            before=self.before.mean,
            target=self.target,
            since=(since.mean, since.half_width) if since.count else None,
            unit=self.unit,
        )


def held_for_practitioners(person_ids):
    """{person id: how many observations a goal's target must hold in to be offered as
    met}: the setting of the practitioner program on their path, the one whose
    certification they hold or held last (when the purveyor runs more than one for
    practitioners), else the first for practitioners (MiiWrap Practitioner), else
    HELD_FOR. Two queries."""
    person_ids = list(person_ids)
    programs = dict(Program.objects.practitioner_path().values_list("pk", "goal_held_observations"))
    found = dict.fromkeys(person_ids, next(iter(programs.values()), HELD_FOR))
    periods = CertificationPeriod.objects.filter(person_id__in=person_ids, program_id__in=programs)
    latest_last = periods.order_by("valid_from", "pk").values_list("person_id", "program_id")
    found.update((person, programs[program]) for person, program in latest_last)
    return found


def measure_goals(specs, today, held_for=HELD_FOR):
    """A Progress per spec, in their order, as of `today`. Two queries whatever the
    number of goals: the observations (the practitioners' and, for the spread, their
    organizations' peers'), and what they are read against (`read_facts`). `held_for`:
    how long a target must hold to be offered as met, one number for every goal or
    {practitioner id: number} as held_for_practitioners gives it."""
    specs = list(specs)
    if not specs:
        return []
    by_rubric = {}
    for row in read_observations(specs, today):
        by_rubric.setdefault(row.rubric, []).append(row)
    facts = read_facts(specs)
    return [
        measure(spec, by_rubric.get(spec.rubric_id, []), facts, today, _held(held_for, spec))
        for spec in specs
    ]


def of_goals(goals, today):
    """Each coaching goal's Progress as of `today`, in their order, in four queries
    whatever their number: measure_goals, read against the practitioners' own
    `goal_held_observations` (held_for_practitioners). Only an active goal is offered
    as met: one met or dropped already has nothing left to mark."""
    goals = list(goals)
    if not goals:
        return []
    held = held_for_practitioners({goal.plan.practitioner_id for goal in goals})
    found = measure_goals([GoalSpec.of(goal) for goal in goals], today, held_for=held)
    return [
        measured if goal.is_active else replace(measured, met_offered=False)
        for goal, measured in zip(goals, found, strict=True)
    ]


def _held(held_for, spec):
    if isinstance(held_for, Mapping):
        return held_for.get(spec.practitioner_id, HELD_FOR)
    return held_for


# Reading ----------------------------------------------------------------------------------


def read_observations(specs, today):
    """The submitted observations on the goals' rubrics up to `today`: all of the
    practitioners', and their organizations' others' of the last PEER_DAYS; each with its
    rubric's drift settings (None where the rubric has none), oldest first."""
    people = {spec.practitioner_id for spec in specs}
    theirs = Q(practitioner_id__in=people)
    organizations = Person.objects.filter(pk__in=people).values("organization_id")
    peers = Q(
        organization_id__in=organizations,
        observed_on__gt=today - dt.timedelta(days=PEER_DAYS),
    )
    settings = "rubric_version__rubric__drift_settings__"
    rows = Observation.objects.submitted().filter(
        theirs | peers,
        rubric_version__rubric_id__in={spec.rubric_id for spec in specs},
        observed_on__lte=today,
    )
    rows = rows.annotate(
        rubric=F("rubric_version__rubric_id"),
        before_points=F(settings + "before_points"),
        min_own_points=F(settings + "min_own_points"),
    )
    return list(
        rows.order_by("observed_on", "pk").values_list(
            "pk",
            "practitioner_id",
            "organization",
            "rubric",
            "rubric_version_id",
            "observed_on",
            "scores",
            "metrics",
            "before_points",
            "min_own_points",
            named=True,
        )
    )


@dataclass
class Facts:
    ranges: dict  # {(version, item code): (scale min, scale max)}
    labels: dict  # {(kind, rubric, code): label on the newest version}
    kinds: dict  # {(rubric, metric code): kind on the newest version}
    evidence: set  # ids of observations that were some certification's evidence


def read_facts(specs):
    """What the observations are read against, in one query: the goals' items' ranges and
    metrics' kinds on each version of their rubrics, and every certification's evidence
    of the practitioners. Three small tables joined by UNION ALL into one round trip, as
    columns (kind, rubric, version, version number, code, low, high, metric kind, text):
    the text is an item's or metric's label, or a period's evidence as JSON."""
    rubrics = {spec.rubric_id for spec in specs}
    text, number = CharField(), IntegerField()
    items = Item.objects.filter(
        version__rubric_id__in=rubrics, code__in={c for s in specs for c in s.item_codes}
    ).values_list(
        Value("item", text),
        "version__rubric_id",
        "version_id",
        "version__number",
        "code",
        "scale_min",
        "scale_max",
        Value("", text),
        Cast("label", TextField()),
    )
    metrics = Metric.objects.filter(
        version__rubric_id__in=rubrics, code__in={s.metric_code for s in specs}
    ).values_list(
        Value("metric", text),
        "version__rubric_id",
        "version_id",
        "version__number",
        "code",
        Value(0, number),
        Value(0, number),
        "kind",
        Cast("label", TextField()),
    )
    evidence = (
        CertificationPeriod.objects.filter(person_id__in={s.practitioner_id for s in specs})
        .exclude(evidence=[])
        .values_list(
            Value("evidence", text),
            Value(0, number),
            "person_id",
            Value(0, number),
            Value("", text),
            Value(0, number),
            Value(0, number),
            Value("", text),
            Cast("evidence", TextField()),
        )
    )
    parts = [part.order_by() for part in (items, metrics, evidence)]
    return _facts(parts[0].union(*parts[1:], all=True))


def _facts(rows):
    facts = Facts({}, {}, {}, set())
    newest = {}
    for kind, rubric, version, number, code, low, high, metric_kind, text in rows:
        if kind == "evidence":
            facts.evidence.update(_evidence_ids(text))
            continue
        if kind == "item":
            facts.ranges[(version, code)] = (low, high)
        if number >= newest.get((kind, rubric, code), -1):
            newest[(kind, rubric, code)] = number
            facts.labels[(kind, rubric, code)] = text
            if kind == "metric":
                facts.kinds[(rubric, code)] = metric_kind
    return facts


def _evidence_ids(text):
    entries = json.loads(text) if isinstance(text, str) else text
    return {
        entry["id"]
        for entry in entries or ()
        if isinstance(entry, dict) and isinstance(entry.get("id"), int)
    }


# Measuring --------------------------------------------------------------------------------


def measure(spec, on_rubric, facts, today, held_for):
    """One goal's Progress from the rows read on its rubric and the facts."""
    value_of = measure_of(spec, facts)
    mine = [
        (row.pk, row.observed_on, value_of(row), row.pk in facts.evidence)
        for row in on_rubric
        if row.practitioner_id == spec.practitioner_id
    ]
    mine = [entry for entry in mine if entry[2] is not None]
    settings = _settings(on_rubric)
    before, at_start, since = phases(spec, mine, settings.before_points, today)
    sigma = spread([before, at_start, since], peer_values(spec, on_rubric, value_of), settings)
    since_values = [value for _, _, value in since]
    counted = {pk: (day, value) for pk, day, value in (*before, *at_start, *since)}
    return Progress(
        spec=spec,
        label=_label(spec, facts),
        unit=_unit(spec, facts),
        points=tuple(sorted(counted.values(), key=lambda point: point[0])),
        before=Level.of(value for _, _, value in before),
        at_start=Level.of(value for _, _, value in at_start),
        since=_since(since_values, sigma),
        held_for=held_for,
        met_offered=is_met(since_values, spec.target, held_for),
    )


def measure_of(spec, facts):
    """The function giving an observation row's value on the goal's measure, or None."""
    if spec.metric_code:
        return lambda row: _metric_value(row.metrics, spec.metric_code)
    return lambda row: item_share(row.scores, row.rubric_version_id, spec.item_codes, facts)


def _metric_value(metrics, code):
    entry = (metrics or {}).get(code)
    value = entry.get("value") if isinstance(entry, dict) else None
    return float(value) if _is_number(value) else None


def item_share(scores, version, codes, facts):
    """The mean of the items' scores, each as a percentage of its range on this version;
    items the version lacks (or with no range: counts), marked not applicable or not
    scored are left out; None when none is left."""
    shares = []
    for code in codes:
        low, high = facts.ranges.get((version, code), (0, 0))
        value = (scores or {}).get(code)
        if high > low and _is_number(value):
            shares.append(Fraction(100) * (Fraction(value) - low) / (high - low))
    return float(sum(shares) / len(shares)) if shares else None


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _settings(on_rubric):
    """The rubric's drift parameters this reads, as the rows carry them (the defaults
    where it has no settings)."""
    row = on_rubric[0] if on_rubric else None
    if row is None or row.before_points is None:
        return drift.DEFAULTS
    return replace(
        drift.DEFAULTS, before_points=row.before_points, min_own_points=row.min_own_points
    )


def phases(spec, mine, before_points, today):
    """The (id, date, value) entries before, at the start and since, from the
    practitioner's (id, date, value, was evidence), oldest first."""
    cut = min(spec.decline_on or spec.started_on, spec.started_on)
    before = [(pk, day, v) for pk, day, v, evidence in mine if day < cut and not evidence]
    if spec.decline_on:
        at_start = [(pk, day, v) for pk, day, v, _ in mine if cut <= day <= spec.started_on]
    else:
        at_start = [(pk, day, v) for pk, day, v, _ in mine if day <= spec.started_on]
        at_start = at_start[-AT_START_POINTS:]
    since = [(pk, day, v) for pk, day, v, _ in mine if spec.started_on < day <= today]
    return before[-before_points:], at_start, since


def peer_values(spec, on_rubric, value_of):
    """{peer id: [values]} of the others in the practitioner's organization."""
    home = {row.organization for row in on_rubric if row.practitioner_id == spec.practitioner_id}
    found = {}
    for row in on_rubric:
        if row.practitioner_id != spec.practitioner_id and row.organization in home:
            value = value_of(row)
            if value is not None:
                found.setdefault(row.practitioner_id, []).append(value)
    return found


def _squares(groups):
    """(sum of squared deviations from each group's own mean, degrees of freedom)."""
    total, freedom = 0.0, 0
    for values in groups:
        if values:
            mean = sum(values) / len(values)
            total += sum((value - mean) ** 2 for value in values)
            freedom += len(values) - 1
    return total, freedom


def spread(phase_entries, peers, settings):
    """The spread of one observation's value around the person's level, for the interval.

    Their own: squared deviations from the mean of each phase (before, at start, since,
    each observation counted once), so the change the goal is about does not widen it.
    From the rubric's drift setting `min_own_points` observations on, it is used alone.
    With fewer, the peers' (their organization's others on the rubric, each around their
    own mean) fills the degrees of freedom their own lack, as if they had that many more
    observations with the peers' spread; with none of their own it is the peers' alone.
    With no peers, their own however few (none, when it rests on nothing or is exactly 0).
    """
    seen, groups = set(), []
    for entries in reversed(phase_entries):  # since, at start, then before
        groups.append([v for pk, _, v in entries if pk not in seen])
        seen.update(pk for pk, _, _ in entries)
    own, own_freedom = _squares(groups)
    peer_squares, peer_freedom = _squares(peers.values())
    wanted = settings.min_own_points - 1
    if own_freedom >= wanted or peer_freedom == 0:
        if own_freedom == 0 or own == 0:
            return NO_SPREAD  # a few equal values say nothing of the spread
        return Spread(math.sqrt(own / own_freedom), own_freedom, Spread.OWN)
    filled = wanted - own_freedom
    variance = (own + filled * peer_squares / peer_freedom) / wanted
    source = Spread.POOLED if own_freedom else Spread.PEERS
    return Spread(math.sqrt(variance), wanted, source)


def _since(values, sigma):
    """The level since the start, with a Student t interval: mean ± t · σ / √n."""
    level = Level.of(values)
    if not values or sigma.sigma is None:
        return Since(level.mean, level.count, spread=sigma)
    quantile = t_quantile((1 + CONFIDENCE) / 2, sigma.freedom)
    half = quantile * sigma.sigma / math.sqrt(len(values))
    return Since(level.mean, level.count, half, sigma)


def is_met(since_values, target, held_for):
    """The rule for offering a goal as met: at least `held_for` observations since the
    plan started, and each of the last `held_for` at or above the target. (A mean at the
    target could hide one that fell short; each one holding is what "held" means.)"""
    if held_for < 1 or len(since_values) < held_for:
        return False
    return all(value >= target for value in since_values[-held_for:])


@lru_cache(maxsize=256)
def t_quantile(p, freedom):
    """The p quantile (p > 0.5) of Student's t with `freedom` degrees of freedom, by
    Newton's method on its distribution function (the density integrated by Simpson's
    rule): exact to many more places than a chart shows, with no statistics library."""
    nu = float(freedom)
    scale = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)

    def density(t):
        return scale * (1 + t * t / nu) ** (-(nu + 1) / 2)

    def above_half(x, steps=400):
        h = x / steps
        inner = sum((4 if k % 2 else 2) * density(k * h) for k in range(1, steps))
        return h / 3 * (density(0) + inner + density(x))

    x = 1.0
    for _ in range(100):
        step = (above_half(x) - (p - 0.5)) / density(x)
        x -= step
        if abs(step) < 1e-10:
            break
    return x


def _label(spec, facts):
    if spec.description:
        return spec.description
    if spec.metric_code:
        key = ("metric", spec.rubric_id, spec.metric_code)
        return facts.labels.get(key, spec.metric_code)
    return ", ".join(facts.labels.get(("item", spec.rubric_id, c), c) for c in spec.item_codes)


def _unit(spec, facts):
    """Items are read as a percentage of their range; a metric in its own unit."""
    if not spec.metric_code:
        return "%"
    return "%" if facts.kinds.get((spec.rubric_id, spec.metric_code)) in PERCENT_KINDS else ""

"""Evidence rules: does observed practice meet a program's standard? Plain functions.

A rule reads: at least N submitted observations on rubric R, dated from the first day
that counts through the day of the decision, each with an overall score of at least T
and/or a band of at least B, each by an observer certified on the day they observed;
among them at least K activity types; and the latest observation on a companion rubric
in the same days at band B2 or better. A program may also require another
certification first (coaches are certified practitioners).

Every bound is inclusive: an observation on the first day counts, one the day before
does not; a score of exactly T counts. An observation the observed person disputes does
not count until the dispute is settled.

Beside either, a rule may ask for events of the learning community: at least E events of
kind K (any kind when none is named) attended from the first day that counts through the
day of the decision. Only an attendance marked "attended" counts; a registration or an
absence does not; an event on the first day counts, one the day before does not.

A rule may instead read calibration (an observer certification): the person's latest C
cases on rubric R submitted from the first day that counts, the latest attempt at each
case, with at least P % of their items, pooled, within one point of the master code.
Exactly P % counts (the share is an exact fraction).
"""

import datetime as dt
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

OBSERVATIONS = "observations"
CALIBRATION = "calibration"


@dataclass(frozen=True)
class Rule:
    kind: str  # "initial" or "renewal"
    rubric_id: int
    rubric_name: str
    min_observations: int
    within_days: int | None = None
    min_overall: Decimal | None = None
    min_band: str = ""
    min_activity_types: int = 1
    observer_program: str = ""  # the certification observers must hold; "" for anyone
    companion_rubric_id: int | None = None
    companion_name: str = ""
    companion_min_band: str = ""
    source: str = OBSERVATIONS  # or CALIBRATION: the fields below, not those above
    min_cases: int = 3
    min_within_one_percent: int = 80
    min_events: int = 0  # events of the learning community attended; 0 asks for none
    event_kind: str = ""  # the kind of event that counts; "" for any
    event_kind_name: str = ""

    @property
    def from_calibration(self):
        return self.source == CALIBRATION

    @property
    def asks_for_events(self):
        return self.min_events > 0


@dataclass(frozen=True)
class Seen:
    """One submitted observation, as an evidence rule reads it."""

    id: int
    observed_on: dt.date
    rubric_id: int
    overall: Decimal | None
    band: str
    bands: tuple  # the rubric version's bands, best first
    activity: str
    observer: str
    observer_certified: bool = True
    disputed: bool = False  # an open dispute: left out until it is settled

    def as_json(self):
        """What a certification keeps of it, so later amendments cannot rewrite the record."""
        return {
            "id": self.id,
            "observed_on": self.observed_on.isoformat(),
            "overall": None if self.overall is None else str(self.overall),
            "band": self.band,
            "activity": self.activity,
            "observer": self.observer,
        }


@dataclass(frozen=True)
class Attempt:
    """One submitted calibration attempt, as a calibration rule reads it."""

    id: int
    case_id: int
    case: str
    rubric_id: int
    submitted_on: dt.date  # in the person's own organization's zone
    items_compared: int
    items_within_one: int

    @property
    def percent_within_one(self):
        """Its own share within one point, in whole percent rounded down."""
        return math.floor(100 * within_one_share([self])) if self.items_compared else None

    def as_json(self):
        """What a certification keeps of it: no "id", which names an observation there."""
        return {
            "calibration_attempt": self.id,
            "case": self.case,
            "submitted_on": self.submitted_on.isoformat(),
            "items_compared": self.items_compared,
            "items_within_one": self.items_within_one,
        }


@dataclass(frozen=True)
class Attended:
    """One person's registration on one event of the learning community."""

    id: int  # the event's
    held_on: dt.date
    kind: str
    title: str
    status: str = "attended"  # or "registered", "absent": only "attended" counts

    def as_json(self):
        """What a certification keeps of it: no "id", which names an observation there."""
        return {"event": self.id, "title": self.title, "held_on": self.held_on.isoformat()}


@dataclass(frozen=True)
class Requirement:
    text: str  # what the rule asks, in words
    met: bool
    detail: str  # what there is now, and what would meet it


@dataclass(frozen=True)
class Progress:
    rule: Rule
    first_day: dt.date
    requirements: tuple
    qualifying: tuple  # the observations that meet the standard, oldest first
    evidence: tuple  # what a decision today would keep as its evidence
    disputed: tuple = ()  # observations on the rule's rubrics left out while disputed
    events: tuple = ()  # the Attended events that count toward the rule, oldest first

    def kept(self):
        """What a decision today keeps, as JSON: the evidence, then the events counted."""
        return [entry.as_json() for entry in (*self.evidence, *self.events)]

    @property
    def meets(self):
        return all(requirement.met for requirement in self.requirements)

    @property
    def summary(self):
        """One line: the first requirement still unmet, or that the rule is met."""
        unmet = [r for r in self.requirements if not r.met]
        return unmet[0].detail if unmet else "Meets the rule"


def band_at_least(band, minimum, bands):
    """`band` is `minimum` or better in `bands` (listed best first)."""
    bands = list(bands)
    return band in bands and minimum in bands and bands.index(band) <= bands.index(minimum)


def first_day(rule, as_of, *, window_opens=None, not_before=None):
    """The first day whose observations count: D days back, or (a renewal with no D) from
    the day the window opened; never before `not_before` (a revocation)."""
    if rule.within_days is not None:
        start = as_of - dt.timedelta(days=rule.within_days)
    else:
        start = window_opens or dt.date.min
    return max(start, not_before) if not_before else start


def scores_enough(rule, seen):
    if rule.min_overall is not None and (seen.overall is None or seen.overall < rule.min_overall):
        return False
    return not rule.min_band or band_at_least(seen.band, rule.min_band, seen.bands)


def evaluate(rule, seen, *, as_of, first, deadline=None, requires=None, attended=()):
    """Progress toward `rule` on `as_of`, counting observations from `first`.

    `seen` is the person's submitted observations (any order, any rubric), or for a
    calibration rule their submitted Attempts; `deadline` a date the evidence is due by
    (expiry, or the deadline after hire); `requires` is (program name, held) for a
    certification the person must already hold; `attended` their Attended events.
    """
    progress = _evaluate(rule, seen, as_of, first, deadline, requires)
    if not rule.asks_for_events:
        return progress
    counted = counted_events(rule, attended, as_of=as_of, first=first)
    return replace(
        progress,
        requirements=(*progress.requirements, _event_requirement(rule, first, counted)),
        events=counted,
    )


def counted_events(rule, attended, *, as_of, first):
    """The events that count toward `rule`, oldest first: attended, of its kind (any when
    it names none), held from `first` through `as_of`."""
    return tuple(
        sorted(
            (
                a
                for a in attended
                if a.status == "attended"
                and (not rule.event_kind or a.kind == rule.event_kind)
                and first <= a.held_on <= as_of
            ),
            key=lambda a: (a.held_on, a.id),
        )
    )


def _event_requirement(rule, first, counted):
    need, have = rule.min_events, len(counted)
    since = "" if first == dt.date.min else f" since {first:%Y-%m-%d}"
    kind = (rule.event_kind_name or rule.event_kind).lower() if rule.event_kind else ""
    noun = f"{kind} event" if kind else "event"
    text = f"{_counted(need, noun)} attended{since}"
    if have >= need:
        detail = f"{_counted(have, noun)} attended"
    else:
        detail = f"{have} of {need} {noun}s attended; {need - have} more needed"
    return Requirement(text, have >= need, detail)


def _evaluate(rule, seen, as_of, first, deadline, requires):
    if rule.from_calibration:
        return _calibration(rule, seen, as_of, first, deadline, requires)
    dated = sorted(
        (s for s in seen if first <= s.observed_on <= as_of), key=lambda s: (s.observed_on, s.id)
    )
    rubrics = {rule.rubric_id, rule.companion_rubric_id}
    disputed = tuple(s for s in dated if s.disputed and s.rubric_id in rubrics)
    in_days = [s for s in dated if not s.disputed]
    scored = [s for s in in_days if s.rubric_id == rule.rubric_id and scores_enough(rule, s)]
    qualifying = [s for s in scored if s.observer_certified or not rule.observer_program]
    companion = _companion(rule, in_days)
    requirements = [
        _count_requirement(rule, first, qualifying, scored, as_of, deadline, disputed),
        *_activity_requirement(rule, qualifying),
        *_companion_requirement(rule, first, companion),
        *_ladder_requirement(requires),
    ]
    evidence = [*qualifying, *([companion] if companion else [])]
    return Progress(rule, first, tuple(requirements), tuple(qualifying), tuple(evidence), disputed)


def _standard(rule):
    parts = []
    if rule.min_overall is not None:
        parts.append(f"at {rule.min_overall.normalize():f} or more")
    if rule.min_band:
        parts.append(f"at band {rule.min_band} or better")
    return " and ".join(parts)


def _count_requirement(rule, first, qualifying, scored, as_of, deadline, disputed):
    need, have = rule.min_observations, len(qualifying)
    since = "" if first == dt.date.min else f" since {first:%Y-%m-%d}"
    observer = f", by an observer holding {rule.observer_program}" if rule.observer_program else ""
    text = f"{need} observations on the {rule.rubric_name} {_standard(rule)}{since}{observer}"
    detail = f"{have} of {need} qualifying observations"
    if have > need:  # never "4 of 3"
        detail = f"{have} qualifying observations, {need} needed"
    if have < need:
        oldest = qualifying[0].observed_on if qualifying else None
        detail += f"; {need - have} more {_due(rule, oldest, as_of, deadline)}".rstrip()
    if uncounted := len(scored) - have:
        detail += f" ({uncounted} more scored high enough, but the observer was not certified)"
    if held_back := sum(1 for s in disputed if s.rubric_id == rule.rubric_id):
        detail += f" ({held_back} more disputed: counted once settled, if it qualifies)"
    return Requirement(text, have >= need, detail)


def _due(rule, oldest, as_of, deadline):
    """When the missing evidence is due: before the `oldest` that counts (a date, or None)
    stops counting, and by the deadline, whichever comes first."""
    dates = [deadline] if deadline else []
    if oldest is not None and rule.within_days is not None:
        dates.append(oldest + dt.timedelta(days=rule.within_days))
    if not dates:
        return ""
    due = min(dates)
    return f"by {due:%Y-%m-%d}" if due >= as_of else f"(overdue since {due:%Y-%m-%d})"


def _activity_requirement(rule, qualifying):
    need = rule.min_activity_types
    if need <= 1:
        return []
    kinds = sorted({s.activity for s in qualifying})
    return [
        Requirement(
            f"At least {need} activity types among them",
            len(kinds) >= need,
            _activity_detail(len(qualifying), kinds, need),
        )
    ]


def _activity_detail(observations, kinds, need):
    """How many types the qualifying observations span, never "3 of 2": more types than
    asked for is said as such, and fewer as how many more are needed."""
    detail = f"{_counted(observations, 'qualifying observation')} in "
    detail += _counted(len(kinds), "activity type") + (f": {', '.join(kinds)}" if kinds else "")
    if (missing := need - len(kinds)) > 0:
        detail += f"; {_counted(missing, 'more type')} needed"
    return detail


def _counted(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _companion(rule, in_days):
    if rule.companion_rubric_id is None:
        return None
    observed = [
        s
        for s in in_days
        if s.rubric_id == rule.companion_rubric_id
        and (s.observer_certified or not rule.observer_program)
    ]
    return observed[-1] if observed else None


def _companion_requirement(rule, first, latest):
    if rule.companion_rubric_id is None:
        return []
    since = "" if first == dt.date.min else f" since {first:%Y-%m-%d}"
    name, band = rule.companion_name, rule.companion_min_band
    text = f"The latest {name} observation{since} at {band} or better"
    if latest is None:
        return [Requirement(text, False, f"No {name} observation{since}")]
    met = band_at_least(latest.band, band, latest.bands)
    detail = f"Latest {name}: {latest.band or 'no band'} on {latest.observed_on:%Y-%m-%d}"
    return [Requirement(text, met, detail)]


def _ladder_requirement(requires):
    if requires is None:
        return []
    name, held = requires
    detail = f"Holds {name}" if held else f"Does not hold a current {name} certification"
    return [Requirement(f"A current {name} certification", held, detail)]


# Calibration --------------------------------------------------------------------------------


def counted_cases(rule, attempts, *, as_of, first):
    """The attempts a calibration rule pools, oldest first: of those on its rubric
    submitted from `first` to `as_of` with items compared, the latest at each case (a
    case scored again in a later round counts once), and of those the latest `min_cases`."""
    dated = sorted(
        (
            a
            for a in attempts
            if a.rubric_id == rule.rubric_id
            and a.items_compared
            and first <= a.submitted_on <= as_of
        ),
        key=lambda a: (a.submitted_on, a.id),
    )
    latest = {}
    for attempt in dated:  # a case's later attempt takes its place, at the end
        latest.pop(attempt.case_id, None)
        latest[attempt.case_id] = attempt
    return tuple(latest.values())[-rule.min_cases :]


def within_one_share(attempts):
    """Items within one point of the master over items compared, pooled; None if none."""
    compared = sum(a.items_compared for a in attempts)
    return Fraction(sum(a.items_within_one for a in attempts), compared) if compared else None


def _calibration(rule, attempts, as_of, first, deadline, requires):
    counted = counted_cases(rule, attempts, as_of=as_of, first=first)
    requirements = [
        _calibration_requirement(rule, first, counted, as_of, deadline),
        *_ladder_requirement(requires),
    ]
    return Progress(rule, first, tuple(requirements), counted, counted)


def _calibration_requirement(rule, first, counted, as_of, deadline):
    need, have, percent = rule.min_cases, len(counted), rule.min_within_one_percent
    since = "" if first == dt.date.min else f" since {first:%Y-%m-%d}"
    text = (
        f"{_counted(need, 'calibration case')} on the {rule.rubric_name}{since} with at "
        f"least {percent} % of items within one point of the master code"
    )
    share = within_one_share(counted)
    close = share is not None and share >= Fraction(percent, 100)
    detail = f"{have} of {need} cases so far" if have < need else _counted(have, "case")
    if share is not None:
        # Rounded down, so a share short of the standard never reads as meeting it.
        detail += f", {math.floor(share * 100)} % of their items within one point"
    if have < need:
        oldest = counted[0].submitted_on if counted else None
        detail += f"; {need - have} more {_due(rule, oldest, as_of, deadline)}".rstrip()
    elif not close:
        detail += f"; {percent} % needed"
    return Requirement(text, have >= need and close, detail)

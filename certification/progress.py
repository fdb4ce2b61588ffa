"""Where people stand in a program and how far they are toward its rule, read in bulk.

`cards(people, program)` answers for any number of people with the same five queries:
their periods, the certification the program requires first, their observations in the
days that count, and the certifications of whoever observed them; for a program whose
rules read calibration (an observer certification), their submitted calibration
attempts instead of the last two. The rules themselves are certification.dates
(standing) and certification.evidence (progress).
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from certification import dates, evidence
from certification.models import (
    CertificationPeriod,
    EvidenceRule,
    Program,
    submitted_in_days,
)
from miiwrap.community.models import Attendance
from observations.models import CalibrationAttempt, Dispute, Observation, RubricVersion

RENEWING = {dates.State.CERTIFIED, dates.State.WINDOW_OPEN, dates.State.GRACE}
# What the evidence rule reads of each observation: the rows `assess` takes.
OBSERVATION_FIELDS = [
    "pk",
    "practitioner_id",
    "coach_id",
    "observed_on",
    "overall_score",
    "band",
    "rubric_version_id",
    "rubric_version__rubric_id",
    "activity__name",
    "coach__first_name",
    "coach__last_name",
]
# What a calibration rule reads of each submitted attempt.
ATTEMPT_FIELDS = [
    "pk",
    "coach_id",
    "case_id",
    "case__title",
    "case__rubric_version__rubric_id",
    "submitted_at",
    "items_compared",
    "items_within_one",
]


@dataclass
class Card(dates.OnDay):
    """One person in one program on one day."""

    person: object
    program: object
    today: dt.date
    standing: dates.Standing
    periods: list = field(default_factory=list)  # CertificationPeriod rows, newest first
    rule: object = None  # the EvidenceRule that applies next
    first_day: dt.date | None = None
    deadline: dt.date | None = None
    progress: evidence.Progress | None = None
    may_decide: bool = False

    @property
    def is_renewal(self):
        return self.state in RENEWING

    @property
    def previous(self):
        """The period a decision today would renew, or None for a first certification."""
        return self.standing.held if self.is_renewal else None

    @property
    def renewed_ahead(self):
        held = self.standing.held
        return held is not None and held.period.valid_from > self.today

    @property
    def shows_progress(self):
        """Progress matters unless the person is certified and their window is not open."""
        return self.progress is not None and self.state != dates.State.CERTIFIED

    @property
    def current_period(self):
        held = self.standing.held
        return next((p for p in self.periods if held and p.pk == held.key), None)


def cards(people, program, as_of=None, history=False):
    """{person id: Card} on `as_of`, or on each person's own today in their zone.

    `people` need their organization loaded; `program` its rules (Program.objects.with_rules).
    With `history`, each period comes with who decided it and its audit events.
    """
    people = list(people)
    todays = {p.pk: as_of or p.organization.local_today() for p in people}
    periods = _periods_by_person(people, program, history)
    holds_required = _holds_required(people, program, todays)
    found = {}
    for person in people:
        today = todays[person.pk]
        held = [period.as_held() for period in periods.get(person.pk, [])]
        card = Card(person, program, today, dates.standing(held, today), periods.get(person.pk, []))
        choose_rule(card)
        found[person.pk] = card
    _evaluate(found.values(), program, holds_required)
    return found


def card(person, program, as_of=None, history=False):
    return cards([person], program, as_of, history)[person.pk]


def person_cards(person, decider=None):
    """The cards a person's page shows, each knowing whether `decider` may decide it."""
    found = []
    for program in Program.objects.with_rules().for_person(person):
        person_card = card(person, program, history=True)
        person_card.may_decide = decider is not None and not program.decider_problem(
            decider, person, person_card.today
        )
        found.append(person_card)
    return found


def _periods_by_person(people, program, history):
    rows = CertificationPeriod.objects.filter(person__in=people, program=program)
    if history:
        rows = rows.select_related("decided_by", "revoked_by").prefetch_related("events__by")
    found = {}
    for period in rows.order_by("-valid_from", "-pk"):
        found.setdefault(period.person_id, []).append(period)
    return found


def _holds_required(people, program, todays):
    """{person id: holds the program required first, on their day}; {} when none is."""
    if program.requires_id is None:
        return {}
    rows = CertificationPeriod.objects.filter(person__in=people, program_id=program.requires_id)
    held = rows.held_by("person_id")
    return {p.pk: dates.holds_on(held.get(p.pk, []), todays[p.pk]) for p in people}


def choose_rule(card):
    """The rule that applies next, the first day that counts toward it, and its deadline."""
    held = card.standing.held
    if card.is_renewal:
        card.rule = card.program.evidence_rule(EvidenceRule.Kind.RENEWAL)
        period = held.period
        in_grace = card.today > period.valid_until
        card.deadline = period.grace_ends if in_grace else period.valid_until
        window_opens = period.window_opens
        not_before = None
    else:
        card.rule = card.program.evidence_rule(EvidenceRule.Kind.INITIAL)
        card.deadline = _hire_deadline(card)
        window_opens = None
        not_before = held.revoked_on if card.state == dates.State.REVOKED else None
    if card.rule is not None:
        card.first_day = evidence.first_day(
            card.rule.as_rule(), card.today, window_opens=window_opens, not_before=not_before
        )


def _hire_deadline(card):
    days = card.program.deadline_days_after_hire
    if days is None or card.periods:
        return None
    return card.person.hire_date + dt.timedelta(days=days)


def _evaluate(all_cards, program, holds_required):
    ruled = [c for c in all_cards if c.rule is not None and not c.rule.from_calibration]
    calibrated = [c for c in all_cards if c.rule is not None and c.rule.from_calibration]
    observed = _observations(ruled) if ruled else {}
    observer_holds = _observer_periods(observed, program) if observed else {}
    attended = _attended([c for c in all_cards if c.rule is not None and c.rule.min_events])
    for card in ruled:
        pk = card.person.pk
        assess(
            card,
            observed.get(pk, []),
            observer_holds,
            holds_required.get(pk, False),
            attended.get(pk, ()),
        )
    attempts = _attempts(calibrated) if calibrated else {}
    for card in calibrated:
        pk = card.person.pk
        assess(card, attempts.get(pk, []), {}, holds_required.get(pk, False), attended.get(pk, ()))


def assess(card, rows, observer_holds, holds_required, attended=()):
    """Progress toward the card's rule from the person's observation rows (as
    _observations reads them) and {(person id, program id): [Held]} of their observers;
    for a calibration rule, from their attempt rows (as _attempts reads them); and their
    evidence.Attended events, for a rule that asks for events."""
    if card.rule.from_calibration:
        zone = zoneinfo.ZoneInfo(card.person.organization.time_zone)
        seen = [_as_attempt(row, zone) for row in rows]
    else:
        observer_program = card.rule.observer_certified_in_id
        seen = [_as_seen(row, observer_holds, observer_program) for row in rows]
    requires = None
    if card.program.requires_id is not None:
        requires = (card.program.requires.name, holds_required)
    card.progress = evidence.evaluate(
        card.rule.as_rule(),
        seen,
        as_of=card.today,
        first=card.first_day,
        deadline=card.deadline,
        requires=requires,
        attended=attended,
    )
    if card.state == dates.State.NOT_CERTIFIED and _accumulating(card, seen):
        card.standing = dates.Standing(dates.State.IN_PROGRESS)


def _accumulating(card, seen):
    """Observations on the first rule's rubric in its days; calibration never makes
    anyone "in progress" (certification.decider reads only observations for it)."""
    if card.rule.from_calibration:
        return False
    return any(
        s.rubric_id == card.rule.rubric_id and card.first_day <= s.observed_on <= card.today
        for s in seen
    )


def _observations(ruled):
    """{person id: observation rows} on the rules' rubrics from the earliest day that counts."""
    rubrics = {c.rule.rubric_id for c in ruled} | {
        c.rule.companion_rubric_id for c in ruled if c.rule.companion_rubric_id
    }
    return rows_by_practitioner(
        Observation.objects.filter(
            practitioner__in=[c.person.pk for c in ruled],
            rubric_version__rubric_id__in=rubrics,
            observed_on__gte=min(c.first_day for c in ruled),
            observed_on__lte=max(c.today for c in ruled),
        )
    )


def _attended(cards):
    """{person id: [evidence.Attended]} of the cards' people: their registrations on events
    held from the earliest first day that counts to the latest today (evidence
    .counted_events then reads each person's own days, kind and status). One query."""
    if not cards:
        return {}
    rows = Attendance.objects.filter(
        person__in=[c.person.pk for c in cards],
        event__held_on__gte=min(c.first_day for c in cards),
        event__held_on__lte=max(c.today for c in cards),
    )
    found = {}
    fields = ["person_id", "event_id", "event__held_on", "event__kind", "event__title", "status"]
    for person_id, event_id, held_on, kind, title, status in rows.values_list(*fields):
        attended = evidence.Attended(event_id, held_on, kind, title, status)
        found.setdefault(person_id, []).append(attended)
    return found


def _attempts(calibrated):
    """{person id: attempt rows} of the cards' people on their rules' rubrics, submitted
    from the earliest first day that counts to the latest today (evidence.counted_cases
    then reads each person's own days)."""
    attempts = CalibrationAttempt.objects.submitted().filter(
        coach__in=[c.person.pk for c in calibrated],
        case__rubric_version__rubric_id__in={c.rule.rubric_id for c in calibrated},
    )
    first, last = min(c.first_day for c in calibrated), max(c.today for c in calibrated)
    found = {}
    for row in submitted_in_days(attempts, first, last).order_by().values(*ATTEMPT_FIELDS):
        found.setdefault(row["coach_id"], []).append(row)
    return found


def _as_attempt(row, zone):
    return evidence.Attempt(
        id=row["pk"],
        case_id=row["case_id"],
        case=row["case__title"],
        rubric_id=row["case__rubric_version__rubric_id"],
        submitted_on=row["submitted_at"].astimezone(zone).date(),
        items_compared=row["items_compared"] or 0,
        items_within_one=row["items_within_one"] or 0,
    )


def rows_by_practitioner(observations):
    """{person id: rows as `assess` reads them} for the submitted ones among `observations`,
    each saying whether it is disputed (the evidence rule leaves those out)."""
    found = {}
    disputed = Exists(Dispute.objects.open().filter(observation=OuterRef("pk")))
    rows = list(
        observations.submitted().annotate(disputed=disputed).values(*OBSERVATION_FIELDS, "disputed")
    )
    # Each version's bands are read once, not decoded again for each of thousands of rows.
    versions = RubricVersion.objects.filter(pk__in={row["rubric_version_id"] for row in rows})
    bands = {pk: tuple(names or ()) for pk, names in versions.values_list("pk", "bands")}
    for row in rows:
        row["rubric_version__bands"] = bands[row["rubric_version_id"]]
        found.setdefault(row["practitioner_id"], []).append(row)
    return found


def _observer_periods(seen, program):
    """{(coach id, program id): [Held]} for every observer and every observer program."""
    programs = {r.observer_certified_in_id for r in program.evidence_rules.all()} - {None}
    coaches = {row["coach_id"] for rows in seen.values() for row in rows}
    if not programs or not coaches:
        return {}
    periods = CertificationPeriod.objects.filter(person__in=coaches, program__in=programs)
    return periods.held_by("person_id", "program_id")


def _as_seen(row, observer_holds, observer_program):
    certified = observer_program is None or dates.holds_on(
        observer_holds.get((row["coach_id"], observer_program), []), row["observed_on"]
    )
    return evidence.Seen(
        id=row["pk"],
        observed_on=row["observed_on"],
        rubric_id=row["rubric_version__rubric_id"],
        overall=row["overall_score"],
        band=row["band"],
        bands=tuple(row["rubric_version__bands"] or ()),
        activity=row["activity__name"],
        observer=f"{row['coach__first_name']} {row['coach__last_name']}".strip(),
        observer_certified=certified,
        disputed=row.get("disputed", False),
    )


def ready(people, program):
    """Cards of those whose evidence meets the rule today and who are due a decision,
    the most pressing deadline first."""
    found = cards(people, program).values()
    due = [c for c in found if c.state != dates.State.CERTIFIED and c.progress and c.progress.meets]
    return sorted(due, key=lambda c: (c.deadline or dt.date.max, c.person.last_name, c.person.pk))

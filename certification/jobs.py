"""The daily certification job: transitions, reminders, digests and delivery.

`run()` does, for every organization on its own today (`run_for`, one organization):
1. records each period's window opening, expiry and lapse once (CertificationEvent),
2. creates the reminders due (ReminderRule) with their notifications, at most one per
   (period, rule, recipient) however often or concurrently it runs,
and then, once for everyone (`finish`):
3. gathers leaders' reminders into their daily digest, and
4. sends what is due (miiwrap.notifications.delivery).

Only a person's current period counts: the one certification.dates.standing would
choose. So a renewal, even one decided ahead, silences the old period's reminders. The
reads are a fixed number of set-based queries whatever the number of periods; the
writes are bulk. A row that fails is logged and left for the next run.
"""

import datetime as dt
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Case, Count, DateField, Exists, F, OuterRef, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from certification import dates, decider, progress, reminders
from certification.models import (
    CertificationEvent,
    CertificationPeriod,
    Program,
    Reminder,
    ReminderRule,
)
from coaching.models import CoachAssignment
from miiwrap.implementation.services import action_items_overdue_tell
from miiwrap.notifications import delivery
from miiwrap.notifications.models import Notification, absolute_url
from miiwrap.people.models import Organization, Person, Role, todays_by_zone

logger = logging.getLogger(__name__)

Kind = CertificationEvent.Kind
Timing = ReminderRule.Timing
DAY = dt.timedelta(days=1)


@dataclass
class Report:
    transitions: Counter = field(default_factory=Counter)
    reminders: int = 0
    digests: int = 0
    delivered: delivery.Delivered = field(default_factory=delivery.Delivered)
    failed_rows: list = field(default_factory=list)

    def lines(self):
        kinds = ", ".join(f"{n} {Kind(k).label.lower()}" for k, n in self.transitions.items())
        yield f"Transitions recorded: {sum(self.transitions.values())}" + (
            f" ({kinds})" if kinds else ""
        )
        yield f"Reminders queued: {self.reminders}"
        yield f"Leader digests made: {self.digests}"
        sent = self.delivered
        yield f"Emails sent: {sent.sent}, to retry: {sent.retrying}, failed: {sent.failed}"
        for problem in self.failed_rows:
            yield f"Left for the next run: {problem}"


def run(today=None, now=None, send=True):
    """The whole daily job in one process: each organization's part, then the digests
    and the sending (miiwrap.nightly runs the same steps as one task per organization).
    `today` replaces every organization's own date (for replays and tests); by default
    each organization's today in its zone is used."""
    now = now or timezone.now()
    report = Report()
    for organization in Organization.objects.order_by("pk").values_list("pk", flat=True):
        run_for(organization, today, now, report=report)
    finish(today, now, report=report, send=send)
    return report


def run_for(organization, today=None, now=None, *, report=None):
    """One organization's part: its people's transitions and the reminders due to them.
    Run again (a task sent twice), it records and queues nothing more."""
    now = now or timezone.now()
    report = report if report is not None else Report()
    record_transitions(report, today, now, organization=organization)
    queue_reminders(report, today, now, organization=organization)
    return report


def finish(today=None, now=None, *, report=None, send=True):
    """The system-wide end, once every organization's part is done: the leaders' daily
    digests (their reminders and the drift job's alerts), then the sending."""
    now = now or timezone.now()
    report = report if report is not None else Report()
    # Overdue actions of the organizations' alignment plans join the leaders' digests.
    action_items_overdue_tell(today=today, now=now)
    report.digests += delivery.compose_digests(now, day=today)
    if send:
        report.delivered.add(delivery.deliver(now))
    return report


# Which periods are current, on each organization's today -------------------------------


def _todays(today, now, organization=None):
    """(the expression a period's today is read from, the dates the decider reads: one
    date or {zone: today}, (earliest, latest))."""
    if today is not None:
        return Value(today, output_field=DateField()), today, (today, today)
    organizations = Organization.objects.all()
    if organization is not None:
        organizations = organizations.filter(pk=organization)
    zones = set(organizations.values_list("time_zone", flat=True).distinct())
    todays = todays_by_zone(zones, now) or {"": now.date()}
    if len(set(todays.values())) == 1:
        # The usual case at 06:00: one date everywhere. A plain value keeps the planner's
        # estimates right, which a CASE over the zones hides from it.
        (day,) = set(todays.values())
        return Value(day, output_field=DateField()), day, (day, day)
    case = Case(
        *[When(person__organization__time_zone=z, then=Value(d)) for z, d in todays.items()],
        output_field=DateField(),
    )
    return case, todays, (min(todays.values()), max(todays.values()))


def current_periods(today=None, now=None, organization=None):
    """(QuerySet, (earliest, latest) today): the started, unrevoked periods that are their
    person's current one in the program, each annotated with `today` in its zone; of the
    people now in `organization`, when given.

    The current one is certification.decider's (dates.standing's rule), as things stood on
    that today: a period is superseded by a later-starting one that has started, or by a
    renewal decided ahead of its start and not revoked, once decided."""
    local_today, todays, bounds = _todays(today, now or timezone.now(), organization)
    people = None if organization is None else Person.objects.filter(organization=organization)
    sql, params = decider.statement(
        people,
        list(Program.objects.all()),
        todays,
        members=decider.Members.HELD,
        known=True,
        accumulating=False,
        few=organization is not None,
    )
    states = ", ".join(f"'{state}'" for state in decider.STARTED)
    current = (
        f"SELECT period_id FROM ({sql}) d WHERE d.valid_from <= d.today AND d.state IN ({states})"
    )
    periods = (
        CertificationPeriod.objects.annotate(today=local_today)
        .filter(pk__in=RawSQL(current, params))
        .order_by()
    )
    if organization is not None:
        periods = periods.filter(person__organization_id=organization)
    return periods, bounds


# 1. Transitions ---------------------------------------------------------------------------

TRANSITIONS = {
    Kind.WINDOW_OPENED: lambda p: p.window_opens,
    Kind.EXPIRED: lambda p: p.valid_until + DAY,
    Kind.LAPSED: lambda p: p.grace_ends + DAY,
}


def _recorded(kind):
    return Exists(CertificationEvent.objects.filter(period=OuterRef("pk"), kind=kind))


def record_transitions(report, today=None, now=None, organization=None):
    """Record each transition of a current period once, dated the day it happened (of
    one organization's people, when given)."""
    now = now or timezone.now()
    periods, _ = current_periods(today, now, organization)
    due = periods.annotate(
        **{f"has_{kind}": _recorded(kind) for kind in TRANSITIONS},
    ).filter(
        Q(window_opens__lte=F("today"), has_window_opened=False)
        | Q(valid_until__lt=F("today"), has_expired=False)
        | Q(grace_ends__lt=F("today"), has_lapsed=False)
    )
    fields = ["valid_from", "valid_until", "window_opens", "grace_ends"]
    events = []
    for row in due.values("pk", "today", *fields, *(f"has_{kind}" for kind in TRANSITIONS)):
        try:
            period = dates.Period(*(row[name] for name in fields))
            events.extend(
                CertificationEvent(
                    period_id=row["pk"],
                    kind=kind,
                    happened_on=day(period),
                    recorded_at=now,
                    note="Recorded by the daily certification job.",
                )
                for kind, day in TRANSITIONS.items()
                if not row[f"has_{kind}"] and day(period) <= row["today"]
            )
        except Exception as error:  # one bad row must not stop the others
            _left_for_next_run(report, f"period {row['pk']}: {error}")
    # A transition another run recorded meanwhile conflicts and is skipped; what this run
    # recorded is what carries its own `recorded_at`.
    _insert(report, CertificationEvent, events, "period_id")
    if events:
        mine = CertificationEvent.objects.filter(recorded_at=now, kind__in=list(TRANSITIONS))
        if organization is not None:
            mine = mine.filter(period__person__organization_id=organization)
        counted = mine.order_by().values_list("kind").annotate(n=Count("pk"))
        report.transitions.update(dict(counted))


def _insert(report, model, objects, key):
    """Insert, skipping rows that already exist (another run made them). On a database
    error, insert one by one, so that only the faulty rows are left, logged, for the next
    run. ON CONFLICT DO NOTHING does not say which rows it skipped: callers that must
    know what they inserted mark their rows (a batch token, their recorded_at)."""
    if not objects:
        return
    try:
        with transaction.atomic():
            model.objects.bulk_create(objects, ignore_conflicts=True, batch_size=2000)
    except DatabaseError:
        logger.exception("Bulk insert of %s failed; trying row by row", model.__name__)
        for obj in objects:
            try:
                with transaction.atomic():
                    model.objects.bulk_create([obj], ignore_conflicts=True)
            except DatabaseError as error:
                _left_for_next_run(report, f"{model.__name__} for {getattr(obj, key)}: {error}")


def _left_for_next_run(report, problem):
    logger.error("Certification job: %s; left for the next run", problem)
    report.failed_rows.append(problem)


# 2. Reminders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A reminder that should exist: a rule's moment for one period and one recipient."""

    period_id: int
    rule: ReminderRule
    recipient_id: int
    role: str
    due_on: dt.date


class Rules:
    """The rules in force for each (organization, program): the purveyor's defaults, less
    those the organization replaced, plus the organization's own active rules."""

    def __init__(self, rules):
        self.defaults, self.own, self.replaced = {}, {}, set()
        for rule in rules:
            if rule.organization_id is None:
                self.defaults.setdefault(rule.program_id, []).append(rule)
            else:
                if rule.replaces_id:
                    self.replaced.add((rule.organization_id, rule.replaces_id))
                if rule.is_active:
                    self.own.setdefault((rule.organization_id, rule.program_id), []).append(rule)
        self._cache = {}

    def for_(self, organization_id, program_id):
        key = (organization_id, program_id)
        if key not in self._cache:
            self._cache[key] = [
                rule
                for rule in self.defaults.get(program_id, [])
                if rule.is_active and (organization_id, rule.pk) not in self.replaced
            ] + self.own.get(key, [])
        return self._cache[key]

    def all(self):
        yield from (r for rules in self.defaults.values() for r in rules if r.is_active)
        yield from (r for rules in self.own.values() for r in rules)


def still_relevant(rule_due, period, today):
    """A reminder speaks of the part of the cycle it falls in (certified, grace, lapsed):
    once that part is over, it is stale."""
    if rule_due <= period.valid_until:
        return today <= period.valid_until
    if rule_due <= period.grace_ends:
        return today <= period.grace_ends
    return True


def _window_filter(rules, earliest, latest):
    """A cheap SQL cut: periods with some rule's moment in [earliest, latest]."""
    condition = Q(pk__in=[])
    for rule in rules:
        days = dt.timedelta(days=rule.days)
        if rule.timing == Timing.BEFORE_EXPIRY:
            condition |= Q(valid_until__range=(earliest + days, latest + days))
        elif rule.timing == Timing.AFTER_EXPIRY:
            condition |= Q(valid_until__range=(earliest - days, latest - days))
        else:
            condition |= Q(grace_ends__range=(earliest - days, latest - days))
    return condition


@dataclass
class Candidate:
    pk: int
    period: dates.Period
    today: dt.date
    person_id: int
    program_id: int
    organization_id: int
    team_id: int | None


def plan(today=None, now=None, ahead=0, organization=None):
    """(candidates, [Due]): the reminders due on each organization's today (catching up
    REMINDER_CATCH_UP_DAYS late), or with `ahead` days, those coming in that many days;
    of one organization's people, when given."""
    now = now or timezone.now()
    rules = Rules(ReminderRule.objects.all())
    periods, (earliest, latest) = current_periods(today, now, organization)
    if ahead:
        start, end = 1, ahead
    else:
        start, end = -settings.REMINDER_CATCH_UP_DAYS, 0
    active = list({(r.timing, r.days): r for r in rules.all()}.values())
    rows = periods.filter(
        _window_filter(active, earliest + dt.timedelta(start), latest + dt.timedelta(end)),
        Q(person__leave_date=None) | Q(person__leave_date__gte=F("today")),
    ).values_list(
        "pk",
        "valid_from",
        "valid_until",
        "window_opens",
        "grace_ends",
        "today",
        "person_id",
        "program_id",
        "person__organization_id",
        "person__team_id",
    )
    candidates = [
        Candidate(pk, dates.Period(*period), day, person, program, org, team)
        for pk, *period, day, person, program, org, team in rows
    ]
    if not candidates:
        return [], []
    people = recipients(candidates, earliest, latest + dt.timedelta(end))
    found = []
    for candidate in candidates:
        first, last = candidate.today + dt.timedelta(start), candidate.today + dt.timedelta(end)
        for rule in rules.for_(candidate.organization_id, candidate.program_id):
            due_on = rule.due_on(candidate.period)
            if not first <= due_on <= last:
                continue
            if not ahead and not still_relevant(due_on, candidate.period, candidate.today):
                continue
            for recipient, role in people.of(candidate, rule, due_on):
                found.append(Due(candidate.pk, rule, recipient, role, due_on))
    return candidates, found


class Recipients:
    """Who hears of a period: the person, their coaches that day, and their leaders (of
    their team, or else of the organization); each once, by their closest role."""

    def __init__(self, coaches, leaders):
        self.coaches, self.leaders = coaches, leaders

    def of(self, candidate, rule, day):
        found = {}
        if rule.to_practitioner:
            found.setdefault(candidate.person_id, Reminder.Role.PRACTITIONER)
        if rule.to_coach:
            for coach, starts, ends, leaves in self.coaches.get(candidate.person_id, ()):
                if starts <= day and (ends is None or ends >= day) and _active(leaves, day):
                    found.setdefault(coach, Reminder.Role.COACH)
        if rule.to_leader:
            org = self.leaders.get(candidate.organization_id, [])
            here = [row for row in org if _active(row[2], day)]
            team = [row for row in here if candidate.team_id and row[1] == candidate.team_id]
            for leader, _, _ in team or [row for row in here if row[1] is None] or here:
                if leader != candidate.person_id:
                    found.setdefault(leader, Reminder.Role.LEADER)
        return found.items()


def _active(leave_date, day):
    return leave_date is None or leave_date >= day


def recipients(candidates, earliest, latest):
    person_ids = {c.person_id for c in candidates}
    coaches = {}
    assignments = (
        CoachAssignment.objects.filter(practitioner_id__in=person_ids)
        .filter(Q(ends_on=None) | Q(ends_on__gte=earliest), starts_on__lte=latest)
        .values_list("practitioner_id", "coach_id", "starts_on", "ends_on", "coach__leave_date")
    )
    for practitioner, *row in assignments:
        coaches.setdefault(practitioner, []).append(row)
    leaders = {}
    organization_ids = {c.organization_id for c in candidates}
    rows = (
        Person.objects.with_role(Role.LEADER)
        .filter(organization_id__in=organization_ids, hire_date__lte=latest)
        .values_list("organization_id", "pk", "team_id", "leave_date")
    )
    for org, *row in rows:
        leaders.setdefault(org, []).append(row)
    return Recipients(coaches, leaders)


def latest_only(found, existing):
    """Per (period, recipient), only the latest reminder due; one already made on that
    day or later makes older ones stale (the job was down, or a rule was added late)."""
    latest = {}
    for key, day in existing:
        latest[key] = max(latest.get(key, day), day)
    for due in found:
        key = (due.period_id, due.recipient_id)
        latest[key] = max(latest.get(key, due.due_on), due.due_on)
    chosen, seen = [], set()
    for due in sorted(found, key=lambda d: (d.due_on, d.rule.pk), reverse=True):
        key = (due.period_id, due.recipient_id)
        if due.due_on == latest[key] and key not in seen and (key, due.due_on) not in existing:
            seen.add(key)
            chosen.append(due)
    return chosen


def queue_reminders(report, today=None, now=None, organization=None):
    """Create today's reminders and their notifications, counting the new ones (of one
    organization's people, when given)."""
    now = now or timezone.now()
    candidates, found = plan(today, now, organization=organization)
    if not found:
        return
    existing = set(
        Reminder.objects.filter(period_id__in={d.period_id for d in found}).values_list(
            "period_id", "recipient_id", "due_on"
        )
    )
    existing = {((period, recipient), day) for period, recipient, day in existing}
    chosen = latest_only(found, existing)
    if not chosen:
        return
    messages = _messages(report, candidates, chosen, today, now)
    token = uuid.uuid4().hex
    rows = [
        Reminder(
            period_id=due.period_id,
            rule_id=due.rule.key_id,
            applied_rule=due.rule,
            recipient_id=due.recipient_id,
            role=due.role,
            due_on=due.due_on,
            created_at=now,
            batch=token,
        )
        for due in chosen
        if due in messages
    ]
    with transaction.atomic():
        # Rows another run made meanwhile conflict and are skipped; the token tells ours.
        _insert(report, Reminder, rows, "period_id")
        made = list(Reminder.objects.filter(batch=token))
        by_key = {_key(due): note for due, note in messages.items()}
        notes = {r.pk: by_key[(r.period_id, r.rule_id, r.recipient_id)] for r in made}
        Notification.objects.bulk_create(notes.values(), batch_size=1000)
        for reminder in made:
            reminder.notification = notes[reminder.pk]
            reminder.batch = ""
        Reminder.objects.bulk_update(made, ["notification", "batch"], batch_size=500)
    report.reminders += len(made)


def _key(due):
    return (due.period_id, due.rule.key_id, due.recipient_id)


def _messages(report, candidates, chosen, today, now):
    """{Due: unsaved Notification}, rendered from each rule's template."""
    by_pk = {c.pk: c for c in candidates}
    people_ids = {d.recipient_id for d in chosen} | {by_pk[d.period_id].person_id for d in chosen}
    people = Person.objects.select_related("organization").in_bulk(people_ids)
    programs, cards = _cards(people, [by_pk[d.period_id] for d in chosen], today)
    messages = {}
    for due in chosen:
        candidate = by_pk[due.period_id]
        try:
            person = people[candidate.person_id]
            values = _values(
                person,
                people[due.recipient_id],
                programs[candidate.program_id],
                candidate,
                cards.get((candidate.person_id, candidate.program_id)),
            )
            subject, text, html = reminders.render(due.rule, values)
        except Exception as error:  # one bad row must not stop the others
            _left_for_next_run(report, f"reminder for period {due.period_id}: {error}")
            continue
        messages[due] = Notification(
            recipient_id=due.recipient_id,
            kind=Notification.Kind.REMINDER,
            delivery=(
                Notification.Delivery.DIGEST
                if due.role == Reminder.Role.LEADER
                else Notification.Delivery.EMAIL
            ),
            subject=subject[:300],
            body_text=text,
            body_html=html,
            link=person.get_absolute_url(),
            email=people[due.recipient_id].email,
            created_at=now,
            next_attempt_at=now,
        )
    return messages


def _cards(people, candidates, today):
    """({id: Program}, {(person id, program id): Card}) for the candidates' programs and
    progress lines, a few queries per program."""
    found = {}
    by_program = {}
    for candidate in candidates:
        by_program.setdefault(candidate.program_id, set()).add(candidate.person_id)
    programs = Program.objects.with_rules().in_bulk(by_program)
    for program in programs.values():
        chosen = [people[pk] for pk in by_program[program.pk]]
        for pk, card in progress.cards(chosen, program, as_of=today).items():
            found[(pk, program.pk)] = card
    return programs, found


def _values(person, recipient, program, candidate, card):
    period = candidate.period
    state = dates.state_on(period, candidate.today)
    if card is not None and card.progress is not None:
        progress_line = card.progress.summary
    else:
        progress_line = "No evidence rule applies."
    return {
        "name": person.full_name,
        "first_name": person.first_name,
        "recipient": recipient.full_name,
        "program": program.name,
        "organization": person.organization.name,
        "expiry_date": f"{period.valid_until:%Y-%m-%d}",
        "grace_end": f"{period.grace_ends:%Y-%m-%d}",
        "days_left": (period.valid_until - candidate.today).days,
        "state": dates.LABELS[state],
        "progress": progress_line,
        "link": absolute_url(person.get_absolute_url()),
    }

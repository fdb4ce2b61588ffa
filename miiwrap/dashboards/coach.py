"""The coach dashboard: the caseload at a glance, and whom to observe or coach next."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse

from certification import dates
from certification import models as certification
from certification.models import Program
from coaching.models import (
    CoachAssignment,
    CoachingPlan,
    DriftAlert,
    with_momentum,
    with_open_alerts,
)
from miiwrap import generations
from miiwrap.dashboards import feedback
from miiwrap.dashboards.tables import Cell, Table, person_cell
from miiwrap.people.models import Person, Role
from observations.models import CoObservation, Observation

# Who is due within this many days is listed with the overdue.
DUE_SOON_DAYS = 14
# The coach's own feedback quality is read over the last year.
FEEDBACK_DAYS = 365
# The share of a coach's observations with a second observer is of the last 90 days, and
# the colleagues to ask next are the few they have co-observed with least recently.
CO_OBSERVED_DAYS, PARTNERS_SHOWN = 90, 5


def practitioner_program():
    """The program whose state and cadence a practitioner's row shows."""
    programs = Program.objects.with_rules()
    return programs.practitioner_path().first() or programs.first()


def caseload_of(coach):
    """The coach's local today and current caseload, {practitioner id: organization id}."""
    today = coach.organization.local_today()
    current = CoachAssignment.objects.current(today).filter(coach=coach)
    return today, dict(current.values_list("practitioner_id", "practitioner__organization_id"))


def kept(coach, acting, today, assigned):
    """Where the dashboard's sections (and its rendered page) are kept: until a write
    touches the coach's organization or one of the caseload's (a purveyor's coach may coach
    in several); the caseload itself is in the key, so an assignment that ends today or
    tomorrow changes it."""
    organizations = {coach.organization_id, *assigned.values()}
    return generations.Kept(organizations, (coach.pk, acting, today, tuple(sorted(assigned))))


def build(coach, acting=True, found=None, keep=None):
    """The coach's dashboard; `acting` when the coach reads it: their drafts (seen by their
    author only) are listed, and the next steps link to
    the pages they act on (a leader reading it sees the steps without links, as those pages
    are the coach's). `found`: caseload_of(coach), when read already."""
    today, assigned = found or caseload_of(coach)
    todays = {coach.organization.time_zone: today}
    # The ids as a list: as a subquery, the planner guessed the caseload large and read
    # every drift alert to find its few.
    people = Person.objects.filter(pk__in=list(assigned)).still_working(todays)
    program = practitioner_program()
    every = program.observe_every_days if program else 30
    keep = keep or kept(coach, acting, today, assigned)

    def section(name, compute):
        return keep(f"coach.{name}", compute)

    return {
        "caseload": section("caseload", lambda: caseload(people, program, todays, today)),
        "due": section("due", lambda: due(people, program, todays, today, acting)),
        "alerts": section("alerts", lambda: alerts(people)),
        "feedback": section("feedback", lambda: feedback_quality(coach, today)),
        "program": program,
        "every_days": every,
        "today": today,
        "drafts": section("drafts", lambda: drafts(coach)) if acting else None,
        "co_observed": section("co_observed", lambda: co_observed(coach, program, today)),
    }


def caseload(people, program, todays, today):
    rows = with_open_alerts(with_momentum(people.with_last_observation()))
    standing = certification.with_standing(people, program, todays) if program else {}
    rows = rows.select_related("team").order_by("last_name", "first_name", "pk")
    return Table(
        "caseload",
        "Caseload: each practitioner's latest observation and certification",
        [
            "Practitioner",
            "Team",
            "Last observed",
            "Latest score",
            "Band",
            "Momentum",
            f"{program.name if program else 'Certification'}",
            "Next date",
            "Alerts to follow up",
        ],
        [_caseload_row(row, standing.get(row.pk), program, today) for row in rows],
        empty="Nobody is assigned to you now.",
    )


def _caseload_row(row, standing, program, today):
    next_date = certification.next_date_of(standing) if standing else None
    return [
        person_cell(row.pk, row.full_name, "practitioner"),
        row.team.name if row.team else "",
        Cell(row.last_observed_on, href=_observation_url(row.last_id)),
        row.last_score,
        row.last_band,
        (row.momentum or "").capitalize(),
        dates.LABELS[dates.State(standing.state)] if standing else "",
        Cell(f"{next_date[0]} {next_date[1]:%Y-%m-%d}" if next_date else "", css="text-nowrap"),
        Cell(row.open_alerts, css="table-danger" if row.open_alerts else ""),
    ]


def _observation_url(pk):
    return reverse("observations:detail", args=[pk]) if pk else None


def due(people, program, todays, today, acting=True):
    """Who is due an observation or a coaching session within DUE_SOON_DAYS, or overdue:
    one row for each, most urgent first."""
    every = program.observe_every_days if program else 30
    observed = people.with_last_observation(only=["last_observed_on"])
    found = [
        (p.due_from + dt.timedelta(days=every), p.full_name, p.pk, _observation_due(p, acting))
        for p in observed.due_for_observation(every, todays, within_days=DUE_SOON_DAYS)
    ]
    plans = CoachingPlan.objects.active().filter(practitioner=OuterRef("pk")).values("pk")
    coached = people.due_for_session(program, todays, within_days=DUE_SOON_DAYS)
    for p in coached.annotate(plan_id=Subquery(plans[:1])):
        due_on = p.session_due_from + dt.timedelta(days=p.session_every)
        found.append((due_on, p.full_name, p.pk, _session_due(p, acting)))
    found.sort(key=lambda row: row[:3])
    sessions = _session_cadence(program)
    return Table(
        "due",
        f"Due or overdue: an observation every {every} days, a coaching session {sessions}; "
        "most urgent first",
        ["Practitioner", "Due for", "Last one", "Due on", "Urgency", "Next step"],
        [
            [_person_cell(pk, name), *cells[:2], due_on, _urgency(due_on, today), cells[2]]
            for due_on, name, pk, cells in found
        ],
        empty=f"Nobody is due in the next {DUE_SOON_DAYS} days.",
    )


def _observation_due(person, acting):
    start = f"{reverse('observations:new')}?practitioner={person.pk}"
    return ["Observation due", person.last_observed_on, _step("Start observation", start, acting)]


def _session_due(person, acting):
    """A session due: logged under their active plan, if they have one, else on its own."""
    step = "Log session under the plan" if person.plan_id else "Log session"
    href = reverse("coaching:session_with", args=[person.pk])
    return ["Session due", person.last_session_on, _step(step, href, acting)]


def _step(label, href, acting):
    return Cell(label, href=href, css="start") if acting else label


def _session_cadence(program):
    program = program or Program()  # unsaved: the defaults
    return (
        f"every {program.session_every(False)} days until certified, "
        f"{program.session_every(True)} after"
    )


def _person_cell(pk, name):
    return person_cell(pk, name, "practitioner")


def _urgency(due_on, today):
    days = (due_on - today).days
    if days < 0:
        return Cell(f"Overdue by {-days} days", css="table-danger")
    if days == 0:
        return Cell("Due today", css="table-warning")
    return Cell(f"Due in {days} days", css="table-warning")


def drafts(coach):
    """Observations the coach started and has not submitted, each with a link to go on."""
    zone = zoneinfo.ZoneInfo(coach.organization.time_zone)
    return Table(
        "drafts",
        "Observations you started and have not submitted; the last worked on first",
        ["Practitioner", "Rubric", "Observed on", "Started", "Last saved", "Next step"],
        [
            [
                _person_cell(draft.practitioner_id, draft.practitioner.full_name),
                draft.rubric_version.rubric.name,
                draft.observed_on,
                _moment(draft.created_at, zone),
                _moment(draft.updated_at, zone),
                Cell("Continue", href=reverse("observations:edit", args=[draft.pk]), css="start"),
            ]
            for draft in Observation.objects.drafts_of(coach)
        ],
        empty="No unfinished observations.",
    )


def _moment(when, zone):
    return Cell(f"{when.astimezone(zone):%Y-%m-%d %H:%M}", css="text-nowrap")


def alerts(people):
    # Their ids first, as a list: joined as a subquery, the planner read every open alert
    # in the state to find a caseload's few (60-70 ms against 11 at a million observations).
    ids = list(people.values_list("pk", flat=True))
    found = DriftAlert.objects.active().filter(practitioner_id__in=ids)
    found = found.for_list().order_by("-raised_on", "-pk")
    return Table(
        "alerts",
        "Drift alerts in the caseload not yet closed",
        ["Raised", "About", "Rubric", "Rules", "Status"],
        [
            [
                Cell(alert.raised_on, href=alert.get_absolute_url()),
                person_cell(alert.practitioner_id, alert.about(), "practitioner")
                if alert.practitioner_id
                else alert.about(),
                alert.rubric.name,
                "; ".join(alert.rule_names()),
                alert.status_label(),
            ]
            for alert in found
        ],
        empty="No drift alerts in the caseload are waiting to close.",
    )


def feedback_quality(coach, today):
    """The coach's own feedback quality over the last FEEDBACK_DAYS, with their coaching
    rubric scores."""
    start = today - dt.timedelta(days=FEEDBACK_DAYS)
    rows = Person.objects.filter(pk=coach.pk).with_feedback_quality(start, today)
    return feedback.table(rows, start, today)


@dataclass
class CoObserved:
    """How many of the coach's recent observations a second observer scored too, against
    the program's share, and the colleagues to ask next."""

    observed: int
    co_observed: int
    wanted_percent: int
    partners: Table

    @property
    def percent(self):
        return round(100 * self.co_observed / self.observed) if self.observed else None

    @property
    def is_due(self):
        """Below the program's share (and observing at all)."""
        wanted = self.wanted_percent * self.observed
        return bool(self.observed and self.wanted_percent and 100 * self.co_observed < wanted)


def co_observed(coach, program, today):
    since = today - dt.timedelta(days=CO_OBSERVED_DAYS)
    mine = Observation.objects.submitted().of_practice().filter(coach=coach)
    mine = mine.filter(observed_on__gte=since, observed_on__lte=today)
    both = Q(co_observation__status=CoObservation.Status.SUBMITTED)
    counts = mine.aggregate(observed=Count("pk"), co_observed=Count("pk", filter=both))
    wanted = program.co_observed_percent if program else Program().co_observed_percent
    return CoObserved(counts["observed"], counts["co_observed"], wanted, _partners(coach, today))


def _partners(coach, today):
    """Colleagues who may co-observe with the coach (their organization's working coaches),
    those they have co-observed with least recently first: partners rotate."""
    together = CoObservation.objects.exclude(status=CoObservation.Status.WITHDRAWN)
    last = {}
    # The observer of record is the one who invited: both sides are the row's own columns,
    # each an index scan (through the observations, it read every co-observation).
    pairs = together.filter(Q(invited_by=coach) | Q(second_observer=coach)).values_list(
        "invited_by_id", "second_observer_id", "invited_at"
    )
    for first, second, when in pairs:
        other = second if first == coach.pk else first
        last[other] = max(last.get(other, when), when)
    colleagues = Person.objects.with_role(Role.COACH).filter(organization_id=coach.organization_id)
    colleagues = (
        colleagues.active_on(today).exclude(pk=coach.pk).order_by("last_name", "first_name")
    )
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    ranked = sorted(colleagues, key=lambda c: last.get(c.pk, never))[:PARTNERS_SHOWN]
    return Table(
        "co_observed",
        "Colleagues to ask to co-observe, the one you have co-observed with least recently first",
        ["Colleague", "Last co-observed together"],
        [
            [
                person_cell(c.pk, c.full_name, "coach"),
                last[c.pk].date() if c.pk in last else "never",
            ]
            for c in ranked
        ],
        empty="No other coach in your organization to co-observe with.",
    )

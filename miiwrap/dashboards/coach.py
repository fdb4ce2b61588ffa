"""The coach dashboard: the caseload at a glance, and whom to observe next."""

import datetime as dt

from django.urls import reverse

from certification import dates
from certification import models as certification
from certification.models import Program
from coaching.models import CoachAssignment, DriftAlert, with_momentum, with_open_alerts
from miiwrap.dashboards import feedback
from miiwrap.dashboards.tables import Cell, Table
from miiwrap.people.models import Person

# Who is due within this many days is listed with the overdue.
DUE_SOON_DAYS = 14
# The coach's own feedback quality is read over the last year.
FEEDBACK_DAYS = 365


def practitioner_program():
    """The program whose state and cadence a practitioner's row shows."""
    programs = Program.objects.with_rules()
    return programs.filter(audience_role="practitioner").first() or programs.first()


def build(coach):
    today = coach.organization.local_today()
    todays = {coach.organization.time_zone: today}
    current = CoachAssignment.objects.current(today).filter(coach=coach)
    caseload_ids = current.values_list("practitioner_id", flat=True)
    # The ids as a list: as a subquery, the planner guessed the caseload large and read
    # every drift alert to find its few.
    people = Person.objects.filter(pk__in=list(caseload_ids)).still_working(todays)
    program = practitioner_program()
    every = program.observe_every_days if program else 30
    return {
        "caseload": caseload(people, program, todays, today),
        "due": due(people.with_last_observation(), every, todays, today),
        "alerts": alerts(people),
        "feedback": feedback_quality(coach, today),
        "program": program,
        "every_days": every,
        "today": today,
    }


def caseload(people, program, todays, today):
    rows = with_open_alerts(with_momentum(people.with_last_observation()))
    if program is not None:
        rows = certification.with_standing(rows, program, todays)
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
        [_caseload_row(row, program, today) for row in rows],
        empty="Nobody is assigned to you now.",
    )


def _caseload_row(row, program, today):
    next_date = certification.next_date_of(row) if program else None
    return [
        Cell(row.full_name, href=reverse("dashboards:practitioner", args=[row.pk])),
        row.team.name if row.team else "",
        Cell(row.last_observed_on, href=_observation_url(row.last_id)),
        row.last_score,
        row.last_band,
        (row.momentum or "").capitalize(),
        dates.LABELS[dates.State(row.state)] if program else "",
        f"{next_date[0]} {next_date[1]:%Y-%m-%d}" if next_date else "",
        Cell(row.open_alerts, css="table-danger" if row.open_alerts else ""),
    ]


def _observation_url(pk):
    return reverse("observations:detail", args=[pk]) if pk else None


def due(people, every, todays, today):
    """Who is due within DUE_SOON_DAYS or overdue, most overdue first."""
    found = people.due_for_observation(every, todays, within_days=DUE_SOON_DAYS)
    rows = []
    for person in found.select_related("team"):
        due_on = person.due_from + dt.timedelta(days=every)
        days = (due_on - today).days
        rows.append(
            [
                Cell(person.full_name, href=reverse("dashboards:practitioner", args=[person.pk])),
                person.last_observed_on,
                due_on,
                Cell(
                    f"Overdue by {-days} days" if days < 0 else f"Due in {days} days",
                    css="table-danger" if days < 0 else "table-warning",
                ),
                Cell(
                    "Start observation",
                    href=f"{reverse('observations:new')}?practitioner={person.pk}",
                    css="start",
                ),
            ]
        )
    return Table(
        "due",
        f"Due or overdue for observation (one every {every} days), most urgent first",
        ["Practitioner", "Last observed", "Due on", "Urgency", "Observe"],
        rows,
        empty=f"Nobody is due in the next {DUE_SOON_DAYS} days.",
    )


def alerts(people):
    found = DriftAlert.objects.active().filter(practitioner__in=people.values("pk"))
    found = found.for_list().order_by("-raised_on", "-pk")
    return Table(
        "alerts",
        "Drift alerts in the caseload not yet closed",
        ["Raised", "About", "Rubric", "Rules", "Status"],
        [
            [
                Cell(alert.raised_on, href=alert.get_absolute_url()),
                alert.about(),
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

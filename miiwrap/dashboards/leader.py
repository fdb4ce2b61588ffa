"""The leader dashboard: what it shows for a scope of organizations, section by section.

Each section reads one or two named QuerySet methods that aggregate in the database, so
the page costs the same few queries at ten observations or a million; this module only
arranges their rows into tables and charts.
"""

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Q

from certification import dates
from certification import pipeline as pipeline_sql
from certification.models import Program
from certification.pipeline import EXPIRING_WITHIN
from coaching.levels import METRIC
from coaching.models import CoachAssignment, DriftAlert, ItemMonth, OrganizationItemMonth
from miiwrap import charts, generations, months
from miiwrap.dashboards import feedback
from miiwrap.dashboards.tables import Cell, Table, people_cell, person_cell
from miiwrap.people.models import Person, Team, todays_by_zone
from observations import summaries
from observations.models import Dispute, Metric, Observation, RubricVersion

# Rows a list shows on the page; its CSV has them all.
SHOWN = 25
# A series per group is drawn up to this many groups; beyond, the table compares them.
MOST_LINES = 8
DAYS_A_MONTH = 365.25 / 12
# The pipeline's charts sit three abreast: drawn narrow, their text stays readable.
PIPELINE_CHART_WIDTH = 320
BANDS_CHART_WIDTH = 480


@dataclass
class Scope:
    """Whose numbers: the organizations (one, or all a purveyor admin sees), and filters."""

    organizations: list
    team: Team | None
    program: Program | None
    rubric: object
    start: dt.date
    end: dt.date
    export: str = ""  # the table being downloaded: its list is read whole
    groups: tuple | None = None  # groups_of's answer, once read

    @property
    def compares(self):
        """Across organizations, each group is an organization; within one, a team."""
        return len(self.organizations) > 1

    @cached_property
    def todays(self):
        """{zone: today there}, read once a request: every month cell asks."""
        return todays_by_zone({org.time_zone for org in self.organizations})

    @cached_property
    def today(self):
        """The earliest of the organizations' todays: a month runs until it is over
        everywhere in view."""
        return min(self.todays.values())

    @property
    def months(self):
        return months.months_between(self.start, self.end)

    def is_partial(self, month):
        return months.is_partial(month, self.start, self.end, self.today)

    def month_labels(self):
        return [months.month_label(m, self.is_partial(m)) for m in self.months]

    def people(self):
        people = Person.objects.filter(organization__in=self.organizations)
        if self.team:
            people = people.filter(team=self.team)
        return people.still_working(self.todays)

    def observations(self):
        seen = Observation.objects.of_practice().filter(
            practitioner__organization__in=self.organizations,
            observed_on__range=(self.start, self.end),
        )
        return seen.filter(practitioner__team=self.team) if self.team else seen

    @property
    def organization_ids(self):
        return [org.pk for org in self.organizations]

    @property
    def key(self):
        """What a kept section of this scope depends on besides its organizations' data:
        the filters and each organization's local date."""
        return (
            self.team.pk if self.team else None,
            self.program.pk if self.program else None,
            getattr(self.rubric, "pk", None),
            self.start,
            self.end,
            tuple(sorted(self.todays.items())),
        )

    def shown(self, key, rows):
        """The first SHOWN rows, or all of them when this table is being downloaded."""
        return rows if self.export == key else rows[:SHOWN]


def scope_from(cleaned, organizations, export=""):
    """The Scope a valid LeaderFilterForm describes."""
    chosen = cleaned["organization"]
    return Scope(
        organizations=[chosen] if chosen else organizations,
        team=cleaned["team"],
        program=cleaned["program"],
        rubric=cleaned["rubric"],
        start=cleaned["start"],
        end=cleaned["end"],
        export=export,
    )


def groups_of(scope):
    """{group id: name} and the field path an observation's group is read from: teams
    within one organization, organizations compared. Read once a view."""
    if scope.groups is None:
        scope.groups = _groups(scope)
    return scope.groups


def _groups(scope):
    if scope.compares:
        return {org.pk: org.name for org in scope.organizations}, "practitioner__organization"
    teams = Team.objects.filter(organization__in=scope.organizations)
    if scope.team:
        teams = teams.filter(pk=scope.team.pk)
    names = {team.pk: team.name for team in teams}
    return {**names, None: "No team"}, "practitioner__team"


def kept(scope):
    """Where this scope's sections (and its rendered page) are kept: its organizations'
    generations, its filters and local dates."""
    return generations.Kept(scope.organization_ids, scope.key)


def build(scope, keep=None):
    """Every section of the dashboard: {name: value} for the template."""
    # Only the evidence rules are read (for "in progress"), not what they refer to.
    programs = Program.objects.prefetch_related("evidence_rules")
    programs = [scope.program] if scope.program else list(programs)
    version = newest_version(scope.rubric)
    cadence = cadence_program(programs)

    # Each section as last computed for this scope, unless a write has touched one of its
    # organizations since (miiwrap.generations); a download is read afresh.
    keep = keep or kept(scope)

    def section(name, compute):
        return compute() if scope.export else keep(f"leader.{name}", compute)

    return {
        **section("pipeline", lambda: pipeline(scope, programs)),
        **section("trend", lambda: trend(scope, version)),
        "bands": section("bands", lambda: bands(scope, version)),
        "alerts": section("alerts", lambda: alerts(scope)),
        "open_disputes": section("open_disputes", lambda: open_disputes(scope)),
        "heat_map": section("heat_map", lambda: heat_map(scope, version)),
        **section("coach_activity", lambda: coach_activity(scope, cadence)),
        "sessions": section("sessions", lambda: coach_sessions(scope, cadence)),
        "feedback": section("feedback", lambda: feedback_quality(scope)),
        "overdue": section("overdue", lambda: overdue(scope, cadence)),
    }


def newest_version(rubric):
    versions = RubricVersion.objects.filter(rubric=rubric).prefetch_related("metrics", "items")
    published = versions.filter(status=RubricVersion.Status.PUBLISHED)
    return (published.order_by("-number").first()) or versions.order_by("-number").first()


def cadence_program(programs):
    """The program whose cadence 'overdue' means: the one chosen, else the first for
    practitioners."""
    for_practitioners = [p for p in programs if p.audience_role == "practitioner"]
    return (for_practitioners or programs)[0] if programs else None


# 1. Certification pipeline and expirations ----------------------------------------------


def pipeline(scope, programs):
    states, counted, soon = certification_states(), {}, {}
    # Every organization's people hold most of the periods there are: read them in one pass.
    counts, soonest = pipeline_sql.read(
        scope.people(), programs, scope.todays, few=not scope.compares
    )
    for program_id, state, within, n in counts:
        counted[(program_id, state)] = counted.get((program_id, state), 0) + n
        if within:
            soon[(program_id, within)] = soon.get((program_id, within), 0) + n
    table = Table(
        "pipeline",
        "Certification pipeline: people in each state, by program",
        ["Program", *[label for _, label in states], "Total"],
        [
            [
                program.name,
                *[counted.get((program.pk, state), 0) for state, _ in states],
                sum(counted.get((program.pk, state), 0) for state, _ in states),
            ]
            for program in programs
        ],
    )
    charts_ = [
        (
            program.name,
            charts.bar_chart(
                title=f"{program.name}: people by certification state",
                bars=[(label, counted.get((program.pk, state), 0)) for state, label in states],
                colors=STATE_COLORS,
                width=PIPELINE_CHART_WIDTH,
            ),
        )
        for program in programs
    ]
    return {
        "pipeline": table,
        "pipeline_charts": charts_,
        "expirations": expirations(scope, programs, soon),
        "expiring": expiring(scope, programs, soonest),
    }


def certification_states():
    shown = [s for s in dates.State if s != dates.State.NOT_YET]
    return [(state.value, dates.LABELS[state]) for state in shown]


STATE_COLORS = {
    "Not certified": "#8a8f98",
    "In progress": "#56B4E9",
    "Certified": "#009E73",
    "Window open": "#E69F00",
    "Grace": "#D55E00",
    "Lapsed": "#B2182B",
    "Revoked": "#555555",
}


def expirations(scope, programs, soon):
    headings = ["Program", *[f"Within {days} days" for days in EXPIRING_WITHIN]]
    rows = []
    for program in programs:
        running, row = 0, [program.name]
        for days in EXPIRING_WITHIN:
            running += soon.get((program.pk, days), 0)
            row.append(running)
        rows.append(row)
    return Table(
        "expirations", "Certifications expiring in the next 30, 60 and 90 days", headings, rows
    )


def expiring(scope, programs, soonest):
    found = scope.shown("expiring", soonest)
    people = Person.objects.select_related("team", "organization").in_bulk(
        [person_id for _, person_id, *_ in found]
    )
    names = {program.pk: program.name for program in programs}
    # Each opens the view of what the program certifies: a coach's dashboard for coaches.
    prefer = {program.pk: program.audience_role or None for program in programs}
    rows = [
        [
            person_cell(pk, people[pk].full_name, prefer[program_id]),
            _where(scope, people[pk]),
            names[program_id],
            dates.LABELS[dates.State(state)],
            expires,
            (expires - today).days,
        ]
        for program_id, pk, state, expires, today in found
    ]
    return Table(
        "expiring",
        "Who expires in the next 90 days, soonest first",
        [
            "Person",
            "Organization" if scope.compares else "Team",
            "Program",
            "State",
            "Expires",
            "Days left",
        ],
        rows,
        empty="No certification expires in the next 90 days.",
    )


def _where(scope, person):
    if scope.compares:
        return person.organization.name
    return person.team.name if person.team else ""


# 2. Fidelity trend and band distribution ------------------------------------------------


def overall_metric(version):
    if version is None:
        return None
    return next((m for m in version.metrics.all() if m.is_overall), None)


def trend(scope, version):
    """Each group's monthly mean, with everyone's; the chart draws the groups while they
    are few enough to tell apart. A partial month is drawn apart and labelled "so far":
    a few days' observations are no month's level."""
    names, group = groups_of(scope)
    shown, sums, totals = scope.months, {}, {}
    rows = scope.observations().filter(rubric_version__rubric=scope.rubric)
    for key, month, mean, n in rows.fidelity_by_month(group):
        sums[(key, month)] = (float(mean), n)
        totals[key] = totals.get(key, 0) + n
        everyone = sums.get(("all", month), (0.0, 0))
        sums[("all", month)] = (everyone[0] + float(mean) * n, everyone[1] + n)
    everyone = [_all_mean(sums.get(("all", m))) for m in shown]
    series = [
        (names[key], [sums.get((key, m), (None,))[0] for m in shown])
        for key in names
        if key in totals
    ]
    overall = overall_metric(version)
    thresholds = [(t["band"], t["minimum"]) for t in (overall.thresholds if overall else [])]
    unit = "organization" if scope.compares else "team"
    labels = scope.month_labels()
    chart = None
    if overall is not None:
        chart = charts.line_chart(
            title=f"Mean {overall.label.lower()} by month, everyone and each {unit}",
            labels=[months.month_label(m) for m in shown],
            series=[("Everyone", everyone), *(series if len(series) <= MOST_LINES else [])],
            thresholds=thresholds,
            low=0,
            high=100,
            unit="%",
            partial=[i for i, m in enumerate(shown) if scope.is_partial(m)],
        )
    table = Table(
        "trend",
        f"Mean overall score by month on {scope.rubric.name}",
        [unit.capitalize(), *labels, "Observations"],
        [
            *[
                [name, *_trend_cells(scope, shown, values), totals[key]]
                for (name, values), key in _keyed(series, names)
            ],
            ["Everyone", *_trend_cells(scope, shown, everyone), sum(totals.values())],
        ]
        if totals
        else [],
        empty="No scored observations on this rubric in this range.",
    )
    return {
        "trend": table,
        "trend_chart": chart,
        "trend_too_many": len(series) > MOST_LINES,
        "has_overall": overall is not None,
        "trend_partial": [months.month_label(m) for m in shown if scope.is_partial(m)],
    }


def _trend_cells(scope, shown, values):
    """A partial month's mean greyed and in italics, as its chart point is hollow."""
    return [
        Cell(value, css="text-body-secondary fst-italic") if scope.is_partial(m) else value
        for m, value in zip(shown, values, strict=True)
    ]


def _all_mean(pair):
    return None if not pair or not pair[1] else pair[0] / pair[1]


def _keyed(series, names):
    by_name = {name: key for key, name in names.items()}
    return [((name, values), by_name[name]) for name, values in series]


def bands(scope, version):
    """How each practitioner's latest observation in the range was banded."""
    people = scope.people().with_role("practitioner")
    people = people.with_last_observation(scope.rubric.pk, ["last_observed_on", "last_band"])
    counted = people.filter(last_observed_on__range=(scope.start, scope.end)).counts_by("last_band")
    order = list(version.bands) if version else []
    order += sorted(band for band in counted if band and band not in order)
    rows = [(band, counted.get(band, 0)) for band in order]
    if counted.get("") or counted.get(None):
        rows.append(("No band", (counted.get("") or 0) + (counted.get(None) or 0)))
    everyone = sum(n for _, n in rows)
    table = Table(
        "bands",
        f"Band of each practitioner's latest observation on {scope.rubric.name}",
        ["Band", "Practitioners", "Share (%)"],
        [[band, n, 100 * n / everyone if everyone else 0] for band, n in rows],
    )
    chart = charts.bar_chart(
        title="Practitioners by the band of their latest observation",
        bars=rows,
        colors=charts.BAND_COLORS,
        width=BANDS_CHART_WIDTH,
    )
    return {"table": table, "chart": chart, "everyone": everyone}


# 3. Drift alerts ----------------------------------------------------------------------


def alerts(scope):
    found = DriftAlert.objects.active().filter(organization__in=scope.organizations)
    if scope.team:
        found = found.filter(Q(practitioner__team=scope.team) | Q(team=scope.team))
    # Only what the rows name: for_list's momentum and acknowledger are not shown here.
    found = found.filter(rubric=scope.rubric).select_related("practitioner", "team", "organization")
    found = found.order_by("-raised_on", "-pk")
    total = found.count()
    rows = [
        [
            Cell(alert.raised_on, href=alert.get_absolute_url()),
            _about(alert),
            alert.organization.name if scope.compares else alert.get_scope_display(),
            "; ".join(alert.rule_names()),
            alert.status_label(),
        ]
        for alert in scope.shown("alerts", found)
    ]
    return Table(
        "alerts",
        f"Drift alerts not yet closed on {scope.rubric.name}, newest first",
        ["Raised", "About", "Organization" if scope.compares else "Level", "Rules", "Status"],
        rows,
        total=total,
        empty="No drift alerts are waiting to close.",
    )


def _about(alert):
    """Whom an alert is about: the practitioner's name, linked; else the team or item."""
    if alert.practitioner_id:
        return person_cell(alert.practitioner_id, alert.about(), "practitioner")
    return alert.about()


def open_disputes(scope):
    """How many observations of the scope's people are disputed and not yet settled."""
    found = Dispute.objects.open().filter(
        observation__practitioner__organization__in=scope.organizations
    )
    if scope.team:
        found = found.filter(observation__practitioner__team=scope.team)
    return found.count()


# 4. Weakest items, team by item ---------------------------------------------------------


def scales(version):
    """{code: (label, lowest, highest)} of what rises with fidelity and has a fixed range:
    rated items and indicators, and percentage metrics, in the version's order."""
    if version is None:
        return {}
    found = {}
    for item in version.items.all():
        if item.rises_with_fidelity() and item.scale_max > item.scale_min:
            found[item.code] = (item.label, item.scale_min, item.scale_max)
    for metric in version.metrics.all():
        percent = metric.kind in (Metric.Kind.PERCENT, Metric.Kind.PERCENT_OF_POSSIBLE)
        if percent and metric.rises_with_fidelity() and not metric.is_overall:
            found[METRIC + metric.code] = (metric.label, 0, 100)
    return found


def heat_map(scope, version):
    """Each group's mean on each item as a share of the item's range, from the monthly
    item sums the drift job keeps (complete months). An item a row, weakest first, and a
    group a column: a rubric has more items than a scope has groups, so the map grows
    down the page, never out of its box."""
    names, _ = groups_of(scope)
    last = min(scope.end, months.last_complete_day(scope.today))
    measured = scales(version)
    cells, overall = _item_shares(scope, last, measured)
    codes = sorted(overall, key=lambda c: _share(overall[c][0] / overall[c][1], measured[c]))
    keys = [key for key in names if any((key, code) in cells for code in codes)]
    rows = [
        [
            Cell(measured[code][0], css="heat-map-item"),
            _heat_cell(_share(overall[code][0] / overall[code][1], measured[code])),
            *[_heat_cell(cells.get((key, code))) for key in keys],
        ]
        for code in codes
    ]
    return {
        "table": Table(
            "items",
            f"Mean item score as a share of its range (%), weakest items first, "
            f"{months.month_label(scope.start)} to {months.month_label(last)}",
            ["Item", "Everyone", *[names[key] for key in keys]],
            rows,
            empty="No item scores counted for these months yet (they are counted nightly, "
            "for complete months).",
        ),
        "through": last,
        "legend": HEAT_LEGEND,
    }


def _item_shares(scope, last, measured):
    """{(group, code): share} and {code: (total, count)} over every group."""
    chosen = {
        "organization__in": scope.organizations,
        "rubric": scope.rubric,
        "month__range": (scope.start.replace(day=1), last),
    }
    if scope.team:
        chosen["team_id"] = scope.team.pk
    if scope.compares and not scope.team:
        sums = OrganizationItemMonth.objects.filter(**chosen).sums_by_organization()
    else:
        group = "organization_id" if scope.compares else "team_id"
        sums = ItemMonth.objects.filter(**chosen).sums_by(group)
    cells, overall = {}, {}
    for key, code, total, count in sums:
        if code in measured and count:
            cells[(key or None, code)] = _share(total / count, measured[code])
            o_total, o_count = overall.get(code, (0, 0))
            overall[code] = (o_total + total, o_count + count)
    return cells, overall


def _share(mean, scale):
    _, low, high = scale
    return 100 * (mean - low) / (high - low)


# The heat map's shades: steps of HEAT_STEP points of the share, weakest darkest
# (.heat-0 to .heat-19 in miiwrap.css), and the legend that names them.
HEAT_STEP = 5
HEAT_STEPS = 100 // HEAT_STEP
HEAT_LEGEND = {
    "steps": [f"heat-{step}" for step in range(HEAT_STEPS)],
    "ticks": [0, 25, 50, 75, 100],
}


def heat_step(share):
    """The shade of a share (0 to 100): 0 for under 5, 19 for 95 and over."""
    return min(HEAT_STEPS - 1, max(0, int(share // HEAT_STEP)))


def _heat_cell(share):
    if share is None:
        return Cell(None)
    shown = round(share, 1)  # shaded as it reads: "80" is never a 79.96's shade
    return Cell(shown, css=f"heat-{heat_step(shown)}")


# 5. Coach activity and who is overdue ---------------------------------------------------


def coach_activity(scope, program):
    """Observations a month by each coach (or each organization's coaches), against what
    their caseload and the program's cadence call for. A partial month is counted but
    never shaded short: its days are not yet a month's."""
    every = program.observe_every_days if program else 30
    shown = scope.months
    coaches = scope_coaches(scope)
    found = list(coaches.values_list("pk", "organization_id", "first_name", "last_name"))
    # Their ids as a list: the counts below probe each coach's rows by index.
    ids = [pk for pk, *_ in found]
    # Whole months from the monthly counts kept on write; the months cut by the range from
    # the observations (observations.summaries).
    counted = {}
    group = {pk: org for pk, org, *_ in found} if scope.compares else {pk: pk for pk in ids}
    for (coach, month), (n, _) in summaries.coach_counts(ids, scope.start, scope.end).items():
        counted[(group[coach], month)] = counted.get((group[coach], month), 0) + n
    sizes = CoachAssignment.objects.filter(coach__in=ids).caseload_sizes()
    if scope.compares:
        names = {org.pk: org.name for org in scope.organizations}
        caseloads = {}
        for pk, org, *_ in found:
            caseloads[org] = caseloads.get(org, 0) + sizes.get(pk, 0)
    else:
        names = {pk: f"{first} {last}".strip() for pk, _, first, last in found}
        caseloads = {pk: sizes.get(pk, 0) for pk in names}
    rows = []
    for key, name in names.items():
        expected = caseloads.get(key, 0) * DAYS_A_MONTH / every
        counts = {month: counted.get((key, month), 0) for month in shown}
        rows.append(
            [
                name if scope.compares else person_cell(key, name, "coach"),
                caseloads.get(key, 0),
                round(expected, 1),
                *[_activity_cell(scope, m, n, expected) for m, n in counts.items()],
                sum(counts.values()),
            ]
        )
    who = "Organization (its coaches)" if scope.compares else "Coach"
    table = Table(
        "coaches",
        f"Observations by month against the cadence (one every {every} days for each "
        "practitioner in the current caseload); shaded months fall short; a month "
        f"{months.PARTIAL} is not judged",
        [who, "Caseload", "Expected a month", *scope.month_labels(), "Total"],
        rows,
        empty="No coaches here.",
    )
    return {"coaches": table, "every_days": every}


def _activity_cell(scope, month, n, expected):
    if scope.is_partial(month):
        return Cell(n, css="text-body-secondary fst-italic")
    return Cell(n, css="table-warning" if n < expected else "")


def coach_sessions(scope, program):
    """Coaching sessions each coach (or each organization's coaches) held in the range,
    against those due, as coach_activity counts observations: the current caseload, split
    into those certified in the program and not, times the sessions a month each owes
    (DAYS_A_MONTH over the program's days between sessions), times the months shown from
    the month the program began to expect sessions (a partial month by its share). With
    the goals met on the plans that list the coach."""
    program = program or Program()  # unsaved: the defaults, nobody certified
    # All of them, in one query: an organization has tens of coaches, not thousands.
    coaches = scope_coaches(scope).with_session_activity(
        program if program.pk else None, scope.start, scope.end
    )
    totals = _session_totals(scope, list(coaches))
    owed = _months_owed(scope, program.sessions_expected_from)
    rows = []
    for key, (name, caseload, certified, held, goals, met) in totals.items():
        due = owed * DAYS_A_MONTH * _sessions_a_day(program, caseload, certified)
        rows.append(
            [
                name if scope.compares else person_cell(key, name, "coach"),
                caseload,
                certified,
                round(due, 1),
                Cell(held, css="table-warning" if held < due else ""),
                f"{met} of {goals}",
            ]
        )
    return Table(
        "sessions",
        f"Coaching sessions held from {scope.start} to {scope.end} against those due (one "
        f"every {program.session_every(False)} days until certified, "
        f"{program.session_every(True)} after, for each practitioner in the current "
        "caseload); shaded counts fall short",
        [
            "Organization (its coaches)" if scope.compares else "Coach",
            "Caseload",
            "Certified",
            "Sessions due",
            "Sessions held",
            "Goals met",
        ],
        rows,
        empty="No coaches here.",
    )


def _months_owed(scope, since):
    """The months shown that owe sessions, a partial month as the share of its days
    counted so far: three days of December owe a tenth of December's sessions. Months
    before the program expected sessions owe none."""
    return sum(
        months.covered_share(m, scope.start, scope.end, scope.today + dt.timedelta(1))
        for m in scope.months
        if since is None or m >= months.first_day(since)
    )


SESSION_COUNTS = ["caseload", "certified", "sessions_held", "goals", "goals_met"]


def _session_totals(scope, coaches):
    """{key: [name, *SESSION_COUNTS]} by coach, or summed by organization (each listed,
    as coach activity lists them)."""
    if scope.compares:
        totals = {org.pk: [org.name, *[0] * len(SESSION_COUNTS)] for org in scope.organizations}
    else:
        totals = {c.pk: [c.full_name, *[0] * len(SESSION_COUNTS)] for c in coaches}
    for coach in coaches:
        counted = totals[coach.organization_id if scope.compares else coach.pk]
        for n, field in enumerate(SESSION_COUNTS, 1):
            counted[n] += getattr(coach, field)
    return totals


def _sessions_a_day(program, caseload, certified):
    return (caseload - certified) / program.session_every(False) + certified / (
        program.session_every(True)
    )


def scope_coaches(scope):
    """The coaches in view who still work here, by name."""
    coaches = Person.objects.filter(organization__in=scope.organizations).with_role("coach")
    if scope.team:
        coaches = coaches.filter(team=scope.team)
    return coaches.still_working(scope.todays).order_by("last_name", "first_name", "pk")


def feedback_quality(scope):
    """Each coach's feedback quality in the range, with their coaching rubric scores."""
    # All of them, in one query: an organization has tens of coaches, not thousands. What
    # they observed is counted from the monthly counts kept on write, as coach_activity's.
    coaches = list(scope_coaches(scope).with_coaching_scores(scope.start, scope.end))
    counted = summaries.coach_counts([c.pk for c in coaches], scope.start, scope.end)
    for coach in coaches:
        coach.observed = coach.tied = 0
    by_pk = {coach.pk: coach for coach in coaches}
    for (pk, _), (observed, tied) in counted.items():
        by_pk[pk].observed += observed
        by_pk[pk].tied += tied
    shown = scope.shown("feedback", coaches)
    return feedback.table(shown, scope.start, scope.end, total=len(coaches))


def overdue(scope, program):
    """Practitioners not observed within the cadence, longest waiting first."""
    every = program.observe_every_days if program else 30
    people = (
        scope.people().with_role("practitioner").with_last_observation(only=["last_observed_on"])
    )
    where = "organization__name" if scope.compares else "team__name"
    # Plain values, all of them (at most everyone in view): the count is their number.
    due = list(
        people.due_for_observation(every, scope.todays).values_list(
            "pk", "first_name", "last_name", where, "last_observed_on", "due_from"
        )
    )
    shown = scope.shown("overdue", due)
    coaches = coach_names([row[0] for row in shown])
    today = scope.today
    rows = [
        [
            person_cell(pk, f"{first} {last}".strip(), "practitioner"),
            place or "",
            last_observed_on,
            due_from + dt.timedelta(days=every),
            (today - due_from).days - every,
            people_cell(coaches.get(pk, ()), "coach"),
        ]
        for pk, first, last, place, last_observed_on, due_from in shown
    ]
    return Table(
        "overdue",
        f"Practitioners not observed in the last {every} days, longest waiting first",
        [
            "Practitioner",
            "Organization" if scope.compares else "Team",
            "Last observed",
            "Due on",
            "Days overdue",
            "Coach",
        ],
        rows,
        total=len(due),
        empty="Everyone has been observed within the cadence.",
    )


def coach_names(practitioner_ids):
    """{practitioner id: [(coach id, name)] of their current coaches}, in one query."""
    found = {}
    current = CoachAssignment.objects.current().filter(practitioner_id__in=practitioner_ids)
    for a in current.select_related("coach").order_by("coach__last_name"):
        found.setdefault(a.practitioner_id, []).append((a.coach_id, a.coach.full_name))
    return found

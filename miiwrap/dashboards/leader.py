"""The leader dashboard: what it shows for a scope of organizations, section by section.

Each section reads one or two named QuerySet methods that aggregate in the database, so
the page costs the same few queries at ten observations or a million; this module only
arranges their rows into tables and charts.
"""

import dataclasses
import datetime as dt
import heapq
import itertools
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from certification import dates
from certification import pipeline as pipeline_sql
from certification.models import Program
from certification.pipeline import EXPIRING_WITHIN
from coaching.levels import METRIC
from coaching.models import CoachAssignment, DriftAlert, ItemMonth, OrganizationItemMonth
from miiwrap import charts, generations, months
from miiwrap.dashboards import capacity, feedback
from miiwrap.dashboards.forms import LeaderFilterForm
from miiwrap.dashboards.tables import Cell, Table, people_cell, person_cell
from miiwrap.implementation import dashboard as readiness
from miiwrap.people.models import Organization, Person, Team, todays_by_zone
from observations import summaries
from observations.models import Dispute, Metric, Observation, Rubric, RubricVersion

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
    keep: object = None  # where its sections are kept (`kept`), once build has it

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

    @cached_property
    def partial_months(self):
        """The months shown that are partial: asked of every cell of a month table."""
        return {m for m in self.months if months.is_partial(m, self.start, self.end, self.today)}

    def is_partial(self, month):
        return month in self.partial_months

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

    def only(self, organization_ids):
        """This scope narrowed to some of its organizations, read on the same local
        dates: an organization's part of a comparison is the same whichever others are
        read with it."""
        wanted = set(organization_ids)
        chosen = [org for org in self.organizations if org.pk in wanted]
        narrowed = dataclasses.replace(self, organizations=chosen, groups=None, keep=None)
        narrowed.__dict__["todays"] = self.todays  # cached_property's slot
        return narrowed


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


def landing_scopes():
    """The scopes leaders land on, as the dashboard's view makes them from no filters:
    every organization compared (a purveyor admin's), and each organization's own."""
    rubric = Rubric.objects.for_dashboards().first()
    everyone = list(Organization.objects.all())
    for organizations in [everyone, *([org] for org in everyone)] if everyone else []:
        one = len(organizations) == 1
        today = organizations[0].local_today() if one else timezone.localdate()
        form = LeaderFilterForm({}, organizations=organizations, today=today, default_rubric=rubric)
        if form.is_valid():
            yield scope_from(form.cleaned_data, organizations)


def warm():
    """Compute and keep the sections of every scope leaders land on: the night's jobs
    have just made them all stale, and the morning's first readers would each wait for
    their organization's (the comparison of all of them, seconds at a state's scale).
    Returns how many scopes it kept."""
    kept_scopes = 0
    for scope in landing_scopes():
        build(scope)
        kept_scopes += 1
    return kept_scopes


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


def each_organization(scope, name, read):
    """{organization id: part} of a section that compares organizations: `read(scope)`
    returns {organization id: part} for the scope's organizations, grouped in one pass.
    Each part is kept under its own organization's generation, so after a write to one
    organization only its part is read again (miiwrap.generations.Kept.each); a download
    reads them all afresh. An organization with nothing to count has the part None."""
    if scope.export or scope.keep is None or not scope.compares:
        found = read(scope)
        return {pk: found.get(pk) for pk in scope.organization_ids}
    return scope.keep.each(f"leader.{name}.part", lambda ids: read(scope.only(ids)))


def _grouped(rows, at):
    """{row[at]: [rows with it]}, in their order."""
    found = {}
    for row in rows:
        found.setdefault(row[at], []).append(row)
    return found


def _listed(rows, scope, key):
    """A part that lists rows: (how many, those shown)."""
    return (len(rows), scope.shown(key, rows))


def _merged(scope, table, parts, order):
    """(rows shown, how many in all) of the parts `_listed` made, each sorted by
    `order`, merged in that order."""
    found = [part for part in parts.values() if part]
    rows = heapq.merge(*(rows for _, rows in found), key=order)
    shown = rows if scope.export == table else itertools.islice(rows, SHOWN)
    return list(shown), sum(n for n, _ in found)


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
    scope.keep = keep

    def section(name, compute, apart=True):
        # Comparing organizations, a section whose parts are kept one organization apiece
        # (each_organization) is put together from them afresh: kept whole as well, it
        # would be missed and stored again after every write to any of them, and storing
        # a hundred organizations' rows costs more than putting them together.
        if scope.export or (scope.compares and apart):
            return compute()
        return keep(f"leader.{name}", compute)

    return {
        **section("pipeline", lambda: pipeline(scope, programs)),
        **section("trend", lambda: trend(scope, version)),
        "bands": section("bands", lambda: bands(scope, version)),
        "alerts": section("alerts", lambda: alerts(scope)),
        "open_disputes": section("open_disputes", lambda: open_disputes(scope), apart=False),
        "heat_map": section("heat_map", lambda: heat_map(scope, version)),
        **section("coach_activity", lambda: coach_activity(scope, cadence)),
        "sessions": section("sessions", lambda: coach_sessions(scope, cadence)),
        "feedback": section("feedback", lambda: feedback_quality(scope)),
        "overdue": section("overdue", lambda: overdue(scope, cadence)),
        **section("capacity", lambda: capacity_section(scope)),
        "readiness": section("readiness", lambda: readiness_rows(scope)),
    }


def capacity_section(scope):
    """Internal capacity. Comparing organizations, each one's figures are kept apart, so
    a write to one reads only its figures again."""

    def read(each):
        return capacity.read(each.organizations, each.today, each.team)

    found = each_organization(scope, "capacity", read)
    return capacity.section_of([found[org.pk] for org in scope.organizations], scope.today)


def readiness_rows(scope):
    """Readiness and alignment, a row an organization; comparing them, each row is kept
    apart, and none lists its overdue actions."""
    if not scope.compares:
        return readiness.for_leader_dashboard(scope.organizations, scope.today)

    def read(each):
        rows = readiness.for_leader_dashboard(each.organizations, each.today, list_overdue=False)
        return {row.organization_id: row for row in rows}

    found = each_organization(scope, "readiness", read)
    return sorted((row for row in found.values() if row), key=lambda row: row.name)


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
    if scope.compares:

        def read(each):
            # Every organization's people hold most of the periods there are: read them
            # in one pass, unless there is only one to read.
            people, few = each.people(), not each.compares
            return pipeline_sql.read_by_organization(people, programs, each.todays, few=few)

        parts = [p for p in each_organization(scope, "pipeline", read).values() if p]
        counts = [row for part_counts, _ in parts for row in part_counts]
        soonest = list(heapq.merge(*(s for _, s in parts), key=lambda row: (row[3], row[1])))
    else:
        counts, soonest = pipeline_sql.read(scope.people(), programs, scope.todays)
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
    for key, month, mean, n in _monthly_means(scope, group):
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


def _monthly_means(scope, group):
    """(group, month, mean, observations) of the scope's observations on its rubric,
    by month and group."""

    def read(each):
        rows = each.observations().filter(rubric_version__rubric=each.rubric)
        return rows.fidelity_by_month(group)

    if not scope.compares:
        return read(scope)
    parts = each_organization(scope, "trend", lambda each: _grouped(read(each), 0))
    # In the order the database reads them whole: a month's mean sums them in this order.
    return sorted((row for rows in parts.values() if rows for row in rows), key=lambda r: r[1::-1])


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

    def read(each):
        people = each.people().with_role("practitioner")
        people = people.with_last_observation(each.rubric.pk, ["last_observed_on", "last_band"])
        people = people.filter(last_observed_on__range=(each.start, each.end))
        found = {}
        for org, band, n in (
            people.order_by().values_list("organization_id", "last_band").annotate(n=Count("pk"))
        ):
            found.setdefault(org, {})[band] = n
        return found

    counted = {}
    for part in each_organization(scope, "bands", read).values():
        for band, n in (part or {}).items():
            counted[band] = counted.get(band, 0) + n
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
    if scope.compares:
        parts = each_organization(scope, "alerts", lambda each: _alert_rows(each, True))
        # Newest first: each part's rows lead with the (raised on, id) they are sorted by.
        shown, total = _merged(scope, "alerts", parts, lambda row: _newest_first(row[0]))
    else:
        total, shown = _alert_rows(scope, False).get(scope.organization_ids[0], (0, []))
    return Table(
        "alerts",
        f"Drift alerts not yet closed on {scope.rubric.name}, newest first",
        ["Raised", "About", "Organization" if scope.compares else "Level", "Rules", "Status"],
        [row for _, row in shown],
        total=total,
        empty="No drift alerts are waiting to close.",
    )


def _alert_rows(scope, compares):
    """{organization id: (alerts, [((raised on, id), row)] of those shown, newest
    first)} of the scope's alerts not yet closed."""
    found = DriftAlert.objects.active().filter(organization__in=scope.organizations)
    if scope.team:
        found = found.filter(Q(practitioner__team=scope.team) | Q(team=scope.team))
    # Only what the rows name: for_list's momentum and acknowledger are not shown here.
    found = found.filter(rubric=scope.rubric).select_related("practitioner", "team", "organization")
    counted = dict(found.order_by().values_list("organization_id").annotate(n=Count("pk")))
    newest = [F("raised_on").desc(), F("pk").desc()]
    if scope.export != "alerts":  # each organization's newest SHOWN, in one statement
        rank = Window(RowNumber(), partition_by=F("organization_id"), order_by=newest)
        found = found.annotate(rank=rank).filter(rank__lte=SHOWN)
    listed = {org: (n, []) for org, n in counted.items()}
    for alert in found.order_by("organization_id", *newest):
        row = [
            Cell(alert.raised_on, href=alert.get_absolute_url()),
            _about(alert),
            alert.organization.name if compares else alert.get_scope_display(),
            "; ".join(alert.rule_names()),
            alert.status_label(),
        ]
        listed[alert.organization_id][1].append(((alert.raised_on, alert.pk), row))
    return listed


def _newest_first(raised):
    """A sort key that puts the latest (date, id) first."""
    day, pk = raised
    return (-day.toordinal(), -pk)


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

        def read(each):
            found = OrganizationItemMonth.objects.filter(
                **{**chosen, "organization__in": each.organizations}
            )
            return _grouped(found.sums_by_organization(), 0)

        parts = each_organization(scope, "heat_map", read)
        sums = [row for rows in parts.values() if rows for row in rows]
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
    if scope.compares:
        names = {org.pk: org.name for org in scope.organizations}
        parts = each_organization(scope, "coach_activity", _activity_by_organization)
    else:
        found = list(scope_coaches(scope).values_list("pk", "first_name", "last_name"))
        names = {pk: f"{first} {last}".strip() for pk, first, last in found}
        parts = _activity(list(names), {pk: pk for pk in names}, scope)
    counted = {(key, m): n for key, part in parts.items() if part for m, n in part[0].items()}
    caseloads = {key: part[1] for key, part in parts.items() if part}
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


def _activity_by_organization(scope):
    """{organization id: ({month: observations}, caseload)} of each one's coaches."""
    found = dict(scope_coaches(scope).values_list("pk", "organization_id"))
    return _activity(list(found), found, scope)


def _activity(ids, group, scope):
    """{group: ({month: observations}, caseload)} of these coaches (`group`: {coach id:
    group}): whole months from the monthly counts kept on write, the months the range
    cuts from the observations (observations.summaries)."""
    found = {key: ({}, 0) for key in group.values()}
    # Their ids as a list: the counts probe each coach's rows by index.
    for (coach, month), (n, _) in summaries.coach_counts(ids, scope.start, scope.end).items():
        counts = found[group[coach]][0]
        counts[month] = counts.get(month, 0) + n
    sizes = CoachAssignment.objects.filter(coach__in=ids).caseload_sizes()
    for coach, n in sizes.items():
        counts, caseload = found[group[coach]]
        found[group[coach]] = (counts, caseload + n)
    return found


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

    def read(each, by_organization=True):
        # All of them, in one query: an organization has tens of coaches, not thousands.
        coaches = scope_coaches(each).with_session_activity(
            program if program.pk else None, each.start, each.end
        )
        return _session_totals(each, list(coaches), by_organization)

    if scope.compares:
        totals = each_organization(scope, "sessions", read)
    else:
        totals = read(scope, by_organization=False)
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


def _session_totals(scope, coaches, by_organization):
    """{key: [name, *SESSION_COUNTS]} by coach, or summed by organization (each listed,
    as coach activity lists them)."""
    if by_organization:
        totals = {org.pk: [org.name, *[0] * len(SESSION_COUNTS)] for org in scope.organizations}
    else:
        totals = {c.pk: [c.full_name, *[0] * len(SESSION_COUNTS)] for c in coaches}
    for coach in coaches:
        counted = totals[coach.organization_id if by_organization else coach.pk]
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
    """Each coach's feedback quality in the range, with their coaching rubric scores;
    compared across organizations, every organization's coaches by name."""

    def read(each):
        found = {}
        for coach in _with_feedback(each):
            # What the table shows of them: a hundred parts of model rows cost more to
            # take out of the cache than to read.
            light = feedback.Coach(*(getattr(coach, name) for name in feedback.Coach._fields))
            found.setdefault(coach.organization_id, []).append(light)
        return {
            org: _listed(sorted(coaches, key=_by_name), each, "feedback")
            for org, coaches in found.items()
        }

    if scope.compares:
        parts = each_organization(scope, "feedback", read)
        shown, total = _merged(scope, "feedback", parts, _by_name)
    else:
        coaches = _with_feedback(scope)
        shown, total = scope.shown("feedback", coaches), len(coaches)
    return feedback.table(shown, scope.start, scope.end, total=total)


def _by_name(coach):
    return (coach.last_name, coach.first_name, coach.pk)


def _with_feedback(scope):
    """The scope's coaches by name, annotated with their feedback quality."""
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
    return coaches


def overdue(scope, program):
    """Practitioners not observed within the cadence, longest waiting first."""
    every = program.observe_every_days if program else 30

    def read(each, where):
        people = each.people().with_role("practitioner")
        people = people.with_last_observation(only=["last_observed_on"])
        # Plain values, all of them (at most everyone in view): the count is their number.
        return list(
            people.due_for_observation(every, each.todays).values_list(
                "pk",
                "first_name",
                "last_name",
                where,
                "last_observed_on",
                "due_from",
                "organization_id",
            )
        )

    def parts(each):
        return {
            org: _listed(rows, each, "overdue")
            for org, rows in _grouped(read(each, "organization__name"), -1).items()
        }

    if scope.compares:
        found = each_organization(scope, "overdue", parts)
        shown, total = _merged(scope, "overdue", found, lambda row: (row[5], row[0]))
    else:
        due = read(scope, "team__name")
        shown, total = scope.shown("overdue", due), len(due)
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
        for pk, first, last, place, last_observed_on, due_from, _ in shown
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
        total=total,
        empty="Everyone has been observed within the cadence.",
    )


def coach_names(practitioner_ids):
    """{practitioner id: [(coach id, name)] of their current coaches}, in one query."""
    found = {}
    current = CoachAssignment.objects.current().filter(practitioner_id__in=practitioner_ids)
    for a in current.select_related("coach").order_by("coach__last_name"):
        found.setdefault(a.practitioner_id, []).append((a.coach_id, a.coach.full_name))
    return found

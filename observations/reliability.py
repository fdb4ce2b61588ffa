"""The reliability report: how far the coaches one sees agree with the master codes and
with each other, per coach, per item and over time.

`build` reads the coaches in scope and their calibration attempts and co-observations of
the last year in a fixed number of queries, then computes in Python with
observations.calibration (the item-by-item comparison each coach was shown) and
observations.agreement (kappa, AC1, intraclass correlations). Nothing here is kept: the
report is computed afresh each time, from rows a few hundred per organization.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Q, Sum

from miiwrap.people.models import Person, Role
from observations import agreement, calibration, scoring
from observations.models import CalibrationAttempt, CoObservation, RaterAlert, RubricVersion

LOOK_BACK_DAYS = 365
QUARTERS = 4
OBSERVER_PROGRAM = "observer"


@dataclass(frozen=True)
class Standard:
    """The bar a coach's latest cases must reach: the observer certification's own
    settings (its first-certification rule), or DOMAIN's defaults without it."""

    cases: int = 3
    percent: int = 80

    @classmethod
    def of_program(cls):
        from certification.models import EvidenceRule

        rule = EvidenceRule.objects.filter(
            program__code=OBSERVER_PROGRAM,
            kind=EvidenceRule.Kind.INITIAL,
            source=EvidenceRule.Source.CALIBRATION,
        ).first()
        return cls(rule.min_cases, rule.min_within_one_percent) if rule else cls()


@dataclass
class Tally:
    """Items compared, the same, within one point; signed differences on ratings."""

    compared: int = 0
    exact: int = 0
    within_one: int = 0
    differences: list = field(default_factory=list)
    sessions: int = 0

    def add(self, comparison, sign=1):
        """Count one session; `sign` -1 for the reference's side (the observer of record
        seen against their second observer), whose lean is the other way round."""
        self.sessions += 1
        self.compared += comparison.compared
        self.exact += comparison.exact
        self.within_one += comparison.within_one
        if comparison.signed_difference is not None:
            self.differences.append(sign * comparison.signed_difference)

    @property
    def within_one_percent(self):
        return calibration.percent(self.within_one, self.compared)

    @property
    def exact_percent(self):
        return calibration.percent(self.exact, self.compared)

    @property
    def lean(self):
        if not self.differences:
            return calibration.lean(None)
        return calibration.lean(sum(self.differences) / len(self.differences))


@dataclass
class CoachRow:
    coach: Person
    calibration: Tally
    co_observation: Tally
    standard: Standard
    latest: list = field(default_factory=list)  # comparisons of their cases, oldest first

    @property
    def standing(self):
        """Their latest cases pooled, as many as the standard asks: a year's average would
        hide a failed round."""
        tally = Tally()
        for comparison in self.latest[-self.standard.cases :]:
            tally.add(comparison)
        return tally

    @property
    def passes(self):
        """Whether the latest cases reach the bar (exactly, not as rounded for showing);
        None before any case."""
        tally = self.standing
        if not tally.compared:
            return None
        return 100 * tally.within_one >= self.standard.percent * tally.compared


@dataclass
class ItemRow:
    rubric: str
    label: str
    kind: str
    tally: Tally
    pairs: list  # (coach's score, master's score), both numbers
    scale: tuple

    @property
    def statistic(self):
        """("weighted κ" or "AC1", value or None): kappa misleads on present/absent items
        where one answer dominates, so those get Gwet's AC1."""
        if len(self.pairs) < 2:
            return ("", None)
        if self.kind == scoring.YES_NO:
            return ("AC1", agreement.gwet_ac1(self.pairs, [0, 1]))
        return ("weighted κ", agreement.cohen_kappa(self.pairs, self.scale, agreement.LINEAR))


@dataclass
class Report:
    standard: Standard
    since: dt.date
    coaches: list
    items: list  # the weakest first
    rounds: list  # (round name, ICC or None, raters, cases)
    co_icc: object
    trend: list  # (quarter start, calibration Tally, co-observation Tally)


def build(coaches, today, look_back=LOOK_BACK_DAYS, standard=None):
    """The report for these coaches (a Person QuerySet) over the `look_back` days to today."""
    standard = standard or Standard.of_program()
    since = today - dt.timedelta(days=look_back)
    coaches = list(coaches.with_role(Role.COACH).order_by("last_name", "first_name"))
    ids = [coach.pk for coach in coaches]
    attempts = _attempts(ids, since)
    visits = _co_observations(ids, since)
    versions = _versions({a.case.rubric_version_id for a in attempts}, visits)
    definitions = {pk: version.definition() for pk, version in versions.items()}
    rows = {coach.pk: CoachRow(coach, Tally(), Tally(), standard) for coach in coaches}
    items, quarters = {}, _quarters(today)
    for attempt in attempts:
        definition = definitions[attempt.case.rubric_version_id]
        comparison = calibration.compare(definition, attempt.case.master_scores, attempt.scores)
        rows[attempt.coach_id].calibration.add(comparison)
        rows[attempt.coach_id].latest.append(comparison)
        _add_items(items, versions[attempt.case.rubric_version_id], comparison)
        _quarter_of(quarters, attempt.submitted_at)[1].add(comparison)
    for visit in visits:
        observation = visit.observation
        definition = definitions[observation.rubric_version_id]
        comparison = calibration.compare(definition, observation.scores, visit.scores)
        for pk, sign in ((visit.second_observer_id, 1), (observation.coach_id, -1)):
            if pk in rows:
                rows[pk].co_observation.add(comparison, sign)
        _quarter_of(quarters, visit.closed_at)[2].add(comparison)
    return Report(
        standard=standard,
        since=since,
        coaches=list(rows.values()),
        items=sorted(items.values(), key=_weakest_first),
        rounds=_round_iccs(attempts),
        co_icc=_co_icc(visits),
        trend=quarters,
    )


def _attempts(coach_ids, since):
    found = CalibrationAttempt.objects.submitted().filter(
        coach_id__in=coach_ids, submitted_at__date__gte=since
    )
    found = found.select_related("case", "round").only(
        "coach_id",
        "scores",
        "submitted_at",
        "overall_score",
        "case__rubric_version_id",
        "case__master_scores",
        "round__name",
        "round__opens_on",
    )
    return list(found.order_by("submitted_at", "pk"))


def _co_observations(coach_ids, since):
    # The observer of record is the one who invited the second: both sides are columns of
    # the row, so each is an index scan rather than a join through every observation.
    either = Q(second_observer_id__in=coach_ids) | Q(invited_by_id__in=coach_ids)
    found = CoObservation.objects.filter(either, status=CoObservation.Status.SUBMITTED)
    found = (
        found.filter(closed_at__date__gte=since)
        .select_related("observation")
        .only(
            "second_observer_id",
            "scores",
            "closed_at",
            "second_overall",
            "observation__coach_id",
            "observation__scores",
            "observation__overall_score",
            "observation__rubric_version_id",
        )
    )
    return list(found.order_by("closed_at", "pk"))


def _versions(from_cases, visits):
    ids = from_cases | {visit.observation.rubric_version_id for visit in visits}
    return RubricVersion.objects.with_structure().select_related("rubric").in_bulk(ids)


def _add_items(items, version, comparison):
    for row in comparison.counted:
        item = row.item
        key = (version.rubric_id, item.code)
        if key not in items:
            scale = tuple(range(item.scale_min, item.scale_max + 1))
            items[key] = ItemRow(version.rubric.name, item.label, item.kind, Tally(), [], scale)
        entry = items[key]
        entry.tally.compared += 1
        entry.tally.exact += row.exact
        entry.tally.within_one += row.within_one
        if row.difference is not None:
            entry.pairs.append((row.mine, row.master))


def _weakest_first(row):
    within = row.tally.within_one_percent
    value = row.statistic[1]
    return (101 if within is None else within, 2 if value is None else value, row.label)


def _round_iccs(attempts):
    """ICC(2,1) of the overall scores in each round, over the coaches who scored every
    case of it (a rater short of one case would leave the matrix incomplete)."""
    by_round = defaultdict(lambda: defaultdict(dict))
    for attempt in attempts:
        if attempt.overall_score is not None:
            by_round[attempt.round][attempt.coach_id][attempt.case_id] = float(
                attempt.overall_score
            )
    found = []
    for round, scores in by_round.items():
        cases = sorted({case for by_case in scores.values() for case in by_case})
        raters = [coach for coach, by_case in scores.items() if len(by_case) == len(cases)]
        icc = None
        if len(raters) >= 2 and len(cases) >= 2:
            matrix = [[scores[coach][case] for coach in raters] for case in cases]
            icc = agreement.icc_2_1(matrix)
        found.append((round, icc, len(raters), len(cases)))
    return sorted(found, key=lambda row: row[0].opens_on, reverse=True)


def _co_icc(visits):
    """ICC(1,1) of the two overall scores of each co-observed visit: the pairs rotate, so
    a one-way model, each visit its own group."""
    groups = [
        [float(visit.observation.overall_score), float(visit.second_overall)]
        for visit in visits
        if visit.observation.overall_score is not None and visit.second_overall is not None
    ]
    return agreement.icc_1_1(groups) if len(groups) >= 2 else None


def _quarters(today):
    """[(first day, Tally, Tally)] of the last QUARTERS calendar quarters, oldest first."""
    start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    found = []
    for _ in range(QUARTERS):
        found.append((start, Tally(), Tally()))
        month = start.month - 3
        start = dt.date(start.year - (month < 1), (month - 1) % 12 + 1, 1)
    return found[::-1]


def _quarter_of(quarters, moment):
    day = moment.date()
    for quarter in reversed(quarters):
        if day >= quarter[0]:
            return quarter
    return (None, Tally(), Tally())  # before the first quarter shown: counted nowhere


@dataclass
class OrganizationRow:
    organization: object
    coaches: int
    calibration: Tally
    co_observation: Tally
    alerts: int


def by_organization(organizations, today, look_back=LOOK_BACK_DAYS):
    """Each organization's figures from what each attempt and co-observation keeps (no
    item is read again): the purveyor's first view, comparing them all in three queries."""
    since = today - dt.timedelta(days=look_back)
    attempts = CalibrationAttempt.objects.submitted().filter(submitted_at__date__gte=since)
    visits = CoObservation.objects.filter(
        status=CoObservation.Status.SUBMITTED, closed_at__date__gte=since
    )
    calibrated = _sums(attempts, "coach__organization_id", coaches=Count("coach_id", distinct=True))
    # A visit counts for its observer of record's organization, as a case for its coach's.
    observed = _sums(visits, "invited_by__organization_id")
    alerts = dict(
        RaterAlert.objects.open()
        .order_by()
        .values_list("coach__organization_id")
        .annotate(n=Count("pk"))
    )
    rows = []
    for org in organizations:
        cal, co = calibrated.get(org.pk, {}), observed.get(org.pk, {})
        rows.append(
            OrganizationRow(
                org, cal.get("coaches", 0), _tally(cal), _tally(co), alerts.get(org.pk, 0)
            )
        )
    return rows


def _sums(rows, by, **more):
    found = (
        rows.order_by()
        .values(by)
        .annotate(
            sessions=Count("pk"),
            compared=Sum("items_compared"),
            exact=Sum("items_exact"),
            within_one=Sum("items_within_one"),
            signed=Avg("signed_difference"),
            **more,
        )
    )
    return {row[by]: row for row in found}


def _tally(row):
    tally = Tally(
        compared=row.get("compared") or 0,
        exact=row.get("exact") or 0,
        within_one=row.get("within_one") or 0,
        sessions=row.get("sessions", 0),
    )
    if row.get("signed") is not None:
        tally.differences.append(row["signed"])
    return tally

"""Demo calibration: master-coded cases, quarterly rounds, and coaches who score them.

A layer over miiwrap.people.demo, run after the observations. The purveyor's expert has
coded six recorded sessions on the MiiWrap fidelity tool. Four rounds ran over the last
year, three cases each, for every coach of the organizations just planned; the latest is
open now, so a demo coach has cases to score. Most coaches land within one point of the
master on most items. In the first client organization two coaches tell the stories the
reliability pages exist for:

- one failed the third round (about half the items within one point) and passed a
  re-test round assigned to them alone a month later;
- one drifts lenient: each round they score higher than the master, by about a fifth of
  a point at first and a full point by the last they scored.

About 15 % of each client organization's visits in the last six months on the fidelity
tool were co-observed by a second coach of the organization, partners rotating.

Figures stored on each attempt and co-observation come from observations.calibration, as
on submit. Cases and rounds are found by name, so running the demo again adds only the
new coaches' assignments, attempts and co-observations.
"""

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.utils import timezone

from miiwrap.people.models import Person, Role
from observations import scoring, services
from observations.models import (
    CalibrationAssignment,
    CalibrationAttempt,
    CalibrationCase,
    CalibrationRound,
    CoObservation,
    Observation,
    RubricVersion,
)

FIDELITY_TOOL = "miiwrap-fidelity"
DAY = dt.timedelta(days=1)
BATCH_SIZE = 2000
ROUNDS = 4
ROUND_EVERY_DAYS = 91
ROUND_OPEN_DAYS = 45
CONSENT_DAYS_AGO, KEPT_YEARS = 420, 3
DRIFT_BY_ROUND = (0.2, 0.6, 1.0)  # the lenient coach's lean in each round they scored
CO_OBSERVED_SHARE, CO_OBSERVED_DAYS = 0.15, 180

CASES = [
    (
        "Family team meeting: first plan",
        "The facilitator opens a first planning meeting "
        "with a grandmother, her grandson (14) and his teacher; 24 minutes.",
    ),
    (
        "Home visit: a crisis plan revisited",
        "A care coordinator and a mother revisit the "
        "safety plan after a weekend of missed curfews; 31 minutes.",
    ),
    (
        "Transition meeting: leaving services",
        "The team reviews what the family will keep "
        "doing once wraparound ends; the youth partner leads part of it; 27 minutes.",
    ),
    (
        "One-to-one: ambivalence about school",
        "A practitioner talks with a youth (16) who is "
        "unsure about returning to school; 20-minute segment.",
    ),
    (
        "Team meeting: strengths inventory",
        "The team builds a strengths inventory with a "
        "father who disagrees with the referral; 33 minutes.",
    ),
    (
        "Home visit: natural supports",
        "The facilitator and a family map who could help "
        "after services: a neighbour, an uncle, a coach; 22 minutes.",
    ),
]

# The first case's transcript: a few lines of a made-up meeting, enough to download.
TRANSCRIPT = """Facilitator: Thank you for having us here. Before we plan anything, what would
you like this meeting to be about?
Grandmother: Marcus getting to school. And him not being so angry all the time.
Facilitator: School, and Marcus feeling less angry. Marcus, what would you add?
Marcus: That nobody decides stuff for me without asking.
Facilitator: So a plan you have a say in. That matters to all of us.
"""


@dataclass(frozen=True)
class Setting:
    today: dt.date
    version: RubricVersion
    cases: list
    rounds: list  # oldest first; the last is open today


def add_calibration(plans, *, seed, today):
    """Cases, rounds and attempts for the coaches of the organizations just planned;
    returns {what: how many}, or None when the fidelity tool is missing."""
    organizations = [
        (
            plan.row,
            [
                person.row
                for person in plan.people
                if Role.COACH in person.roles and person.row and person.leave_date is None
            ],
        )
        for plan in plans
    ]
    return calibrate(organizations, seed=seed, today=today)


def calibrate(organizations, *, seed, today):
    """The same for [(organization, its working coaches)], in order: the first client
    organization's second and third coaches get the stories (the benchmark's dataset,
    built without the demo's plans, calls this directly)."""
    setting = _setting(today)
    if setting is None:
        return None
    clients = [org for org, _ in organizations if not org.is_purveyor]
    stories = {}
    if clients:
        first = dict(organizations)[clients[0]]
        stories = dict(zip([c.pk for c in first[1:3]], ("retested", "lenient"), strict=False))
    made = {"cases": len(setting.cases), "rounds": len(setting.rounds)}
    assignments, attempts = [], []
    for org, coaches in organizations:
        for coach in coaches:
            # Seeded by who the coach is, not their row's id: ids depend on what the
            # database held before, and the same seed must tell the same story.
            rng = random.Random(f"{seed}:{org.slug}:calibration:{coach.email or coach.full_name}")
            _calibrate_coach(rng, setting, coach, stories.get(coach.pk, ""), assignments, attempts)
    CalibrationAssignment.objects.bulk_create(
        assignments, batch_size=BATCH_SIZE, ignore_conflicts=True
    )
    CalibrationAttempt.objects.bulk_create(attempts, batch_size=BATCH_SIZE, ignore_conflicts=True)
    made["attempts"] = len(attempts)
    visits = [
        row for org, coaches in organizations for row in _co_observed(org, coaches, seed, setting)
    ]
    CoObservation.objects.bulk_create(visits, batch_size=BATCH_SIZE, ignore_conflicts=True)
    made["co-observed"] = len(visits)
    # What the daily job would have found by today: the lenient coach's drift.
    made["rater alerts"] = services.rater_drift_detect(today)["raised"]
    return made


def _calibrate_coach(rng, setting, coach, story, assignments, attempts):
    for number, round in enumerate(setting.rounds):
        assignments.append(CalibrationAssignment(round=round, coach=coach))
        if round is not setting.rounds[-1]:
            attempts += _attempts(rng, setting, round, coach, _lean(story, number, rng))
    if story == "retested":
        retest = _retest(setting)
        assignments.append(CalibrationAssignment(round=retest, coach=coach))
        attempts += _attempts(rng, setting, retest, coach, 0.0)


def _co_observed(org, here, seed, setting):
    """About CO_OBSERVED_SHARE of the organization's recent visits on the fidelity tool,
    each with a second coach of the organization, partners rotating: each time, the
    colleague the observer has co-observed with least."""
    if len(here) < 2 or org.is_purveyor:
        return []
    rng = random.Random(f"{seed}:{org.slug}:co-observation")
    since = setting.today - dt.timedelta(days=CO_OBSERVED_DAYS)
    visits = Observation.objects.filter(
        organization=org, rubric_version=setting.version, observed_on__gte=since
    ).exclude(status=Observation.Status.DRAFT)
    together = Counter()
    made = []
    definition = setting.version.definition()
    for visit in visits.filter(coach__in=here).order_by("observed_on", "pk"):
        if rng.random() >= CO_OBSERVED_SHARE:
            continue
        others = [c for c in here if c.pk not in (visit.coach_id, visit.practitioner_id)]
        if not others:
            continue
        second = min(others, key=lambda c: (together[frozenset((c.pk, visit.coach_id))], c.pk))
        together[frozenset((second.pk, visit.coach_id))] += 1
        made.append(_co_observation(rng, visit, second, definition, setting.version))
    return made


def _co_observation(rng, visit, second, definition, version):
    done = visit.submitted_at or timezone.now()
    co = CoObservation(
        observation=visit,
        second_observer=second,
        invited_by_id=visit.coach_id,
        status=CoObservation.Status.SUBMITTED,
        scores=_scores(rng, version, visit.scores, rng.uniform(-0.1, 0.1)),
        primary_done_at=done,
        submitted_at=done,
        closed_at=done,
    )
    services.co_observation_compare(co, visit.scores, definition)
    return co


def _setting(today):
    version = (
        RubricVersion.objects.published()
        .filter(rubric__code=FIDELITY_TOOL)
        .order_by("-number")
        .with_structure()
        .first()
    )
    if version is None:
        return None
    coder = Person.objects.with_role(Role.PURVEYOR_ADMIN).order_by("pk").first()
    cases = [_case(version, coder, n, today) for n in range(len(CASES))]
    rounds = [_round(cases, today, number) for number in range(ROUNDS)]
    return Setting(today, version, cases, rounds)


def _case(version, coder, n, today):
    """Case `n`, coded by the purveyor's first admin, its rationale drawn from the levels."""
    title, about = CASES[n]
    consent = today - dt.timedelta(days=CONSENT_DAYS_AGO + 7 * n)
    case, created = CalibrationCase.objects.get_or_create(
        title=title,
        defaults={
            "description": about,
            "rubric_version": version,
            "recording_url": f"https://recordings.miiwrap-institute.example/cases/{n + 1}",
            "consent_on": consent,
            "consent_note": f"Signed release on file, reference CAL-{consent:%Y}-{n + 1:02d}",
            "retain_until": consent.replace(year=consent.year + KEPT_YEARS),
        },
    )
    if created and n == 0:
        case.transcript.save("transcript.txt", ContentFile(TRANSCRIPT.encode()), save=False)
    if created:
        rng = random.Random(f"calibration-case:{title}")
        case.master_scores, case.rationale = _master_code(rng, version)
        case.master_coder = coder
        case.master_coded_at = timezone.now()
        case.save()
    return case


def _master_code(rng, version):
    scores, rationale = {}, {}
    for item in version.items.all():
        if item.kind == scoring.COUNT:
            scores[item.code] = rng.randint(1, 8)
            continue
        if item.kind == scoring.YES_NO:
            scores[item.code] = 1 if rng.random() < 0.7 else 0
            seen = "is there" if scores[item.code] else "is missing"
            rationale[item.code] = f"What the item asks for {seen} in the session, start to end."
            continue
        # Mostly below the top, so that a lenient coach has room to show it.
        low, high = item.scale_min + 1, item.scale_max - 1
        value = rng.choice([low, low, high, high, high, item.scale_max])
        scores[item.code] = value
        level = next((lv for lv in item.levels.all() if lv.value == value), None)
        said = f"“{level.label}”: {level.descriptor}" if level else f"Level {value}."
        rationale[item.code] = f"{said} The session shows it most clearly in its middle third."
    return scores, rationale


def _round(cases, today, number):
    """Round `number` (0 oldest) of the last year: three cases, open for six weeks."""
    opens = today - dt.timedelta(days=ROUND_EVERY_DAYS * (ROUNDS - 1 - number) + 20)
    picked = [cases[(2 * number + k) % len(cases)] for k in range(3)]
    round, created = CalibrationRound.objects.get_or_create(
        name=f"Observer calibration {opens:%Y-%m}",
        defaults={"opens_on": opens, "due_on": opens + dt.timedelta(days=ROUND_OPEN_DAYS)},
    )
    if created:
        round.cases.set(picked)
    return round


def _retest(setting):
    """The re-test after a failed third round: three cases the coach had not scored."""
    failed = setting.rounds[2]
    opens = failed.due_on + dt.timedelta(days=14)
    round, created = CalibrationRound.objects.get_or_create(
        name=f"Observer re-test {opens:%Y-%m}",
        defaults={"opens_on": opens, "due_on": opens + dt.timedelta(days=30)},
    )
    if created:
        used = set(failed.cases.values_list("pk", flat=True))
        round.cases.set([case for case in setting.cases if case.pk not in used][:3])
    return round


def _lean(story, number, rng):
    if story == "lenient":
        return DRIFT_BY_ROUND[number]
    if story == "retested" and number == 2:
        return None  # the failed round: scattered, not leaning
    return rng.uniform(-0.15, 0.15)


def _attempts(rng, setting, round, coach, lean):
    made = []
    submitted = timezone.make_aware(
        dt.datetime.combine(round.opens_on + dt.timedelta(days=rng.randint(3, 30)), dt.time(14))
    )
    definition = setting.version.definition()
    for case in round.cases.all():
        scores = _scores(rng, setting.version, case.master_scores, lean)
        attempt = CalibrationAttempt(
            round=round,
            case=case,
            coach=coach,
            scores=scores,
            status=CalibrationAttempt.Status.SUBMITTED,
            submitted_at=submitted,
            overall_score=services.overall_of(definition, scores),
        )
        services.calibration_attempt_compare(attempt, definition)
        made.append(attempt)
    return made


def _unbiased(item, value, moved, lean):
    """A coach with no lean of their own errs as often up as down: a slip that the scale's
    end would cut on one side is not made on either (cutting only the one side near the
    top of the scale would make every careful coach look severe)."""
    if abs(lean) >= 0.2:
        return moved
    step = abs(moved - value)
    fits = item.scale_min <= value - step and value + step <= item.scale_max
    return moved if fits else value


def _scores(rng, version, master, lean):
    """The master code moved by `lean` points on ratings (None: scattered two points)."""
    scores = {}
    for item in version.items.all():
        value = master.get(item.code)
        if value in (None, scoring.NA):
            pass  # not scored, or not applicable: seen the same way
        elif item.kind == scoring.RATING:
            if lean is None:
                moved = value + rng.choice([-2, -1, 0, 2])
            else:
                moved = round(value + lean + rng.gauss(0, 0.45))
                moved = _unbiased(item, value, moved, lean)
            value = min(item.scale_max, max(item.scale_min, moved))
        elif item.kind == scoring.YES_NO and rng.random() < (0.4 if lean is None else 0.08):
            value = 1 - value
        elif item.kind == scoring.COUNT:
            value = max(0, value + rng.randint(-1, 1))
        if value is not None:
            scores[item.code] = value
    return scores

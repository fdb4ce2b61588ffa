"""Demo certification histories that follow the demo's observations.

A layer over observations.demo, run by seed_demo after it. For each organization just
built it replays the history in date order, as the people in it would have lived it:

1. At the start of the history, experienced staff hold certifications carried over from
   before the app: decided by the purveyor, with that reason, so nothing pretends to
   evidence the app never saw.
2. When a person's practice looks ready (their trajectory reaches the standard), or
   their recertification window opens, a certified coach books certification visits:
   observations on the rubric and in the activity types the rule asks for, scored from
   the person's own trajectory like every other visit.
3. A few days after the last visit a certifier decides, by the same evidence rule
   (certification.progress) and date rules (certification.dates) as the app. Evidence
   that falls short means another try, in grace for a renewal; a certification nobody
   renewed lapses, and the person starts the initial path again.

The purveyor's trainers hold certifications its own review panel renews, outside the
app. Decisions due in the two weeks before the seed's today are left undone, so the
decision queue has people in it. Each organization draws from its own random stream.
"""

import datetime as dt
import heapq
import itertools
import random
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from certification import dates, progress, services
from certification.models import CertificationEvent, CertificationPeriod, Program
from coaching.models import TrainerAssignment
from miiwrap import generations
from miiwrap.people.models import Person, Role
from observations import demo as demo_observations
from observations.models import ActivityType, Observation

CARRIED_OVER = (
    "Certified before MiiWrap Fidelity kept records; carried over from the purveyor's register."
)
VISIT_KEY = "demo:cert-visit:"  # marks certification visits apart from routine ones
PANEL = "Renewed by the purveyor's review panel, which observes its trainers outside this app."
READY_LEVEL = 0.82  # a coach books certification visits once practice looks this good
CARRIED_LEVEL = 0.8  # at the start of the records, who was already certified
RETRY_DAYS = (60, 100)
BACKLOG_DAYS = 14  # decisions due this recently are left for the queue
DECIDE_AFTER_DAYS = (1, 6)
FIDELITY, MI_CODING = demo_observations.FIDELITY_TOOL, demo_observations.MI_CODING
DAY = dt.timedelta(days=1)


@dataclass
class World:
    """What every organization's replay shares."""

    seed: int
    today: dt.date
    start: dt.date
    setting: object
    programs: dict
    director: Person
    trainers: list
    holds: dict = field(default_factory=dict)  # (person id, program id): [Held]
    periods: list = field(default_factory=list)
    events: list = field(default_factory=list)
    visits: dict = field(default_factory=dict)  # temporary id: unsaved Observation
    made: Counter = field(default_factory=Counter)


@dataclass
class Org:
    """One organization's replay."""

    plan: object
    rng: random.Random
    zone: zoneinfo.ZoneInfo
    paths: dict
    assignments: dict
    rows: dict  # person id: observation rows, as certification.progress reads them
    periods: dict = field(default_factory=dict)  # (person id, program id): newest first
    heap: list = field(default_factory=list)
    order: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self):
        # Everyone who coaches or coached here, current coaches first.
        self.coaches = self.plan.coaches() + self.plan.coaches(former=True)

    def later(self, day, kind, person, program):
        heapq.heappush(self.heap, (day, next(self.order), kind, person, program.code))


def add_certifications(plans, *, seed, today, years):
    """Certification histories for the organizations just planned and inserted; a Counter
    of what was made, or None when the shipped programs or rubrics are missing."""
    world = _world(seed, today, years)
    if world is None:
        return None
    _deadline_after_hire(world.programs["practitioner"])
    if any(plan.identity.is_purveyor for plan in plans):
        _panel_certifications(world)
    for key, held in _purveyor_holds().items():
        world.holds.setdefault(key, []).extend(held)
    for plan in plans:
        if not plan.identity.is_purveyor:
            _replay(world, plan)
    _insert(world)
    generations.touched(everyone=True)
    return world.made


# New hires certified within this many days of hire: one published wraparound rule,
# set on the demo's practitioner program so novices nearing it are flagged.
DEADLINE_DAYS = 45


def _deadline_after_hire(program):
    if program.deadline_days_after_hire is None:
        program.deadline_days_after_hire = DEADLINE_DAYS
        program.save(update_fields=["deadline_days_after_hire"])


def _world(seed, today, years):
    programs = {p.code: p for p in Program.objects.with_rules()}
    tools = demo_observations.load_tools()
    activities = list(ActivityType.objects.filter(is_active=True))
    purveyor = Person.objects.filter(organization__is_purveyor=True).order_by("pk")
    director = purveyor.with_role(Role.PURVEYOR_ADMIN).exclude(roles__role=Role.COACH).first()
    wanted = {"practitioner", "coach", "trainer"}
    if not (wanted <= set(programs) and FIDELITY in tools and activities and director):
        return None
    setting = demo_observations.Setting(today, years, tools, activities)
    start = today - dt.timedelta(days=round(years * demo_observations.YEAR_DAYS))
    trainers = list(purveyor.active_on(today).with_role(Role.COACH))
    return World(seed, today, start, setting, programs, director, trainers)


def _purveyor_holds():
    rows = CertificationPeriod.objects.filter(person__organization__is_purveyor=True)
    return rows.held_by("person_id", "program_id")


# --- Records --------------------------------------------------------------------------------


def _record(world, org_periods, person, program, day, *, card=None, override="", by=None):
    """A decision as the services make it (services.decision_records), kept in memory."""
    period, event = services.decision_records(
        person=person,
        program=program,
        previous=card.previous.period if card is not None and card.previous else None,
        progress=card.progress if card is not None else None,
        decided_by=by or world.director,
        decided_on=day,
        override_reason=override,
        decided_at=dt.datetime.combine(day, dt.time(15), tzinfo=zoneinfo.ZoneInfo("UTC")),
    )
    world.events.append(event)
    world.periods.append(period)
    world.holds.setdefault((person.pk, program.pk), []).append(period.as_held())
    org_periods.setdefault((person.pk, program.pk), []).insert(0, period)
    world.made["periods"] += 1
    world.made["overrides"] += bool(override)
    return period


def _holds(world, person_id, program_id, day):
    return dates.holds_on(world.holds.get((person_id, program_id), []), day)


def _panel_certifications(world):
    """The purveyor's trainers: every program, renewed by its panel through the history."""
    rng = random.Random(f"{world.seed}:purveyor:certification")
    for trainer in world.trainers:
        for code in ("practitioner", "coach", "trainer"):
            program = world.programs[code]
            day = world.start - dt.timedelta(days=rng.randint(30, 600))
            day = max(day, trainer.hire_date + dt.timedelta(days=30))
            period = _record(world, {}, trainer, program, day, override=PANEL)
            while True:
                day = period.window_opens + dt.timedelta(days=rng.randint(5, 40))
                if day >= world.today:
                    break
                card = SimpleNamespace(previous=period.as_held(), progress=None)
                period = _record(world, {}, trainer, program, day, card=card, override=PANEL)


# --- Replay ---------------------------------------------------------------------------------


def _replay(world, plan):
    org = Org(
        plan=plan,
        rng=random.Random(f"{world.seed}:{plan.identity.slug}:certification"),
        zone=zoneinfo.ZoneInfo(plan.identity.time_zone),
        paths=demo_observations.trajectories_for(plan, seed=world.seed, setting=world.setting),
        assignments=demo_observations.assignments_by_practitioner(plan),
        rows=_routine_rows(plan),
    )
    for person in org.paths:
        if person.leave_date is None or person.leave_date >= world.start:
            _begin(world, org, person)
    while org.heap:
        day, _, kind, person, code = heapq.heappop(org.heap)
        if day >= world.today:
            break
        recent = day > world.today - BACKLOG_DAYS * DAY
        if (person.leave_date is None or day <= person.leave_date) and not (
            kind == "decide" and recent
        ):
            HANDLERS[kind](world, org, day, person, world.programs[code])


def _routine_rows(plan):
    return progress.rows_by_practitioner(
        Observation.objects.filter(practitioner__organization=plan.row)
    )


def _begin(world, org, person):
    """Where each person starts: carried over if experienced, otherwise on the path. An
    organization leaning on the purveyor has not yet had its coaches certified as coaches;
    one that built its own has its most senior coach certified to train."""
    codes = ["practitioner", "coach"] if Role.COACH in person.roles else ["practitioner"]
    if _leans_on_purveyor(org):
        codes = ["practitioner"]
    for code in codes:
        program = world.programs[code]
        experienced = person.hire_date <= world.start - dt.timedelta(days=180)
        # Coaches are experienced, certified practitioners; others, if they were good then.
        ready = Role.COACH in person.roles
        ready = ready or org.paths[person].level(world.start) >= CARRIED_LEVEL
        if experienced and ready:
            earliest = max(person.hire_date + dt.timedelta(days=90), world.start - 700 * DAY)
            day = earliest + dt.timedelta(days=org.rng.randint(0, (world.start - earliest).days))
            period = _record(world, org.periods, person.row, program, day, override=CARRIED_OVER)
            org.later(max(period.window_opens, world.start), "window", person, program)
        else:
            org.later(max(person.hire_date + 45 * DAY, world.start), "ready", person, program)
    if person is _senior_coach(org):
        _carry_over_trainer(world, org, person)


def _leans_on_purveyor(org):
    return org.plan.identity.support == "purveyor"


def _senior_coach(org):
    """The current coach hired first, in an organization that built its own coaches."""
    current = org.plan.coaches()
    if _leans_on_purveyor(org) or not current:
        return None
    return min(current, key=lambda coach: coach.hire_date)


def _carry_over_trainer(world, org, person):
    """A trainer certification carried over from before the records, renewed by the path
    from then on; drawn from a stream of its own, so the rest of the replay is unchanged."""
    rng = random.Random(f"{world.seed}:{org.plan.identity.slug}:trainer")
    program = world.programs["trainer"]
    earliest = max(person.hire_date + 365 * DAY, world.start - 700 * DAY)
    if earliest >= world.start:
        return
    day = earliest + dt.timedelta(days=rng.randint(0, (world.start - earliest).days))
    period = _record(world, org.periods, person.row, program, day, override=CARRIED_OVER)
    org.later(max(period.window_opens, world.start), "window", person, program)


def _card(world, org, person, program, day):
    """The person's card on `day`, assessed on what has been observed so far."""
    periods = org.periods.get((person.row.pk, program.pk), [])
    held = [period.as_held() for period in periods]
    card = progress.Card(person.row, program, day, dates.standing(held, day), periods)
    progress.choose_rule(card)
    if card.rule is not None:
        holds_required = program.requires_id is not None and _holds(
            world, person.row.pk, program.requires_id, day
        )
        progress.assess(card, org.rows.get(person.row.pk, []), world.holds, holds_required)
    return card


def _ready(world, org, day, person, program):
    """A new hire, or someone whose certification lapsed: book visits once practice looks
    ready and a certified observer is there; otherwise look again in a month."""
    if org.paths[person].level(day) < READY_LEVEL:
        org.later(day + 30 * DAY, "ready", person, program)
        return
    card = _card(world, org, person, program, day)
    if card.is_renewal:
        return
    if card.rule is None or _observer(world, org, person, program, day) is None:
        org.later(day + 30 * DAY, "ready", person, program)
        return
    last = _book(world, org, person, program, day, card.rule)
    org.later(last + org.rng.randint(*DECIDE_AFTER_DAYS) * DAY, "decide", person, program)


def _window(world, org, day, person, program):
    """The window opened: book the renewal visits inside it."""
    card = _card(world, org, person, program, day)
    if not card.is_renewal or card.rule is None:
        return
    last = _book(world, org, person, program, day, card.rule)
    org.later(last + org.rng.randint(*DECIDE_AFTER_DAYS) * DAY, "decide", person, program)


def _decide(world, org, day, person, program):
    card = _card(world, org, person, program, day)
    if card.rule is None or card.renewed_ahead:
        return
    if card.progress.meets:
        decider = _decider(world, org, person, program, day)
        period = _record(world, org.periods, person.row, program, day, card=card, by=decider)
        org.later(period.window_opens, "window", person, program)
    elif card.is_renewal and day + 21 * DAY <= card.standing.held.period.grace_ends:
        # One more try before grace ends.
        last = _book(world, org, person, program, day, card.rule)
        org.later(last + org.rng.randint(*DECIDE_AFTER_DAYS) * DAY, "decide", person, program)
    else:
        after = card.standing.held.period.grace_ends + DAY if card.is_renewal else day
        org.later(after + org.rng.randint(*RETRY_DAYS) * DAY, "ready", person, program)


HANDLERS = {"ready": _ready, "window": _window, "decide": _decide}


def _observer(world, org, person, program, day):
    """Someone certified to observe for this program's rule on `day`, or None: for the
    practitioner program the assigned coach, else a colleague; for coaches a trainer."""
    rule = program.evidence_rule("initial")
    needed = rule.observer_certified_in_id if rule else None
    trainers = [SimpleNamespace(row=trainer) for trainer in world.trainers]
    if program.code != "practitioner":
        candidates = trainers
    elif _leans_on_purveyor(org):
        candidates = trainers  # the purveyor's staff make its certification visits
    else:
        assigned = demo_observations.coach_on(org.assignments.get(person, ()), day)
        colleagues = sorted(org.coaches, key=lambda c: (c.team is not person.team, c.row.pk))
        candidates = [c for c in [assigned, *colleagues] if c is not None and c is not person]
    for candidate in candidates:
        employed = candidate.row.hire_date <= day and (
            candidate.row.leave_date is None or day <= candidate.row.leave_date
        )
        if employed and (needed is None or _holds(world, candidate.row.pk, needed, day)):
            return candidate
    return None


def _decider(world, org, person, program, day):
    """A certifier who may decide on `day`: one of the program's certifiers, else the
    purveyor's director."""
    candidates = [c.row for c in org.coaches if c is not person]
    if program.certified_by_purveyor:
        candidates = list(world.trainers)
    for candidate in candidates:
        if _holds(world, candidate.pk, program.certifier_program_id, day):
            return candidate
    return world.director


def _book(world, org, person, program, day, rule):
    """Certification visits from `day`: as many as the rule asks on its rubric, in
    different activity types, and one on its companion rubric, each by someone certified
    to observe on its day as far as is known now; returns the last visit's day."""
    rng, setting, count = org.rng, world.setting, rule.min_observations
    fidelity = rule.rubric.code if rule.rubric.code in setting.tools else FIDELITY
    activities = demo_observations.pick_activities(rng, setting, fidelity, count)
    # A rubric seen in one activity only (coaching) repeats it.
    activities = (activities * count)[:count]
    days = sorted(_weekday(day + rng.randint(7 + 16 * n, 20 + 16 * n) * DAY) for n in range(count))
    plans = list(zip(days, [fidelity] * len(activities), activities, strict=False))
    if rule.companion_rubric_id and MI_CODING in setting.tools:
        mi_activity = demo_observations.pick_activities(rng, setting, MI_CODING, 1)[0]
        plans.append((_weekday(day + rng.randint(10, 30) * DAY), MI_CODING, mi_activity))
    last_possible = demo_observations.last_day(person, world.today)
    for visit_day, code, activity in plans:
        observer = _observer(world, org, person, program, visit_day)
        if visit_day <= last_possible and observer is not None:
            _visit(world, org, person, observer, visit_day, code, activity)
    return max(visit_day for visit_day, _, _ in plans)


def _weekday(day):
    return day + dt.timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


def _visit(world, org, person, observer, day, tool_code, activity):
    observation = demo_observations.planned_visit(
        org.rng, world.setting, person, observer, day, org.paths[person], org.zone,
        tool_code=tool_code, activity=activity,
    )  # fmt: skip
    key = -(len(world.visits) + 1)
    observation.import_key = f"{VISIT_KEY}{org.plan.identity.slug}:{-key}"
    world.visits[key] = observation
    world.made["visits"] += 1
    if observation.status != Observation.Status.DRAFT:
        version = observation.rubric_version
        org.rows.setdefault(person.row.pk, []).append(
            {
                "pk": key,
                "practitioner_id": person.row.pk,
                "coach_id": observer.row.pk,
                "observed_on": day,
                "overall_score": observation.overall_score,
                "band": observation.band,
                "rubric_version__rubric_id": version.rubric_id,
                "rubric_version__bands": version.bands,
                "activity__name": activity.name,
                "coach__first_name": observer.row.first_name,
                "coach__last_name": observer.row.last_name,
            }
        )


# --- Insert ---------------------------------------------------------------------------------


def _insert(world):
    """Visits first, so the evidence snapshots can name their real ids; then the periods
    and their events."""
    keys = list(world.visits)
    saved = Observation.objects.bulk_create(
        [world.visits[key] for key in keys], batch_size=demo_observations.BATCH_SIZE
    )
    real = {key: observation.pk for key, observation in zip(keys, saved, strict=True)}
    for period in world.periods:
        for entry in period.evidence:
            entry["id"] = real.get(entry["id"], entry["id"])
    CertificationPeriod.objects.bulk_create(world.periods, batch_size=demo_observations.BATCH_SIZE)
    CertificationEvent.objects.bulk_create(world.events, batch_size=demo_observations.BATCH_SIZE)
    TrainerAssignment.objects.bulk_create(_trainer_assignments(world.visits.values()))


def _trainer_assignments(visits):
    """Each trainer who observed a coach on the coaching rubric is assigned to them from
    their first such visit on, and still is: the coaches they support."""
    first = {}
    for visit in visits:
        if visit.rubric_version.rubric.code == demo_observations.COACHING_FEEDBACK:
            pair = (visit.coach_id, visit.practitioner_id)
            first[pair] = min(first.get(pair, visit.observed_on), visit.observed_on)
    return [
        TrainerAssignment(trainer_id=trainer, coach_id=coach, starts_on=day)
        for (trainer, coach), day in sorted(first.items())
    ]

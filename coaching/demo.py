"""Demo coaching plans: the coaching loop on top of the demo's observations and alerts.

A layer over observations.demo, run after the drift job's first night. It reads each
planned organization's trajectories (observations.demo.trajectories_for) and gives:

- every slipping practitioner a plan, started by their coach a few weeks after the
  decline showed: from its drift alert when there is one (the alert is then being
  addressed by the plan, its goals the items that fell most), else on the items the
  generator made slip faster, aiming back at their level before the slide;
- anyone else the drift job raised an alert about, a plan from it too (a coach answers
  an alert even when it turns out to be noise);
- struggling practitioners, and a few steady ones, a plan started from one of their
  observations' growth areas (one that names items, in the last year and a half),
  aiming one level above;
- no plan to new hires still learning, nor to anyone who has left.

Each plan has about monthly sessions by the coach assigned that day, a comment or two by
the practitioner, and goals marked met only where coaching.progress offers them as met
(the observations since the start held the target). Plans change no observation, so the
drift job's figures stay as they are. Plans and goals go through coaching.services, so
the rules they keep hold (one active plan each, the alert addressed by it, goals marked
met through goal_change); sessions and comments, most of the rows, are inserted in bulk
with the same invariants (held after the start and before today, by the coach assigned
that day, on the plan's own goals), as the rest of the demo is.

Each organization draws from its own random stream keyed by the seed and its slug.
"""

import datetime as dt
import random
import zoneinfo
from collections import Counter

from certification.models import Program
from coaching import goals as goal_rules
from coaching import levels, progress, services
from coaching.models import CoachingPlan, CoachingSession, DriftAlert, Goal, PlanComment
from miiwrap import generations
from miiwrap.audit import update_with_history
from observations import demo as demo_observations
from observations.models import ActivityType, Observation

DAY = dt.timedelta(days=1)
BATCH_SIZE = 2000
STEADY_PLAN_SHARE = 0.08
MAX_GOALS = 2
# An alert is noticed and a plan agreed a week to a month after the decline began.
START_AFTER_ALERT = (7, 30)
START_AFTER_SLIDE = (60, 120)  # without an alert, the coach sees it later
START_AFTER_OBSERVATION = (3, 14)
GROWTH_WINDOW = (120, 540)  # days before today an observation may start a plan
LATEST_START = (90, 300)  # days before today an old decline's plan may start
FIRST_SESSION = (7, 21)
SESSION_GAP = (24, 38)  # about monthly
COMMENT_CHANCE, SECOND_COMMENT_CHANCE = 0.6, 0.3
DROP_CHANCE = 0.15
# The demo's programs began to expect coaching sessions this many days before its today:
# practitioners never coached fall due one cadence after it, not years ago.
SESSIONS_EXPECTED_DAYS = 21
# Of those with no plan, the share whose coach has held their routine session since the
# programs began to expect them; the rest are due, or soon.
ROUTINE_SHARE = 0.6
ROUTINE_FORMATS = (CoachingSession.Format.DEBRIEF, CoachingSession.Format.PRACTICE)
ROUTINE_NOTES = (
    "Went over the latest observation together; practice is holding.",
    "Talked through a family meeting coming up and how to open it.",
    "Checked in on caseload and what is going well; no new goals.",
)

FORMATS = {
    CoachingSession.Format.DEBRIEF: (40, (30, 45, 60)),
    CoachingSession.Format.PRACTICE: (25, (30, 45)),
    CoachingSession.Format.ROLE_PLAY: (15, (30, 45, 60)),
    CoachingSession.Format.SHADOWING: (12, (60, 90, 120)),
    CoachingSession.Format.GROUP: (8, (60, 90)),
}
NOTES = {
    CoachingSession.Format.DEBRIEF: (
        'Went through the last visit together with "{label}" in mind. It came up twice; '
        "we paused on both.",
        'Read the observation notes side by side. Agreed "{label}" is the part to work on.',
        'Talked through last week\'s family meeting, stopping where "{label}" could have '
        "looked different.",
    ),
    CoachingSession.Format.PRACTICE: (
        'Practised "{label}" with two short made-up cases. The second try was smoother.',
        'Ten minutes of drills on "{label}", then wrote out three examples to keep.',
        'Worked on "{label}" with scripts from real visits, names changed.',
    ),
    CoachingSession.Format.ROLE_PLAY: (
        "Role play: I played a parent who keeps changing the subject. Good work on "
        '"{label}" in the second round.',
        'Swapped roles twice. Hearing it from the family\'s side helped with "{label}".',
        'Role played the start of a hard meeting, focusing on "{label}".',
    ),
    CoachingSession.Format.SHADOWING: (
        'Joined a home visit. "{label}" was there in the first half, less so when time ran short.',
        'Shadowed a team meeting. Talked about "{label}" in the car afterwards.',
        'Sat in on a transition meeting; clear progress on "{label}".',
    ),
    CoachingSession.Format.GROUP: (
        'Group session with three others on the team. Shared examples of "{label}".',
        'Team huddle on "{label}"; each of us brought one example from this month.',
    ),
}
NEXT_STEPS = (
    "Try it at the next family meeting and jot down how it went.",
    "Record one session (with consent) so we can listen together next time.",
    "Pick one visit this month and plan the first ten minutes ahead.",
    "Use the checklist card before each meeting for two weeks.",
    "Ask the family at the end what worked for them, and bring it next time.",
    "Book the next observation for a family meeting.",
    "Read the practice guide section again and bring one question.",
)
COMMENTS = (
    "Thanks for the time today. The role play helped more than I expected.",
    "This month was busy with two crisis cases, so I had less chance to practise.",
    "I tried the opening we planned and the family joined in much sooner.",
    "Could we move next month's session to a Thursday? Mondays are full of meetings.",
    "Feeling more confident about this now. Still forget it when meetings run late.",
    "I would like to shadow someone who does this well, if that can be arranged.",
    "The checklist card is working. I keep it in my notebook.",
)
MET_REASON = "Held at the target in the observations since the plan started."
DROP_REASONS = (
    "Caseload changed to mostly document reviews, so there is little chance to work on "
    "this for now.",
    "Agreed to focus on the other goal first; we will come back to this one.",
    "On reflection this was not the real issue; the other goal covers it.",
)
CLOSED_REASON = "Every goal is met or set aside."


def add_plans(plans, *, seed, today, years=demo_observations.HISTORY_YEARS):
    """Coaching plans for the organizations just planned, after their observations and
    the drift job's first night; returns counts, or None without the shipped rubrics."""
    tools = demo_observations.load_tools()
    if demo_observations.FIDELITY_TOOL not in tools:
        return None
    setting = demo_observations.Setting(
        today, years, tools, list(ActivityType.objects.filter(is_active=True))
    )
    expected_from = today - SESSIONS_EXPECTED_DAYS * DAY
    update_with_history(
        Program.objects.filter(sessions_expected_from=None),
        reason="The demo's programs expect coaching sessions from three weeks before its today.",
        sessions_expected_from=expected_from,
    )
    made = Counter()
    for org in plans:
        here = list(_plans_for(org, seed=seed, setting=setting))
        store_sessions(here)
        for plan in here:
            made[plan.kind] += 1
            made["sessions"] += len(plan.sessions)
            made["comments"] += len(plan.comments)
        made["plans"] += len(here)
        # One organization at a time: progress reads each goal against its peers there.
        rng = random.Random(f"{seed}:{org.identity.slug}:coaching-goals")
        made.update(_settle_goals(rng, [plan.plan.pk for plan in here], today=today))
        routine = _routine_sessions(org, seed=seed, setting=setting, since=expected_from)
        CoachingSession.objects.bulk_create(routine, batch_size=BATCH_SIZE)
        made["routine sessions"] += len(routine)
    generations.touched(*(org.row for org in plans))
    return made


def _routine_sessions(org, *, seed, setting, since):
    """Unsaved routine sessions, on their own, of most practitioners with no plan and no
    session yet: one each since the programs began to expect them, by the coach assigned
    that day."""
    rng = random.Random(f"{seed}:{org.identity.slug}:routine-sessions")
    paths = demo_observations.trajectories_for(org, seed=seed, setting=setting)
    today = setting.today
    people = [p for p in paths if _coachable(p, paths[p], today)]
    rows = [p.row for p in people]
    busy = set(
        CoachingPlan.objects.filter(practitioner__in=rows).values_list("practitioner", flat=True)
    )
    busy |= set(
        CoachingSession.objects.filter(practitioner__in=rows).values_list("practitioner", flat=True)
    )
    assignments = demo_observations.assignments_by_practitioner(org)
    found = []
    for person in people:
        if person.row.pk in busy or rng.random() >= ROUTINE_SHARE:
            continue
        day = since + dt.timedelta(days=rng.randrange((today - since).days))
        coach = demo_observations.coach_on(assignments.get(person, ()), day)
        if coach is None:
            continue
        fmt = rng.choice(ROUTINE_FORMATS)
        found.append(
            CoachingSession(
                practitioner=person.row,
                coach=coach.row,
                created_by=coach.row,
                held_on=day,
                minutes=rng.choice(FORMATS[fmt][1]),
                format=fmt,
                notes=rng.choice(ROUTINE_NOTES),
                next_step=rng.choice(NEXT_STEPS),
            )
        )
    return found


class Made:
    """One plan started, with its sessions [(session, goals)] and comments
    [(comment, written at)] still to store."""

    def __init__(self, kind, plan):
        self.kind, self.plan, self.sessions, self.comments = kind, plan, [], []


def _plans_for(org, *, seed, setting):
    rng = random.Random(f"{seed}:{org.identity.slug}:coaching-plans")
    paths = demo_observations.trajectories_for(org, seed=seed, setting=setting)
    today = setting.today
    people = [p for p in paths if _coachable(p, paths[p], today)]
    rows = [p.row for p in people]
    tools = setting.tools
    alerts = _alerts_by_practitioner(rows, tools[demo_observations.FIDELITY_TOOL])
    observations = _growth_observations(rows, today)
    assignments = demo_observations.assignments_by_practitioner(org)
    zone = zoneinfo.ZoneInfo(org.identity.time_zone)
    for person in people:
        kind = paths[person].kind
        chance = rng.random()
        if kind == "steady" and chance >= STEADY_PLAN_SHARE and person.row.pk not in alerts:
            continue
        if CoachingPlan.objects.filter(practitioner=person.row).exists():
            continue  # a run interrupted before: what is there stays
        start = _start(rng, kind, paths[person], alerts, observations, person, tools, today)
        coach = start and demo_observations.coach_on(assignments.get(person, ()), start[0])
        if coach is None:
            continue
        made = _begin(kind, person, coach, start)
        _sessions(rng, made, assignments.get(person, ()), today, zone)
        yield made


def _coachable(person, trajectory, today):
    learning = (today - trajectory.hired).days < demo_observations.LEARNING_MONTHS * 30.44
    return person.leave_date is None and not learning


def _alerts_by_practitioner(rows, tool):
    """{person id: their active alert}, on the fidelity tool where they have one there."""
    found = {}
    alerts = DriftAlert.objects.filter(
        scope=DriftAlert.Scope.PERSON, practitioner__in=rows, status__in=DriftAlert.ACTIVE
    ).order_by("began_on", "pk")
    for alert in alerts:
        if alert.practitioner_id not in found or alert.rubric_id == tool.version.rubric_id:
            found[alert.practitioner_id] = alert
    return found


def _growth_observations(rows, today):
    """{person id: [observations with growth areas tied to items]}, oldest first, from
    the window a plan may start in."""
    found = {}
    rows = (
        Observation.objects.submitted()
        .filter(
            practitioner__in=rows,
            observed_on__gte=today - dt.timedelta(days=GROWTH_WINDOW[1]),
            observed_on__lte=today - dt.timedelta(days=GROWTH_WINDOW[0]),
        )
        .exclude(growth_areas_items=[])
        .select_related("rubric_version")
        .order_by("observed_on", "pk")
    )
    for row in rows:
        found.setdefault(row.practitioner_id, []).append(row)
    return found


def _start(rng, kind, path, alerts, observations, person, tools, today):
    """(start day, goals, alert, observation) for this practitioner; None when nothing
    here would start a plan."""
    yesterday = today - DAY
    alert = alerts.get(person.row.pk)
    goals = _from_alert(alert, tools) if alert is not None else []
    if goals:
        day = alert.began_on + dt.timedelta(days=rng.randint(*START_AFTER_ALERT))
        return _within_reach(rng, day, today), goals, alert, None
    if kind == "slipping":
        day = path.slide_from + dt.timedelta(days=rng.randint(*START_AFTER_SLIDE))
        goals = _from_slide(path, tools)
        return (_within_reach(rng, day, today), goals, None, None) if goals else None
    chosen = [o for o in observations.get(person.row.pk, ()) if _growth_goals(o, tools)]
    if not chosen:
        return None
    observation = rng.choice(chosen)
    day = observation.observed_on + dt.timedelta(days=rng.randint(*START_AFTER_OBSERVATION))
    return min(day, yesterday), _growth_goals(observation, tools), None, observation


def _within_reach(rng, day, today):
    """Not later than yesterday; a decline that began long ago was taken up in the last
    months (the first night's job sees old declines too), not years back."""
    earliest = today - dt.timedelta(days=rng.randint(*LATEST_START))
    return min(max(day, earliest), today - DAY)


def _tool_of(rubric_id, tools):
    return next((t for t in tools.values() if t.version.rubric_id == rubric_id), None)


def _from_alert(alert, tools):
    tool = _tool_of(alert.rubric_id, tools)
    if tool is None:
        return []
    found = goal_rules.from_moved(alert.moved, tool.definition, metric_prefix=levels.METRIC)
    return _with_rubric(found[:MAX_GOALS], tool, alert.began_on)


def _from_slide(path, tools):
    """The items the generator made slip faster, each aiming back at its level the day
    the slide began (rounded to a 5 the way a coach would say it); fidelity tool first.
    Where none of those can take a goal, the person's weakest items on the fidelity tool."""
    found = []
    for code in (demo_observations.FIDELITY_TOOL, demo_observations.MI_CODING):
        tool = tools.get(code)
        aimable = goal_rules.aimable_items(tool.definition) if tool else []
        found += _back_to_before(path, tool, [i for i in aimable if i.code in path.sliding_items])
    if not found:
        tool = tools[demo_observations.FIDELITY_TOOL]
        aimable = goal_rules.aimable_items(tool.definition)
        weakest = sorted(aimable, key=lambda i: (path.item_offsets.get(i.code, 0.0), i.code))
        found = _back_to_before(path, tool, weakest[:MAX_GOALS])
    return found[:MAX_GOALS]


def _back_to_before(path, tool, items):
    before = path.item_levels(path.slide_from, [i.code for i in items])
    return _with_rubric([_back_to(i, before[i.code]) for i in items], tool, path.slide_from)


def _back_to(item, fraction):
    return {
        "description": item.label[:200],
        "item_codes": [item.code],
        "metric_code": "",
        "target": 5 * round(20 * fraction),
    }


def _growth_goals(observation, tools):
    tool = _tool_of(observation.rubric_version.rubric_id, tools)
    if tool is None:
        return []
    found = goal_rules.from_growth_areas(
        observation.growth_areas_items, observation.scores, tool.definition
    )
    return _with_rubric(found[:MAX_GOALS], tool, None)


def _with_rubric(found, tool, decline_on):
    return [{**goal, "rubric": tool.version.rubric, "decline_on": decline_on} for goal in found]


def _begin(kind, person, coach, start):
    day, goals, alert, observation = start
    started = services.plan_start(
        practitioner=person.row,
        coaches=[coach.row],
        started_on=day,
        goals=goals,
        by=coach.row,
        alert=alert,
        observation=observation,
    )
    return Made(kind, started.plan)


def _sessions(rng, made, assignments, today, zone):
    """About monthly from the start to yesterday, each by the coach assigned that day,
    on one or both goals; now and then the practitioner comments after one. Unsaved:
    store_sessions writes them."""
    plan = made.plan
    goals = list(plan.goals.all())
    said = rng.sample(COMMENTS, 2)
    day = plan.started_on + dt.timedelta(days=rng.randint(*FIRST_SESSION))
    while day < today and goals:
        coach = demo_observations.coach_on(assignments, day)
        if coach is not None:
            made.sessions.append(_session(rng, plan, coach.row, day, goals))
            chance = SECOND_COMMENT_CHANCE if made.comments else COMMENT_CHANCE
            if len(made.comments) < len(said) and rng.random() < chance:
                text = said[len(made.comments)]
                made.comments.append(_comment(rng, plan, text, day, today, zone))
        day += dt.timedelta(days=rng.randint(*SESSION_GAP))


def _session(rng, plan, coach, day, goals):
    """(an unsaved session, the goals it worked on)."""
    fmt = rng.choices(list(FORMATS), [weight for weight, _ in FORMATS.values()])[0]
    worked = rng.sample(goals, rng.randint(1, len(goals)))
    session = CoachingSession(
        practitioner=plan.practitioner,
        plan=plan,
        coach=coach,
        created_by=coach,
        held_on=day,
        minutes=rng.choice(FORMATS[fmt][1]),
        format=fmt,
        notes=rng.choice(NOTES[fmt]).format(label=worked[0].description),
        next_step=rng.choice(NEXT_STEPS),
    )
    return session, worked


def _comment(rng, plan, text, day, today, zone):
    """(an unsaved comment by the practitioner, when they wrote it: within days of the
    session, never today or later)."""
    said_on = min(day + dt.timedelta(days=rng.randint(0, 3)), today - DAY)
    said_at = dt.datetime.combine(said_on, dt.time(rng.randint(9, 17), rng.randrange(0, 60, 5)))
    return PlanComment(plan=plan, author=plan.practitioner, text=text), said_at.replace(tzinfo=zone)


def store_sessions(made):
    """Sessions, the goals they worked on and comments of these plans, in bulk (as the
    rest of the demo is inserted: without history rows). Sessions are the bulk of the
    rows; the plans and goals, few, go through the services."""
    sessions = [session for m in made for session, _ in m.sessions]
    CoachingSession.objects.bulk_create(sessions, batch_size=BATCH_SIZE)
    worked = CoachingSession.goals.through
    links = [
        worked(coachingsession_id=session.pk, goal_id=goal.pk)
        for m in made
        for session, goals in m.sessions
        for goal in goals
    ]
    worked.objects.bulk_create(links, batch_size=BATCH_SIZE)
    comments = [comment for m in made for comment, _ in m.comments]
    PlanComment.objects.bulk_create(comments, batch_size=BATCH_SIZE)
    # created_at is stamped on insert; dated as when the practitioner wrote, instead.
    for m in made:
        for comment, said_at in m.comments:
            comment.created_at = said_at
    PlanComment.objects.bulk_update(comments, ["created_at"], batch_size=BATCH_SIZE)


def _settle_goals(rng, plan_ids, *, today):
    """Mark met the goals progress offers as met; set a few others aside with a reason,
    never a plan's last; close plans left with nothing to work on. Counts what it did."""
    goals = list(
        Goal.objects.filter(status=Goal.Status.ACTIVE, plan__in=plan_ids)
        .select_related("plan")
        .order_by("plan__practitioner__email", "pk")
    )
    held = progress.held_for_practitioners({g.plan.practitioner_id for g in goals})
    candidates = _observed_enough(goals, held, today)
    measured = progress.measure_goals([progress.GoalSpec.of(g) for g in candidates], today, held)
    met = {goal.pk for goal, found in zip(candidates, measured, strict=True) if found.met_offered}
    done = Counter()
    for goal in goals:
        if goal.pk in met:
            services.goal_change(goal=goal, status=Goal.Status.MET, status_reason=MET_REASON)
            done["goals met"] += 1
        elif rng.random() < DROP_CHANCE and _others_active(goal):
            reason = rng.choice(DROP_REASONS)
            services.goal_change(goal=goal, status=Goal.Status.DROPPED, status_reason=reason)
            done["goals dropped"] += 1
    done["plans closed"] = _close_finished(plan_ids)
    return done


def _observed_enough(goals, held, today):
    """The goals with enough observations since their start to be offered as met
    (progress.is_met asks for `held` of them): only those are worth measuring, which
    reads each against its organization's peers and is the costly part."""
    dates = {}
    rows = Observation.objects.submitted().filter(
        practitioner__in={g.plan.practitioner_id for g in goals}, observed_on__lte=today
    )
    for person, rubric, day in rows.values_list(
        "practitioner_id", "rubric_version__rubric_id", "observed_on"
    ):
        dates.setdefault((person, rubric), []).append(day)
    return [
        goal
        for goal in goals
        if sum(
            day > goal.started_on
            for day in dates.get((goal.plan.practitioner_id, goal.rubric_id), ())
        )
        >= held[goal.plan.practitioner_id]
    ]


def _others_active(goal):
    return goal.plan.goals.filter(status=Goal.Status.ACTIVE).exclude(pk=goal.pk).exists()


def _close_finished(plan_ids):
    finished = CoachingPlan.objects.active().filter(pk__in=plan_ids)
    finished = finished.exclude(goals__status=Goal.Status.ACTIVE)
    closed = 0
    for plan in finished.filter(goals__isnull=False).distinct().order_by("pk"):
        coaches = list(plan.coaches.all())
        services.plan_change(
            plan=plan,
            coaches=coaches,
            status=CoachingPlan.Status.CLOSED,
            closed_reason=CLOSED_REASON,
        )
        closed += 1
    return closed

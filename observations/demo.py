"""Demo observations: years of coaching visits whose scores move the way practice does.

A layer over miiwrap.people.demo. It reads the plans of the organizations a seed run has just
created (people, hire and leave dates, the history of coach assignments) and writes each
practitioner's observations: every four to ten weeks from hire, or from a few years back for
veterans, by the coach assigned that day, mostly on the MiiWrap fidelity tool and now and then
on the MI coding rubric. Scores follow a trajectory per practitioner: new hires learn, most
hold steady, some slip after good years, a few struggle. Stored metrics come from
observations.scoring exactly as on submit.

Each organization draws from its own random stream keyed by the seed and its slug, as the
people layer does, so its observations do not depend on what is built beside it.
"""

import datetime as dt
import math
import random
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from miiwrap import generations
from miiwrap.people.models import Role
from observations import scoring
from observations.models import ActivityType, Observation, RubricVersion
from observations.services import apply_scores

FIDELITY_TOOL, MI_CODING = "miiwrap-fidelity", "mi-coding"
# Trainers observe coaches on it, only in certification visits (certification.demo).
COACHING_FEEDBACK = "coaching-feedback"
COACHING_ACTIVITY = "Coaching feedback conversation"
HISTORY_YEARS = 3
YEAR_DAYS = 365
DAY = dt.timedelta(days=1)
BATCH_SIZE = 2000
FIRST_VISIT_DAYS = (7, 42)
GAP_DAYS = (28, 70)  # every four to ten weeks
MI_SHARE = 0.25
MI_SEGMENT_MINUTES = 20

# Who does what over time. Shares are of an organization's practitioners.
SLIPPING_SHARE, STRUGGLING_SHARE = 0.15, 0.05
PLATEAUS = {"steady": (0.80, 0.92), "slipping": (0.83, 0.91), "struggling": (0.58, 0.70)}
NEW_HIRE_START = (0.55, 0.65)
# New hires climb an S-curve from their start to their plateau over their first year.
LEARNING_MONTHS = 12
SLIDE_MONTHS = (6, 12)
SLIDE_PER_QUARTER = (0.025, 0.05)
SLIDING_ITEMS = 3  # items that fall twice as fast, so a drift alert has something to name
SESSION_NOISE, ITEM_SPREAD = 0.035, 0.06

DRAFT_DAYS, DRAFT_CHANCE = 14, 0.3
FEEDBACK_CHANCE, RESPONSE_CHANCE = 0.9, 0.12

FIDELITY_ACTIVITIES = {
    "Family team meeting": 40,
    "Home visit": 20,
    "One-to-one session": 12,
    "Crisis or safety planning": 8,
    "Transition meeting": 8,
    "Plan document review": 12,
}
MI_ACTIVITIES = {"One-to-one session": 50, "Home visit": 40, "Crisis or safety planning": 10}


# --- Trajectories --------------------------------------------------------------------------


@dataclass(frozen=True)
class Trajectory:
    """A practitioner's expected fidelity, as a fraction of possible points, on any day."""

    kind: str
    hired: dt.date
    plateau: float
    start: float
    slide_from: dt.date | None = None
    slide_per_quarter: float = 0.0
    item_offsets: dict = field(default_factory=dict, compare=False)
    sliding_items: frozenset = frozenset()

    def level(self, day):
        """From the start towards the plateau over the first year (slow, fast, slow), less
        any slide so far."""
        progress = min(1.0, max(0, (day - self.hired).days) / 30.44 / LEARNING_MONTHS)
        learned = progress * progress * (3 - 2 * progress)
        return self.start + (self.plateau - self.start) * learned - self.slide(day)

    def slide(self, day):
        if self.slide_from is None or day <= self.slide_from:
            return 0.0
        return self.slide_per_quarter * (day - self.slide_from).days / 91.3

    def item_levels(self, day, codes, session=0.0):
        """Each item's expected fraction on a day: the person's level, their own strengths and
        weaknesses, and a faster fall on the items that are slipping most."""
        base, slide = self.level(day) + session, self.slide(day)
        return {
            code: _clamp(
                base + self.item_offsets.get(code, 0.0) - slide * (code in self.sliding_items)
            )
            for code in codes
        }


def trajectories(rng, people, *, today, codes):
    """One trajectory per person: some slip after two or more good years, a few struggle."""
    tenured = [p for p in people if (last_day(p, today) - p.hire_date).days >= 2 * YEAR_DAYS]
    slipping = _pick(rng, tenured, len(people) * SLIPPING_SHARE)
    steady = [p for p in people if p not in slipping]
    struggling = _pick(rng, steady, max(1, len(people) * STRUGGLING_SHARE))
    kinds = {p: "slipping" if p in slipping else "steady" for p in people}
    kinds.update(dict.fromkeys(struggling, "struggling"))
    return {p: _trajectory(rng, p, kinds[p], today, codes) for p in people}


def _pick(rng, people, count):
    return set(rng.sample(people, min(len(people), round(count))))


def _trajectory(rng, person, kind, today, codes):
    plateau = rng.uniform(*PLATEAUS[kind])
    start = min(rng.uniform(*NEW_HIRE_START), plateau - 0.03)
    offsets = [rng.gauss(0, ITEM_SPREAD) for _ in codes]
    centre = sum(offsets) / len(offsets) if offsets else 0.0
    shape = {
        "item_offsets": {code: offset - centre for code, offset in zip(codes, offsets, strict=True)}
    }
    if kind == "slipping":
        slide_days = rng.randint(SLIDE_MONTHS[0] * 30, SLIDE_MONTHS[1] * 30)
        shape.update(
            slide_from=last_day(person, today) - dt.timedelta(days=slide_days),
            slide_per_quarter=rng.uniform(*SLIDE_PER_QUARTER),
            sliding_items=frozenset(rng.sample(codes, min(SLIDING_ITEMS, len(codes)))),
        )
    return Trajectory(kind, person.hire_date, plateau, start, **shape)


def last_day(person, today):
    """The last day a person can be observed: yesterday, or the day they left."""
    yesterday = today - DAY
    return min(person.leave_date, yesterday) if person.leave_date else yesterday


def _clamp(value, low=0.02, high=0.99):
    return min(high, max(low, value))


# --- Scores --------------------------------------------------------------------------------


def draw_scores(rng, definition, levels, activity_name):
    """Item scores around each item's expected fraction; "na" only where the item allows it."""
    meeting = "meeting" in activity_name.lower()
    skill = _mi_skill(levels)
    scores = {}
    for item in definition.items:
        if item.allows_na and rng.random() < _na_chance(item, meeting):
            scores[item.code] = scoring.NA
        elif item.kind == scoring.COUNT:
            scores[item.code] = _count(rng, item.code, skill)
        elif item.kind == scoring.YES_NO:
            scores[item.code] = int(rng.random() < levels.get(item.code, 0.8))
        else:
            scores[item.code] = _rating(rng, item, levels.get(item.code, 0.8))
    _balance_reflections(rng, scores, skill)
    return scores


def _na_chance(item, meeting):
    # Meeting indicators rarely apply outside a meeting; team and plan items sometimes don't.
    if item.kind == scoring.YES_NO:
        return 0.04 if meeting else 0.35
    return 0.03 if meeting else 0.1


def _rating(rng, item, fraction):
    """A whole rating whose expected value is the fraction of the scale's maximum."""
    mean = min(item.scale_max, max(item.scale_min, fraction * item.scale_max))
    value = math.floor(mean) + (rng.random() < mean - math.floor(mean))
    if rng.random() < 0.05:
        value += rng.choice((-1, 1))
    return min(item.scale_max, max(item.scale_min, value))


def _mi_skill(levels):
    """0 for a beginner (about 45 %), 1 for an expert (about 95 %)."""
    mean = sum(levels.values()) / len(levels) if levels else 0.8
    return _clamp((mean - 0.45) / 0.5, 0.0, 1.0)


# Expected counts in a 20-minute segment, from a beginner's to an expert's.
MI_COUNTS = {
    "gi": (7, 4),
    "persuade": (3, 0.2),
    "persuade-permission": (1, 3),
    "question": (26, 10),
    "affirm": (1, 5),
    "seek": (1, 4),
    "autonomy": (0.5, 3),
    "confront": (1.5, 0),
    "sr": (10, 34),  # all reflections; split into simple and complex afterwards
    "cr": (0, 0),
}


def _count(rng, code, skill):
    beginner, expert = MI_COUNTS.get(code, (3, 3))
    return poisson(rng, beginner + (expert - beginner) * skill)


def _balance_reflections(rng, scores, skill):
    """Split reflections into simple and complex (skill raises the complex share), and now
    and then code a segment without a single question, so R:Q is undefined."""
    reflections = scores.get("sr")
    if not isinstance(reflections, int) or not isinstance(scores.get("cr"), int):
        return
    complex_share = 0.2 + 0.45 * skill
    scores["cr"] = sum(rng.random() < complex_share for _ in range(reflections))
    scores["sr"] = reflections - scores["cr"]
    if isinstance(scores.get("question"), int) and rng.random() < 0.01:
        scores["question"] = 0


def poisson(rng, mean):
    """A Poisson draw; Knuth's method for small means, the normal approximation above."""
    if mean > 12:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


# --- Feedback ------------------------------------------------------------------------------

# code: (strength, growth area, next step). Behaviour-specific, in the coach's voice.
ITEM_FEEDBACK = {
    "ep-voice": (
        "The family's own words set the agenda, and you brought decisions back to them.",
        "Professionals set most of the agenda; the family's priorities came up late.",
        "Open the next meeting by asking the family what matters most right now, and write "
        "it down in their words.",
    ),
    "ep-strengths": (
        "You named specific strengths first and used them to choose strategies.",
        "Strengths were listed in general terms and not linked to any strategy.",
        "Before the next meeting, find two specific strengths with an example each, and tie "
        "one to a strategy.",
    ),
    "ep-transparency": (
        "You explained what happens next and who does what, and checked it was understood.",
        "The family was not told what happens next; professional terms went unexplained.",
        "Close by saying back who does what by when, in plain words, and ask the family to "
        "correct you.",
    ),
    "mi-open": (
        "Your open questions invited the family to tell their story at length.",
        "Most questions were closed or stacked, so answers stayed short.",
        "Ask one question at a time, and aim for two open questions for every closed one.",
    ),
    "mi-reflect": (
        "Your reflections added meaning that the family then built on.",
        "Reflections mostly repeated the family's words, or were missing after key statements.",
        "After each important statement, try a reflection that guesses the feeling behind it.",
    ),
    "mi-affirm": (
        "Your affirmations named specific efforts the family had made.",
        "Affirmations were rare, or general praise rather than a named effort or strength.",
        "Offer two affirmations that name a specific effort, such as calls made or plans kept.",
    ),
    "mi-change-talk": (
        "You noticed change talk and asked for more of it; the reasons for change grew.",
        "Change talk went by without a response, and sustain talk got more attention.",
        "When you hear a reason for change, reflect it and ask what else makes it important.",
    ),
    "mi-autonomy": (
        "You made clear the choices were the family's and offered options, not directions.",
        "Advice came without asking permission, and options narrowed to the team's favourite.",
        "Ask permission before advising, and offer at least two options to choose between.",
    ),
    "wp-team": (
        "The team reflected the family's choice, including people from their own network.",
        "The team was all professionals; the family was not asked who else they wanted there.",
        "Ask the family who helps them day to day, and invite one of them to the next meeting.",
    ),
    "wp-needs": (
        "Needs were stated as underlying needs, not as services to deliver.",
        "Needs were written as services rather than as what must be different for the family.",
        "Rewrite one need with the family as 'The family needs to feel / know / have ...' "
        "before choosing services.",
    ),
    "wp-plan": (
        "Each strategy traced back to a stated need and used a named strength.",
        "Strategies in the plan did not connect to the needs or strengths identified.",
        "For each strategy, say which need it meets and which strength it uses.",
    ),
    "wp-natural": (
        "Natural supports had real tasks in the plan, not just a seat at the table.",
        "Natural supports were present but had no tasks; professionals held every action.",
        "Give at least one action item to a natural support, agreed with them and the family.",
    ),
    "wp-transition": (
        "You talked about life after wraparound and who will keep the plan going.",
        "Nobody discussed who will carry the plan once formal services end.",
        "Ask at each meeting: who will help with this when we are no longer involved?",
    ),
    "ind-agenda": (
        "The meeting opened with an agenda and ground rules the family helped set.",
        "The meeting started without an agenda or ground rules.",
        "Open with a short agenda and ask the family for one ground rule.",
    ),
    "ind-safety": (
        "The safety plan was reviewed and updated with the family.",
        "The safety or crisis plan was not reviewed.",
        "Keep five minutes at every meeting to review the safety plan.",
    ),
    "ind-actions": (
        "Every action item had a name and a date.",
        "Action items were left without an owner or a date.",
        "Before closing, read back each action item with its owner and date.",
    ),
    "ind-summary": (
        "You summarised decisions before closing, so everyone left with the same picture.",
        "The meeting ended without a summary of what was decided.",
        "Leave five minutes at the end to summarise decisions and check agreement.",
    ),
    "cct": (
        "You drew out and strengthened the person's own reasons for change.",
        "Openings to explore the person's reasons for change were missed.",
        "Listen for desire, ability, reasons and need; when you hear one, ask for an example.",
    ),
    "sst": (
        "You acknowledged sustain talk without deepening it.",
        "Sustain talk was explored at length, which strengthened the case for not changing.",
        "Answer sustain talk with a double-sided reflection that ends on the change side.",
    ),
    "partnership": (
        "The conversation was shared work; the person's ideas shaped the plan.",
        "You led most of the conversation; the person's expertise was rarely asked for.",
        "Ask what the person thinks would work before offering your own ideas.",
    ),
    "empathy": (
        "You showed an accurate understanding of the person's point of view.",
        "Few reflections showed an understanding of the person's point of view.",
        "Try one reflection of feeling on each topic before moving on.",
    ),
}
RESPONSES = (
    "Thanks, this is fair. I will work on it before our next visit.",
    "Helpful. Could we listen to part of the recording together in supervision?",
    "I agree. The family was in crisis that day, so we ran short on time.",
    "Thank you, good to hear it came across. I will try the next step on Thursday.",
    "Got it. I would like to practise this in our next coaching session.",
)


class Note(NamedTuple):
    """One thing a coach could say: how well it went (0 to 1), about which items, and how."""

    fraction: float
    items: tuple
    strength: str
    growth: str
    next_step: str


def feedback(rng, definition, scores, result):
    """Strengths from the best items, growth areas and next steps from the weakest two."""
    notes = sorted(_notes(definition, scores, result), key=lambda n: (n.fraction, rng.random()))
    weak = [n for n in notes[:2] if n.fraction < 0.67]
    strong = [n for n in reversed(notes[-2:]) if n.fraction >= 0.99 and n not in weak]
    return {
        "strengths": " ".join(n.strength for n in strong),
        "strengths_items": [code for n in strong for code in n.items],
        "growth_areas": " ".join(n.growth for n in weak),
        "growth_areas_items": [code for n in weak for code in n.items],
        "next_steps": " ".join(n.next_step for n in weak),
        "next_steps_items": [code for n in weak for code in n.items],
    }


def _notes(definition, scores, result):
    for item in definition.items:
        value = scores.get(item.code)
        if item.kind == scoring.COUNT or not isinstance(value, int):
            continue
        span = max(1, item.scale_max - item.scale_min) if item.kind == scoring.RATING else 1
        low = item.scale_min if item.kind == scoring.RATING else 0
        texts = ITEM_FEEDBACK.get(item.code) or _generic_texts(item)
        yield Note((value - low) / span, (item.code,), *texts)
    yield from _reflection_notes(result)


def _generic_texts(item):
    label = item.label.lower()
    return (
        f"{item.label}: clearly in place.",
        f"{item.label}: not yet consistent.",
        f"Pick one moment in the next visit to practise {label}.",
    )


def _reflection_notes(result):
    """MI coding: the reflection summary scores deserve a sentence of their own."""
    ratio, complex_share = result.metric("r-q"), result.metric("pct-cr")
    if ratio is not None and ratio.value is not None:
        yield Note(
            min(1.0, ratio.value / 2),
            ("sr", "cr", "question"),
            f"Reflections outnumbered questions ({ratio.value:.1f} to 1).",
            f"More questions than reflections (R:Q {ratio.value:.1f}).",
            "Follow each question with at least one reflection before asking the next.",
        )
    if complex_share is not None and complex_share.value is not None:
        yield Note(
            min(1.0, complex_share.value / 50),
            ("sr", "cr"),
            f"{complex_share.value:.0f} % of your reflections were complex, adding meaning.",
            f"Only {complex_share.value:.0f} % of reflections were complex.",
            "Make every second reflection a complex one: add the meaning you hear.",
        )


# --- Visits --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """A rubric version the demo scores on, with its definition built once."""

    code: str
    version: RubricVersion
    definition: scoring.RubricDef


@dataclass(frozen=True)
class Setting:
    """What every visit of one run shares."""

    today: dt.date
    years: float
    tools: dict
    activities: list


def visit_days(rng, person, *, today, years):
    """Weekdays every four to ten weeks, from hire (or `years` back) to the last day."""
    first = max(person.hire_date, today - dt.timedelta(days=round(years * YEAR_DAYS)))
    last = last_day(person, today)
    day = first + dt.timedelta(days=rng.randint(*FIRST_VISIT_DAYS))
    while day <= last:
        weekday = day + dt.timedelta(days=7 - day.weekday() if day.weekday() >= 5 else 0)
        if weekday <= last:
            yield weekday
        day += dt.timedelta(days=rng.randint(*GAP_DAYS))


def coach_on(assignments, day):
    """The coach assigned on `day`, from a practitioner's assignment plans; None if nobody."""
    for assignment in assignments:
        if assignment.starts_on <= day and (
            assignment.ends_on is None or day <= assignment.ends_on
        ):
            return assignment.coach
    return None


def _stream(org, *, seed, setting):
    """The organization's random stream, its practitioners and their trajectories (the
    stream's first draws, so anyone replaying them gets the same paths)."""
    rng = random.Random(f"{seed}:{org.identity.slug}:observations")
    people = [p for p in org.people if Role.PRACTITIONER in p.roles]
    codes = sorted({item.code for tool in setting.tools.values() for item in tool.definition.items})
    return rng, people, trajectories(rng, people, today=setting.today, codes=codes)


def trajectories_for(org, *, seed, setting):
    """{person plan: Trajectory} as observations_for draws them."""
    return _stream(org, seed=seed, setting=setting)[2]


def observations_for(org, *, seed, setting):
    """Unsaved observations of one planned organization's practitioners, coaches included."""
    rng, people, paths = _stream(org, seed=seed, setting=setting)
    zone = zoneinfo.ZoneInfo(org.identity.time_zone)
    assignments = assignments_by_practitioner(org)
    rows = []
    for person in people:
        for day in visit_days(rng, person, today=setting.today, years=setting.years):
            coach = coach_on(assignments.get(person, ()), day)
            if coach is not None:
                rows.append(_observation(rng, setting, person, coach, day, paths[person], zone))
    return rows


def assignments_by_practitioner(org):
    found = {}
    for assignment in org.assignments:
        found.setdefault(assignment.practitioner, []).append(assignment)
    return found


def _observation(rng, setting, person, coach, day, trajectory, zone, tool=None, activity=None):
    """1. pick rubric and activity (unless given); 2. draw scores; 3. decide status and
    times; 4. compute the stored metrics; 5. write feedback and perhaps a reply."""
    tool = tool or _pick_tool(rng, setting.tools)
    activity = activity or _pick_activity(rng, setting.activities, tool.code)
    codes = [item.code for item in tool.definition.items]
    levels = trajectory.item_levels(day, codes, rng.gauss(0, SESSION_NOISE))
    scores = draw_scores(rng, tool.definition, levels, activity.name)
    recent = (setting.today - day).days <= DRAFT_DAYS
    status, saved_at, acknowledged_at = _timeline(
        rng, day, last_day(person, setting.today), zone, may_be_draft=recent
    )
    if status == Observation.Status.DRAFT and rng.random() < 0.5:
        for item in tool.definition.items[-rng.randint(1, 4) :]:
            scores.pop(item.code, None)  # a draft the coach has not finished scoring
    observation = Observation(
        practitioner=person.row,
        coach=coach.row,
        rubric_version=tool.version,
        observed_on=day,
        activity=activity,
        **_visit_format(rng, tool.code, activity.name),
        scores=scores,
        status=status,
        submitted_at=None if status == Observation.Status.DRAFT else saved_at,
        acknowledged_at=acknowledged_at,
    )
    result = apply_scores(observation, tool.definition, saved_at)
    _give_feedback(rng, observation, tool.definition, result)
    return observation


def planned_visit(rng, setting, person, coach, day, trajectory, zone, *, tool_code, activity):
    """An observation booked for a purpose (a certification), on a chosen rubric and
    activity; scored, timed and given feedback like any visit. `coach` needs only `.row`."""
    tool = setting.tools[tool_code]
    return _observation(rng, setting, person, coach, day, trajectory, zone, tool, activity)


def pick_activities(rng, setting, tool_code, count):
    """`count` different activity types, drawn as visits on this rubric draw them."""
    chosen = []
    for _ in range(20 * count):  # bounded: a rubric may weigh some activities at zero
        activity = _pick_activity(rng, setting.activities, tool_code)
        if activity not in chosen:
            chosen.append(activity)
        if len(chosen) == count:
            break
    return chosen


def _pick_tool(rng, tools):
    if MI_CODING in tools and (FIDELITY_TOOL not in tools or rng.random() < MI_SHARE):
        return tools[MI_CODING]
    return tools.get(FIDELITY_TOOL) or next(iter(tools.values()))


def _pick_activity(rng, activities, tool_code):
    # Activities a table does not name weigh `other`: practice may be seen anywhere but
    # in a coaching conversation, which is what the coaching rubric alone observes.
    if tool_code == COACHING_FEEDBACK:
        table, other = {COACHING_ACTIVITY: 1}, 0
    elif tool_code == MI_CODING:
        table, other = MI_ACTIVITIES, 0
    else:
        table, other = {**FIDELITY_ACTIVITIES, COACHING_ACTIVITY: 0}, 2
    weights = [table.get(a.name, other) for a in activities]
    if not any(weights):
        weights = [1] * len(activities)
    return rng.choices(activities, weights)[0]


def _visit_format(rng, tool_code, activity_name):
    if tool_code == MI_CODING:
        return {"mode": Observation.Mode.RECORDED, "duration_minutes": MI_SEGMENT_MINUTES}
    if tool_code == COACHING_FEEDBACK:
        return {"mode": Observation.Mode.LIVE, "duration_minutes": rng.choice((30, 45, 60))}
    if "document" in activity_name.lower():
        return {"mode": Observation.Mode.DOCUMENT, "duration_minutes": rng.choice((20, 30, 45))}
    return {"mode": Observation.Mode.LIVE, "duration_minutes": rng.choice((45, 60, 60, 75, 90))}


def _timeline(rng, day, last, zone, *, may_be_draft):
    """(status, submitted or saved at, acknowledged at): old visits are mostly read,
    recent ones may still wait for the practitioner, and a few of the latest are drafts."""
    age = (last - day).days
    if may_be_draft and rng.random() < DRAFT_CHANCE:
        return Observation.Status.DRAFT, _moment(rng, day, zone), None
    submitted = _moment(rng, min(day + dt.timedelta(days=rng.randint(0, 4)), last), zone)
    read_chance = 0.93 if age > 45 else 0.5 if age > 7 else 0.15
    if rng.random() >= read_chance:
        return Observation.Status.SUBMITTED, submitted, None
    read_on = min(submitted.date() + dt.timedelta(days=rng.randint(0, 10)), last)
    return Observation.Status.ACKNOWLEDGED, submitted, max(submitted, _moment(rng, read_on, zone))


def _moment(rng, day, zone):
    # Working hours where the organization is; never later than 18:00 on the day before the
    # seed's today, so no timestamp lies in the future in any of the demo's time zones.
    return dt.datetime.combine(
        day, dt.time(rng.randint(8, 17), rng.randrange(0, 60, 5)), tzinfo=zone
    )


def _give_feedback(rng, observation, definition, result):
    draft = observation.status == Observation.Status.DRAFT
    if rng.random() < (0.5 if draft else FEEDBACK_CHANCE):
        for name, value in feedback(rng, definition, observation.scores, result).items():
            setattr(observation, name, value)
    acknowledged = observation.status == Observation.Status.ACKNOWLEDGED
    if acknowledged and rng.random() < RESPONSE_CHANCE:
        observation.response = rng.choice(RESPONSES)


# --- Insert --------------------------------------------------------------------------------


def load_tools():
    """The latest published version of each shipped rubric still in the database."""
    versions = (
        RubricVersion.objects.published()
        .filter(rubric__code__in=[FIDELITY_TOOL, MI_CODING, COACHING_FEEDBACK])
        .select_related("rubric")
        .prefetch_related("items__domain", "metrics")
        .order_by("rubric__code", "-number")
    )
    latest = {}
    for version in versions:
        latest.setdefault(version.rubric.code, version)
    return {code: Tool(code, v, v.definition()) for code, v in latest.items()}


def add_observations(plans, *, seed, today, years=HISTORY_YEARS):
    """Write observations for the organizations just planned and inserted; returns how many
    were made on each rubric, or None when the rubrics or activity types are missing."""
    tools = load_tools()
    activities = list(ActivityType.objects.filter(is_active=True))
    if not (tools and activities):
        return None
    made = Counter()
    setting = Setting(today, years, tools, activities)
    for plan in plans:
        rows = observations_for(plan, seed=seed, setting=setting)
        Observation.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        made.update(row.rubric_version.rubric.name for row in rows)
    generations.touched(*(plan.row for plan in plans))
    return made

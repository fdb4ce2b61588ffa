"""Demo learning community: a year of events and the next two months, with who came.

A layer over miiwrap.people.demo, run after the people exist. The purveyor trains every
client organization together every two months (online or hybrid, by its senior trainer)
and holds a monthly learning community meeting that invites them all; each client
organization's coaches meet in a coaching circle of their own every two months, led by
one of them. Past events have their attendance recorded (most who registered came);
upcoming ones have registrations only.

Events are found by title and date, and registrations are one per event and person, so
running the demo again with more organizations invites them to the same events and adds
only their people.
"""

import datetime as dt
import random

from miiwrap import generations
from miiwrap.community.models import Attendance, Event
from miiwrap.people.models import Person, Role

DAY = dt.timedelta(days=1)
PAST_DAYS, AHEAD_DAYS = 365, 60
CAME = 0.82  # of those registered for a past event, the share marked attended
TRAINING_TOPICS = [
    "Engaging families who did not ask for help",
    "Reflective listening in team meetings",
    "Strengths and needs: from inventory to plan",
    "Natural supports that outlast services",
    "Evoking change talk with youth",
    "Planning the transition out of wraparound",
]
COMMUNITY_TOPICS = [
    "What drift looks like on a busy caseload",
    "Documentation that serves the plan",
    "Family voice in supervision",
    "Co-observation: what we learned",
    "Crisis plans that families use",
    "Working with schools as team members",
]


def add_events(plans, *, seed, today):
    """Events, registrations and attendance for the organizations just planned; returns
    {what: how many}."""
    clients = [plan for plan in plans if not plan.identity.is_purveyor]
    if not clients:
        return {"events": 0, "registrations": 0, "attended": 0}
    rng = random.Random(f"{seed}:community")
    trainer = _purveyor_trainer()
    people = {plan.row.pk: [p for p in plan.people if p.row is not None] for plan in clients}
    orgs = [plan.row for plan in clients]
    events = _cross_organization_events(rng, orgs, trainer, today)
    for plan in clients:
        events += _coaching_circles(rng, plan, today)
    rows = []
    for event, invited, roles in events:
        rows += _registrations(rng, event, [p for o in invited for p in people[o.pk]], roles, today)
    Attendance.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    # bulk_create sends no post_save: the decision queue reads attendance.
    generations.touched(*(org.pk for org in orgs))
    attended = sum(1 for row in rows if row.status == Attendance.Status.ATTENDED)
    return {"events": len(events), "registrations": len(rows), "attended": attended}


def _purveyor_trainer():
    staff = Person.objects.filter(organization__is_purveyor=True).with_role(Role.COACH)
    return staff.order_by("pk").first()


def _event(title, day, kind, invited, **fields):
    defaults = {"kind": kind, **fields}
    event, _ = Event.objects.get_or_create(title=title, held_on=day, defaults=defaults)
    event.organizations.add(*invited)
    return event


def _cross_organization_events(rng, orgs, trainer, today):
    """(event, invited organizations, roles that come) for the purveyor's trainings and
    the monthly learning community, from a year ago to two months ahead."""
    found = []
    start = today - PAST_DAYS * DAY
    for n, day in enumerate(_every(start, today + AHEAD_DAYS * DAY, 61, offset=9)):
        topic = TRAINING_TOPICS[n % len(TRAINING_TOPICS)]
        event = _event(
            f"MiiWrap training: {topic}",
            day,
            Event.Kind.TRAINING,
            orgs,
            topic=topic,
            format=rng.choice([Event.Format.ONLINE, Event.Format.HYBRID]),
            facilitator=trainer,
            capacity=30,
        )
        found.append((event, orgs, (Role.PRACTITIONER, Role.COACH)))
    for n, day in enumerate(_every(start, today + AHEAD_DAYS * DAY, 30, offset=16)):
        topic = COMMUNITY_TOPICS[n % len(COMMUNITY_TOPICS)]
        event = _event(
            f"Learning community: {topic}",
            day,
            Event.Kind.LEARNING_COMMUNITY,
            orgs,
            topic=topic,
            format=Event.Format.ONLINE,
            facilitator=trainer,
        )
        found.append((event, orgs, (Role.PRACTITIONER, Role.COACH, Role.LEADER)))
    return found


def _coaching_circles(rng, plan, today):
    coaches = [p for p in plan.coaches() if p.row is not None]
    if not coaches:
        return []
    found = []
    start = today - PAST_DAYS * DAY
    for day in _every(start, today + AHEAD_DAYS * DAY, 61, offset=rng.randrange(20, 40)):
        event = _event(
            f"{plan.row.name} coaching circle",
            day,
            Event.Kind.COACHING_CIRCLE,
            [plan.row],
            topic="Feedback that builds skill",
            format=Event.Format.IN_PERSON,
            facilitator=rng.choice(coaches).row,
            capacity=12,
        )
        found.append((event, [plan.row], (Role.COACH,)))
    return found


def _every(start, end, days, offset):
    """Weekdays from `start` + `offset` to `end`, every `days` days."""
    day = start + offset * DAY
    while day <= end:
        yield day + (7 - day.weekday()) % 7 * DAY if day.weekday() > 4 else day
        day += days * DAY


def _registrations(rng, event, people, roles, today):
    """Some of those working on the day who hold one of `roles`; all marked attended or
    absent for a past event, registered for one ahead; never past the capacity."""
    working = [
        p
        for p in people
        if set(p.roles) & set(roles)
        and p.hire_date <= event.held_on
        and (p.leave_date is None or p.leave_date >= event.held_on)
    ]
    share = 0.9 if event.kind == Event.Kind.COACHING_CIRCLE else 0.25
    chosen = [p for p in working if rng.random() < share]
    if event.capacity is not None:
        chosen = chosen[: event.capacity]
    past = event.held_on < today
    rows = []
    for person in chosen:
        status = Attendance.Status.REGISTERED
        if past:
            came = rng.random() < CAME
            status = Attendance.Status.ATTENDED if came else Attendance.Status.ABSENT
        rows.append(Attendance(event=event, person=person.row, status=status))
    return rows

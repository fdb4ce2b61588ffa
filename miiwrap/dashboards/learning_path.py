"""New hires' learning paths read from the database: the evidence for each step of
miiwrap.people.learning_path, for any number of people in four queries, and the new
hires (internal capacity's) they are read for."""

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse

from certification.models import CertificationPeriod
from coaching.models import CoachingPlan
from miiwrap.community.models import Attendance, Event
from miiwrap.dashboards import capacity as capacity_figures
from miiwrap.people import capacity
from miiwrap.people import learning_path as lp
from observations.models import Observation

EVENT_STEPS = {Event.Kind.TRAINING: lp.TRAINING, Event.Kind.LEARNING_COMMUNITY: lp.COMMUNITY}


def read(people, today, deadline_days):
    """{person id: learning_path.Checklist} for `people` [(id, hire date)]: four queries."""
    ids = [pk for pk, _ in people]
    evidence = {pk: {} for pk in ids}
    if ids:
        for key, pk, item in _evidence(ids):
            evidence[pk].setdefault(key, []).append(item)
    return {pk: lp.checklist(pk, hired, today, evidence[pk], deadline_days) for pk, hired in people}


def _evidence(ids):
    """(step key, person id, learning_path.Evidence) of every record that may count."""
    yield from _events(ids)
    yield from _observations(ids)
    yield from _plans(ids)
    yield from _certifications(ids)


def _events(ids):
    rows = Attendance.objects.attended().filter(person_id__in=ids, event__kind__in=EVENT_STEPS)
    for pk, event, kind, title, held_on in rows.order_by().values_list(
        "person_id", "event_id", "event__kind", "event__title", "event__held_on"
    ):
        url = reverse("community:event", args=[event])
        yield EVENT_STEPS[kind], pk, lp.Evidence(held_on, title, url)


def _observations(ids):
    rows = Observation.objects.submitted().of_practice().filter(practitioner_id__in=ids)
    for obs, pk, observed_on, rubric in rows.order_by().values_list(
        "pk", "practitioner_id", "observed_on", "rubric_version__rubric__name"
    ):
        url = reverse("observations:detail", args=[obs])
        yield lp.OBSERVATION, pk, lp.Evidence(observed_on, f"Observed on the {rubric}", url)


def _plans(ids):
    rows = CoachingPlan.objects.filter(practitioner_id__in=ids).order_by()
    for plan, pk, started_on in rows.values_list("pk", "practitioner_id", "started_on"):
        url = reverse("coaching:plan", args=[plan])
        yield lp.PLAN, pk, lp.Evidence(started_on, "Coaching plan started", url)


def _certifications(ids):
    rows = CertificationPeriod.objects.filter(
        person_id__in=ids, program__code=capacity.PRACTITIONER_PROGRAM
    )
    for period, pk, decided_on, until, revoked_on, program in rows.order_by().values_list(
        "pk", "person_id", "decided_on", "valid_until", "revoked_on", "program__name"
    ):
        if revoked_on is not None:
            until = min(until, revoked_on - dt.timedelta(days=1))
        url = reverse("certification:certificate", args=[period])
        yield lp.CERTIFICATION, pk, lp.Evidence(decided_on, f"{program} decided", url, until)


@dataclass(frozen=True)
class Row:
    hire: capacity.NewHire
    checklist: lp.Checklist


def new_hires(organizations, today, people=None):
    """[(organization, [Row])] for each organization with new hires (of `people` only,
    when given), those longest waiting first, and the deadline: eight queries."""
    hires, deadline = capacity_figures.new_hires(organizations, today, people)
    found = [(hire.person.id, hire.person.hire_date) for each in hires.values() for hire in each]
    checklists = read(found, today, deadline)
    groups = [
        (org, [Row(hire, checklists[hire.person.id]) for hire in hires[org.pk]])
        for org in organizations
    ]
    return [(org, rows) for org, rows in groups if rows], deadline


def for_person(person, today):
    """The person's learning path on their page, when they are a new hire; else None.
    No query for someone hired too long ago to be one."""
    if (today - person.hire_date).days > capacity.NEW_HIRE_DAYS:
        return None
    groups, _ = new_hires([person.organization], today, people=[person.pk])
    return groups[0][1][0].checklist if groups else None

"""A rule that asks for learning community events, read from the database: the person's
card, the decision page, the queue (kept and fresh) and what a decision keeps."""

import pytest
from django.urls import reverse

from certification import progress
from certification.models import CertificationPeriod, EvidenceRule, Program
from miiwrap import generations
from miiwrap.community import services as community
from miiwrap.community.models import Attendance, Event
from tests.certification.conftest import D, evidence

QUEUE = reverse("certification:queue")


def event(title, day, kind=Event.Kind.LEARNING_COMMUNITY, *organizations):
    made = Event.objects.create(title=title, held_on=day, kind=kind)
    made.organizations.set(organizations)
    return made


@pytest.fixture
def asks_for_events(world, certified_coach):
    """The first certification also asks for two learning community events in its 180
    days (from 2026-01-01 on the frozen today, 2026-06-30); Pat's observations meet the
    rest, and Pat attended one such event, missed one, and went to a training."""
    EvidenceRule.objects.filter(program__code="practitioner", kind="initial").update(
        min_events=2, event_kind=Event.Kind.LEARNING_COMMUNITY
    )
    evidence(certified_coach, world.practitioner)
    home = world.home
    went = event("Spring community", D(2026, 3, 12), Event.Kind.LEARNING_COMMUNITY, home)
    missed = event("May community", D(2026, 5, 14), Event.Kind.LEARNING_COMMUNITY, home)
    trained = event("Engagement training", D(2026, 4, 2), Event.Kind.TRAINING, home)
    too_early = event("Last year's community", D(2025, 12, 31), Event.Kind.LEARNING_COMMUNITY, home)
    for made, status in ((went, "attended"), (missed, "absent"), (trained, "attended")):
        Attendance.objects.create(event=made, person=world.practitioner, status=status)
    Attendance.objects.create(event=too_early, person=world.practitioner, status="attended")
    return {"went": went, "missed": missed}


def card(person):
    program = Program.objects.with_rules().get(code="practitioner")
    return progress.card(person, program)


def test_the_card_counts_only_attended_events_of_the_kind_in_the_days(world, asks_for_events):
    found = card(world.practitioner)
    events = found.progress.requirements[-1]
    assert events.text == "2 learning community events attended since 2026-01-01"
    assert events.detail == "1 of 2 learning community events attended; 1 more needed"
    assert not found.progress.meets
    assert [a.title for a in found.progress.events] == ["Spring community"]


def test_the_persons_page_shows_the_requirement(world, asks_for_events, login):
    page = login(world.practitioner).get(world.practitioner.get_absolute_url()).content.decode()
    assert "2 learning community events attended since 2026-01-01" in page
    assert "1 of 2 learning community events attended; 1 more needed" in page


def test_an_attendance_marked_later_makes_them_ready_and_the_kept_queue_follows(
    world, asks_for_events, login, django_capture_on_commit_callbacks
):
    coach = login(world.coach)
    assert world.practitioner.pk not in listed(coach.get(QUEUE))
    with django_capture_on_commit_callbacks(execute=True):
        community.attendance_record(
            event=asks_for_events["missed"], marks={world.practitioner: "attended"}
        )
    kept = listed(coach.get(QUEUE))
    with generations.uncached():
        fresh = listed(coach.get(QUEUE))
    assert kept == fresh == [world.practitioner.pk]


def test_an_event_moved_out_of_the_days_reaches_the_kept_queue(
    world, asks_for_events, login, django_capture_on_commit_callbacks
):
    community.attendance_record(
        event=asks_for_events["missed"], marks={world.practitioner: "attended"}
    )
    coach = login(world.coach)
    assert listed(coach.get(QUEUE)) == [world.practitioner.pk]
    moved = asks_for_events["went"]
    moved.held_on = D(2025, 11, 1)
    with django_capture_on_commit_callbacks(execute=True):
        community.event_save(event=moved, organizations=[world.home])
    kept = listed(coach.get(QUEUE))
    with generations.uncached():
        fresh = listed(coach.get(QUEUE))
    assert kept == fresh == []


def listed(response):
    page = response.context["page"]
    return [c.person.pk for c in page.object_list] if page else []


def test_the_decision_page_lists_the_events_and_the_decision_keeps_them(
    world, asks_for_events, login
):
    community.attendance_record(
        event=asks_for_events["missed"], marks={world.practitioner: "attended"}
    )
    client = login(world.coach)
    url = reverse("certification:decide", args=[world.practitioner.pk, "practitioner"])
    page = client.get(url).content.decode()
    assert "Events attended that count" in page
    assert reverse("community:event", args=[asks_for_events["missed"].pk]) in page
    assert client.post(url).status_code == 302
    period = CertificationPeriod.objects.get(person=world.practitioner)
    assert [entry for entry in period.evidence if "event" in entry] == [
        {"event": asks_for_events["went"].pk, "title": "Spring community", "held_on": "2026-03-12"},
        {"event": asks_for_events["missed"].pk, "title": "May community", "held_on": "2026-05-14"},
    ]
    assert len(period.evidence_ids()) == 4  # the observations, as before


def test_without_enough_events_a_decision_needs_a_reason(world, asks_for_events, login):
    url = reverse("certification:decide", args=[world.practitioner.pk, "practitioner"])
    response = login(world.coach).post(url)
    assert response.status_code == 400
    assert not CertificationPeriod.objects.filter(person=world.practitioner).exists()


def test_reading_events_costs_one_query_for_any_number_of_people(world, asks_for_events):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    program = Program.objects.with_rules().get(code="practitioner")

    def queries(people):
        with CaptureQueriesContext(connection) as captured:
            progress.cards(people, program)
        return [q["sql"] for q in captured.captured_queries]

    one = queries([world.practitioner])
    many = queries([world.practitioner, world.unassigned, world.coach, world.leader])
    assert len(one) == len(many)
    assert sum('"community_attendance"' in sql for sql in many) == 1

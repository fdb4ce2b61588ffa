"""Creating and editing events, registering, and recording attendance on the page."""

import datetime as dt

import pytest
from django.urls import reverse

from miiwrap.community.models import Attendance, Event
from miiwrap.once.forms import new_token
from tests.community.conftest import attend, make_event

NEW = reverse("community:new")


def event_data(*organizations, **changes):
    data = {
        "title": "Partnering with families",
        "held_on": "2026-08-20",
        "kind": Event.Kind.TRAINING,
        "format": Event.Format.ONLINE,
        "topic": "Engagement",
        "description": "",
        "facilitator": "",
        "organizations": [o.pk for o in organizations],
        "capacity": "12",
        "form_token": new_token(),
    }
    return {**data, **changes}


# Creating and editing


def test_the_purveyor_creates_an_event_for_several_organizations(login, world, events):
    data = event_data(world.home, world.away, facilitator=world.purveyor_admin.pk)
    response = login(world.purveyor_admin).post(NEW, data)
    event = Event.objects.get(title="Partnering with families")
    assert response.status_code == 302
    assert response["Location"] == event.get_absolute_url()
    assert set(event.organizations.all()) == {world.home, world.away}
    assert (event.created_by, event.facilitator, event.capacity) == (
        world.purveyor_admin,
        world.purveyor_admin,
        12,
    )


def test_an_event_form_sent_twice_stores_one_event(login, world, events):
    client = login(world.purveyor_admin)
    data = event_data(world.home)
    client.post(NEW, data)
    again = client.post(NEW, data)
    assert Event.objects.filter(title="Partnering with families").count() == 1
    assert again.status_code == 302


def test_a_leader_creates_an_event_for_their_own_organization(login, world, events):
    response = login(world.leader).post(NEW, event_data(world.home))
    assert response.status_code == 302
    event = Event.objects.get(title="Partnering with families")
    assert list(event.organizations.all()) == [world.home]


def test_a_leader_cannot_invite_another_organization(login, world, events):
    response = login(world.leader).post(NEW, event_data(world.home, world.away))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Event.objects.filter(title="Partnering with families").exists()


def test_the_form_starts_with_the_leaders_organization_invited(login, world, events):
    form = login(world.leader).get(NEW).context["form"]
    assert form["organizations"].value() == [world.home.pk]
    assert list(form.fields["organizations"].queryset) == [world.home]


@pytest.mark.parametrize("who", ["coach", "practitioner"])
def test_coaches_and_practitioners_do_not_create_events(login, world, events, who):
    assert login(getattr(world, who)).get(NEW).status_code == 404


def test_an_event_needs_an_organization_and_a_positive_capacity(login, world, events):
    response = login(world.purveyor_admin).post(NEW, event_data(capacity="0"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "organizations" in errors and "capacity" in errors


def test_two_events_with_one_title_on_one_day_are_refused(login, world, events):
    data = event_data(world.home, title=events.shared.title, held_on="2026-07-14")
    response = login(world.purveyor_admin).post(NEW, data)
    assert response.status_code == 400
    assert Event.objects.filter(title=events.shared.title).count() == 1


def test_a_leader_edits_an_event_for_their_organization_alone(login, world, events):
    url = reverse("community:edit", args=[events.home_only.pk])
    data = event_data(world.home, title="Riverbend circle, renamed")
    assert login(world.leader).post(url, data).status_code == 302
    events.home_only.refresh_from_db()
    assert events.home_only.title == "Riverbend circle, renamed"
    assert events.home_only.history.count() == 2


def test_a_leader_cannot_edit_an_event_that_invites_others(login, world, events):
    url = reverse("community:edit", args=[events.shared.pk])
    assert login(world.leader).get(url).status_code == 404


def test_the_outsider_cannot_edit_riverbends_event(login, world, events):
    url = reverse("community:edit", args=[events.home_only.pk])
    assert login(world.outsider).get(url).status_code == 404


# Registering


def register(client, event, person):
    return client.post(reverse("community:register", args=[event.pk]), {"person": person.pk})


def registrations(event):
    return sorted(row.person.first_name for row in event.attendances.select_related("person"))


def test_a_practitioner_registers_themselves(login, world, events):
    response = register(login(world.practitioner), events.shared, world.practitioner)
    assert response.status_code == 302
    row = Attendance.objects.get(event=events.shared)
    assert (row.person, row.status, row.recorded_by) == (
        world.practitioner,
        Attendance.Status.REGISTERED,
        world.practitioner,
    )


def test_registering_twice_stores_one_registration(login, world, events):
    client = login(world.practitioner)
    register(client, events.shared, world.practitioner)
    register(client, events.shared, world.practitioner)
    assert registrations(events.shared) == ["Pat"]


def test_a_practitioner_cannot_register_someone_else(login, world, events):
    response = register(login(world.practitioner), events.shared, world.unassigned)
    assert response.status_code == 302
    assert registrations(events.shared) == []


def test_a_coach_registers_their_caseload_but_not_others(login, world, events):
    client = login(world.coach)
    register(client, events.shared, world.practitioner)
    register(client, events.shared, world.unassigned)
    assert registrations(events.shared) == ["Pat"]


def test_a_leader_registers_anyone_in_their_organization(login, world, events):
    client = login(world.leader)
    register(client, events.shared, world.unassigned)
    register(client, events.shared, world.away_practitioner)  # not theirs
    assert registrations(events.shared) == ["Uma"]


def test_a_full_event_refuses_with_a_clear_message(login, world, events):
    for person in (world.coach, world.leader, world.org_admin, world.away_practitioner):
        attend(events.shared, person, Attendance.Status.REGISTERED)
    response = register(login(world.practitioner), events.shared, world.practitioner)
    page = login(world.practitioner).get(response["Location"]).content.decode()
    assert "is full: all 4 places are taken" in page
    assert "Pat" not in registrations(events.shared)


def test_an_absent_mark_frees_a_place(login, world, events):
    for person in (world.coach, world.leader, world.org_admin):
        attend(events.shared, person, Attendance.Status.REGISTERED)
    attend(events.shared, world.away_practitioner, Attendance.Status.ABSENT)
    register(login(world.practitioner), events.shared, world.practitioner)
    assert "Pat" in registrations(events.shared)


def test_registration_closes_once_the_event_has_taken_place(login, world, events):
    response = register(login(world.practitioner), events.past, world.practitioner)
    page = login(world.practitioner).get(response["Location"]).content.decode()
    assert "This event has taken place" in page
    assert registrations(events.past) == []


def test_the_outsider_gets_404_registering_for_riverbends_event(login, world, events):
    assert register(login(world.outsider), events.home_only, world.outsider).status_code == 404


def test_registering_is_post_only(login, world, events):
    url = reverse("community:register", args=[events.shared.pk])
    assert login(world.practitioner).get(url).status_code == 405


# Recording attendance


def attendance_url(event):
    return reverse("community:attendance", args=[event.pk])


def statuses(event):
    return {row.person.first_name: row.status for row in event.attendances.select_related("person")}


@pytest.fixture
def signed_up(world, events):
    attend(events.past, world.practitioner, Attendance.Status.REGISTERED)
    attend(events.past, world.away_practitioner, Attendance.Status.REGISTERED)


def test_the_purveyor_marks_every_registrant_and_adds_someone(login, world, events, signed_up):
    data = {
        f"person_{world.practitioner.pk}": "attended",
        f"person_{world.away_practitioner.pk}": "absent",
        "add": world.unassigned.pk,
    }
    response = login(world.purveyor_admin).post(attendance_url(events.past), data)
    assert response.status_code == 302
    assert statuses(events.past) == {"Pat": "attended", "Ari": "absent", "Uma": "attended"}
    added = Attendance.objects.get(event=events.past, person=world.unassigned)
    assert added.recorded_by == world.purveyor_admin


def test_a_leader_marks_their_own_people_only(login, world, events, signed_up):
    form = login(world.leader).get(attendance_url(events.past)).context["form"]
    assert [row.person for row in form.rows] == [world.practitioner]
    assert world.away_practitioner not in form.fields["add"].queryset
    data = {f"person_{world.practitioner.pk}": "attended", "add": world.away_practitioner.pk}
    response = login(world.leader).post(attendance_url(events.past), data)
    assert response.status_code == 400
    assert statuses(events.past) == {"Pat": "registered", "Ari": "registered"}


def test_saving_the_same_checklist_twice_writes_one_history_row(login, world, events, signed_up):
    client = login(world.purveyor_admin)
    data = {
        f"person_{world.practitioner.pk}": "attended",
        f"person_{world.away_practitioner.pk}": "registered",
    }
    client.post(attendance_url(events.past), data)
    client.post(attendance_url(events.past), data)
    row = Attendance.objects.get(event=events.past, person=world.practitioner)
    changes = list(row.history.order_by("history_date"))
    assert [(h.status, h.history_user) for h in changes] == [
        ("registered", None),
        ("attended", world.purveyor_admin.user),
    ]


def test_the_attendance_page_shows_who_changed_what(login, world, events, signed_up):
    client = login(world.purveyor_admin)
    data = {
        f"person_{world.practitioner.pk}": "attended",
        f"person_{world.away_practitioner.pk}": "absent",
    }
    client.post(attendance_url(events.past), data)
    history = client.get(attendance_url(events.past)).context["history"]
    changed = [
        (e.subject, e.who, [(c.old, c.new) for c in e.changes])
        for e in history
        if e.kind == "changed"
    ]
    assert sorted(changed) == [
        (
            world.away_practitioner.full_name,
            world.purveyor_admin.full_name,
            [("Registered", "Absent")],
        ),
        (
            world.practitioner.full_name,
            world.purveyor_admin.full_name,
            [("Registered", "Attended")],
        ),
    ]


def test_a_leader_reads_the_history_of_their_own_people_only(login, world, events, signed_up):
    data = {
        f"person_{world.practitioner.pk}": "attended",
        f"person_{world.away_practitioner.pk}": "absent",
    }
    login(world.purveyor_admin).post(attendance_url(events.past), data)
    history = login(world.leader).get(attendance_url(events.past)).context["history"]
    assert {entry.subject for entry in history} == {world.practitioner.full_name}


def test_the_facilitator_records_attendance(login, world, events, signed_up):
    events.past.facilitator = world.coach
    events.past.save()
    data = {
        f"person_{world.practitioner.pk}": "attended",
        f"person_{world.away_practitioner.pk}": "attended",
    }
    assert login(world.coach).post(attendance_url(events.past), data).status_code == 302
    assert statuses(events.past) == {"Pat": "attended", "Ari": "attended"}


@pytest.mark.parametrize("who", ["coach", "practitioner"])
def test_coaches_and_practitioners_who_do_not_facilitate_get_404(
    login, world, events, signed_up, who
):
    assert login(getattr(world, who)).get(attendance_url(events.past)).status_code == 404


def test_the_outsider_gets_404_on_riverbends_attendance(login, world, events):
    assert login(world.outsider).get(attendance_url(events.home_only)).status_code == 404


def test_an_unknown_status_is_a_form_error(login, world, events, signed_up):
    data = {
        f"person_{world.practitioner.pk}": "asleep",
        f"person_{world.away_practitioner.pk}": "attended",
    }
    response = login(world.purveyor_admin).post(attendance_url(events.past), data)
    assert response.status_code == 400
    assert statuses(events.past)["Pat"] == "registered"


def test_the_attendance_page_is_linked_from_the_event_for_those_who_record(login, world, events):
    url = attendance_url(events.past)
    assert url in login(world.leader).get(events.past.get_absolute_url()).content.decode()
    assert url not in login(world.practitioner).get(events.past.get_absolute_url()).content.decode()


def test_an_event_made_with_a_date_far_away_is_refused(login, world, events):
    response = login(world.purveyor_admin).post(NEW, event_data(world.home, held_on="0001-01-01"))
    assert response.status_code == 400
    assert "Choose a date between 1900 and 2200" in response.content.decode()


def test_a_new_event_is_listed_as_upcoming(login, world, events):
    login(world.purveyor_admin).post(NEW, event_data(world.home))
    upcoming = login(world.practitioner).get(reverse("community:list")).context["upcoming"]
    assert "Partnering with families" in [e.title for e in upcoming]
    assert make_event(world.home, held_on=dt.date(2027, 1, 1)).held_on.year == 2027


@pytest.mark.parametrize("value", ["²", str(2**63), "9" * 40, "abc", "", "\x00"])
def test_a_person_that_is_no_id_is_refused_with_a_message_not_a_500(login, world, events, value):
    client = login(world.leader)
    client.raise_request_exception = False
    url = reverse("community:register", args=[events.shared.pk])
    response = client.post(url, {"person": value})
    assert response.status_code in {302, 400}
    assert not Attendance.objects.exists()

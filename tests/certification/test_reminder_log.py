"""The admins' reminder log: who opens it, the Sent, Failed and Scheduled tabs, retrying."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import miiwrap.celery
from certification.models import Reminder, ReminderRule
from miiwrap.notifications.models import Notification
from miiwrap.notifications.tasks import deliver_notifications
from tests.certification.conftest import NOW, TODAY, D
from tests.factories import make_period, make_person

URL = reverse("certification:reminders")
OPENS = {"org_admin", "purveyor_admin", "outsider"}
PERSONAS = [
    "coach",
    "practitioner",
    "unassigned",
    "leader",
    "org_admin",
    "purveyor_admin",
    "outsider",
    "away_practitioner",
]
Status = Notification.Status
SENT_AT = dt.datetime(2026, 6, 30, 10, 2, tzinfo=dt.UTC)


def rule(days=30, timing="before_expiry", program="practitioner"):
    return ReminderRule.objects.get(
        program__code=program, organization=None, timing=timing, days=days
    )


def remind(period, recipient, role="practitioner", days=30, **fields):
    """A reminder of `period` to `recipient` with its notification (sent, unless told)."""
    fields.setdefault("status", Status.SENT)
    if fields["status"] == Status.SENT:
        fields.setdefault("sent_at", SENT_AT)
        fields.setdefault("email", recipient.email)
    reminder_rule = rule(days)
    note = Notification.objects.create(
        recipient=recipient,
        kind=Notification.Kind.REMINDER,
        delivery="digest" if role == "leader" else "email",
        subject=f"{period.person.full_name}: {period.program} in {days} days ({recipient})",
        body_text="Hello.",
        link=period.person.get_absolute_url(),
        **fields,
    )
    Reminder.objects.create(
        period=period,
        rule=reminder_rule,
        applied_rule=reminder_rule,
        recipient=recipient,
        role=role,
        due_on=reminder_rule.due_on(period),
        notification=note,
    )
    return note


def failed(period, recipient, error="SMTPRecipientsRefused: mailbox full", **fields):
    return remind(period, recipient, status=Status.FAILED, last_error=error, attempts=5, **fields)


def digest(leader, items, status=Status.SENT, day=TODAY):
    """A leader's digest carrying `items` (notifications), as compose_digests leaves them."""
    made = Notification.objects.create(
        recipient=leader,
        kind=Notification.Kind.DIGEST,
        digest_on=day,
        subject=f"Your digest for {day}",
        body_text="Items.",
        status=status,
        sent_at=SENT_AT if status == Status.SENT else None,
        email=leader.email,
    )
    Notification.objects.filter(pk__in=[item.pk for item in items]).update(
        digest=made, status=Status.IN_DIGEST
    )
    return made


@pytest.fixture
def periods(world):
    """Pat (home) and Ari (Elsewhere) hold MiiWrap Practitioner."""
    return {
        "home": make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 9, 1)),
        "away": make_period(world.away_practitioner, world.outsider, valid_from=D(2024, 9, 1)),
    }


def listed(response):
    return {entry.notification.pk for entry in response.context["page"].object_list}


# Who opens it ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_admins_open_the_log_and_everyone_else_gets_404(world, login, persona):
    response = login(getattr(world, persona)).get(URL)
    assert response.status_code == (200 if persona in OPENS else 404)


@pytest.mark.parametrize("tab", ["sent", "failed", "scheduled"])
def test_a_leader_gets_404_on_every_tab(world, login, tab):
    assert login(world.leader).get(URL, {"show": tab}).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, world):
    assert client.get(URL)["Location"] == f"{reverse('login')}?next={URL}"


def test_admins_find_the_log_from_the_roster_and_leaders_do_not(world, login):
    roster = reverse("certification:roster", args=["practitioner"])
    assert f'href="{URL}"' in login(world.org_admin).get(roster).content.decode()
    assert f'href="{URL}"' not in login(world.leader).get(roster).content.decode()


# Sent -------------------------------------------------------------------------------------


def test_an_org_admin_sees_her_organizations_reminders_only(world, login, periods):
    home = remind(periods["home"], world.practitioner)
    away = remind(periods["away"], world.away_practitioner)
    assert listed(login(world.org_admin).get(URL)) == {home.pk}
    assert listed(login(world.outsider).get(URL)) == {away.pk}


def test_the_purveyor_sees_every_organizations_reminders(world, login, periods):
    home = remind(periods["home"], world.practitioner)
    away = remind(periods["away"], world.away_practitioner)
    assert listed(login(world.purveyor_admin).get(URL)) == {home.pk, away.pk}


def test_a_sent_reminder_says_when_to_whom_about_whom(world, login, periods):
    remind(periods["home"], world.coach, role="coach")
    page = login(world.org_admin).get(URL).content.decode()
    assert "2026-06-30 06:02" in page  # 10:02 UTC in New York
    assert world.coach.full_name in page and world.coach.email in page
    assert "Coach" in page
    assert "MiiWrap Practitioner" in page
    # An admin opens the practitioner's view (miiwrap.people.links).
    assert f'href="{reverse("dashboards:practitioner", args=[world.practitioner.pk])}"' in page


def test_sent_lists_newest_first(world, login, periods):
    older = remind(periods["home"], world.practitioner, sent_at=SENT_AT - dt.timedelta(days=3))
    newer = remind(periods["home"], world.coach, role="coach")
    rows = login(world.org_admin).get(URL).context["page"].object_list
    assert [entry.notification.pk for entry in rows] == [newer.pk, older.pk]


def test_a_leaders_reminder_shows_the_digest_that_carried_it(world, login, periods):
    item = remind(periods["home"], world.leader, role="leader", status=Status.PENDING)
    carried = digest(world.leader, [item])
    response = login(world.org_admin).get(URL)
    assert listed(response) == {item.pk, carried.pk}
    page = response.content.decode()
    assert "in digest of 2026-06-30" in page
    assert "Daily digest for 2026-06-30" in page
    assert "Leader" in page


def test_failed_and_pending_reminders_are_not_in_sent(world, login, periods):
    failed(periods["home"], world.practitioner)
    remind(periods["home"], world.coach, role="coach", status=Status.PENDING)
    assert listed(login(world.org_admin).get(URL)) == set()


def test_other_kinds_of_notification_stay_out_of_the_log(world, login, periods):
    Notification.objects.create(
        recipient=world.practitioner, kind="feedback", subject="New feedback", body_text="x"
    )
    Notification.objects.filter(kind="feedback").update(status=Status.SENT, sent_at=SENT_AT)
    assert listed(login(world.org_admin).get(URL)) == set()


def test_the_program_filter_narrows_the_log(world, login, periods):
    remind(periods["home"], world.practitioner)
    assert len(listed(login(world.org_admin).get(URL, {"program": "practitioner"}))) == 1
    assert listed(login(world.org_admin).get(URL, {"program": "coach"})) == set()


def test_the_purveyor_filters_by_organization_and_others_have_no_such_filter(world, login, periods):
    home = remind(periods["home"], world.practitioner)
    remind(periods["away"], world.away_practitioner)
    response = login(world.purveyor_admin).get(URL, {"organization": world.home.pk})
    assert listed(response) == {home.pk}
    assert "organization" not in login(world.org_admin).get(URL).context["filter"].form.fields


def test_a_bad_filter_says_what_to_fix_instead_of_failing(world, login, periods):
    remind(periods["home"], world.practitioner)
    response = login(world.purveyor_admin).get(URL, {"program": "nope", "organization": "x"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert len(listed(response)) == 1


def test_an_unknown_tab_or_page_shows_the_first_page_of_sent(world, login, periods):
    remind(periods["home"], world.practitioner)
    response = login(world.org_admin).get(URL, {"show": "everything", "page": "zz"})
    assert response.status_code == 200
    assert response.context["show"] == "sent"
    assert len(listed(response)) == 1


def test_sent_reads_the_same_number_of_queries_for_2_and_20_rows(world, login, periods):
    client = login(world.purveyor_admin)
    client.get(URL)  # the session and the viewer are read once

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL)
        assert response.status_code == 200
        return len(captured), len(response.context["page"].object_list)

    def add(count):
        for n in range(count):
            recipient = make_person(world.home, "leader", first_name=f"Lead{n}")
            leader_item = remind(periods["home"], recipient, role="leader")
            digest(recipient, [leader_item])

    add(1)
    few = queries()
    add(9)
    many = queries()
    assert (few[1], many[1]) == (2, 20)
    assert many[0] == few[0]


def test_pages_hold_fifty_rows(world, login, periods):
    people = [make_person(world.home, "coach") for _ in range(51)]
    for person in people:
        remind(periods["home"], person, role="coach")
    client = login(world.org_admin)
    assert len(listed(client.get(URL))) == 50
    assert len(listed(client.get(URL, {"page": 2}))) == 1


# Failed and retrying ----------------------------------------------------------------------


def test_failed_shows_the_whole_error_and_the_attempts(world, login, periods):
    error = "SMTPRecipientsRefused: " + "mailbox unavailable " * 20
    note = failed(periods["home"], world.practitioner, error=error.strip())
    response = login(world.org_admin).get(URL, {"show": "failed"})
    assert listed(response) == {note.pk}
    page = response.content.decode()
    assert error.strip() in page
    assert "5 attempts" in page
    assert reverse("certification:retry_reminder", args=[note.pk]) in page


def test_failed_shows_emails_that_will_try_again_without_a_retry_button(world, login, periods):
    note = remind(
        periods["home"],
        world.practitioner,
        status=Status.PENDING,
        attempts=2,
        last_error="SMTPServerDisconnected: gone",
        next_attempt_at=dt.datetime(2026, 6, 30, 16, 20, tzinfo=dt.UTC),
    )
    remind(periods["home"], world.coach, role="coach", status=Status.PENDING)  # never tried
    response = login(world.org_admin).get(URL, {"show": "failed"})
    assert listed(response) == {note.pk}
    page = response.content.decode()
    assert "retrying, next attempt at 2026-06-30 12:20" in page
    assert reverse("certification:retry_reminder", args=[note.pk]) not in page
    assert "Retry all failed" not in page


def test_an_org_admin_sees_only_her_organizations_failures(world, login, periods):
    home = failed(periods["home"], world.practitioner)
    failed(periods["away"], world.away_practitioner)
    response = login(world.org_admin).get(URL, {"show": "failed"})
    assert listed(response) == {home.pk}
    assert response.context["failed_count"] == 1


@pytest.fixture
def enqueued(monkeypatch):
    """The tasks queued, instead of sending them to a broker."""
    calls = []
    monkeypatch.setattr(miiwrap.celery, "enqueue", lambda task, *args: calls.append(task))
    return calls


def test_retry_makes_a_failed_reminder_pending_and_queues_delivery(
    world, login, periods, enqueued, django_capture_on_commit_callbacks, frozen
):
    note = failed(periods["home"], world.practitioner)
    url = reverse("certification:retry_reminder", args=[note.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.org_admin).post(f"{url}?program=practitioner")
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?program=practitioner&show=failed"
    note.refresh_from_db()
    assert (note.status, note.attempts, note.next_attempt_at) == (Status.PENDING, 0, NOW)
    assert enqueued == [deliver_notifications]
    page = login(world.org_admin).get(response["Location"]).content.decode()
    assert "1 email will be sent again." in page


def test_retry_all_sends_again_only_what_the_admin_sees(
    world, login, periods, enqueued, django_capture_on_commit_callbacks
):
    mine = [
        failed(periods["home"], person, role=role)
        for person, role in [(world.practitioner, "practitioner"), (world.coach, "coach")]
    ]
    mine.append(digest(world.leader, [], status=Status.FAILED))
    theirs = failed(periods["away"], world.away_practitioner)
    client = login(world.org_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("certification:retry_failed"), follow=True)
    assert "3 emails will be sent again." in response.content.decode()
    statuses = dict(Notification.objects.values_list("pk", "status"))
    assert {statuses[note.pk] for note in mine} == {Status.PENDING}
    assert statuses[theirs.pk] == Status.FAILED
    assert enqueued == [deliver_notifications]


def test_retry_all_keeps_to_the_chosen_program(
    world, login, periods, enqueued, django_capture_on_commit_callbacks
):
    note = failed(periods["home"], world.practitioner)
    url = reverse("certification:retry_failed")
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.org_admin).post(f"{url}?program=coach", follow=True)
    assert "Nothing to send again" in response.content.decode()
    note.refresh_from_db()
    assert note.status == Status.FAILED
    assert enqueued == []


def test_retry_all_with_a_filter_that_does_not_parse_sends_nothing(
    world, login, periods, enqueued, django_capture_on_commit_callbacks
):
    note = failed(periods["home"], world.practitioner)
    url = reverse("certification:retry_failed")
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.org_admin).post(f"{url}?program=nope", follow=True)
    assert "Nothing to send again" in response.content.decode()
    note.refresh_from_db()
    assert note.status == Status.FAILED


def test_retrying_another_organizations_reminder_is_404(world, login, periods, enqueued):
    theirs = failed(periods["away"], world.away_practitioner)
    url = reverse("certification:retry_reminder", args=[theirs.pk])
    assert login(world.org_admin).post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.FAILED


@pytest.mark.parametrize("persona", ["leader", "coach", "practitioner"])
def test_non_admins_cannot_retry(world, login, periods, enqueued, persona):
    note = failed(periods["home"], world.practitioner)
    client = login(getattr(world, persona))
    assert client.post(reverse("certification:retry_failed")).status_code == 404
    assert client.post(reverse("certification:retry_reminder", args=[note.pk])).status_code == 404
    note.refresh_from_db()
    assert note.status == Status.FAILED


def test_retry_is_post_only(world, login, periods):
    note = failed(periods["home"], world.practitioner)
    client = login(world.org_admin)
    assert client.get(reverse("certification:retry_failed")).status_code == 405
    assert client.get(reverse("certification:retry_reminder", args=[note.pk])).status_code == 405


def test_retrying_what_already_went_again_changes_nothing(
    world, login, periods, enqueued, django_capture_on_commit_callbacks
):
    note = remind(periods["home"], world.practitioner)  # sent
    url = reverse("certification:retry_reminder", args=[note.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.org_admin).post(url, follow=True)
    assert "Nothing to send again" in response.content.decode()
    note.refresh_from_db()
    assert note.status == Status.SENT
    assert enqueued == []


# Scheduled next ---------------------------------------------------------------------------


@pytest.fixture
def expiring(world, frozen):
    """Pat's and Ari's certifications expire on 2026-07-20, 20 days after TODAY."""
    return {
        "home": make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 7, 21)),
        "away": make_period(world.away_practitioner, world.outsider, valid_from=D(2024, 7, 21)),
    }


def coming(response):
    return [
        (row.due.due_on, row.person.pk, row.due.rule.moment, row.recipient.pk, row.role)
        for row in response.context["page"].object_list
    ]


def test_scheduled_shows_the_reminders_coming_to_each_recipient(world, login, expiring):
    assert expiring["home"].valid_until == D(2026, 7, 20)
    response = login(world.org_admin).get(URL, {"show": "scheduled"})
    pat = world.practitioner.pk
    assert coming(response) == [
        (D(2026, 7, 13), pat, "7 days before expiry", pat, "The person"),
        (D(2026, 7, 13), pat, "7 days before expiry", world.coach.pk, "Coach"),
        (D(2026, 7, 13), pat, "7 days before expiry", world.leader.pk, "Leader"),
        (D(2026, 7, 21), pat, "1 day after expiry (on lapse)", pat, "The person"),
        (D(2026, 7, 21), pat, "1 day after expiry (on lapse)", world.coach.pk, "Coach"),
        (D(2026, 7, 21), pat, "1 day after expiry (on lapse)", world.leader.pk, "Leader"),
    ]
    page = response.content.decode()
    assert "2026-07-13" in page and "MiiWrap Practitioner" in page
    assert "Leader, in the daily digest" in page


def test_scheduled_shows_only_people_the_admin_sees(world, login, expiring):
    people = {row[1] for row in coming(login(world.outsider).get(URL, {"show": "scheduled"}))}
    assert people == {world.away_practitioner.pk}
    everyone = coming(login(world.purveyor_admin).get(URL, {"show": "scheduled"}))
    assert {row[1] for row in everyone} == {world.practitioner.pk, world.away_practitioner.pk}


def test_scheduled_follows_the_filters(world, login, expiring):
    client = login(world.purveyor_admin)
    home = client.get(URL, {"show": "scheduled", "organization": world.home.pk})
    assert {row[1] for row in coming(home)} == {world.practitioner.pk}
    assert coming(client.get(URL, {"show": "scheduled", "program": "coach"})) == []


def test_scheduled_leaves_out_what_is_further_than_30_days(world, login, frozen):
    # Expires 2026-09-30: the 90-day reminder is due 2026-07-02, inside; the 60-day after.
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 10, 1))
    found = coming(login(world.org_admin).get(URL, {"show": "scheduled"}))
    assert {(row[0], row[2]) for row in found} == {(D(2026, 7, 2), "90 days before expiry")}
    # Expires 2027-05-01: nothing for months.
    make_period(world.unassigned, world.purveyor_admin, valid_from=D(2025, 5, 2))
    found = coming(login(world.org_admin).get(URL, {"show": "scheduled"}))
    assert world.unassigned.pk not in {row[1] for row in found}


def test_scheduled_reads_people_in_bulk(world, login, frozen):
    client = login(world.purveyor_admin)
    client.get(URL, {"show": "scheduled"})

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"show": "scheduled"})
        return len(captured), len(response.context["page"].object_list)

    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 7, 21))
    one = queries()
    for person in [world.unassigned, world.coach]:
        make_period(person, world.purveyor_admin, valid_from=D(2024, 7, 21))
    many = queries()
    assert one[1] < many[1]
    assert many[0] == one[0]


def test_failed_lists_every_kind_of_email_and_retries_it(world, login, periods, monkeypatch):
    # Feedback and decision emails are not reminders, but one that failed still needs an
    # admin's hand; the Sent tab keeps to reminders and digests.
    note = Notification.objects.create(
        recipient=world.practitioner,
        kind=Notification.Kind.FEEDBACK,
        subject="New feedback to acknowledge",
        body_text="Body",
        status=Status.FAILED,
        attempts=5,
        last_error="SMTPServerDisconnected: gone",
    )
    client = login(world.org_admin)
    assert note.pk in listed(client.get(URL, {"show": "failed"}))
    assert note.pk not in listed(client.get(URL))
    monkeypatch.setattr(miiwrap.celery, "enqueue", lambda *args, **kwargs: True)
    client.post(reverse("certification:retry_reminder", args=[note.pk]))
    note.refresh_from_db()
    assert note.status == Status.PENDING

"""Each person's notifications: the list, opening one, marking read, and the nav badge."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from miiwrap.notifications.models import Notification
from miiwrap.notifications.views import status_words

URL = reverse("notifications:list")
Status = Notification.Status
SENT_AT = dt.datetime(2026, 6, 30, 14, 2, tzinfo=dt.UTC)  # 10:02 in New York


def note(recipient, subject="Your certification expires soon", **fields):
    fields.setdefault("kind", Notification.Kind.REMINDER)
    fields.setdefault("link", recipient.get_absolute_url())
    return Notification.objects.create(
        recipient=recipient, subject=subject, body_text="Hello.", **fields
    )


def listed(response):
    return [n.pk for n, _ in response.context["page"].object_list]


def badge(response):
    """The unread count in the navigation, or None without a badge."""
    page = response.content.decode()
    marker = "data-unread-count>"
    if marker not in page:
        return None
    return int(page.split(marker, 1)[1].split("<", 1)[0])


# The list ---------------------------------------------------------------------------------


def test_a_person_sees_only_their_own_notifications_newest_first(world, login):
    older = note(world.practitioner, "Older", created_at=SENT_AT - dt.timedelta(days=1))
    newer = note(world.practitioner, "Newer", created_at=SENT_AT)
    note(world.coach, "Cora's own")
    note(world.away_practitioner, "Ari's own")
    response = login(world.practitioner).get(URL)
    assert response.status_code == 200
    assert listed(response) == [newer.pk, older.pk]
    assert "Cora's own" not in response.content.decode()


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "purveyor_admin", "outsider"])
def test_every_persona_sees_only_their_own(world, login, persona):
    person = getattr(world, persona)
    mine = note(person, f"For {person.first_name}")
    note(world.practitioner, "For Pat")
    assert listed(login(person).get(URL)) == [mine.pk]


def test_anonymous_is_sent_to_sign_in(client, world):
    assert client.get(URL)["Location"] == f"{reverse('login')}?next={URL}"


def test_a_login_without_a_staff_record_gets_404(client, world):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)
    assert client.get(URL).status_code == 404
    assert "Notifications" not in client.get(reverse("home"), follow=True).content.decode()


def test_each_status_reads_in_plain_words(world, login):
    note(world.practitioner, "Sent one", status=Status.SENT, sent_at=SENT_AT)
    note(world.practitioner, "Waiting one")
    note(
        world.practitioner,
        "Failed one",
        status=Status.FAILED,
        attempts=5,
        last_error="Pat Last has no email address on record.",
    )
    page = login(world.practitioner).get(URL).content.decode()
    assert "Emailed 2026-06-30 10:02" in page
    assert "Waiting to send" in page
    assert "Email failed: Pat Last has no email address on record." in page


def test_status_words_for_sending_and_retrying():
    retry_at = dt.datetime(2026, 6, 30, 16, 20, tzinfo=dt.UTC)
    retrying = Notification(status=Status.PENDING, attempts=2, next_attempt_at=retry_at)
    assert status_words(retrying) == "Waiting to send (trying again at 2026-06-30 12:20)"
    assert status_words(Notification(status=Status.SENDING)) == "Sending"
    assert status_words(Notification(status=Status.FAILED)) == ("Email failed: no reason recorded")


def test_a_digest_lists_its_items_and_they_are_not_listed_again(world, login):
    digest = note(
        world.leader,
        "Your digest for 2026-06-30: 2 items",
        kind=Notification.Kind.DIGEST,
        digest_on=dt.date(2026, 6, 30),
        link=URL,
    )
    items = [
        note(world.leader, f"Pat: item {n}", delivery="digest", digest=digest, status="in_digest")
        for n in range(2)
    ]
    response = login(world.leader).get(URL)
    assert listed(response) == [digest.pk]
    page = response.content.decode()
    for item in items:
        assert item.subject in page
        assert reverse("notifications:open", args=[item.pk]) in page


def test_the_list_is_paginated(world, login):
    for n in range(30):
        note(world.practitioner, f"Number {n}")
    client = login(world.practitioner)
    assert len(listed(client.get(URL))) == 25
    assert len(listed(client.get(URL, {"page": 2}))) == 5
    assert len(listed(client.get(URL, {"page": "zz"}))) == 25
    assert len(listed(client.get(URL, {"page": 99}))) == 5


def test_unread_ones_are_highlighted(world, login):
    note(world.practitioner, "Read already", read_at=SENT_AT)
    note(world.practitioner, "Still new")
    page = login(world.practitioner).get(URL).content.decode()
    assert page.count('data-unread="yes"') == 1
    assert page.count('data-unread="no"') == 1


def test_the_list_reads_a_constant_number_of_queries(world, login):
    client = login(world.leader)
    client.get(URL)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            client.get(URL)
        return len(captured)

    def add_digest(day):
        made = note(world.leader, f"Digest {day}", kind="digest", digest_on=day)
        for n in range(3):
            note(world.leader, f"Item {n}", delivery="digest", digest=made, status="in_digest")

    add_digest(dt.date(2026, 6, 1))
    few = queries()
    for day in range(2, 12):
        add_digest(dt.date(2026, 6, day))
    assert queries() == few


# Opening one and marking read -------------------------------------------------------------


def test_opening_a_notification_marks_it_read_and_follows_its_link(world, login):
    mine = note(world.practitioner)
    response = login(world.practitioner).get(reverse("notifications:open", args=[mine.pk]))
    assert response.status_code == 302
    assert response["Location"] == world.practitioner.get_absolute_url()
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_opening_it_again_keeps_the_first_read_time(world, login):
    mine = note(world.practitioner, read_at=SENT_AT)
    login(world.practitioner).get(reverse("notifications:open", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.read_at == SENT_AT


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "purveyor_admin", "outsider"])
def test_opening_someone_elses_notification_is_404(world, login, persona):
    pats = note(world.practitioner)
    response = login(getattr(world, persona)).get(reverse("notifications:open", args=[pats.pk]))
    assert response.status_code == 404
    pats.refresh_from_db()
    assert pats.read_at is None


@pytest.mark.parametrize("link", ["", "//elsewhere.example/steal", "https://elsewhere.example/"])
def test_a_missing_or_outside_link_leads_back_to_the_list(world, login, link):
    mine = note(world.practitioner, link=link)
    response = login(world.practitioner).get(reverse("notifications:open", args=[mine.pk]))
    assert response["Location"] == URL


def test_mark_all_as_read_marks_only_ones_own(world, login):
    mine = [note(world.practitioner, f"Mine {n}") for n in range(3)]
    theirs = note(world.coach)
    response = login(world.practitioner).post(reverse("notifications:mark_all_read"), follow=True)
    assert "Marked 3 notifications as read." in response.content.decode()
    assert all(n.read_at for n in Notification.objects.filter(pk__in=[n.pk for n in mine]))
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert badge(response) is None


def test_mark_all_as_read_is_post_only(world, login):
    note(world.practitioner)
    client = login(world.practitioner)
    assert client.get(reverse("notifications:mark_all_read")).status_code == 405
    assert Notification.objects.filter(read_at=None).count() == 1


def test_the_button_shows_only_with_something_unread(world, login):
    client = login(world.practitioner)
    note(world.practitioner, read_at=SENT_AT)
    assert "Mark all as read" not in client.get(URL).content.decode()
    note(world.practitioner)
    assert "Mark all as read" in client.get(URL).content.decode()


# The badge in the navigation --------------------------------------------------------------


def test_the_nav_shows_the_unread_count_on_every_page(world, login):
    for n in range(2):
        note(world.practitioner, f"New {n}")
    note(world.practitioner, "Read", read_at=SENT_AT)
    note(world.coach, "Not Pat's")
    client = login(world.practitioner)
    assert badge(client.get(world.practitioner.get_absolute_url())) == 2
    assert badge(client.get(URL)) == 2


def test_digest_items_count_once_through_their_digest(world, login):
    digest = note(world.leader, "Digest", kind="digest", digest_on=dt.date(2026, 6, 30))
    note(world.leader, "Item", delivery="digest", digest=digest, status="in_digest")
    assert badge(login(world.leader).get(URL)) == 1


def test_no_badge_when_everything_is_read(world, login):
    note(world.practitioner, read_at=SENT_AT)
    page = login(world.practitioner).get(URL)
    assert badge(page) is None
    assert "Notifications" in page.content.decode()


def test_pages_for_anonymous_visitors_never_count_notifications(client, world):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("login")).status_code == 200
    assert not any("notifications_notification" in q["sql"] for q in captured)


def test_the_badge_costs_one_query(world, login):
    client = login(world.practitioner)
    client.get(URL)
    with CaptureQueriesContext(connection) as captured:
        client.get(world.practitioner.get_absolute_url())
    counts = [q for q in captured if 'FROM "notifications_notification"' in q["sql"]]
    assert len(counts) == 1

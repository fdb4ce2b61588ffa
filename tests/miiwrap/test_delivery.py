"""Sending notifications: once each, retried with backoff, failures kept with their error."""

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from miiwrap.notifications import delivery
from miiwrap.notifications.models import Notification

MINUTE = dt.timedelta(minutes=1)


class Refusing(EmailBackend):
    """An SMTP server that refuses every message."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class RefusingOne(EmailBackend):
    def send_messages(self, messages):
        if any("bad" in address for message in messages for address in message.to):
            raise smtplib.SMTPRecipientsRefused({"bad@example.org": (550, b"No such user")})
        return super().send_messages(messages)


def note(person, subject="Hello", **fields):
    return delivery.notify(person, "feedback", subject, "Body", link="/x/", **fields)


def test_each_notification_is_emailed_once(world):
    first, second = note(world.practitioner, "One"), note(world.coach, "Two")
    sent = delivery.deliver()
    assert (sent.sent, sent.retrying, sent.failed) == (2, 0, 0)
    assert sorted(m.subject for m in mail.outbox) == ["One", "Two"]
    first.refresh_from_db()
    assert first.status == "sent" and first.email == world.practitioner.email
    assert first.sent_at is not None and first.attempts == 1
    # Nothing is due any more.
    assert delivery.deliver().sent == 0 and len(mail.outbox) == 2
    second.refresh_from_db()
    assert second.status == "sent"


def test_html_goes_as_an_alternative(world):
    note(world.practitioner, body_html="<p>Body</p>")
    delivery.deliver()
    (message,) = mail.outbox
    assert message.alternatives[0].content == "<p>Body</p>"


def test_a_failure_is_retried_with_backoff_then_marked_failed(world, settings):
    settings.EMAIL_BACKEND = "tests.miiwrap.test_delivery.Refusing"
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    item = note(world.practitioner)
    now = timezone.now()
    assert delivery.deliver(now).retrying == 1
    item.refresh_from_db()
    assert item.status == "pending" and item.attempts == 1
    assert item.next_attempt_at == now + 5 * MINUTE
    assert "SMTPServerDisconnected" in item.last_error
    # Not due again before its time.
    assert delivery.deliver(now + 4 * MINUTE).retrying == 0
    assert delivery.deliver(now + 5 * MINUTE).retrying == 1
    item.refresh_from_db()
    assert item.next_attempt_at == now + 15 * MINUTE  # 10 minutes after the second failure
    assert delivery.deliver(now + 15 * MINUTE).failed == 1
    item.refresh_from_db()
    assert item.status == "failed" and item.attempts == 3
    assert "Connection unexpectedly closed" in item.last_error
    # A failed one stays failed until an admin retries it; then it goes out.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert delivery.deliver(now + 60 * MINUTE).sent == 0
    assert delivery.retry(Notification.objects.all()) == 1
    assert delivery.deliver().sent == 1


def test_one_bad_address_does_not_hold_up_the_rest(world, settings):
    settings.EMAIL_BACKEND = "tests.miiwrap.test_delivery.RefusingOne"
    world.coach.email = "bad@example.org"
    world.coach.save()
    note(world.coach)
    note(world.practitioner)
    sent = delivery.deliver()
    assert (sent.sent, sent.retrying) == (1, 1)
    assert [m.to for m in mail.outbox] == [[world.practitioner.email]]


def test_no_address_is_a_failure_with_a_reason(world):
    world.practitioner.email = ""
    world.practitioner.save()
    world.practitioner.user.email = ""
    world.practitioner.user.save()
    item = note(world.practitioner)
    assert delivery.deliver().failed == 1
    item.refresh_from_db()
    assert item.status == "failed" and "no email address" in item.last_error
    assert mail.outbox == []


def test_a_claim_left_by_a_stopped_worker_is_released(world):
    item = note(world.practitioner)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Notification.objects.filter(pk=item.pk).update(
        status="sending", claim="gone", claimed_at=long_ago
    )
    assert delivery.deliver().sent == 1


def test_a_fresh_claim_is_left_to_its_worker(world):
    item = note(world.practitioner)
    Notification.objects.filter(pk=item.pk).update(
        status="sending", claim="busy", claimed_at=timezone.now()
    )
    assert delivery.deliver().sent == 0


def test_digest_items_are_not_emailed_alone(world):
    item = note(world.leader, digest=True)
    assert delivery.deliver().sent == 0
    assert delivery.compose_digests() == 1
    sent = delivery.deliver()
    assert sent.sent == 1
    (message,) = mail.outbox
    assert message.to == [world.leader.email] and "Hello" in message.body
    item.refresh_from_db()
    assert item.status == "in_digest" and item.digest.kind == "digest"
    # One digest a day: a later item waits for tomorrow's.
    later = note(world.leader, "Later", digest=True)
    assert delivery.compose_digests() == 0
    later.refresh_from_db()
    assert later.status == "pending" and later.digest is None
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert delivery.compose_digests(tomorrow) == 1


def test_queries_do_not_grow_with_the_batch(world, django_assert_max_num_queries):
    for n in range(30):
        note(world.practitioner, f"N{n}")
    # Release stale claims, claim, read, update; then an empty claim and read to stop.
    with django_assert_max_num_queries(8):
        assert delivery.deliver().sent == 30


@pytest.mark.parametrize("attempts, minutes", [(1, 5), (2, 10), (3, 20), (4, 40)])
def test_retry_delays_double(attempts, minutes, settings):
    settings.NOTIFICATION_RETRY_MINUTES = 5
    assert delivery.retry_delay(attempts) == dt.timedelta(minutes=minutes)

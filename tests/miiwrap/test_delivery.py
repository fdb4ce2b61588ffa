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


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: not an Exception, so nothing records it."""


class DyingAfterThree(EmailBackend):
    """Delivers three messages, then the worker dies while handing over the fourth."""

    def send_messages(self, messages):
        if len(mail.outbox) >= 3:
            mail.outbox.append(messages[0])  # the fourth left before the worker died
            raise WorkerKilled
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


def test_a_worker_killed_mid_batch_resends_at_most_the_email_it_was_sending(world, settings):
    settings.EMAIL_BACKEND = "tests.miiwrap.test_delivery.DyingAfterThree"
    for n in range(8):
        note(world.practitioner, f"N{n}")
    now = timezone.now()
    with pytest.raises(WorkerKilled):
        delivery.deliver(now)
    statuses = list(Notification.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["sent"] * 3 + ["sending"] * 5  # each sent one recorded at once
    # Another worker meanwhile leaves the dead worker's claim alone...
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert delivery.deliver(now + 29 * MINUTE).sent == 0
    # ...until it is stale; then only the unrecorded ones go, the fourth a second time.
    assert delivery.deliver(now + 31 * MINUTE).sent == 5
    subjects = [message.subject for message in mail.outbox]
    assert subjects == ["N0", "N1", "N2", "N3", "N3", "N4", "N5", "N6", "N7"]
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_a_whole_claim_times_out_before_it_is_deemed_stale(settings):
    # A stalled worker must give up its claim's emails before another worker may take
    # them, or both would send them.
    worst = dt.timedelta(seconds=settings.EMAIL_TIMEOUT) * delivery.CLAIM_SIZE
    assert settings.EMAIL_TIMEOUT and worst < delivery.STALE_CLAIM / 2


def test_two_workers_never_claim_the_same_row(world):
    for n in range(5):
        note(world.practitioner, f"N{n}")
    now = timezone.now()
    first, second = delivery._claim(now, 3), delivery._claim(now, 3)
    assert len(first) == 3 and len(second) == 2
    assert not {n.pk for n in first} & {n.pk for n in second}
    # A row claimed under a worker's feet is not claimed again by the slower one.
    note(world.practitioner, "Late")
    Notification.objects.filter(subject="Late").update(status="sending", claim="other")
    assert delivery._claim(now, 3) == []


def test_an_outcome_is_not_recorded_over_another_workers_claim(world):
    item = note(world.practitioner)
    (claimed,) = delivery._claim(timezone.now(), 5)
    # The claim went stale and another worker took the row meanwhile.
    Notification.objects.filter(pk=item.pk).update(claim="other")
    delivery._send([claimed], timezone.now())
    item.refresh_from_db()
    assert (item.status, item.claim) == ("sending", "other")


def test_a_subject_with_a_line_break_is_sent_on_one_line(world):
    item = note(world.practitioner, "New feedback from Cora\r\nBcc: x@example.org")
    assert item.subject == "New feedback from Cora Bcc: x@example.org"
    # A row stored before names were checked goes out too, its subject made one line.
    Notification.objects.filter(pk=item.pk).update(subject="From Cora\nSmith\x07 today")
    assert delivery.deliver().sent == 1
    assert mail.outbox[0].subject == "From Cora Smith today"


def test_queries_grow_by_one_update_per_email(world, django_assert_num_queries):
    for n in range(30):
        note(world.practitioner, f"N{n}")
    # Releasing stale claims; for each claim of up to CLAIM_SIZE rows: the due ids, the
    # claiming UPDATE and the read; one UPDATE per email, recording it the moment it is
    # sent (what bounds a dead worker's resends to one); then one look that finds no more.
    claims = -(-30 // delivery.CLAIM_SIZE)
    with django_assert_num_queries(1 + 3 * claims + 30 + 1):
        assert delivery.deliver().sent == 30


@pytest.mark.parametrize("attempts, minutes", [(1, 5), (2, 10), (3, 20), (4, 40)])
def test_retry_delays_double(attempts, minutes, settings):
    settings.NOTIFICATION_RETRY_MINUTES = 5
    assert delivery.retry_delay(attempts) == dt.timedelta(minutes=minutes)


# Told once of each thing ----------------------------------------------------------------------


def test_a_key_tells_a_person_once(world):
    first = note(world.practitioner, "One", key="dispute-1-raised")
    again = note(world.practitioner, "One again", key="dispute-1-raised")
    assert first is not None and again is None
    assert Notification.objects.filter(key="dispute-1-raised").count() == 1
    assert delivery.deliver().sent == 1
    assert [m.subject for m in mail.outbox] == ["One"]


def test_the_same_key_tells_each_person(world):
    note(world.practitioner, key="amendment-4")
    note(world.coach, key="amendment-4")
    assert Notification.objects.filter(key="amendment-4").count() == 2


def test_without_a_key_each_call_is_a_notification(world):
    note(world.practitioner)
    note(world.practitioner)
    assert Notification.objects.filter(recipient=world.practitioner).count() == 2


def test_the_database_refuses_a_second_row_of_a_key(world):
    from django.db import IntegrityError, transaction

    note(world.practitioner, key="reply-9")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            recipient=world.practitioner, kind="feedback", subject="x", body_text="x", key="reply-9"
        )


def test_a_race_lost_on_a_key_leaves_the_callers_work(world, monkeypatch):
    """The check finds nothing, then the insert meets the row a racing post made."""
    from django.db import transaction

    note(world.practitioner, key="dispute-2-raised")
    real_filter = Notification.objects.filter
    calls = []

    def blind_first(*args, **kwargs):
        calls.append(kwargs)
        found = real_filter(*args, **kwargs)
        return found.none() if len(calls) == 1 else found

    monkeypatch.setattr(Notification.objects, "filter", blind_first)
    with transaction.atomic():
        assert note(world.practitioner, key="dispute-2-raised") is None
        assert world.practitioner.notifications.count() == 1  # the transaction goes on

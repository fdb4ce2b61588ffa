"""Sending notifications: each email once, retried with backoff, never lost.

`deliver()` claims a few due rows at a time with one conditional UPDATE (a row another
worker has claimed is no longer pending, so two workers never send the same row), sends
them through Django's email framework and records each outcome as soon as that email is
sent or refused. A worker killed mid-batch therefore leaves at most one row sent but not
marked: the one it was sending, which goes out again once its claim is stale. The rows it
had claimed but not reached wait for the stale claim too, then go out once. A failure is
retried after 5, 10, 20… minutes and marked failed, with its error, after the last
attempt. `compose_digests()` gathers each leader's pending items into one email a day.
"""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from miiwrap.notifications.models import Notification, absolute_url
from miiwrap.text import one_line

logger = logging.getLogger(__name__)

Status = Notification.Status
# A claim older than this belongs to a worker that stopped mid-batch; its rows go back.
STALE_CLAIM = dt.timedelta(minutes=30)
# Rows claimed at once: small, so a stopped worker holds few rows back until its claim
# is stale, yet the claim's three queries are shared by several emails.
CLAIM_SIZE = 20
# What sending one email changes on its row, written the moment it is sent or refused.
RECORDED = ["status", "attempts", "claim", "sent_at", "last_error", "email", "next_attempt_at"]


@dataclass
class Delivered:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other):
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed


def pending(recipient, kind, subject, body_text, *, body_html="", link="", digest=False, key=""):
    """An unsaved notification for `recipient`: an email, or an item of their digest."""
    return Notification(
        key=key,
        recipient=recipient,
        email=address_of(recipient),
        kind=kind,
        subject=one_line(subject)[:300],
        body_text=body_text,
        body_html=body_html,
        link=link,
        delivery=Notification.Delivery.DIGEST if digest else Notification.Delivery.EMAIL,
    )


def notify(recipient, kind, subject, body_text, *, body_html="", link="", digest=False, key=""):
    """Record a notification for `recipient`, to be emailed (or put in their digest). An
    email is queued for sending once the transaction commits; if the broker is down, the
    scheduled delivery sends it.

    With a `key` naming what it tells of, `recipient` is told of it once: when they
    already were (a form posted twice, a job run again), nothing is made and None is
    returned."""
    made = pending(
        recipient, kind, subject, body_text, body_html=body_html, link=link, digest=digest, key=key
    )
    if key and Notification.objects.filter(recipient=recipient, key=key).exists():
        return None
    try:
        with transaction.atomic():  # a savepoint: a race lost leaves the caller's work
            made.save()
    except IntegrityError:
        if not (key and Notification.objects.filter(recipient=recipient, key=key).exists()):
            raise
        return None  # told meanwhile by a post racing this one
    if not digest:
        _send_soon()
    return made


def notify_all(notifications):
    """Record many `pending()` notifications in a few INSERTs; queue one delivery."""
    made = Notification.objects.bulk_create(notifications, batch_size=500)
    if any(n.delivery == Notification.Delivery.EMAIL for n in made):
        _send_soon()
    return made


def _send_soon():
    from miiwrap.celery import enqueue_on_commit
    from miiwrap.notifications.tasks import deliver_notifications  # it imports this module

    enqueue_on_commit(deliver_notifications)


def retry_delay(attempts):
    """How long to wait after the `attempts`-th failure: 5, 10, 20, 40… minutes."""
    return dt.timedelta(minutes=settings.NOTIFICATION_RETRY_MINUTES * 2 ** (attempts - 1))


def deliver(now=None, batch_size=CLAIM_SIZE):
    """Send every due email; returns what happened."""
    now = now or timezone.now()
    _release_stale_claims(now)
    total = Delivered()
    while True:
        claimed = _claim(now, batch_size)
        if not claimed:
            return total
        total.add(_send(claimed, now))


def _release_stale_claims(now):
    Notification.objects.filter(status=Status.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        status=Status.PENDING, claim=""
    )


def _claim(now, batch_size):
    # The ids first, as a list: fresh pending rows have no planner statistics yet, and an
    # IN (subquery) would then be compared row by row. The status check in the UPDATE is
    # what makes the claim safe: a row another worker claimed meanwhile is not pending.
    token = uuid.uuid4().hex
    due = Notification.objects.due(now).order_by("next_attempt_at", "pk")
    ids = list(due.values_list("pk", flat=True)[:batch_size])
    if not ids:
        return []
    Notification.objects.filter(pk__in=ids, status=Status.PENDING).update(
        status=Status.SENDING, claim=token, claimed_at=now
    )
    claimed = Notification.objects.filter(claim=token, status=Status.SENDING)
    return list(claimed.select_related("recipient__user").order_by("next_attempt_at", "pk"))


def address_of(person):
    if person.email:
        return person.email
    user = person.user
    return user.email if user is not None and user.email else ""


def _send(claimed, now):
    """Send each claimed email and record its outcome at once, so that a worker stopped
    here has sent at most one email it did not record."""
    outcome = Delivered()
    connection = None
    try:
        for notification in claimed:
            claim = notification.claim
            connection = _send_one(notification, now, connection)
            _record(notification, claim, outcome)
    finally:
        if connection is not None:
            connection.close()
    return outcome


def _send_one(notification, now, connection):
    """Try one email; the notification's fields say what happened. Returns the connection
    (opened on first use, kept for the rest of the batch)."""
    address = address_of(notification.recipient)
    if not address:
        _give_up(notification, f"{notification.recipient} has no email address on record.")
        return connection
    try:
        connection = connection or get_connection()
        _message(notification, address, connection).send()
    except Exception as error:  # any failure of one email is recorded, never raised
        logger.warning("Email %s to %s failed: %s", notification.pk, address, error)
        _failed(notification, error, now)
        return connection
    notification.status = Status.SENT
    notification.attempts += 1
    notification.claim = ""
    notification.sent_at = timezone.now()
    notification.last_error = ""
    notification.email = address
    return connection


def _record(notification, claim, outcome):
    # Conditional on our claim: had it gone stale and passed to another worker, the row
    # is no longer ours to record.
    Notification.objects.filter(pk=notification.pk, claim=claim).update(
        **{name: getattr(notification, name) for name in RECORDED}
    )
    if notification.status == Status.SENT:
        outcome.sent += 1
    elif notification.status == Status.FAILED:
        outcome.failed += 1
    else:
        outcome.retrying += 1


def _failed(notification, error, now):
    notification.attempts += 1
    notification.claim = ""
    if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        _give_up(notification, _describe(error))
    else:
        notification.status = Status.PENDING
        notification.last_error = _describe(error)
        notification.next_attempt_at = now + retry_delay(notification.attempts)


def _give_up(notification, error):
    notification.status = Status.FAILED
    notification.last_error = error
    notification.claim = ""
    if notification.attempts == 0:  # no address: it was never tried
        notification.attempts = 1


def _describe(error):
    return f"{type(error).__name__}: {error}"[:2000]


def _message(notification, address, connection):
    message = EmailMultiAlternatives(
        subject=one_line(notification.subject),
        body=notification.body_text,
        to=[address],
        connection=connection,
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    return message


def retry(notifications):
    """Send failed notifications again, as new: an admin fixed what was wrong. Returns how
    many; they are queued for sending once the transaction commits."""
    count = notifications.filter(status=Status.FAILED).update(
        status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), claim=""
    )
    if count:
        _send_soon()
    return count


# The leaders' daily digest -----------------------------------------------------------------


def compose_digests(now=None, day=None):
    """One digest a day per leader, listing every pending item addressed to them.

    Items that arrive after the day's digest was made wait for the next day's. Made in
    one transaction, so a digest is never sent before its items are marked as in it.
    `day` replaces each leader's own today (for replays and tests).
    """
    now = now or timezone.now()
    items = (
        Notification.objects.filter(
            delivery=Notification.Delivery.DIGEST, status=Status.PENDING, digest=None
        )
        .select_related("recipient__organization")
        .order_by("recipient_id", "created_at", "pk")
    )
    token = uuid.uuid4().hex
    with transaction.atomic():
        by_leader = {}
        for item in items:
            by_leader.setdefault(item.recipient, []).append(item)
        if not by_leader:
            return 0
        Notification.objects.bulk_create(
            [_digest(leader, found, now, day, token) for leader, found in by_leader.items()],
            ignore_conflicts=True,
        )
        made = {d.recipient_id: d for d in Notification.objects.filter(claim=token)}
        placed = []
        for leader, found in by_leader.items():
            digest = made.get(leader.pk)
            if digest is None:
                continue  # today's digest went out already: these go in tomorrow's
            for item in found:
                item.digest = digest
                item.status = Status.IN_DIGEST
                placed.append(item)
        Notification.objects.bulk_update(placed, ["digest", "status"])
        Notification.objects.filter(claim=token).update(claim="")
    return len(made)


def _digest(leader, items, now, day, token):
    day = day or leader.organization.local_today(now)
    context = {
        "leader": leader,
        "day": day,
        "items": [(item, absolute_url(item.link) if item.link else "") for item in items],
    }
    count = len(items)
    return Notification(
        recipient=leader,
        kind=Notification.Kind.DIGEST,
        digest_on=day,
        subject=f"Your MiiWrap Fidelity digest for {day:%Y-%m-%d}: "
        f"{count} item{'s' if count != 1 else ''}",
        body_text=render_to_string("notifications/digest.txt", context),
        body_html=render_to_string("notifications/digest.html", context),
        link="/notifications/",
        email=leader.email,
        created_at=now,
        next_attempt_at=now,
        claim=token,
    )

"""What the app tells people: each notification is both the in-app list and the email outbox.

A notification is emailed on its own, or (for leaders) collected into one daily digest,
which is itself a notification. Delivery (miiwrap.notifications.delivery) claims pending
rows in the database, so no email goes out twice however many workers run.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Admins' view of the log: everything for the purveyor, their organization's
        otherwise; anyone else sees only their own."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if "org_admin" in viewer.roles:
            return self.filter(recipient__organization_id=viewer.organization_id)
        if viewer.person_id is None:
            return self.none()
        return self.filter(recipient_id=viewer.person_id)

    def for_person(self, person_id):
        """A person's in-app list: what was (or will be) emailed to them; digest items
        appear inside their digest, not again on their own."""
        return self.filter(recipient_id=person_id).exclude(delivery=Notification.Delivery.DIGEST)

    def due(self, now):
        return self.filter(
            status=Notification.Status.PENDING,
            delivery=Notification.Delivery.EMAIL,
            next_attempt_at__lte=now,
        )


class Notification(models.Model):
    class Kind(models.TextChoices):
        REMINDER = "reminder", "Certification reminder"
        FEEDBACK = "feedback", "New feedback"
        DECISION = "decision", "Certification decision"
        DIGEST = "digest", "Daily digest"
        ALERT = "alert", "Alert"
        RESPONSE = "response", "Reply to feedback"
        AMENDMENT = "amendment", "Observation amended"
        DISPUTE = "dispute", "Dispute"
        CO_OBSERVATION = "co_observation", "Co-observation"

    class Delivery(models.TextChoices):
        EMAIL = "email", "Email"
        DIGEST = "digest", "In the daily digest"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        IN_DIGEST = "in_digest", "In a digest"

    recipient = models.ForeignKey(Person, models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default="email")
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True, help_text="A path in the app.")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    email = models.CharField(max_length=254, blank=True, help_text="The address it went to.")
    last_error = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # A digest item points at the digest that carried it; a digest has its day.
    digest = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="items")
    digest_on = models.DateField(null=True, blank=True)
    # What it tells of (e.g. "dispute-7-raised"): with one, a person is told of it once,
    # however often the form is posted or the job runs.
    key = models.CharField(max_length=100, blank=True, editable=False)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(fields=["claim"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], condition=~Q(key=""), name="told_once_of_each_key"
            ),
            models.UniqueConstraint(
                fields=["recipient", "digest_on"],
                condition=Q(kind="digest"),
                name="one_digest_a_day",
            ),
            models.CheckConstraint(
                condition=~Q(kind="digest") | Q(digest_on__isnull=False),
                name="digest_has_a_day",
            ),
        ]

    def __str__(self):
        return f"{self.recipient}: {self.subject}"

    @property
    def is_unread(self):
        return self.read_at is None

    def absolute_link(self):
        return absolute_url(self.link) if self.link else ""


def absolute_url(path):
    """A path in the app as a full address for an email."""
    return settings.SITE_URL.rstrip("/") + path

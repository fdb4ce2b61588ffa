"""The learning community: events that connect practitioners, coaches and leaders across
organizations, and who registered for and attended each.

Who sees what follows miiwrap.people.access: the purveyor sees every event and every
registration; people of an invited organization see the event; the names on it are those
of the people the viewer sees (a leader their organization's, a coach their caseload and
themselves, a practitioner themselves), and everyone who sees the event reads the counts
by organization. The facilitator sees the names on their own events, to take attendance.
"""

from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from miiwrap.people.access import viewer_for
from miiwrap.people.models import Organization, Person
from miiwrap.text import NOTE, ProseField


class EventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Every event to the purveyor; to others those inviting their organization, and
        those they facilitate."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.person_id is None:
            return self.none()
        invited = Event.organizations.through.objects.filter(organization_id=viewer.organization_id)
        return self.filter(
            Q(pk__in=invited.values("event_id")) | Q(facilitator_id=viewer.person_id)
        )

    def editable_by(self, user):
        """Events the user may change: every one for the purveyor; for a leader or an
        organization admin, those that invite their organization alone."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if not viewer.sees_organization:
            return self.none()
        elsewhere = Event.organizations.through.objects.exclude(
            organization_id=viewer.organization_id
        )
        mine = self.visible_to(user).filter(organizations=viewer.organization_id)
        return mine.exclude(pk__in=elsewhere.values("event_id"))

    def for_list(self):
        """With `registered` and `attended` (everyone's, whoever reads): one query."""
        return self.select_related("facilitator").annotate(
            registered=Count(
                "attendances", filter=~Q(attendances__status=Attendance.Status.ABSENT)
            ),
            attended=Count("attendances", filter=Q(attendances__status=Attendance.Status.ATTENDED)),
        )

    def upcoming(self, today):
        return self.filter(held_on__gte=today).order_by("held_on", "pk")

    def past(self, today):
        return self.filter(held_on__lt=today).order_by("-held_on", "-pk")


class Event(models.Model):
    class Kind(models.TextChoices):
        TRAINING = "training", "Training"
        LEARNING_COMMUNITY = "learning_community", "Learning community"
        COACHING_CIRCLE = "coaching_circle", "Coaching circle"

    class Format(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        ONLINE = "online", "Online"
        HYBRID = "hybrid", "Hybrid"

    title = models.CharField(max_length=200)
    held_on = models.DateField("date")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.IN_PERSON)
    topic = models.CharField(max_length=200, blank=True)
    description = ProseField(max_length=NOTE, blank=True)
    facilitator = models.ForeignKey(
        Person, models.PROTECT, null=True, blank=True, related_name="facilitated_events"
    )
    organizations = models.ManyToManyField(
        Organization, related_name="events", verbose_name="organizations invited"
    )
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many may register; empty for no limit."
    )
    created_by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-pk"]
        constraints = [
            # An import names an event by its title and date: the two say which one.
            models.UniqueConstraint(fields=["title", "held_on"], name="event_title_once_a_day"),
            models.CheckConstraint(
                condition=Q(capacity=None) | Q(capacity__gte=1),
                name="event_capacity_positive",
                violation_error_message="Give a capacity of at least 1, or leave it empty.",
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.held_on:%Y-%m-%d})"

    def get_absolute_url(self):
        return reverse("community:event", args=[self.pk])

    def is_full(self, taken):
        """Whether `taken` places (registered or attended) fill it."""
        return self.capacity is not None and taken >= self.capacity


class AttendanceQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The registrations of the people the user sees, on events they see; and every
        registration on the events they facilitate."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.person_id is None:
            return self.none()
        events = Event.objects.visible_to(user).values("pk")
        people = Person.objects.visible_to(user).values("pk")
        return self.filter(
            Q(event__in=events, person__in=people) | Q(event__facilitator_id=viewer.person_id)
        )

    def taking_places(self):
        return self.exclude(status=Attendance.Status.ABSENT)

    def attended(self):
        return self.filter(status=Attendance.Status.ATTENDED)

    def attended_by(self, person, kind=None, start=None, end=None):
        """The person's attended events (of `kind`, held from `start` to `end` when given)."""
        rows = self.attended().filter(person=person)
        if kind:
            rows = rows.filter(event__kind=kind)
        if start is not None:
            rows = rows.filter(event__held_on__gte=start)
        if end is not None:
            rows = rows.filter(event__held_on__lte=end)
        return rows

    def counts_by_kind(self, people):
        """{(person id, kind): events attended} for `people`: one query."""
        rows = self.attended().filter(person__in=people).order_by()
        rows = rows.values("person_id", "event__kind").annotate(n=Count("pk"))
        return {(row["person_id"], row["event__kind"]): row["n"] for row in rows}

    def counts_by_organization(self, event):
        """[{organization name, registered, attended, absent}] on one event: one query."""
        status = Attendance.Status
        rows = self.filter(event=event).order_by("person__organization__name")
        return list(
            rows.values("person__organization__name").annotate(
                registered=Count("pk", filter=Q(status=status.REGISTERED)),
                attended=Count("pk", filter=Q(status=status.ATTENDED)),
                absent=Count("pk", filter=Q(status=status.ABSENT)),
            )
        )

    def for_person_page(self, person):
        """The person's registrations, newest event first, with their events."""
        rows = self.filter(person=person).select_related("event__facilitator")
        return rows.order_by("-event__held_on", "-event_id")


class Attendance(models.Model):
    """One person on one event: registered, then marked attended or absent."""

    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        ATTENDED = "attended", "Attended"
        ABSENT = "absent", "Absent"

    event = models.ForeignKey(Event, models.PROTECT, related_name="attendances")
    person = models.ForeignKey(Person, models.PROTECT, related_name="event_attendances")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REGISTERED)
    recorded_by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = AttendanceQuerySet.as_manager()

    class Meta:
        ordering = ["event", "person"]
        constraints = [
            models.UniqueConstraint(fields=["event", "person"], name="attendance_once_an_event"),
            models.CheckConstraint(
                condition=Q(status__in=["registered", "attended", "absent"]),
                name="attendance_status_is_known",
            ),
        ]
        indexes = [models.Index(fields=["person", "status"])]

    def __str__(self):
        return f"{self.person} at {self.event}: {self.get_status_display().lower()}"


def people_to_register(event, user):
    """Whom the user may register for `event`: of the people they see (themselves, a
    coach's caseload, a leader's organization, everyone for the purveyor), those of an
    invited organization."""
    people = Person.objects.visible_to(user)
    return people.filter(organization__in=event.organizations.all())


def people_to_mark(event, user):
    """Whose attendance the user may record on `event`: anyone of an invited organization
    for the purveyor and the facilitator; their own organization's people for a leader or
    an organization admin; nobody else."""
    viewer = viewer_for(user)
    invited = Person.objects.filter(organization__in=event.organizations.all())
    if viewer.sees_everything or (viewer.person_id and viewer.person_id == event.facilitator_id):
        return invited
    if viewer.sees_organization:
        return invited.filter(organization_id=viewer.organization_id)
    return Person.objects.none()

"""The organization's system: readiness assessments and the alignment plan that follows.

A readiness assessment scores an organization on a readiness instrument: a rubric whose
audience is an organization (observations.models.ORGANIZATION), scored by
observations.scoring like any rubric. The purveyor records it with the organization's
leaders; it is repeated, and each final assessment is read against the one before.
"""

from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from miiwrap.people.access import viewer_for
from miiwrap.people.models import Organization, Person
from miiwrap.text import NOTE, ProseField
from observations.models import RubricVersion


class ReadinessAssessmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Every organization's to the purveyor; an organization's own to its leaders and
        admins, who take part in it. Not to its coaches or practitioners: it is about the
        organization's system, read and planned by those who run it."""
        return self.filter(organization__in=organizations_seen(user))

    def final(self):
        return self.filter(status=ReadinessAssessment.Status.FINAL)

    def drafts(self):
        return self.filter(status=ReadinessAssessment.Status.DRAFT)

    def for_list(self):
        return self.select_related("version__rubric", "recorded_by").order_by("-assessed_on", "-pk")

    def latest_two(self, organization_id):
        """The organization's two latest final assessments, newest first."""
        rows = self.final().filter(organization_id=organization_id)
        return list(rows.order_by("-assessed_on", "-pk")[:2])


def organizations_seen(user):
    """The organizations whose readiness and alignment plan the user may read."""
    viewer = viewer_for(user)
    if viewer.sees_everything:
        return Organization.objects.filter(is_purveyor=False)
    if not viewer.sees_organization:
        return Organization.objects.none()
    return Organization.objects.filter(pk=viewer.organization_id)


class ReadinessAssessment(models.Model):
    """One assessment of an organization's readiness, item by item with notes; a draft
    until finalized, then read against the organization's previous final one."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINAL = "final", "Final"

    organization = models.ForeignKey(
        Organization, models.PROTECT, related_name="readiness_assessments"
    )
    version = models.ForeignKey(RubricVersion, models.PROTECT, related_name="+")
    assessed_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scores = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=dict, blank=True, help_text="{item code: note}.")
    summary = ProseField(max_length=NOTE, blank=True)
    # Computed on every save from the scores (observations.scoring), as an observation's.
    metrics = models.JSONField(default=dict, blank=True)
    overall_score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    recorded_by = models.ForeignKey(Person, models.PROTECT, related_name="+")
    leaders = models.ManyToManyField(Person, related_name="+", blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(m2m_fields=[leaders])

    objects = ReadinessAssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-assessed_on", "-pk"]
        indexes = [models.Index(fields=["organization", "status", "-assessed_on"])]
        constraints = [
            # One assessment in progress per organization: starting another opens it.
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(status="draft"),
                name="one_draft_readiness_per_organization",
            ),
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(finalized_at=None))
                | (Q(status="final") & Q(finalized_at__isnull=False)),
                name="readiness_final_has_a_time",
            ),
        ]

    def __str__(self):
        return f"Readiness of {self.organization} on {self.assessed_on}"

    def get_absolute_url(self):
        return reverse("implementation:assessment", args=[self.pk])

    @property
    def is_draft(self):
        return self.status == self.Status.DRAFT

    def previous(self):
        """The organization's final assessment before this one, or None."""
        earlier = Q(assessed_on__lt=self.assessed_on) | Q(
            assessed_on=self.assessed_on, pk__lt=self.pk
        )
        rows = ReadinessAssessment.objects.final().filter(organization_id=self.organization_id)
        rows = rows.exclude(pk=self.pk).filter(earlier)
        return rows.select_related("version").order_by("-assessed_on", "-pk").first()


# Alignment plans ---------------------------------------------------------------------------


class AlignmentPlanQuerySet(models.QuerySet):
    def visible_to(self, user):
        """As readiness assessments: the purveyor's all, leaders' and admins' their own."""
        return self.filter(organization__in=organizations_seen(user))


class AlignmentPlan(models.Model):
    """What an organization and the purveyor agree to change in its system, so that doing
    the model and doing the job become the same thing: one per organization."""

    organization = models.OneToOneField(Organization, models.PROTECT, related_name="alignment_plan")
    created_by = models.ForeignKey(Person, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = AlignmentPlanQuerySet.as_manager()

    def __str__(self):
        return f"Alignment plan of {self.organization}"

    def get_absolute_url(self):
        return reverse("implementation:plan", args=[self.organization_id])


class ActionItemQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(plan__organization__in=organizations_seen(user))

    def open(self):
        return self.filter(status__in=ActionItem.OPEN)

    def overdue(self, today):
        """Open items whose due day has passed (the leader's digest and dashboard)."""
        return self.open().filter(due_on__lt=today)

    def for_plan(self):
        return self.select_related("owner").order_by("due_on", "pk")


class ActionItem(models.Model):
    """One change to the organization's system: what, why, the readiness items it is
    meant to move, who owns it and by when. The purveyor and the organization's leaders
    both add and edit them; the history keeps who changed what, when, and what it was."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    OPEN = (Status.PLANNED, Status.IN_PROGRESS)

    plan = models.ForeignKey(AlignmentPlan, models.CASCADE, related_name="actions")
    what = models.CharField(max_length=200)
    why = ProseField(max_length=NOTE, blank=True)
    item_codes = models.JSONField(
        default=list, blank=True, help_text="The readiness items it is meant to move."
    )
    owner = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    notes = ProseField(max_length=NOTE, blank=True)
    # The readiness item it was started from ("start from the weakest items"), so that
    # starting twice adds each item's action once.
    started_from = models.CharField(max_length=40, blank=True, editable=False)
    created_by = models.ForeignKey(Person, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["plan", "status", "due_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "started_from"],
                condition=~Q(started_from=""),
                name="one_action_per_weak_item",
            ),
        ]

    def __str__(self):
        return self.what

    def get_absolute_url(self):
        return (
            reverse("implementation:plan", args=[self.plan.organization_id]) + f"#action-{self.pk}"
        )

    @property
    def is_open(self):
        return self.status in self.OPEN

    def is_overdue(self, today):
        return self.is_open and self.due_on is not None and self.due_on < today

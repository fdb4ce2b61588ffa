from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person, Role


class CoachAssignmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.person_id is None:
            return self.none()
        seen = Q(coach_id=viewer.person_id) | Q(practitioner_id=viewer.person_id)
        if viewer.sees_organization:
            seen |= Q(practitioner__organization_id=viewer.organization_id)
        return self.filter(seen)

    def current(self, day=None):
        day = day or timezone.localdate()
        return self.filter(Q(ends_on=None) | Q(ends_on__gte=day), starts_on__lte=day)

    def overlapping(self, starts_on, ends_on):
        """Assignments sharing at least one day with [starts_on, ends_on]; None is open-ended."""
        qs = self.filter(Q(ends_on=None) | Q(ends_on__gte=starts_on))
        return qs if ends_on is None else qs.filter(starts_on__lte=ends_on)


class CoachAssignment(models.Model):
    """Which coach develops which practitioner, from when to when."""

    coach = models.ForeignKey(Person, models.PROTECT, related_name="caseload_assignments")
    practitioner = models.ForeignKey(Person, models.PROTECT, related_name="coach_assignments")
    starts_on = models.DateField()
    ends_on = models.DateField(
        null=True, blank=True, help_text="Leave empty while the assignment continues."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CoachAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on=None) | Q(ends_on__gte=F("starts_on")),
                name="assignment_ends_after_start",
                violation_error_message="The end date cannot be before the start date.",
            ),
            models.CheckConstraint(
                condition=~Q(coach=F("practitioner")),
                name="assignment_coach_is_not_practitioner",
                violation_error_message="A coach cannot be assigned to coach themselves.",
            ),
        ]
        indexes = [
            models.Index(fields=["coach", "starts_on"]),
            models.Index(fields=["practitioner", "starts_on"]),
        ]

    def __str__(self):
        return f"{self.coach} coaches {self.practitioner} from {self.starts_on}"

    def clean(self):
        if not (self.coach_id and self.practitioner_id and self.starts_on):
            return
        errors = {}
        if not self.coach.roles.filter(role=Role.COACH).exists():
            errors["coach"] = "This person does not hold the coach role."
        elif not self._coach_may_work_here():
            errors["coach"] = "The coach must belong to the practitioner's organization."
        if not self.practitioner.roles.filter(role=Role.PRACTITIONER).exists():
            errors["practitioner"] = "This person does not hold the practitioner role."
        if errors:
            raise ValidationError(errors)
        if self._overlaps_same_pair():
            raise ValidationError(
                "This coach is already assigned to this practitioner for part of these dates."
            )

    def _coach_may_work_here(self):
        # The purveyor's own coaches may coach anyone; everyone else stays at home.
        coach_org = self.coach.organization
        return coach_org.pk == self.practitioner.organization_id or coach_org.is_purveyor

    def _overlaps_same_pair(self):
        same_pair = CoachAssignment.objects.filter(
            coach_id=self.coach_id, practitioner_id=self.practitioner_id
        ).exclude(pk=self.pk)
        return same_pair.overlapping(self.starts_on, self.ends_on).exists()

    def is_current(self, day=None):
        day = day or timezone.localdate()
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)

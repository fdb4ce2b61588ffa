from django.db import models
from django.db.models import F, Q

from certification import dates
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person
from observations.models import Rubric


class Program(models.Model):
    """A certification: MiiWrap Practitioner, Coach, Trainer; every number is a setting."""

    class RenewFrom(models.TextChoices):
        EXPIRY = dates.RenewFrom.EXPIRY.value, "The previous expiry (early renewers lose no time)"
        DECISION = dates.RenewFrom.DECISION.value, "The decision date"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200, unique=True)
    requires = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The program a person must hold first (coaches are certified practitioners).",
    )
    certified_by_purveyor = models.BooleanField(
        default=True,
        help_text="Only the purveyor decides; otherwise the organization's certified coaches do.",
    )
    active_months = models.PositiveSmallIntegerField(default=24)
    window_days = models.PositiveSmallIntegerField(
        default=90, help_text="The recertification window opens this many days before expiry."
    )
    grace_days = models.PositiveSmallIntegerField(
        default=30, help_text="Renewal is still allowed this many days after expiry."
    )
    renew_from = models.CharField(max_length=10, choices=RenewFrom.choices, default="expiry")
    deadline_days_after_hire = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="New hires should be certified within this many days (empty: no deadline).",
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def rules(self):
        return dates.Rules(
            active_months=self.active_months,
            window_days=self.window_days,
            grace_days=self.grace_days,
            renew_from=dates.RenewFrom(self.renew_from),
        )


class EvidenceRule(models.Model):
    """What observed practice must show for a first certification, or for a renewal.

    "At least N submitted observations on rubric R in the last D days (or, for a
    renewal, inside the window) with overall score >= T, observed by a certified coach,
    in at least K activity types; and the companion rubric's latest observation at band
    B or better."
    """

    class Kind(models.TextChoices):
        INITIAL = "initial", "First certification"
        RENEWAL = "renewal", "Recertification"

    program = models.ForeignKey(Program, models.CASCADE, related_name="evidence_rules")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rubric = models.ForeignKey(Rubric, models.PROTECT, related_name="+")
    min_observations = models.PositiveSmallIntegerField(default=3)
    within_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Look back this many days; empty for a renewal means within the window.",
    )
    min_overall = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True, help_text="Overall score ≥."
    )
    min_band = models.CharField(max_length=40, blank=True, help_text="Or: band at least this.")
    observer_certified_in = models.ForeignKey(
        Program,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The observing coach must hold this certification on the observation date.",
    )
    min_activity_types = models.PositiveSmallIntegerField(default=1)
    companion_rubric = models.ForeignKey(
        Rubric, models.PROTECT, null=True, blank=True, related_name="+"
    )
    companion_min_band = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["program", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["program", "kind"], name="one_rule_per_kind"),
            models.CheckConstraint(
                condition=~Q(min_overall=None) | ~Q(min_band=""),
                name="rule_sets_a_standard",
                violation_error_message="Set a minimum overall score or a minimum band.",
            ),
        ]

    def __str__(self):
        return f"{self.program}: {self.get_kind_display().lower()}"


class CertificationPeriodQuerySet(models.QuerySet):
    def visible_to(self, user):
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        return self.filter(person__in=Person.objects.visible_to(user))


class CertificationPeriod(models.Model):
    """One validity period of one person in one program; the state is derived from dates."""

    person = models.ForeignKey(Person, models.PROTECT, related_name="certifications")
    program = models.ForeignKey(Program, models.PROTECT, related_name="periods")
    valid_from = models.DateField()
    valid_until = models.DateField()
    window_opens = models.DateField()
    grace_ends = models.DateField()
    is_renewal = models.BooleanField(default=False)
    decided_on = models.DateField()
    decided_by = models.ForeignKey(Person, models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)
    evidence = models.JSONField(
        default=list, blank=True, help_text="Ids of the observations that met the rule."
    )
    override_reason = models.TextField(
        blank=True, help_text="Why the decision stands though the evidence did not meet the rule."
    )
    revoked_on = models.DateField(null=True, blank=True)
    revoked_by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    revocation_reason = models.TextField(blank=True)

    objects = CertificationPeriodQuerySet.as_manager()

    class Meta:
        ordering = ["person", "program", "-valid_from"]
        indexes = [
            models.Index(fields=["program", "valid_until"]),
            models.Index(fields=["person", "program", "valid_from"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from"))
                & Q(window_opens__lte=F("valid_until"))
                & Q(grace_ends__gte=F("valid_until")),
                name="period_dates_in_order",
                violation_error_message="Dates must run: window opens ≤ expiry ≤ grace end.",
            ),
            models.CheckConstraint(
                condition=Q(revoked_on=None) | ~Q(revocation_reason=""),
                name="revocation_has_a_reason",
                violation_error_message="Say why the certification is revoked.",
            ),
        ]

    def __str__(self):
        return f"{self.person}: {self.program} {self.valid_from} to {self.valid_until}"

    def as_period(self):
        return dates.Period(self.valid_from, self.valid_until, self.window_opens, self.grace_ends)

    def state_on(self, today):
        return dates.state_on(self.as_period(), today, self.revoked_on)


class CertificationEvent(models.Model):
    """The audit history: every decision, revocation and transition, as it happened."""

    class Kind(models.TextChoices):
        CERTIFIED = "certified", "Certified"
        RECERTIFIED = "recertified", "Recertified"
        REVOKED = "revoked", "Revoked"
        WINDOW_OPENED = "window_opened", "Window opened"
        EXPIRED = "expired", "Expired (grace began)"
        LAPSED = "lapsed", "Lapsed"

    period = models.ForeignKey(CertificationPeriod, models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    happened_on = models.DateField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-happened_on", "-pk"]
        constraints = [
            # A transition is recorded once, however many workers notice it.
            models.UniqueConstraint(
                fields=["period", "kind"],
                condition=Q(kind__in=["window_opened", "expired", "lapsed"]),
                name="transition_recorded_once",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.happened_on}"

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from coaching import drift
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person, Role
from miiwrap.text import DURATION_MAX, DURATION_MIN, FEEDBACK, NOTE, ProseField


class DatedQuerySet(models.QuerySet):
    """Rows that hold from `starts_on` through `ends_on` (None: still going)."""

    def current(self, day=None):
        day = day or timezone.localdate()
        return self.filter(Q(ends_on=None) | Q(ends_on__gte=day), starts_on__lte=day)

    def overlapping(self, starts_on, ends_on):
        """Rows sharing at least one day with [starts_on, ends_on]; None is open-ended."""
        qs = self.filter(Q(ends_on=None) | Q(ends_on__gte=starts_on))
        return qs if ends_on is None else qs.filter(starts_on__lte=ends_on)

    def _seen_by(self, user, upper, lower):
        """Assignments of one person (`upper`) to develop another (`lower`): each of the
        two sees theirs, the lower one's organization sees its own, the purveyor all."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.person_id is None:
            return self.none()
        seen = Q(**{f"{upper}_id": viewer.person_id}) | Q(**{f"{lower}_id": viewer.person_id})
        if viewer.sees_organization:
            seen |= Q(**{f"{lower}__organization_id": viewer.organization_id})
        return self.filter(seen)


def _named(assignment, field):
    """The person in `field`, or their number once they are gone: the admin shows the
    history of a deleted assignment, whose people may have been deleted too."""
    try:
        return str(getattr(assignment, field))
    except Person.DoesNotExist:
        return f"person #{getattr(assignment, f'{field}_id')} (deleted)"


class CoachAssignmentQuerySet(DatedQuerySet):
    def visible_to(self, user):
        return self._seen_by(user, "coach", "practitioner")

    def coaches_now(self, coach_id, practitioner_id, day=None):
        """Whether the coach is assigned to the practitioner on `day` (today by default):
        their current coach starts, changes and works on the practitioner's plans."""
        return self.current(day).filter(coach_id=coach_id, practitioner_id=practitioner_id).exists()

    def caseload_sizes(self, day=None):
        """{coach id: practitioners currently assigned}."""
        current = self.current(day).order_by().values_list("coach_id")
        return dict(current.annotate(n=Count("practitioner_id", distinct=True)))


class CoachAssignment(models.Model):
    """Which coach develops which practitioner, from when to when."""

    coach = models.ForeignKey(Person, models.PROTECT, related_name="caseload_assignments")
    practitioner = models.ForeignKey(Person, models.PROTECT, related_name="coach_assignments")
    starts_on = models.DateField()
    ends_on = models.DateField(
        null=True, blank=True, help_text="Leave empty while the assignment continues."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

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
        coach, practitioner = _named(self, "coach"), _named(self, "practitioner")
        return f"{coach} coaches {practitioner} from {self.starts_on}"

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


class TrainerAssignmentQuerySet(DatedQuerySet):
    def visible_to(self, user):
        return self._seen_by(user, "trainer", "coach")


class TrainerAssignment(models.Model):
    """Which trainer observes and develops which coach, from when to when: the coach
    assignment one rung up the ladder. The trainer must hold a current MiiWrap Trainer
    certification when assigned; they observe the coach on the coaching rubric."""

    TRAINER_PROGRAM = "trainer"

    trainer = models.ForeignKey(Person, models.PROTECT, related_name="trainer_assignments")
    coach = models.ForeignKey(Person, models.PROTECT, related_name="trainer_assigned")
    starts_on = models.DateField()
    ends_on = models.DateField(
        null=True, blank=True, help_text="Leave empty while the assignment continues."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = TrainerAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on=None) | Q(ends_on__gte=F("starts_on")),
                name="trainer_assignment_ends_after_start",
                violation_error_message="The end date cannot be before the start date.",
            ),
            models.CheckConstraint(
                condition=~Q(trainer=F("coach")),
                name="trainer_assignment_not_oneself",
                violation_error_message="A trainer cannot be assigned to themselves.",
            ),
        ]
        indexes = [
            models.Index(fields=["trainer", "starts_on"]),
            models.Index(fields=["coach", "starts_on"]),
        ]

    def __str__(self):
        return f"{_named(self, 'trainer')} trains {_named(self, 'coach')} from {self.starts_on}"

    def clean(self):
        if not (self.trainer_id and self.coach_id and self.starts_on):
            return
        errors = {}
        if not self.trainer.roles.filter(role=Role.COACH).exists():
            # Trainers are certified coaches, and observe with the coach's form.
            errors["trainer"] = "This person does not hold the coach role."
        elif not trainer_certified_on(self.trainer, self.starts_on):
            errors["trainer"] = (
                f"{self.trainer} does not hold a current MiiWrap Trainer certification "
                f"on {self.starts_on:%Y-%m-%d}."
            )
        elif not (
            self.trainer.organization_id == self.coach.organization_id
            or self.trainer.organization.is_purveyor
        ):
            errors["trainer"] = "The trainer must belong to the coach's organization."
        if not self.coach.roles.filter(role=Role.COACH).exists():
            errors["coach"] = "This person does not hold the coach role."
        if errors:
            raise ValidationError(errors)
        same_pair = TrainerAssignment.objects.filter(trainer=self.trainer_id, coach=self.coach_id)
        if same_pair.exclude(pk=self.pk).overlapping(self.starts_on, self.ends_on).exists():
            raise ValidationError(
                "This trainer is already assigned to this coach for part of these dates."
            )

    def is_current(self, day=None):
        day = day or timezone.localdate()
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)


def trainer_certified_on(person, day):
    """Whether `person` holds a MiiWrap Trainer certification valid on `day`."""
    from certification import dates
    from certification.models import CertificationPeriod

    periods = CertificationPeriod.objects.filter(
        person=person, program__code=TrainerAssignment.TRAINER_PROGRAM
    )
    return dates.holds_on(periods.held(), day)


# Drift --------------------------------------------------------------------------------------


class DriftSettings(models.Model):
    """How drift is detected on one rubric. A rubric without a row uses the defaults,
    which are the field defaults here and in coaching.drift.Params."""

    rubric = models.OneToOneField(
        "observations.Rubric", models.CASCADE, related_name="drift_settings"
    )
    enabled = models.BooleanField(default=True, help_text="Untick to stop drift alerts on it.")
    lam = models.FloatField(
        "EWMA weight (λ)",
        default=0.2,
        help_text="Weight of the newest observation in the smoothed score, above 0 and at most "
        "1. Smaller reacts more slowly and more surely.",
    )
    limit_sigmas = models.FloatField(
        "EWMA limit (L)", default=3.0, help_text="Control limit, in standard deviations."
    )
    cusum_k = models.FloatField(
        "CUSUM allowance (k)",
        default=0.5,
        help_text="Slack per observation, in standard deviations.",
    )
    cusum_h = models.FloatField(
        "CUSUM limit (h)", default=4.0, help_text="Alarm level, in standard deviations."
    )
    run_length = models.PositiveSmallIntegerField(
        default=8, help_text="Observations in a row below baseline that raise an alert."
    )
    baseline_n = models.PositiveSmallIntegerField(
        "baseline observations",
        default=5,
        help_text="Without a certification, the first this many observations set the baseline.",
    )
    min_own_points = models.PositiveSmallIntegerField(
        "own spread from",
        default=10,
        help_text="From this many observations on, a person's own spread is used; below, "
        "the spread pooled across everyone scored on the rubric version.",
    )
    adequate_band = models.CharField(
        max_length=40,
        blank=True,
        help_text="Two observations in a row below this band raise an alert. Empty: the "
        "second-best band of the version (adequate, fair).",
    )
    shift_limit = models.FloatField(
        "fall limit",
        default=2.17,
        help_text="How far, in standard errors, a practitioner's scores since some point must "
        "fall below their usual level to raise an alert. Higher: fewer false alarms, later "
        "alerts.",
    )
    items_limit = models.FloatField(
        "items limit",
        default=5.0,
        help_text="How far, in standard errors summed over the three items that fell most, a "
        "few items must fall beyond the rest of the rubric to raise an alert.",
    )
    before_points = models.PositiveSmallIntegerField(
        "usual level from",
        default=24,
        help_text="At most this many observations before a fall set the usual level it is "
        "measured from.",
    )
    momentum_window = models.PositiveSmallIntegerField(
        default=8, help_text="Recent observations the momentum is read from."
    )
    momentum_slope = models.FloatField(
        default=0.1,
        help_text="Change per observation, in standard deviations, beyond which momentum "
        "is building or slipping.",
    )
    close_after = models.PositiveSmallIntegerField(
        default=3,
        help_text="An alert closes once this many observations in a row are back in control.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = verbose_name_plural = "drift settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(lam__gt=0, lam__lte=1), name="drift_lambda_in_range"
            ),
            models.CheckConstraint(
                condition=Q(
                    limit_sigmas__gt=0, cusum_k__gte=0, cusum_h__gt=0, momentum_slope__gt=0
                ),
                name="drift_limits_positive",
            ),
            models.CheckConstraint(
                condition=Q(run_length__gte=2, baseline_n__gte=2, momentum_window__gte=2),
                name="drift_counts_at_least_two",
            ),
            models.CheckConstraint(condition=Q(min_own_points__gte=3), name="drift_own_points"),
            models.CheckConstraint(
                condition=Q(shift_limit__gt=0, items_limit__gt=0, before_points__gte=2),
                name="drift_shift_sane",
            ),
            models.CheckConstraint(condition=Q(close_after__gte=1), name="drift_close_after"),
        ]

    def __str__(self):
        return f"Drift settings for {self.rubric}"

    def params(self):
        return drift.Params(
            lam=self.lam,
            L=self.limit_sigmas,
            k=self.cusum_k,
            h=self.cusum_h,
            run_length=self.run_length,
            baseline_n=self.baseline_n,
            min_own_points=self.min_own_points,
            momentum_window=self.momentum_window,
            momentum_slope=self.momentum_slope,
            shift_limit=self.shift_limit,
            items_limit=self.items_limit,
            before_points=self.before_points,
            close_after=self.close_after,
        )

    def adequate_in(self, bands):
        """The band below which an observation counts against the band rule."""
        if self.adequate_band in bands:
            return self.adequate_band
        return bands[1] if len(bands) > 1 else (bands[0] if bands else "")

    def clean(self):
        if not self.adequate_band or not self.rubric_id:
            return
        names = {
            band for bands in self.rubric.versions.values_list("bands", flat=True) for band in bands
        }
        if self.adequate_band not in names:
            raise ValidationError(
                {
                    "adequate_band": f"No version of {self.rubric} has a band called "
                    f"“{self.adequate_band}”; choose one of: {', '.join(sorted(names)) or 'none'}."
                }
            )


class PooledSpread(models.Model):
    """The within-practitioner spread (standard deviation) of overall scores on one rubric
    version, pooled across everyone, as the nightly job last measured it; a person with
    few observations is judged against it."""

    rubric_version = models.OneToOneField(
        "observations.RubricVersion", models.CASCADE, related_name="+"
    )
    sigma = models.FloatField()
    moving_ranges = models.PositiveIntegerField()
    # The peers' level and between-person variance, which shrink a short baseline.
    level = models.FloatField(null=True, blank=True)
    between = models.FloatField(null=True, blank=True)
    # {item code: spread of its gap from the observation's other items}, for the items rule.
    item_spreads = models.JSONField(default=dict, blank=True)
    computed_on = models.DateField()

    def __str__(self):
        return f"spread {self.sigma:.2f} on {self.rubric_version_id}"


class Momentum(models.Model):
    """Where one practitioner's scores on one rubric are heading, from the recent slope of
    the smoothed score (EWMA). Rewritten by the drift job."""

    class Direction(models.TextChoices):
        BUILDING = drift.BUILDING, "Building"
        STEADY = drift.STEADY, "Steady"
        SLIPPING = drift.SLIPPING, "Slipping"

    person = models.ForeignKey(Person, models.CASCADE, related_name="momenta")
    rubric = models.ForeignKey("observations.Rubric", models.CASCADE, related_name="+")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    slope = models.FloatField(help_text="Points per observation.")
    last_observed_on = models.DateField()
    computed_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "rubric"], name="momentum_once_per_rubric")
        ]
        indexes = [models.Index(fields=["person", "-last_observed_on"])]

    def __str__(self):
        return f"{self.person_id} {self.direction} on {self.rubric_id}"


def latest_momentum(person_ids):
    """{person id: direction on the rubric they were last observed on}, in one query."""
    rows = Momentum.objects.filter(person_id__in=list(person_ids))
    ordered = rows.order_by("last_observed_on", "pk").values_list("person_id", "direction")
    return dict(ordered)  # the latest one wins


def with_momentum(queryset, person_field="pk"):
    """Annotate rows with `momentum`: the direction on the rubric the person was last
    observed on (a subquery, so a list page makes no extra query)."""
    latest = Momentum.objects.filter(person_id=OuterRef(person_field)).order_by(
        "-last_observed_on", "-pk"
    )
    return queryset.annotate(momentum=Subquery(latest.values("direction")[:1]))


def with_alert_seen(momenta, user):
    """Annotate Momentum rows with `alerted`: the person has a drift alert not closed on
    that rubric, one `user` may see, so the badge reads in the alert's terms (a
    subquery)."""
    alerts = DriftAlert.objects.visible_to(user).active()
    same = alerts.filter(practitioner_id=OuterRef("person_id"), rubric_id=OuterRef("rubric_id"))
    return momenta.annotate(alerted=Exists(same))


def with_open_alerts(queryset, person_field="pk"):
    """Annotate rows with `open_alerts`: the person's drift alerts someone still has to
    follow up (not closed, not dismissed as a false alarm; a subquery)."""
    active = DriftAlert.objects.to_follow_up().filter(practitioner_id=OuterRef(person_field))
    counted = active.order_by().values("practitioner_id").annotate(n=Count("pk")).values("n")
    return queryset.annotate(open_alerts=Coalesce(Subquery(counted[:1]), 0))


class DriftAlertQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Alerts about people the user sees, never their own; team and item alerts to
        those who see the organization."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.person_id is None:
            return self.none()
        people = Person.objects.visible_to(user).exclude(pk=viewer.person_id).values("pk")
        seen = Q(practitioner__in=people)
        if viewer.sees_organization:
            seen |= Q(organization_id=viewer.organization_id, practitioner=None)
        return self.filter(seen)

    def active(self):
        """Not closed: the series may still be out of control, whatever people said."""
        return self.filter(status__in=DriftAlert.ACTIVE)

    def to_follow_up(self):
        """Not closed and not dismissed as a false alarm: someone still has to act on it
        or see it through."""
        return self.filter(status__in=DriftAlert.TO_FOLLOW_UP)

    def for_list(self):
        """With `momentum`: the practitioner's on the alert's rubric (a subquery)."""
        momentum = Momentum.objects.filter(
            person_id=OuterRef("practitioner_id"), rubric_id=OuterRef("rubric_id")
        )
        return self.select_related(
            "practitioner__team",
            "team",
            "organization",
            "rubric",
            "acknowledged_by",
            "addressed_by",
            "dismissed_by",
        ).annotate(momentum=Subquery(momentum.values("direction")[:1]))


class DriftAlert(models.Model):
    """One episode of drift in one series (a practitioner, a team or an item on a rubric):
    raised when the series is out of control and has no alert that is not closed, however
    many rules then agree; kept up to date while it stays out; closed by the drift job
    alone, once enough observations in a row are back in control. People acknowledge it,
    say how it is being addressed, or dismiss it as a false alarm; none of these closes
    it, so a series out of control always has an alert that is not closed."""

    class Scope(models.TextChoices):
        PERSON = "person", "Practitioner"
        TEAM = "team", "Team (monthly mean)"
        ITEM = "item", "Item across the organization (monthly mean)"

    class Rule(models.TextChoices):
        EWMA = drift.EWMA, "Smoothed score below its control limit"
        CUSUM = drift.CUSUM, "Sustained shortfall (CUSUM)"
        RUN = drift.RUN, "A run below baseline"
        SHIFT = drift.SHIFT, "A fall from the usual level"
        ITEMS = drift.ITEMS, "A few items fell beyond the rest"
        BAND = drift.BAND, "Two observations below adequate"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        ADDRESSING = "addressing", "Being addressed"
        DISMISSED = "dismissed", "Dismissed as a false alarm"
        # Set by the drift job only (older alerts may have been resolved by hand).
        RESOLVED = "resolved", "Closed"

    # Not closed: every status but resolved.
    ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED, Status.ADDRESSING, Status.DISMISSED)
    TO_FOLLOW_UP = (Status.OPEN, Status.ACKNOWLEDGED, Status.ADDRESSING)
    # What people may move an alert to, and from which statuses. Acknowledging comes
    # before the rest; saying how it is addressed also takes back a dismissal.
    MAY_BECOME = {
        Status.ACKNOWLEDGED: (Status.OPEN, Status.ACKNOWLEDGED),
        Status.ADDRESSING: ACTIVE,
        Status.DISMISSED: ACTIVE,
    }

    scope = models.CharField(max_length=10, choices=Scope.choices)
    # What the episode is about, as one key: "person:12", "team:3", "item:5:mi-reflect".
    subject = models.CharField(max_length=100)
    organization = models.ForeignKey(
        "people.Organization", models.CASCADE, related_name="drift_alerts"
    )
    practitioner = models.ForeignKey(
        Person, models.CASCADE, null=True, blank=True, related_name="drift_alerts"
    )
    team = models.ForeignKey(
        "people.Team", models.CASCADE, null=True, blank=True, related_name="drift_alerts"
    )
    rubric = models.ForeignKey("observations.Rubric", models.CASCADE, related_name="+")
    item_code = models.CharField(max_length=50, blank=True)
    item_label = models.CharField(max_length=200, blank=True)
    rule = models.CharField(
        max_length=10, choices=Rule.choices, help_text="The rule that fired first."
    )
    # Every rule in the episode when last checked: {"rule", "statistic", "limit"}, the
    # statistic in its own unit (a score, points short, observations in a row).
    rules = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    began_on = models.DateField(help_text="The first observation (or month) out of control.")
    raised_on = models.DateField()
    checked_on = models.DateField(help_text="The last day the job looked at it.")
    # Empty on a rubric without an overall score, where only the band rule applies.
    baseline = models.FloatField(null=True, blank=True)
    baseline_from = models.CharField(max_length=200, help_text="What set the baseline.")
    current = models.FloatField(
        null=True, blank=True, help_text="The smoothed level when last checked."
    )
    sigma = models.FloatField(null=True, blank=True)
    points = models.PositiveIntegerField(help_text="Observations (or months) since baseline.")
    moved = models.JSONField(
        default=list,
        blank=True,
        help_text="The items that fell most; for an item alert, the teams where it fell most.",
    )
    acknowledged_by = models.ForeignKey(
        Person, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = ProseField(max_length=NOTE, blank=True)
    # Being addressed: who said so, when, what is being done, and the coaching plan that
    # answers it (none for a team or item alert, which has no practitioner).
    addressed_by = models.ForeignKey(
        Person, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    addressed_at = models.DateTimeField(null=True, blank=True)
    addressing_note = ProseField(max_length=NOTE, blank=True)
    plan = models.ForeignKey(
        "CoachingPlan",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="answered_alerts",
        help_text="The coaching plan that answers it.",
    )
    # Dismissed as a false alarm: who, when, and why; apart from the acknowledgement's note.
    dismissed_by = models.ForeignKey(
        Person, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissal_reason = ProseField(max_length=NOTE, blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        Person,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when it resolved itself.",
    )
    # Apart from `note`, so closing the alert never loses what was said on acknowledging it.
    resolution_note = ProseField(max_length=NOTE, blank=True)
    # The run that told the coach and leaders of it; empty until someone is told.
    told_by_run = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["checked_on", "told_by_run"])

    objects = DriftAlertQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_on", "-pk"]
        constraints = [
            # One alert not closed per series: two runs at once store one of them.
            models.UniqueConstraint(
                fields=["subject", "rubric"],
                condition=Q(status__in=["open", "acknowledged", "addressing", "dismissed"]),
                name="drift_alert_one_not_closed",
            ),
            models.CheckConstraint(
                condition=Q(status="resolved") | Q(resolved_on=None),
                name="drift_alert_resolved_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="addressing") | ~Q(addressing_note=""),
                name="drift_alert_addressing_says_how",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(dismissal_reason=""),
                name="drift_alert_dismissal_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self):
        return f"{self.about()}: drift on {self.rubric} since {self.began_on}"

    def get_absolute_url(self):
        return reverse("coaching:alert", args=[self.pk])

    @property
    def is_active(self):
        """Not closed."""
        return self.status in self.ACTIVE

    def next_statuses(self):
        """The statuses people may move it to now (repeating the current one to change
        what they said)."""
        return [to for to, before in self.MAY_BECOME.items() if self.status in before]

    def status_label(self):
        """The status as pages name it; an alert someone resolved by hand before only the
        job could close them still says so."""
        if self.status == self.Status.RESOLVED and self.resolved_by_id:
            return "Resolved"
        return self.get_status_display()

    def handled_by(self):
        """Who last took it up: dismissed it, said how it is being addressed, or
        acknowledged it."""
        if self.status == self.Status.DISMISSED:
            return self.dismissed_by
        if self.addressed_at:
            return self.addressed_by
        return self.acknowledged_by

    def about(self):
        if self.scope == self.Scope.PERSON:
            return str(self.practitioner)
        if self.scope == self.Scope.TEAM:
            return f"Team {self.team}"
        return f"{self.item_label or self.item_code} across {self.organization}"

    def explanation(self):
        """Why it was raised, in plain words a coach reads without a statistics course:
        one sentence for each rule in the episode, then the baseline and where it is now."""
        said = " ".join(self._rule_sentence(entry) for entry in self.rules)
        if self.baseline is None or self.current is None:
            return said
        baseline, now = _level(self.baseline), _level(self.current)
        return f"{said} Baseline {baseline} ({self.baseline_from}); now {now}."

    def _rule_sentence(self, entry):
        unit = "observation" if self.scope == self.Scope.PERSON else "month"
        statistic, limit = entry["statistic"], entry["limit"]
        not_over = "but not yet far enough to end the episode."
        if entry["rule"] == drift.EWMA:
            if statistic < limit:
                return (
                    f"The smoothed score is {_level(statistic)}, below the control limit of "
                    f"{_level(limit)} that ordinary ups and downs stay above."
                )
            return (
                f"The smoothed score is {_level(statistic)}: back above its control limit of "
                f"{_level(limit)}, {not_over}"
            )
        if entry["rule"] == drift.CUSUM:
            short = (
                f"The {unit}s have fallen short of the baseline by {_level(statistic)} "
                "points in all"
            )
            explained = f"the {_level(limit)} that ordinary ups and downs explain"
            if statistic > limit:
                return f"{short}, more than {explained}."
            return f"{short}: back within {explained}, {not_over}"
        if entry["rule"] == drift.SHIFT:
            if statistic > limit:
                return (
                    f"The {unit}s since it began are {statistic:.1f} standard errors below "
                    f"the usual level, beyond the {limit:.1f} that ordinary ups and downs "
                    "stay within."
                )
            return (
                f"The {unit}s since it began are {statistic:.1f} standard errors below the "
                f"usual level: back within the {limit:.1f} that ordinary ups and downs "
                "explain, but not yet for long enough to close the alert."
            )
        if entry["rule"] == drift.ITEMS:
            if statistic > limit:
                return (
                    "A few items fell beyond the rest of the rubric: together "
                    f"{statistic:.1f} standard errors down, beyond the {limit:.1f} that "
                    "ordinary ups and downs reach."
                )
            return (
                f"The items that fell are {statistic:.1f} standard errors down together: back "
                f"within the {limit:.1f} that ordinary ups and downs reach, but not yet for "
                "long enough to close the alert."
            )
        if entry["rule"] == drift.RUN:
            return f"{statistic:.0f} {unit}s in a row below the baseline."
        return f"The last {statistic:.0f} observations were below the adequate band."

    def rule_names(self):
        """The rules in the episode, as the list and the alert page name them."""
        names = dict(self.Rule.choices)
        return [names.get(entry["rule"], entry["rule"]) for entry in self.rules]

    def moved_heading(self):
        if self.scope == self.Scope.ITEM:
            return "The teams where it fell most"
        return "The items that fell most"

    def moved_text(self):
        """The items (or teams) that fell most, as “Reflections 2.6 → 1.4”."""
        return [
            f"{entry['label']} {_level(entry['baseline'])} → {_level(entry['current'])}"
            for entry in self.moved
        ]


def _level(value):
    """A score or level as alerts print it: a second decimal on small scales (a rating of
    1 to 5), where one decimal would make 4.14 and 4.06 look the same."""
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


class ItemMonthQuerySet(models.QuerySet):
    def flat(self):
        """(organization, team, rubric, item code, month, total, count) of each item of the
        rows selected, a row's items in code order."""
        rows = self.order_by().values_list(
            "organization_id", "team_id", "rubric_id", "month", "sums"
        )
        for organization, team, rubric, month, sums in rows:
            for code in sorted(sums):
                yield organization, team, rubric, code, month, *sums[code]

    def sums_by(self, group):
        """[(group, item code, total, count)] summed in the database over the months
        selected, by `group` ("team_id" or "organization_id") and item: the heat map's
        cells."""
        chosen = self.order_by().annotate(key=F(group)).values("key", "sums")
        sql, params = chosen.query.sql_with_params()
        if connection.vendor == "postgresql":
            join = "CROSS JOIN LATERAL jsonb_each(m.sums) s"
            total, count = "(s.value ->> 0)::float", "(s.value ->> 1)::integer"
        else:
            join = ", json_each(m.sums) s"
            total, count = "json_extract(s.value, '$[0]')", "json_extract(s.value, '$[1]')"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT m.key, s.key, SUM({total}), SUM({count}) "
                f"FROM ({sql}) m {join} GROUP BY m.key, s.key",
                params,
            )
            return cursor.fetchall()


class ItemMonth(models.Model):
    """The sum and count of each item's scores (and each metric's values, their codes
    behind coaching.levels.METRIC) in one complete month, by organization and team: one
    row a team, rubric and month, its items in `sums`.

    The item and team levels of the drift job read these instead of unpacking every
    observation's scores each night; the job recounts only the months whose fingerprint
    moved (ItemMonthsCounted, coaching.services.count_item_months). A row holds all its
    items because a row an item made the table as long as the observations' item scores
    (3.6 million rows at a million observations): a first night spent a minute on
    maintaining its indexes alone."""

    # Found through the constraint's index, which leads with it; a rubric is deleted
    # rarely enough to look for its rows without an index of their own.
    organization = models.ForeignKey(
        "people.Organization", models.CASCADE, related_name="+", db_index=False
    )
    team_id = models.PositiveIntegerField(help_text="0: no team.")
    rubric = models.ForeignKey(
        "observations.Rubric", models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField(help_text="Its first day.")
    sums = models.JSONField(help_text="{item code: [total, count]}, the counted items only.")

    objects = ItemMonthQuerySet.as_manager()

    class Meta:
        constraints = [
            # Also how the heat map finds one organization's months of a rubric.
            models.UniqueConstraint(
                fields=["organization", "rubric", "month", "team_id"],
                name="item_month_once",
            )
        ]
        indexes = [
            # A team alert's items that fell most are read by team.
            models.Index(fields=["team_id", "rubric"]),
        ]

    def __str__(self):
        return f"{len(self.sums)} items {self.month:%Y-%m}"


class OrganizationItemMonthQuerySet(models.QuerySet):
    def sums_by_organization(self):
        """[(organization, item code, total, count)] summed over the months selected: the
        heat map's cells when it compares organizations."""
        rows = self.order_by().values_list("organization_id", "item_code")
        return rows.annotate(sum_total=Sum("total"), sum_count=Sum("count")).order_by()


class OrganizationItemMonth(models.Model):
    """ItemMonth's items summed over an organization's teams, a row an item: what the item
    level reads nightly and the heat map compares organizations by."""

    # Found through the constraint's index, which leads with it.
    organization = models.ForeignKey(
        "people.Organization", models.CASCADE, related_name="+", db_index=False
    )
    rubric = models.ForeignKey("observations.Rubric", models.CASCADE, related_name="+")
    item_code = models.CharField(max_length=50)
    month = models.DateField(help_text="Its first day.")
    total = models.FloatField()
    count = models.PositiveIntegerField()

    objects = OrganizationItemMonthQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "rubric", "item_code", "month"],
                name="organization_item_month_once",
            )
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.item_code} {self.month:%Y-%m}: {self.total} / {self.count}"


class ItemMonthsCounted(models.Model):
    """What ItemMonth was counted from: for each complete month, a fingerprint of its
    submitted observations (how many, which, the latest change, the teams and
    organizations they count under). The drift job recounts a month whose fingerprint
    has moved, so new, amended, moved and deleted observations and people who changed
    team are all caught without recounting every month. One row."""

    months = models.JSONField(default=dict, help_text="{'2026-05-01': [fingerprint], …}")
    counted_on = models.DateField()

    def __str__(self):
        return f"{len(self.months)} months counted on {self.counted_on}"


# Coaching plans -----------------------------------------------------------------------------


class CoachingPlanQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Plans of the people the user sees (miiwrap.people.access): a practitioner their
        own, a coach their caseload's, leaders and admins their organization's."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.person_id is None:
            return self.none()
        return self.filter(practitioner__in=Person.objects.visible_to(user).values("pk"))

    def active(self):
        return self.filter(status=CoachingPlan.Status.ACTIVE)

    def for_list(self):
        """With the people named and `goals_active`, `goals_met`, `sessions` and
        `last_session_on` counted in the database, so a page costs the same for any rows."""
        goals = Goal.objects.filter(plan=OuterRef("pk")).order_by().values("plan")
        sessions = CoachingSession.objects.filter(plan=OuterRef("pk")).order_by().values("plan")

        def counted(rows):
            return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")[:1]), 0)

        latest = CoachingSession.objects.filter(plan=OuterRef("pk")).order_by("-held_on")
        return (
            self.select_related("practitioner__team", "organization")
            .prefetch_related("coaches")
            .annotate(
                goals_active=counted(goals.filter(status=Goal.Status.ACTIVE)),
                goals_met=counted(goals.filter(status=Goal.Status.MET)),
                sessions=counted(sessions),
                last_session_on=Subquery(latest.values("held_on")[:1]),
            )
        )


class CoachingPlan(models.Model):
    """One practitioner's coaching work: goals tied to rubric items or metrics, and the
    sessions that work on them. At most one is active per practitioner; starting another
    adds its goals to the active one."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    practitioner = models.ForeignKey(Person, models.PROTECT, related_name="coaching_plans")
    organization = models.ForeignKey(
        "people.Organization", models.PROTECT, related_name="coaching_plans"
    )
    coaches = models.ManyToManyField(Person, related_name="coached_plans", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    closed_reason = ProseField(max_length=NOTE, blank=True)
    started_on = models.DateField()
    alert = models.ForeignKey(
        DriftAlert,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="started_plans",
        help_text="The drift alert it was started from.",
    )
    observation = models.ForeignKey(
        "observations.Observation",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The observation whose growth areas it was started from.",
    )
    created_by = models.ForeignKey(Person, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = CoachingPlanQuerySet.as_manager()

    class Meta:
        ordering = ["-started_on", "-pk"]
        constraints = [
            # Two coaches starting a plan at once store one; the later adds its goals.
            models.UniqueConstraint(
                fields=["practitioner"],
                condition=Q(status="active"),
                name="coaching_plan_one_active",
                violation_error_message="This practitioner already has an active plan.",
            ),
            models.CheckConstraint(
                condition=Q(status="active") | ~Q(closed_reason=""),
                name="coaching_plan_closed_has_reason",
                violation_error_message="Say why the plan is closed.",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self):
        return f"Coaching plan for {self.practitioner} from {self.started_on}"

    def get_absolute_url(self):
        return reverse("coaching:plan", args=[self.pk])

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE


class Goal(models.Model):
    """What a plan works on: rubric items (their mean as a percentage of their range) or
    one metric (in its own unit), with a target (see coaching.goals)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MET = "met", "Met"
        DROPPED = "dropped", "Dropped"

    plan = models.ForeignKey(CoachingPlan, models.CASCADE, related_name="goals")
    rubric = models.ForeignKey("observations.Rubric", models.PROTECT, related_name="+")
    item_codes = models.JSONField(default=list, blank=True)
    metric_code = models.CharField(max_length=40, blank=True)
    description = models.CharField(max_length=200)
    target = models.FloatField()
    started_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = ProseField(max_length=NOTE, blank=True)
    decline_on = models.DateField(
        null=True, blank=True, help_text="When the decline that prompted it began."
    )
    created_by = models.ForeignKey(Person, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["started_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="dropped") | ~Q(status_reason=""),
                name="goal_dropped_has_reason",
                violation_error_message="Say why the goal is dropped.",
            ),
        ]

    def __str__(self):
        return self.description

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE


class CoachingSessionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Sessions with the people the user sees (miiwrap.people.access), as their plans."""
        return self.filter(practitioner__in=Person.objects.visible_to(user).values("pk"))


class CoachingSession(models.Model):
    """One coaching session with a practitioner: under their plan when it worked on its
    goals, or on its own (the routine session a steady practitioner is due)."""

    class Format(models.TextChoices):
        DEBRIEF = "debrief", "Observation debrief"
        PRACTICE = "practice", "Skill practice"
        ROLE_PLAY = "role_play", "Role play"
        SHADOWING = "shadowing", "Shadowing"
        GROUP = "group", "Group"

    practitioner = models.ForeignKey(Person, models.PROTECT, related_name="coaching_sessions")
    plan = models.ForeignKey(
        CoachingPlan, models.CASCADE, null=True, blank=True, related_name="coaching_sessions"
    )
    coach = models.ForeignKey(Person, models.PROTECT, related_name="+")
    held_on = models.DateField()
    minutes = models.PositiveSmallIntegerField()
    format = models.CharField(max_length=12, choices=Format.choices)
    goals = models.ManyToManyField(Goal, related_name="coaching_sessions", blank=True)
    notes = ProseField(max_length=FEEDBACK, blank=True)
    next_step = ProseField("next step agreed", max_length=NOTE, blank=True)
    created_by = models.ForeignKey(Person, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[goals])

    objects = CoachingSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=DURATION_MIN, minutes__lte=DURATION_MAX),
                name="coaching_session_minutes_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["plan", "-held_on"]),
            models.Index(fields=["practitioner", "-held_on"]),
        ]

    def __str__(self):
        return f"{self.get_format_display()} on {self.held_on}"

    def get_absolute_url(self):
        """Where it is listed: its plan's sessions, else the practitioner's page."""
        if self.plan_id:
            return f"{self.plan.get_absolute_url()}#sessions"
        return f"{reverse('dashboards:practitioner', args=[self.practitioner_id])}#sessions"


class PlanComment(models.Model):
    """What the practitioner, a coach or a leader says about a plan."""

    plan = models.ForeignKey(CoachingPlan, models.CASCADE, related_name="comments")
    author = models.ForeignKey(Person, models.PROTECT, related_name="+")
    text = ProseField(max_length=NOTE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.author} on plan {self.plan_id}"


def current_versions():
    """{rubric id: its newest published version, with items and metrics}: what goals
    are checked against and labelled from."""
    from observations.models import RubricVersion

    published = RubricVersion.objects.of_people().published().order_by("number")
    found = {}
    for version in published.select_related("rubric").prefetch_related("items__domain", "metrics"):
        found[version.rubric_id] = version  # the newest wins
    return found

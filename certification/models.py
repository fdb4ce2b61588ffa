import datetime as dt
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from certification import dates, evidence
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person, Role
from observations.models import Observation, Rubric, RubricVersion


class ProgramQuerySet(models.QuerySet):
    def with_rules(self):
        return self.select_related("requires", "certifier_program").prefetch_related(
            "evidence_rules__rubric",
            "evidence_rules__companion_rubric",
            "evidence_rules__observer_certified_in",
        )

    def decidable_by(self, decider, on):
        """The programs `decider` may decide for someone on `on` (see decider_problem)."""
        if decider is None:
            return self.none()
        if decider.has_role(Role.PURVEYOR_ADMIN):
            return self.all()
        periods = CertificationPeriod.objects.filter(person=decider)
        held = [period.program_id for period in periods if period.as_held().valid_on(on)]
        programs = self.filter(certifier_program__in=held)
        if not decider.organization.is_purveyor:
            programs = programs.filter(certified_by_purveyor=False)
        return programs

    def for_person(self, person):
        """The programs a person's page shows: those for their roles, and any they hold."""
        roles = [grant.role for grant in person.roles.all()]
        held = CertificationPeriod.objects.filter(person=person).values("program_id")
        return self.filter(Q(audience_role__in=roles) | Q(pk__in=held))


class Program(models.Model):
    """A certification: MiiWrap Practitioner, Coach, Trainer; every number is a setting."""

    class RenewFrom(models.TextChoices):
        EXPIRY = dates.RenewFrom.EXPIRY.value, "The previous expiry (early renewers lose no time)"
        DECISION = dates.RenewFrom.DECISION.value, "The decision date"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200, unique=True)
    audience_role = models.CharField(
        max_length=20,
        choices=Role.choices,
        blank=True,
        help_text="Everyone with this role is on the program's roster; empty: only those "
        "who hold or held it.",
    )
    requires = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The program a person must hold first (coaches are certified practitioners).",
    )
    certifier_program = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Besides purveyor admins, people who hold this certification decide "
        "(empty: purveyor admins only).",
    )
    certified_by_purveyor = models.BooleanField(
        default=True,
        help_text="Certifiers must belong to the purveyor; otherwise an organization's own "
        "certifiers decide for its people.",
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

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(active_months__gte=1), name="program_lasts_a_month_or_more"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("certification:roster", args=[self.code])

    def clean(self):
        # The window must open inside the period: a two-year period has at most 730 days.
        if self.active_months and self.window_days is not None:
            shortest = self.active_months * 28
            if self.window_days >= shortest:
                raise ValidationError(
                    {"window_days": f"The window must open inside the period (under {shortest})."}
                )
        if self.pk and self.requires_id == self.pk:
            raise ValidationError({"requires": "A program cannot require itself."})

    def rules(self):
        return dates.Rules(
            active_months=self.active_months,
            window_days=self.window_days,
            grace_days=self.grace_days,
            renew_from=dates.RenewFrom(self.renew_from),
        )

    def decider_problem(self, decider, person, on):
        """Why `decider` may not decide `person`'s certification here on `on`; None if they
        may. Purveyor admins always may; otherwise the program's certifiers may, if they
        hold its certifier certification that day and belong where the program says."""
        if decider is None:
            return "Only someone on the staff record decides certifications."
        if decider.pk == person.pk:
            return "Nobody decides their own certification."
        if decider.has_role(Role.PURVEYOR_ADMIN):
            return None
        if self.certifier_program_id is None:
            return f"Only the purveyor's admins decide {self}."
        if self.certified_by_purveyor and not decider.organization.is_purveyor:
            return f"The purveyor decides {self}."
        if decider.organization_id != person.organization_id and not (
            decider.organization.is_purveyor
        ):
            return f"{decider} certifies in another organization."
        held = CertificationPeriod.objects.filter(person=decider, program=self.certifier_program_id)
        if not dates.holds_on(held.held(), on):
            return (
                f"{decider} does not hold a current {self.certifier_program} certification "
                f"on {on:%Y-%m-%d}, so cannot decide {self}."
            )
        return None

    def evidence_rule(self, kind):
        """The EvidenceRule of this kind (reads prefetched rules), or None."""
        return next((r for r in self.evidence_rules.all() if r.kind == kind), None)


class EvidenceRule(models.Model):
    """What observed practice must show for a first certification, or for a renewal.

    "At least N submitted observations on rubric R in the last D days (or, for a
    renewal, inside the window) with overall score >= T, observed by a certified coach,
    in at least K activity types; and the companion rubric's latest observation at band
    B or better." The arithmetic is in certification.evidence.
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
            models.CheckConstraint(
                condition=Q(min_observations__gte=1), name="rule_needs_an_observation"
            ),
        ]

    def __str__(self):
        return f"{self.program}: {self.get_kind_display().lower()}"

    def clean(self):
        errors = {}
        if self.min_band and self.rubric_id and not _has_band(self.rubric_id, self.min_band):
            errors["min_band"] = f"“{self.min_band}” is not a band of {self.rubric}."
        if self.companion_rubric_id and not self.companion_min_band:
            errors["companion_min_band"] = "Name the band the companion rubric must reach."
        elif self.companion_min_band and not self.companion_rubric_id:
            errors["companion_rubric"] = "Pick the rubric this band belongs to."
        elif self.companion_rubric_id and not _has_band(
            self.companion_rubric_id, self.companion_min_band
        ):
            errors["companion_min_band"] = (
                f"“{self.companion_min_band}” is not a band of {self.companion_rubric}."
            )
        if self.min_activity_types > self.min_observations:
            errors["min_activity_types"] = "Cannot ask for more activity types than observations."
        if errors:
            raise ValidationError(errors)

    def as_rule(self):
        return evidence.Rule(
            kind=self.kind,
            rubric_id=self.rubric_id,
            rubric_name=self.rubric.name,
            min_observations=self.min_observations,
            within_days=self.within_days,
            min_overall=self.min_overall,
            min_band=self.min_band,
            min_activity_types=self.min_activity_types,
            observer_program=self.observer_certified_in.name if self.observer_certified_in else "",
            companion_rubric_id=self.companion_rubric_id,
            companion_name=self.companion_rubric.name if self.companion_rubric else "",
            companion_min_band=self.companion_min_band,
        )


def _has_band(rubric_id, band):
    """Whether any published version of the rubric names this band."""
    versions = RubricVersion.objects.published().filter(rubric_id=rubric_id)
    return any(band in version.bands for version in versions)


class CertificationPeriodQuerySet(models.QuerySet):
    def visible_to(self, user):
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        return self.filter(person__in=Person.objects.visible_to(user))

    def held(self):
        """As dates.Held tuples, for the pure date rules."""
        return [period.as_held() for period in self]


def _verification_code():
    return secrets.token_urlsafe(15)


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
    decided_at = models.DateTimeField(default=timezone.now, editable=False)
    backdate_reason = models.TextField(
        blank=True, help_text="Why the decision is dated before the day it was recorded."
    )
    evidence = models.JSONField(
        default=list,
        blank=True,
        help_text="The observations that met the rule, as they stood when it was decided.",
    )
    override_reason = models.TextField(
        blank=True, help_text="Why the decision stands though the evidence did not meet the rule."
    )
    revoked_on = models.DateField(null=True, blank=True)
    revoked_by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    revocation_reason = models.TextField(blank=True)
    verification_code = models.CharField(
        max_length=32, unique=True, default=_verification_code, editable=False
    )

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
                condition=Q(valid_from__gte=F("decided_on")),
                name="period_starts_on_or_after_its_decision",
                violation_error_message="A period cannot start before it was decided.",
            ),
            models.CheckConstraint(
                condition=Q(revoked_on=None) | ~Q(revocation_reason=""),
                name="revocation_has_a_reason",
                violation_error_message="Say why the certification is revoked.",
            ),
        ]

    def __str__(self):
        return f"{self.person}: {self.program} {self.valid_from} to {self.valid_until}"

    def get_absolute_url(self):
        return reverse("certification:certificate", args=[self.pk])

    def verification_url(self):
        return reverse("verify", args=[self.verification_code])

    def as_period(self):
        return dates.Period(self.valid_from, self.valid_until, self.window_opens, self.grace_ends)

    def as_held(self):
        return dates.Held(self.as_period(), self.revoked_on, self.pk)

    def state_on(self, today):
        return dates.state_on(self.as_period(), today, self.revoked_on)

    def evidence_ids(self):
        return [entry["id"] for entry in self.evidence if isinstance(entry, dict)]


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
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
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


# The roster: everyone's standing in one program, computed in SQL ---------------------------

ROSTER_STATES = [
    dates.State.NOT_CERTIFIED,
    dates.State.IN_PROGRESS,
    dates.State.CERTIFIED,
    dates.State.WINDOW_OPEN,
    dates.State.GRACE,
    dates.State.LAPSED,
    dates.State.REVOKED,
]


def on_roster(people, program):
    """The people a program's roster lists: its audience role, and whoever holds or held it."""
    audience = Q(pk__in=CertificationPeriod.objects.filter(program=program).values("person_id"))
    if program.audience_role:
        audience |= Q(pk__in=Person.objects.with_role(program.audience_role).values("pk"))
    return people.filter(audience)


def with_standing(people, program, todays):
    """`people` annotated with their standing in `program`, as dates.standing decides it.

    `todays` maps each time zone to today's date there, so each row reads the date in its
    organization's zone. Annotations: local_today, the started period's dates (cur_*),
    ahead_until (a renewal decided ahead), expires, state.
    """
    people = people.annotate(local_today=_by_zone(todays))
    periods = CertificationPeriod.objects.filter(person=OuterRef("pk"), program=program)
    current = periods.filter(valid_from__lte=OuterRef("local_today")).order_by("-valid_from", "-pk")
    ahead = periods.filter(
        Q(revoked_on=None) | Q(revoked_on__gt=OuterRef("local_today")),
        valid_from__gt=OuterRef("local_today"),
    ).order_by("-valid_from", "-pk")  # ordered as the index runs, not by expiry
    fields = ["pk", "valid_from", "valid_until", "window_opens", "grace_ends", "revoked_on"]
    people = people.annotate(
        **{f"cur_{name}": Subquery(current.values(name)[:1]) for name in fields},
        ahead_until=Subquery(ahead.values("valid_until")[:1]),
    )
    return _accumulating(people, program, todays).annotate(
        expires=Coalesce("ahead_until", "cur_valid_until"), state=_state_case()
    )


def roster_next_date(row):
    """(what, date) that matters next for a row annotated by with_standing, or None."""
    state = dates.State(row.state)
    if state in (dates.State.NOT_CERTIFIED, dates.State.IN_PROGRESS):
        return None
    if state == dates.State.CERTIFIED:
        return ("Expires", row.expires)
    period = dates.Period(
        row.cur_valid_from, row.cur_valid_until, row.cur_window_opens, row.cur_grace_ends
    )
    return dates.next_date(period, row.local_today, row.cur_revoked_on)


def _by_zone(todays, shift=None):
    """A date per row from its organization's zone: today there, less `shift` if given."""
    whens = [
        When(organization__time_zone=zone, then=Value(day - shift if shift else day))
        for zone, day in todays.items()
    ]
    return Case(*whens, default=Value(None), output_field=DateField())


def _accumulating(people, program, todays):
    """Observations on the first-certification rubric in its look-back: in progress."""
    rule = program.evidence_rule(EvidenceRule.Kind.INITIAL)
    if rule is None:
        return people.annotate(accumulating=Value(False))
    observations = Observation.objects.submitted().filter(
        practitioner=OuterRef("pk"),
        rubric_version__rubric_id=rule.rubric_id,
        observed_on__lte=OuterRef("local_today"),
    )
    if rule.within_days is not None:
        shift = dt.timedelta(days=rule.within_days)
        people = people.annotate(accumulating_since=_by_zone(todays, shift=shift))
        observations = observations.filter(observed_on__gte=OuterRef("accumulating_since"))
    return people.annotate(accumulating=Exists(observations))


def _state_case():
    today = F("local_today")
    return Case(
        When(ahead_until__isnull=False, then=Value(dates.State.CERTIFIED.value)),
        When(cur_pk__isnull=True, accumulating=True, then=Value(dates.State.IN_PROGRESS.value)),
        When(cur_pk__isnull=True, then=Value(dates.State.NOT_CERTIFIED.value)),
        When(cur_revoked_on__lte=today, then=Value(dates.State.REVOKED.value)),
        When(cur_window_opens__gt=today, then=Value(dates.State.CERTIFIED.value)),
        When(cur_valid_until__gte=today, then=Value(dates.State.WINDOW_OPEN.value)),
        When(cur_grace_ends__gte=today, then=Value(dates.State.GRACE.value)),
        default=Value(dates.State.LAPSED.value),
        output_field=models.CharField(),
    )


RENEWING_STATES = [dates.State.WINDOW_OPEN.value, dates.State.GRACE.value]


def could_be_ready(people, program, todays):
    """A cheap first cut of the decision queue, on rows annotated by with_standing: people
    not certified beyond their window, with enough observations on the rule's rubric at
    its score in the days that count. certification.progress then checks the whole rule.
    """
    due = people.exclude(state=dates.State.CERTIFIED.value)
    cuts = Q(pk__in=[])
    for rule in program.evidence_rules.all():
        renewing = rule.kind == EvidenceRule.Kind.RENEWAL
        if rule.within_days is not None:
            since = _by_zone(todays, shift=dt.timedelta(days=rule.within_days))
        elif renewing:
            since = F("cur_window_opens")
        else:
            since = Value(dt.date.min, output_field=DateField())
        observations = Observation.objects.submitted().filter(
            practitioner=OuterRef("pk"),
            rubric_version__rubric_id=rule.rubric_id,
            observed_on__gte=OuterRef(f"since_{rule.kind}"),
        )
        if rule.min_overall is not None:
            observations = observations.filter(overall_score__gte=rule.min_overall)
        counted = observations.order_by().values("practitioner").annotate(n=Count("pk"))
        due = due.annotate(
            **{
                f"since_{rule.kind}": since,
                f"count_{rule.kind}": Coalesce(Subquery(counted.values("n")[:1]), 0),
            }
        )
        in_state = Q(state__in=RENEWING_STATES) if renewing else ~Q(state__in=RENEWING_STATES)
        cuts |= in_state & Q(**{f"count_{rule.kind}__gte": rule.min_observations})
    return due.filter(cuts)

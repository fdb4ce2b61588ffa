import datetime as dt
import functools
import operator
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
)
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from certification import dates, evidence
from miiwrap.community.models import Attendance, Event
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person, Role, RoleGrant
from miiwrap.text import DOCUMENT, NOTE, ProseField
from observations.models import (
    CalibrationAttempt,
    Dispute,
    Observation,
    Rubric,
    RubricVersion,
)

# Days to dispute an observation when no program applies to it.
DEFAULT_DISPUTE_WINDOW_DAYS = 14
# How far back calibration counts when a first certification's rule leaves it empty:
# observers are re-tested every 12 months.
CALIBRATION_LOOK_BACK_DAYS = 365


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

    def practitioner_path(self):
        """The MiiWrap Practitioner program: the first for the practitioner role, as the
        dashboards choose it (programs are shared by every organization)."""
        return self.filter(audience_role=Role.PRACTITIONER).order_by("position", "name")

    def for_person(self, person):
        """The programs a person's page shows: those for their roles, and any they hold."""
        roles = [grant.role for grant in person.roles.all()]
        held = CertificationPeriod.objects.filter(person=person).values("program_id")
        return self.filter(Q(audience_role__in=roles) | Q(pk__in=held))

    def dispute_window_days(self, person, rubric_id):
        """Days `person` has to dispute an observation on this rubric: the window of the
        programs on their path (for_person) whose evidence reads the rubric, the longest
        if several (the observation counts in each); the default when none does."""
        reading = EvidenceRule.objects.filter(
            Q(rubric_id=rubric_id) | Q(companion_rubric_id=rubric_id),
            source=EvidenceRule.Source.OBSERVATIONS,
        )
        programs = self.for_person(person).filter(pk__in=reading.values("program_id"))
        days = programs.aggregate(days=models.Max("dispute_window_days"))["days"]
        return days or DEFAULT_DISPUTE_WINDOW_DAYS


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
    observe_every_days = models.PositiveSmallIntegerField(
        "observe every (days)",
        default=30,
        help_text="Each person in this program should be observed at least this often; "
        "dashboards flag who is overdue and measure coaches against it.",
    )
    goal_held_observations = models.PositiveSmallIntegerField(
        "goal held for (observations)",
        default=3,
        help_text="A coaching goal is offered as met once its target has held in this many "
        "observations in a row since the plan started.",
    )
    dispute_window_days = models.PositiveSmallIntegerField(
        "dispute within (days)",
        default=DEFAULT_DISPUTE_WINDOW_DAYS,
        help_text="A person may dispute an observation of themselves for this many days "
        "after it was submitted.",
    )
    session_every_days = models.PositiveSmallIntegerField(
        "coaching session every (days), until certified",
        default=30,
        help_text="Each person in this program not yet certified in it should have a "
        "coaching session at least this often; the coach dashboard lists who is due.",
    )
    session_every_days_certified = models.PositiveSmallIntegerField(
        "coaching session every (days), once certified",
        default=90,
        help_text="The same for those who hold a current certification in this program.",
    )
    sessions_expected_from = models.DateField(
        "coaching sessions expected from",
        null=True,
        blank=True,
        help_text="The day this program began to expect coaching sessions: for someone never "
        "coached, the wait counts from here, or from their hire or first coach if later, so "
        "starting to log sessions does not make everyone overdue at once. Empty: from their "
        "hire or first coach.",
    )
    co_observed_percent = models.PositiveSmallIntegerField(
        "co-observed share (%)",
        default=15,
        help_text="The share of each coach's observations in this program (over the last "
        "90 days) that a second observer should score too, for reliability; the coach "
        "dashboard says who is due. 0: none asked.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(active_months__gte=1), name="program_lasts_a_month_or_more"
            ),
            models.CheckConstraint(
                condition=Q(observe_every_days__gte=1),
                name="program_observes_every_day_or_more",
                violation_error_message="Observe at least once every 1 day or more.",
            ),
            models.CheckConstraint(
                condition=Q(goal_held_observations__gte=1),
                name="program_goal_held_at_least_once",
                violation_error_message="A goal's target must hold in at least 1 observation.",
            ),
            models.CheckConstraint(
                condition=Q(dispute_window_days__gte=1),
                name="program_dispute_window_a_day_or_more",
                violation_error_message="Allow at least 1 day to dispute an observation.",
            ),
            models.CheckConstraint(
                condition=Q(session_every_days__gte=1),
                name="program_sessions_every_day_or_more",
                violation_error_message="Until certified, hold a coaching session once every "
                "1 day or more.",
            ),
            models.CheckConstraint(
                condition=Q(co_observed_percent__lte=100),
                name="program_co_observed_share_a_percent",
                violation_error_message="The co-observed share is a percent: 0 to 100.",
            ),
            models.CheckConstraint(
                condition=Q(session_every_days_certified__gte=1),
                name="program_certified_sessions_every_day_or_more",
                violation_error_message="Once certified, hold a coaching session once every "
                "1 day or more.",
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

    def session_every(self, certified):
        """Days between coaching sessions for someone (not) certified in this program."""
        return self.session_every_days_certified if certified else self.session_every_days

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

    From observations of the person: "At least N submitted observations on rubric R in
    the last D days (or, for a renewal, inside the window) with overall score >= T,
    observed by a certified coach, in at least K activity types; and the companion
    rubric's latest observation at band B or better."

    From calibration (observer certification): "The person's latest C calibration cases
    on rubric R submitted in the last D days, with at least P % of their items within one
    point of the master code." The arithmetic of both is in certification.evidence.
    """

    class Kind(models.TextChoices):
        INITIAL = "initial", "First certification"
        RENEWAL = "renewal", "Recertification"

    class Source(models.TextChoices):
        OBSERVATIONS = "observations", "Observations of the person"
        CALIBRATION = "calibration", "Calibration against master codes"

    program = models.ForeignKey(Program, models.CASCADE, related_name="evidence_rules")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(
        "evidence from",
        max_length=20,
        choices=Source.choices,
        default=Source.OBSERVATIONS,
        help_text="Observations of the person's practice, or the person's own scores of "
        "calibration cases beside the master code (an observer certification).",
    )
    rubric = models.ForeignKey(
        Rubric,
        models.PROTECT,
        related_name="+",
        help_text="The rubric the observations are scored on, or whose calibration cases count.",
    )
    min_observations = models.PositiveSmallIntegerField(default=3)
    within_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Look back this many days; empty for a renewal means within the window. "
        f"A first certification from calibration looks back {CALIBRATION_LOOK_BACK_DAYS} "
        "days when left empty.",
    )
    min_cases = models.PositiveSmallIntegerField(
        "calibration cases",
        default=3,
        help_text="Calibration only: how many cases (the latest attempt at each) are pooled.",
    )
    min_within_one_percent = models.PositiveSmallIntegerField(
        "% of items within one point",
        default=80,
        help_text="Calibration only: of the pooled cases' items, the share at most one point "
        "from the master code.",
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
    min_events = models.PositiveSmallIntegerField(
        "events attended",
        default=0,
        help_text="Learning community events the person attended in the rule's days "
        "(the look-back, or the window for a renewal); 0 asks for none.",
    )
    event_kind = models.CharField(
        "of kind",
        max_length=20,
        choices=Event.Kind.choices,
        blank=True,
        help_text="The kind of event that counts; empty for any kind.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["program", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["program", "kind"], name="one_rule_per_kind"),
            models.CheckConstraint(
                condition=Q(source="calibration") | ~Q(min_overall=None) | ~Q(min_band=""),
                name="rule_sets_a_standard",
                violation_error_message="Set a minimum overall score or a minimum band.",
            ),
            models.CheckConstraint(
                condition=Q(min_observations__gte=1), name="rule_needs_an_observation"
            ),
            models.CheckConstraint(
                condition=Q(min_cases__gte=1),
                name="rule_needs_a_calibration_case",
                violation_error_message="Ask for at least 1 calibration case.",
            ),
            models.CheckConstraint(
                condition=Q(min_within_one_percent__gte=1, min_within_one_percent__lte=100),
                name="rule_percent_within_one_to_a_hundred",
                # Django fills the name in with %: a percent sign is written twice.
                violation_error_message="The share within one point is 1 to 100 %%.",
            ),
            # Calibration reads no observation: nothing about observations may seem to apply.
            models.CheckConstraint(
                condition=Q(source="observations")
                | Q(
                    min_overall=None,
                    min_band="",
                    observer_certified_in=None,
                    companion_rubric=None,
                    companion_min_band="",
                ),
                name="calibration_rule_reads_no_observations",
                violation_error_message="A calibration rule sets no observation standard.",
            ),
        ]

    def __str__(self):
        return f"{self.program}: {self.get_kind_display().lower()}"

    @property
    def from_calibration(self):
        return self.source == self.Source.CALIBRATION

    def clean(self):
        if self.event_kind and not self.min_events:
            raise ValidationError(
                {"min_events": "Ask for at least 1 event of this kind, or leave the kind empty."}
            )
        if self.from_calibration:
            self._clean_calibration()
        else:
            self._clean_observations()

    def _clean_calibration(self):
        errors = {
            name.removesuffix("_id"): "Calibration evidence reads no observations: leave empty."
            for name in OBSERVATION_STANDARD
            if getattr(self, name) not in (None, "")
        }
        if self.min_within_one_percent is not None and not 1 <= self.min_within_one_percent <= 100:
            errors["min_within_one_percent"] = "Give a share from 1 to 100 %."
        if self.min_cases is not None and self.min_cases < 1:
            errors["min_cases"] = "Ask for at least 1 calibration case."
        if errors:
            raise ValidationError(errors)
        if self.within_days is None and self.kind == self.Kind.INITIAL:
            self.within_days = CALIBRATION_LOOK_BACK_DAYS

    def _clean_observations(self):
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
            source=self.source,
            min_cases=self.min_cases,
            min_within_one_percent=self.min_within_one_percent,
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
            min_events=self.min_events,
            event_kind=self.event_kind,
            event_kind_name=self.get_event_kind_display() if self.event_kind else "",
        )


# The fields only an observation rule reads (a calibration rule leaves them empty).
OBSERVATION_STANDARD = [
    "min_overall",
    "min_band",
    "observer_certified_in_id",
    "companion_rubric_id",
    "companion_min_band",
]


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

    def valid_within(self, first, last=None):
        """Those valid (dates.Held.valid_on: begun, not yet ended, not revoked by then) on
        some day from `first` to `last`, or on `first` alone; a day may be an expression
        (OuterRef) for a subquery."""
        last = first if last is None else last
        return self.filter(
            Q(revoked_on=None) | Q(revoked_on__gt=first),
            valid_from__lte=last,
            valid_until__gte=first,
        )

    def held(self):
        """As dates.Held tuples, for the pure date rules."""
        return [period.as_held() for period in self]

    def held_by(self, *keys):
        """{key: [dates.Held]} grouped by the named fields (one field: its value is the key;
        several: a tuple), read as plain values, since there may be thousands."""
        dated = ["valid_from", "valid_until", "window_opens", "grace_ends", "revoked_on", "pk"]
        found = {}
        for row in self.order_by().values_list(*keys, *dated):
            key = row[0] if len(keys) == 1 else row[: len(keys)]
            *period, revoked_on, pk = row[len(keys) :]
            found.setdefault(key, []).append(dates.Held(dates.Period(*period), revoked_on, pk))
        return found


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
    backdate_reason = ProseField(
        max_length=NOTE,
        blank=True,
        help_text="Why the decision is dated before the day it was recorded.",
    )
    evidence = models.JSONField(
        default=list,
        blank=True,
        help_text="The observations that met the rule, as they stood when it was decided.",
    )
    override_reason = ProseField(
        max_length=NOTE,
        blank=True,
        help_text="Why the decision stands though the evidence did not meet the rule.",
    )
    revoked_on = models.DateField(null=True, blank=True)
    revoked_by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    revocation_reason = ProseField(max_length=NOTE, blank=True)
    verification_code = models.CharField(
        max_length=32, unique=True, default=_verification_code, editable=False
    )
    history = HistoricalRecords()

    objects = CertificationPeriodQuerySet.as_manager()

    class Meta:
        ordering = ["person", "program", "-valid_from"]
        indexes = [
            models.Index(fields=["program", "valid_until"]),
            models.Index(fields=["person", "program", "valid_from"]),
            # The daily job looks for expiries and grace ends in a few date ranges.
            models.Index(fields=["valid_until"], name="period_expiry"),
            models.Index(fields=["grace_ends"], name="period_grace_end"),
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
        """The observations kept as evidence (calibration attempts are kept without an id)."""
        return [entry["id"] for entry in self.evidence if isinstance(entry, dict) and "id" in entry]


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
    note = ProseField(max_length=NOTE, blank=True)

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


# The roster and the decision queue -------------------------------------------------------


def on_roster(people, program):
    """The people a program's roster lists: its audience role, and whoever holds or held it.

    Probes for each person (EXISTS), rather than sets of ids (IN): the planner read every
    period and role grant there is to build the sets, even for one organization's people."""
    held = CertificationPeriod.objects.filter(person=OuterRef("pk"), program=program)
    audience = Exists(held)
    if program.audience_role:
        granted = RoleGrant.objects.filter(person=OuterRef("pk"), role=program.audience_role)
        audience |= Exists(granted)
    return people.filter(audience)


def could_be_ready(people, program, todays):
    """The decision queue's first cut: `people` not certified ahead of their window who
    could meet one of the program's rules. Each requirement of certification.evidence is
    read so that it keeps everyone the rule accepts: enough qualifying observations in
    enough activity types (by observers certified on the day, none disputed), the latest
    companion observation at its band, or for a calibration rule attempts at enough
    cases; enough events attended of the rule's kind; the certification the program
    requires; a renewal only in an open window or
    grace, counted from the window. certification.progress then
    decides; tests hold this cut to it.

    It errs toward keeping people: with several zones (`todays`: {zone: today}), a day
    that counts on any of their todays counts."""
    rules = list(program.evidence_rules.all())
    if not rules:
        return people.none()
    days = (min(todays.values()), max(todays.values()))
    versions = _versions(rules)
    could = [_could_meet(rule, program, days, versions) for rule in rules]
    candidates = functools.reduce(operator.or_, could)
    if program.requires_id is not None:
        required = CertificationPeriod.objects.valid_within(*days)
        candidates &= Exists(required.filter(person=OuterRef("pk"), program=program.requires_id))
    certified = _certified_before_window(program, days[1])
    return people.exclude(pk__in=certified).filter(candidates)


def _versions(rules):
    """{rubric id: [(version id, its bands, best first)]} of the rules' rubrics."""
    rubrics = {rule.rubric_id for rule in rules} | {rule.companion_rubric_id for rule in rules}
    found = {rubric_id: [] for rubric_id in rubrics}
    versions = RubricVersion.objects.filter(rubric_id__in=rubrics)
    for pk, rubric_id, bands in versions.values_list("pk", "rubric_id", "bands"):
        found[rubric_id].append((pk, list(bands or ())))
    return found


def _could_meet(rule, program, days, versions):
    """Whether the person (OuterRef "pk") could meet `rule` on one of `days` (first, last)."""
    low, high = days
    since = None if rule.within_days is None else low - dt.timedelta(days=rule.within_days)
    if rule.from_calibration:
        enough = _calibrated(rule, since, high, versions)
    else:
        enough = _enough(rule, OuterRef("pk"), (since, days), versions)
    if rule.kind != EvidenceRule.Kind.RENEWAL:
        return enough & _attended_enough(rule, OuterRef("pk"), since, high)
    # A renewal is decided in the window or grace of the period the person stands on.
    open_periods = CertificationPeriod.objects.filter(
        Q(revoked_on=None) | Q(revoked_on__gt=low),
        person=OuterRef("pk"),
        program=program,
        window_opens__lte=high,
        grace_ends__gte=low,
    )
    if since is None:  # counted from the window's first day
        events = _attended_enough(rule, OuterRef("person_id"), OuterRef("window_opens"), high)
        if rule.from_calibration:
            return Exists(open_periods.filter(events)) & enough
        enough = _enough(rule, OuterRef("person_id"), (OuterRef("window_opens"), days), versions)
        return Exists(open_periods.filter(enough & events))
    return Exists(open_periods) & enough & _attended_enough(rule, OuterRef("pk"), since, high)


def _attended_enough(rule, person, since, high):
    """`person` attended at least the rule's events of its kind, held from `since` (None:
    ever) to `high`, as evidence.counted_events counts them; always true for a rule that
    asks for no events."""
    if not rule.min_events:
        return Q()
    attended = Attendance.objects.attended().filter(person=person, event__held_on__lte=high)
    if since is not None:
        attended = attended.filter(event__held_on__gte=since)
    if rule.event_kind:
        attended = attended.filter(event__kind=rule.event_kind)
    counted = attended.order_by().values("person").annotate(n=Count("pk"))
    return Exists(counted.filter(n__gte=rule.min_events))


def _calibrated(rule, since, high, versions):
    """The person (OuterRef "pk") submitted attempts at `min_cases` cases or more on the
    rule's rubric, with items compared, from `since` (None: ever, which for a renewal
    counted from its window keeps more than the rule counts, as a cut may) to `high`.
    Submitted is a moment and the days are local: from a day early to a day late in UTC
    holds every zone's days. How well they scored is left to certification.progress (the
    latest attempt at each of the latest cases, pooled, is no count)."""
    attempts = CalibrationAttempt.objects.submitted().filter(
        coach=OuterRef("pk"),
        case__rubric_version__in=[pk for pk, _ in versions[rule.rubric_id]],
        items_compared__gt=0,
    )
    attempts = submitted_in_days(attempts, since, high)
    cases = attempts.values("coach").annotate(n=Count("case", distinct=True))
    return Exists(cases.filter(n__gte=rule.min_cases))


def submitted_in_days(attempts, first, last):
    """Those of `attempts` submitted on a day from `first` (None: ever) to `last` in some
    zone: from a day before `first` to the end of the day after `last`, in UTC, which holds
    every zone's days (a person's own are picked in Python, certification.evidence)."""

    def midnight(day):
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)

    attempts = attempts.filter(submitted_at__lt=midnight(last + 2 * dates.DAY))
    if first is None or first <= dt.date.min + dates.DAY:
        return attempts
    return attempts.filter(submitted_at__gte=midnight(first - dates.DAY))


def _enough(rule, person, counted_days, versions):
    """`person` has enough qualifying observations in enough activity types, and their
    latest companion observation is at its band: counted first by score alone, which an
    index answers, then as the rule counts them. `counted_days` is (the first day that
    counts, or None for ever; the (first, last) of the zones' todays)."""
    since, (low, high) = counted_days
    rubric = [pk for pk, _ in versions[rule.rubric_id]]
    read = rubric
    qualifying = Q(rubric_version__in=rubric)
    if rule.min_overall is not None:
        qualifying &= Q(overall_score__gte=rule.min_overall)
    if rule.min_band:
        qualifying &= _band_at_least(versions[rule.rubric_id], rule.min_band)
    counts = {
        "n": Count("pk", filter=qualifying),
        "kinds": Count("activity", filter=qualifying, distinct=True),
    }
    enough = {"n__gte": rule.min_observations, "kinds__gte": rule.min_activity_types}
    if rule.companion_rubric_id is not None:
        companion = versions[rule.companion_rubric_id]
        read = rubric + [pk for pk, _ in companion]
        at_band = _band_at_least(companion, rule.companion_min_band)
        latest = at_band & ~Exists(_later(rule, [pk for pk, _ in companion], low))
        counts["companions"] = Count("pk", filter=latest)
        enough["companions__gte"] = 1
    counted = _as_counted(rule, _dated(person, since, high).filter(rubric_version__in=read))
    grouped = Exists(counted.values("practitioner").annotate(**counts).filter(**enough))
    if rule.min_overall is None:
        return grouped
    scored = _dated(person, since, high).filter(
        rubric_version__in=rubric, overall_score__gte=rule.min_overall
    )
    by_score = scored.values("practitioner").annotate(n=Count("pk"))
    return Exists(by_score.filter(n__gte=rule.min_observations)) & grouped


def _later(rule, versions, low):
    """Observations the rule counts on the same rubric (`versions`) after the one read
    (OuterRef), that a person whose today is `low` or later may have had by then: after
    it on its own day, or by `low`. With none, it was someone's latest."""
    after = Q(observed_on__gt=OuterRef("observed_on")) | Q(
        observed_on=OuterRef("observed_on"), pk__gt=OuterRef("pk")
    )
    seen_by_then = Q(observed_on__lte=low) | Q(observed_on=OuterRef("observed_on"))
    later = Observation.objects.submitted().filter(
        after, seen_by_then, practitioner=OuterRef("practitioner"), rubric_version__in=versions
    )
    return _as_counted(rule, later)


def _dated(person, since, until):
    """`person`'s submitted observations dated `since` (None: ever) to `until`."""
    seen = Observation.objects.submitted().filter(practitioner=person, observed_on__lte=until)
    return seen if since is None else seen.filter(observed_on__gte=since)


def _as_counted(rule, observations):
    """Those of `observations` the rule counts: none disputed, each by an observer
    certified on the day when the rule asks."""
    disputed = Dispute.objects.open().filter(observation=OuterRef("pk"))
    observations = observations.exclude(Exists(disputed))
    if rule.observer_certified_in_id is None:
        return observations
    held = CertificationPeriod.objects.valid_within(OuterRef("observed_on")).filter(
        person=OuterRef("coach"), program=rule.observer_certified_in_id
    )
    return observations.filter(Exists(held))


def _band_at_least(versions, minimum):
    """Observations at band `minimum` or better in their version's bands
    (evidence.band_at_least); `versions` [(version id, bands)] of their rubric. When no
    version names the band, nothing is at it: a count of them is 0, a rule needing it
    unmet."""
    bands = {pk: names[: names.index(minimum) + 1] for pk, names in versions if minimum in names}
    return functools.reduce(
        operator.or_,
        (Q(rubric_version=pk, band__in=names) for pk, names in bands.items()),
        Q(pk__in=[]),
    )


def _certified_before_window(program, last):
    """Who is certified and not yet in their window on every day up to `last`, as
    dates.standing decides: a period not revoked whose window opens later, with no
    period begun after it (a renewal decided ahead keeps them certified)."""
    periods = CertificationPeriod.objects.filter(program=program)
    later = periods.filter(person=OuterRef("person"), valid_from__lte=last).filter(
        Q(valid_from__gt=OuterRef("valid_from"))
        | Q(valid_from=OuterRef("valid_from"), pk__gt=OuterRef("pk"))
    )
    return (
        periods.filter(Q(revoked_on=None) | Q(revoked_on__gt=last), window_opens__gt=last)
        .exclude(Exists(later))
        .values("person_id")
    )


# Standing in SQL, for dashboards -----------------------------------------------------------


def with_standing(people, program, todays):
    """{person id: decider.Decided} of `people` in `program` on their own organization's
    today (`todays`: {zone: today}), as certification.decider decides it: its `state` (a
    dates.State value) and `next_on` (the date dates.next_date names). One query."""
    from certification import decider

    rows = decider.read(people, [program], todays, members=decider.Members.GIVEN)
    return {row.person_id: row for row in rows}


def next_date_of(row):
    """(what, date) that matters next for a person as with_standing reads them; None
    before a first certification (as dates.Standing.next_date)."""
    state = dates.State(row.state)
    if row.next_on is None:
        return None
    if state == dates.State.CERTIFIED:
        return ("Expires", row.next_on)
    if state == dates.State.LAPSED:
        return (dates.NEXT_LABELS[state], row.next_on + dates.DAY)
    return (dates.NEXT_LABELS[state], row.next_on)


# Reminders ------------------------------------------------------------------------------


class ReminderRuleQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The purveyor's defaults are everyone's; an organization's own rules are its own."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        return self.filter(Q(organization=None) | Q(organization_id=viewer.organization_id))


class ReminderRule(models.Model):
    """When to remind whom of a certification's expiry, and what the email says.

    The purveyor's rules (no organization) apply everywhere; an organization may replace
    one of them (or switch it off, with an inactive replacement) and add its own.
    """

    class Timing(models.TextChoices):
        BEFORE_EXPIRY = "before_expiry", "days before expiry"
        AFTER_EXPIRY = "after_expiry", "days after expiry (on lapse)"
        AFTER_GRACE = "after_grace", "days after grace ends"

    program = models.ForeignKey(Program, models.CASCADE, related_name="reminder_rules")
    organization = models.ForeignKey(
        "people.Organization",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="reminder_rules",
        help_text="Empty: the purveyor's default for every organization.",
    )
    replaces = models.ForeignKey(
        "self",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="replacements",
        limit_choices_to={"organization": None},
        help_text="The purveyor default this organization's rule takes the place of.",
    )
    days = models.PositiveSmallIntegerField(
        help_text="How many days before or after; 1 after expiry is the day it lapses."
    )
    timing = models.CharField(max_length=20, choices=Timing.choices)
    to_practitioner = models.BooleanField(
        "to the person", default=True, help_text="The person whose certification it is."
    )
    to_coach = models.BooleanField("to their coach", default=True)
    to_leader = models.BooleanField(
        "to their leader", default=True, help_text="Leaders get it in their daily digest."
    )
    subject = models.CharField(max_length=300)
    body_text = ProseField("text body", max_length=DOCUMENT)
    body_html = ProseField(
        "HTML body",
        max_length=DOCUMENT,
        blank=True,
        help_text="Empty: the text body, with its paragraphs kept.",
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="An inactive replacement switches the purveyor's default off here.",
    )
    history = HistoricalRecords()

    objects = ReminderRuleQuerySet.as_manager()

    class Meta:
        ordering = ["program", "organization__name", "timing", "-days"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "timing", "days"],
                condition=Q(organization=None),
                name="one_default_per_moment",
                violation_error_message="The purveyor already has a rule for this moment.",
            ),
            models.UniqueConstraint(
                fields=["organization", "program", "timing", "days"],
                condition=Q(organization__isnull=False),
                name="one_org_rule_per_moment",
                violation_error_message="This organization already has a rule for this moment.",
            ),
            models.UniqueConstraint(
                fields=["organization", "replaces"],
                condition=Q(replaces__isnull=False),
                name="one_replacement_per_default",
                violation_error_message="This organization already replaces that default.",
            ),
            models.CheckConstraint(
                condition=Q(replaces=None) | Q(organization__isnull=False),
                name="only_organizations_replace",
            ),
            models.CheckConstraint(
                condition=Q(days__gte=1) | ~Q(timing__in=["after_expiry", "after_grace"]),
                name="after_means_a_day_or_more",
            ),
        ]

    def __str__(self):
        owner = self.organization or "Default"
        return f"{self.program}: {self.moment} ({owner})"

    @property
    def moment(self):
        unit = "day" if self.days == 1 else "days"
        return f"{self.days} {unit} {self.get_timing_display().removeprefix('days ')}"

    def clean(self):
        from certification import reminders

        errors = {}
        if self.replaces_id:
            default = self.replaces
            if self.organization_id is None:
                errors["replaces"] = "Only an organization's rule replaces a default."
            elif default.organization_id is not None:
                errors["replaces"] = "Pick one of the purveyor's defaults."
            elif self.program_id and default.program_id != self.program_id:
                errors["replaces"] = f"That default belongs to {default.program}."
        if self.timing != self.Timing.BEFORE_EXPIRY and self.days == 0:
            errors["days"] = "After expiry or grace, count at least 1 day."
        for field in ("subject", "body_text", "body_html"):
            unknown = reminders.unknown_placeholders(getattr(self, field) or "")
            if unknown:
                errors[field] = (
                    f"Unknown placeholder {', '.join('{{ ' + u + ' }}' for u in unknown)}. "
                    f"Use: {reminders.placeholder_list()}."
                )
        if errors:
            raise ValidationError(errors)

    def due_on(self, period):
        """The day this rule's reminder is due for a period (a dates.Period or the model)."""
        days = dt.timedelta(days=self.days)
        if self.timing == self.Timing.BEFORE_EXPIRY:
            return period.valid_until - days
        if self.timing == self.Timing.AFTER_EXPIRY:
            return period.valid_until + days
        return period.grace_ends + days

    @property
    def key_id(self):
        """The rule a reminder counts against: a replacement counts as the default it
        replaces, so switching to it mid-cycle never repeats what was sent."""
        return self.replaces_id or self.pk


class Reminder(models.Model):
    """One reminder of one period, from one rule, to one person: at most one, ever."""

    class Role(models.TextChoices):
        PRACTITIONER = "practitioner", "The person"
        COACH = "coach", "Coach"
        LEADER = "leader", "Leader"

    period = models.ForeignKey(CertificationPeriod, models.CASCADE, related_name="reminders")
    rule = models.ForeignKey(
        ReminderRule,
        models.PROTECT,
        related_name="+",
        help_text="The rule it counts against (a default, when an organization replaced it).",
    )
    applied_rule = models.ForeignKey(
        ReminderRule, models.SET_NULL, null=True, related_name="reminders"
    )
    recipient = models.ForeignKey(Person, models.CASCADE, related_name="+")
    role = models.CharField(max_length=20, choices=Role.choices)
    due_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    notification = models.OneToOneField(
        "notifications.Notification",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="reminder",
    )
    batch = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["-due_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "rule", "recipient"], name="one_reminder_per_rule_and_person"
            )
        ]
        indexes = [models.Index(fields=["batch"])]

    def __str__(self):
        return f"{self.get_role_display()} {self.recipient}: {self.period} ({self.due_on})"

import uuid
from contextlib import contextmanager
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Avg, Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from miiwrap.people.access import viewer_for
from miiwrap.people.models import Organization, Person, Role
from miiwrap.text import DOCUMENT, DURATION_MAX, DURATION_MIN, FEEDBACK, NOTE, ProseField
from observations import calibration, scoring, summaries

# Rubrics -----------------------------------------------------------------------------------


# The audience of a readiness instrument: it scores an organization, never a person.
ORGANIZATION = "organization"


class RubricQuerySet(models.QuerySet):
    def of_people(self):
        """Rubrics that observe people (practice or coaching): every place where
        observations are made, read, imported, exported or compared lists rubrics through
        this, so an organization's readiness instrument never appears there."""
        return self.exclude(audience=ORGANIZATION)

    def of_organizations(self):
        """Readiness instruments: what an organization is assessed on (implementation)."""
        return self.filter(audience=ORGANIZATION)

    def of_practice(self):
        """Rubrics of practice with families (audience: practitioners), as against the
        coaching rubric, whose observations are of coaches giving feedback."""
        return self.filter(audience=Role.PRACTITIONER)

    def of_coaching(self):
        return self.filter(audience=Role.COACH)

    def for_dashboards(self):
        """Practice rubrics with an overall score first (a trend of it can be drawn), then
        by name. The coaching rubric stays out: its scores are a coach's own."""
        overall = Metric.objects.filter(version__rubric=OuterRef("pk"), is_overall=True)
        practice = self.of_practice()
        return practice.annotate(has_overall=Exists(overall)).order_by("-has_overall", "name")


class Rubric(models.Model):
    # Who a rubric observes; the roles a coach can observe someone in.
    AUDIENCES = [
        *[(role.value, role.label) for role in (Role.PRACTITIONER, Role.COACH)],
        (ORGANIZATION, "Organization (a readiness instrument)"),
    ]

    code = models.SlugField(max_length=40, unique=True, help_text="Used in imports, e.g. miti.")
    name = models.CharField(max_length=200)
    description = ProseField(max_length=DOCUMENT, blank=True)
    # The one flag that tells practice from coaching: a rubric whose audience is coaches
    # observes coaching (a coach giving feedback); its observations feed the coach's own
    # trend and certification, never practitioners' trends, drift, heat map or team figures.
    audience = models.CharField(
        max_length=20,
        choices=AUDIENCES,
        default=Role.PRACTITIONER,
        help_text="Only people holding this role are observed on this rubric. Coach: it "
        "observes coaching, and is kept out of practice figures. Organization: a readiness "
        "instrument, kept out of every page about observations of people.",
    )
    history = HistoricalRecords()

    objects = RubricQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def observes_coaching(self):
        return self.audience == Role.COACH

    @property
    def assesses_organizations(self):
        return self.audience == ORGANIZATION

    def observable_among(self, people):
        """Those of `people` who may be observed on this rubric: the rule of
        audience_problem, read in the database (the form's choices)."""
        return people.with_role(self.audience)

    def audience_problem(self, person):
        """Why `person` may not be observed on this rubric, or None when they may: they
        must hold the audience role. Reads prefetched role grants when there are some, so
        an import checks in memory."""
        if self.assesses_organizations:
            return f"{self.name} assesses organizations; no one is observed on it."
        if person.has_role(self.audience):
            return None
        label = Role(self.audience).label.lower()
        return f"{person} does not hold the {label} role this rubric observes."


class RubricVersionQuerySet(models.QuerySet):
    def of_people(self):
        """Versions of rubrics that observe people (RubricQuerySet.of_people)."""
        return self.exclude(rubric__audience=ORGANIZATION)

    def of_organizations(self):
        return self.filter(rubric__audience=ORGANIZATION)

    def published(self):
        return self.filter(status=RubricVersion.Status.PUBLISHED)

    def overall_thresholds(self, rubric_ids):
        """{rubric id: [(band, minimum)]} of the overall score on each rubric's newest
        published version."""
        overall = Metric.objects.filter(
            is_overall=True,
            version__rubric_id__in=rubric_ids,
            version__status=RubricVersion.Status.PUBLISHED,
        ).order_by("version__number")
        found = {}
        for rubric_id, thresholds in overall.values_list("version__rubric_id", "thresholds"):
            found[rubric_id] = [(t["band"], t["minimum"]) for t in thresholds]  # newest wins
        return found

    def with_structure(self):
        return self.select_related("rubric").prefetch_related(
            "domains", "items__levels", "items__domain", "metrics"
        )


class RubricVersion(models.Model):
    """One fixed edition of a rubric; observations point at the edition they were scored on."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    rubric = models.ForeignKey(Rubric, models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    bands = models.JSONField(
        default=list,
        blank=True,
        help_text='Band names from best to worst, e.g. ["high", "adequate", "borderline", "low"].',
    )
    notes = ProseField(max_length=DOCUMENT, blank=True)
    history = HistoricalRecords()

    objects = RubricVersionQuerySet.as_manager()

    class Meta:
        ordering = ["rubric__name", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rubric", "number"], name="rubric_version_unique")
        ]

    def __str__(self):
        return f"{self.rubric.name} v{self.number}"

    @property
    def is_editable(self):
        return self.status == self.Status.DRAFT

    def definition(self):
        """The version as plain data for the scoring module (uses prefetched rows if any)."""
        items = sorted(self.items.all(), key=lambda i: (i.position, i.pk))
        metrics = sorted(self.metrics.all(), key=lambda m: (m.position, m.pk))
        return scoring.RubricDef(
            items=tuple(item.as_def() for item in items),
            metrics=tuple(metric.as_def() for metric in metrics),
            bands=tuple(self.bands),
        )


class Domain(models.Model):
    version = models.ForeignKey(RubricVersion, models.CASCADE, related_name="domains")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="domain_code_unique")
        ]

    def __str__(self):
        return self.name


class Item(models.Model):
    class Kind(models.TextChoices):
        RATING = scoring.RATING, "Rating on a scale"
        COUNT = scoring.COUNT, "Behaviour count"
        YES_NO = scoring.YES_NO, "Yes / no"

    version = models.ForeignKey(RubricVersion, models.CASCADE, related_name="items")
    # RESTRICT: a domain with items stays, unless its whole version is deleted with them.
    domain = models.ForeignKey(Domain, models.RESTRICT, null=True, blank=True, related_name="items")
    code = models.SlugField(max_length=40, help_text="Short code, used as the CSV column.")
    label = models.CharField(max_length=200)
    guidance = ProseField(max_length=DOCUMENT, blank=True, help_text="What the observer looks for.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    scale_min = models.SmallIntegerField(default=0)
    scale_max = models.SmallIntegerField(default=1)
    allows_na = models.BooleanField("may be not applicable", default=False)
    required = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="item_code_unique"),
            models.CheckConstraint(
                condition=Q(scale_max__gte=models.F("scale_min")), name="item_scale_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.label}"

    def as_def(self):
        return scoring.ItemDef(
            code=self.code,
            label=self.label,
            kind=self.kind,
            scale_min=self.scale_min,
            scale_max=self.scale_max,
            allows_na=self.allows_na,
            required=self.required,
            domain=self.domain.code if self.domain_id else "",
        )

    def rises_with_fidelity(self):
        """A higher score is better practice: true of ratings and indicators, not of
        behaviour counts (fewer confrontations is better, fewer reflections worse)."""
        return self.kind != self.Kind.COUNT


class Level(models.Model):
    """What one point on a rating scale looks like in practice."""

    item = models.ForeignKey(Item, models.CASCADE, related_name="levels")
    value = models.SmallIntegerField()
    label = models.CharField(max_length=80)
    descriptor = ProseField(max_length=DOCUMENT, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["value"]
        constraints = [models.UniqueConstraint(fields=["item", "value"], name="level_unique")]

    def __str__(self):
        return f"{self.value} {self.label}"


class Metric(models.Model):
    """A summary score computed from item scores, with the thresholds that band it."""

    class Kind(models.TextChoices):
        MEAN = scoring.MEAN, "Mean of items"
        SUM = scoring.SUM, "Sum of items"
        RATIO = scoring.RATIO, "Ratio: numerator items / denominator items"
        PERCENT = scoring.PERCENT, "Percentage: numerator items / denominator items"
        PERCENT_OF_POSSIBLE = scoring.PERCENT_OF_POSSIBLE, "Percentage of possible points"

    version = models.ForeignKey(RubricVersion, models.CASCADE, related_name="metrics")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    numerator = models.JSONField(default=list, help_text="Item codes.")
    denominator = models.JSONField(default=list, blank=True, help_text="Item codes.")
    thresholds = models.JSONField(
        default=list,
        blank=True,
        help_text='Best first, e.g. [{"band": "good", "minimum": 4}, {"band": "fair", '
        '"minimum": 3}].',
    )
    is_overall = models.BooleanField(
        default=False, help_text="The version's overall fidelity score."
    )
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="metric_code_unique"),
            models.UniqueConstraint(
                fields=["version"], condition=Q(is_overall=True), name="one_overall_metric"
            ),
        ]

    def __str__(self):
        return self.label

    def as_def(self):
        return scoring.MetricDef(
            code=self.code,
            label=self.label,
            kind=self.kind,
            numerator=tuple(self.numerator),
            denominator=tuple(self.denominator),
            thresholds=tuple(scoring.Threshold(t["band"], t["minimum"]) for t in self.thresholds),
            is_overall=self.is_overall,
        )

    def rises_with_fidelity(self):
        """A higher value is better practice: true of a banded metric (its thresholds are
        minimums) and of a share of possible points; a sum or ratio of counts without
        bands could mean either."""
        return bool(self.thresholds) or self.kind == self.Kind.PERCENT_OF_POSSIBLE

    def span(self, item_spans):
        """The range its values move in, to compare its fall with an item's; None when it
        has no fixed range (a ratio, a sum). `item_spans`: {item code: scale range}."""
        if self.kind in (self.Kind.PERCENT, self.Kind.PERCENT_OF_POSSIBLE):
            return 100.0
        if self.kind == self.Kind.MEAN:
            spans = [item_spans[code] for code in self.numerator if item_spans.get(code)]
            return max(spans, default=None)
        return None

    def clean(self):
        if not self.version_id:
            return
        known = set(self.version.items.values_list("code", flat=True))
        unknown = sorted({*self.numerator, *self.denominator} - known)
        if unknown:
            raise ValidationError(f"No such item on this version: {', '.join(unknown)}.")
        if self.kind in (scoring.RATIO, scoring.PERCENT) and not self.denominator:
            raise ValidationError({"denominator": "A ratio or percentage needs a denominator."})
        for threshold in self.thresholds:
            if threshold.get("band") not in self.version.bands:
                raise ValidationError(
                    {"thresholds": f"“{threshold.get('band')}” is not one of the version's bands."}
                )


# Observations ------------------------------------------------------------------------------


class ActivityType(models.Model):
    name = models.CharField(max_length=120, unique=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class ObservationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Submitted observations of people the user sees; drafts only to their author.

        The people are Person.visible_to's. An observation carries its practitioner's
        organization, so a leader's rows are one range of the (organization, observed_on,
        id) index, walked in the list's order up to its page rather than read whole,
        joined and sorted.
        """
        viewer = viewer_for(user)
        if viewer.person_id is None and not viewer.sees_everything:
            return self.none()
        mine = Q(coach_id=viewer.person_id)
        submitted = ~Q(status=Observation.Status.DRAFT)
        if viewer.sees_everything:
            return self.filter(mine | submitted)
        if viewer.sees_organization:
            return self._seen_in_organization(user, viewer, mine, submitted)
        # A coach's or practitioner's few rows: two indexed lookups joined by UNION. An OR
        # of the same conditions reads as few rows, but the planner then expects hundreds
        # (a coach's average) and hashes every person to join them: 25-45 ms against 2.
        people = Person.objects.visible_to(user).values("pk")
        everyone = Observation.objects.order_by()
        seen = everyone.filter(practitioner__in=people).filter(submitted).values("pk")
        return self.filter(pk__in=seen.union(everyone.filter(mine).values("pk")))

    def organizations_seen(self, user):
        """The organizations whose observations visible_to(user) may hold: a write to one
        of theirs bumps them (miiwrap.generations), so a list kept under their
        generations goes stale with it."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return list(Organization.objects.values_list("pk", flat=True))
        if viewer.person_id is None:
            return []
        people = Person.objects.visible_to(user).order_by().values_list("organization_id")
        made = Observation.objects.filter(coach_id=viewer.person_id).order_by()
        made = made.values_list("organization_id")
        return sorted({pk for (pk,) in people.distinct().union(made.distinct())})

    def _seen_in_organization(self, user, viewer, mine, submitted):
        """A leader's or organization admin's: their organization's submitted rows and
        their own. The organizations of the few rows they see outside it (of people they
        coach elsewhere, or that they observed there) are named as well, so that usually
        the rule is `organization_id = X` and nothing else narrows the index range."""
        home = viewer.organization_id
        outside = {}
        if viewer.is_coach:
            elsewhere = Person.objects.visible_to(user).exclude(organization_id=home)
            outside = dict(elsewhere.values_list("pk", "organization_id"))
        made = Observation.objects.filter(mine).exclude(organization_id=home).order_by()
        others = {*outside.values(), *made.values_list("organization_id", flat=True).distinct()}
        if not others:
            return self.filter(Q(organization_id=home) & (submitted | mine))
        seen = Q(organization_id=home) | Q(practitioner_id__in=list(outside))
        rows = self.filter(organization_id__in=[home, *sorted(others)])
        return rows.filter((seen & submitted) | mine)

    def bulk_create(self, objs, *args, **kwargs):
        """As Django's, with each row's organization set from its practitioner (one query
        for those whose practitioner is not loaded), and the summaries brought up to date:
        bulk_create skips save() and its signals."""
        with transaction.atomic(savepoint=False):
            made = super().bulk_create(stamp_organization(list(objs)), *args, **kwargs)
            for row in made:
                row._summarized = summaries.signature(row.__dict__)
            summaries.written([(None, row._summarized) for row in made])
        return made

    def bulk_update(self, objs, fields, *args, **kwargs):
        """As Django's, with the summaries brought up to date (no signals are sent)."""
        if not summaries.FIELDS.intersection(fields):
            return super().bulk_update(objs, fields, *args, **kwargs)
        objs = list(objs)
        with self._summaries_kept([row.pk for row in objs]):
            return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs):
        """As Django's, with the summaries brought up to date (no signals are sent)."""
        if not summaries.FIELDS.intersection(kwargs):
            return super().update(**kwargs)
        with self._summaries_kept(self.values_list("pk", flat=True)):
            return super().update(**kwargs)

    @contextmanager
    def _summaries_kept(self, pks):
        """Around a bulk write of these rows (which sends no signals): the summaries of
        what they counted in before and count in after are brought up to date."""
        with transaction.atomic(savepoint=False):
            before = self._signatures(pks)
            yield
            after = self._signatures(list(before))
            summaries.written([(signed, after.get(pk)) for pk, signed in before.items()])

    def _signatures(self, pks):
        """{pk: what the summaries read of it (summaries.signature)} as stored now."""
        pks, found = list(pks), {}
        for start in range(0, len(pks), summaries.CHUNK):
            rows = Observation.objects.filter(pk__in=pks[start : start + summaries.CHUNK])
            for row in rows.order_by().values("pk", "status", *summaries.READ):
                found[row["pk"]] = summaries.signature(row)
        return found

    def submitted(self):
        return self.exclude(status=Observation.Status.DRAFT)

    def drafts_of(self, coach):
        """A coach's unfinished observations, the last worked on first (their dashboard)."""
        drafts = self.filter(coach=coach, status=Observation.Status.DRAFT)
        return drafts.select_related("practitioner", "rubric_version__rubric").order_by(
            "-updated_at", "-pk"
        )

    def of_practice(self):
        """Observations of practice: every figure about practitioners (trends, drift, heat
        map, team figures, dashboards, exports of practice) reads through this."""
        return self.filter(rubric_version__rubric__audience=Role.PRACTITIONER)

    def of_coaching(self):
        """Observations of coaches giving feedback, on the coaching rubric."""
        return self.filter(rubric_version__rubric__audience=Role.COACH)

    def with_feedback_tied(self):
        """Those whose growth areas name at least one item and whose next step is written:
        feedback a practitioner can act on (the coach's feedback quality)."""
        return self.filter(summaries.TIED)

    def for_list(self):
        return self.select_related(
            "practitioner__team", "coach", "rubric_version__rubric", "activity"
        )

    def fidelity_by_month(self, group):
        """(group, first day of month, mean overall score, observations) of the submitted
        and scored, by `group` (a field path such as "practitioner__team") and month."""
        scored = self.submitted().exclude(overall_score=None).order_by()
        return (
            scored.annotate(month=TruncMonth("observed_on"))
            .values_list(group, "month")
            .annotate(mean=Avg("overall_score"), n=Count("pk"))
            .order_by("month", group)
        )

    def scores_of(self, person):
        """(rubric id, rubric name, observed on, overall score, band) of each of a person's
        scored observations, oldest first, for the trend of their own scores."""
        scored = self.submitted().filter(practitioner=person).exclude(overall_score=None)
        return scored.order_by("observed_on", "pk").values_list(
            "rubric_version__rubric_id",
            "rubric_version__rubric__name",
            "observed_on",
            "overall_score",
            "band",
        )


class Observation(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"

    class Mode(models.TextChoices):
        LIVE = "live", "Live"
        RECORDED = "recorded", "Recorded"
        DOCUMENT = "document", "Document review"

    practitioner = models.ForeignKey(Person, models.PROTECT, related_name="observations")
    coach = models.ForeignKey(Person, models.PROTECT, related_name="observations_made")
    # The practitioner's organization, kept on the row so that whom it is shown to is read
    # from one indexed column (visible_to). Set on every save from the practitioner and
    # moved with them when they change organization (stamp_organization, restamp_moved):
    # it always equals practitioner.organization. Derived, so left out of the history.
    organization = models.ForeignKey(
        Organization, models.PROTECT, related_name="+", db_index=False, editable=False
    )
    rubric_version = models.ForeignKey(RubricVersion, models.PROTECT, related_name="+")
    observed_on = models.DateField()
    activity = models.ForeignKey(ActivityType, models.PROTECT, related_name="+")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.LIVE)
    duration_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(DURATION_MIN), MaxValueValidator(DURATION_MAX)],
        help_text=f"From {DURATION_MIN} to {DURATION_MAX} minutes.",
    )
    scores = models.JSONField(default=dict, blank=True)
    strengths = ProseField(max_length=FEEDBACK, blank=True)
    strengths_items = models.JSONField(default=list, blank=True)
    growth_areas = ProseField(max_length=FEEDBACK, blank=True)
    growth_areas_items = models.JSONField(default=list, blank=True)
    next_steps = ProseField(max_length=FEEDBACK, blank=True)
    next_steps_items = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    # Computed on submit, so lists and dashboards read them instead of recomputing.
    overall_score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    response = ProseField(max_length=FEEDBACK, blank=True, help_text="The practitioner's reply.")
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["organization"])

    objects = ObservationQuerySet.as_manager()

    class Meta:
        ordering = ["-observed_on", "-pk"]
        indexes = [
            # The list's order within what a leader sees: PostgreSQL reads a page of an
            # organization's observations off this index and stops.
            models.Index(
                fields=["organization", "-observed_on", "-id"], name="observation_org_listed"
            ),
            models.Index(fields=["practitioner", "observed_on"]),
            models.Index(fields=["coach", "observed_on"]),
            models.Index(fields=["rubric_version", "observed_on"]),
            models.Index(fields=["observed_on"]),
            models.Index(fields=["band"]),
            # The drift job recounts the months of what changed since it last counted.
            models.Index(fields=["updated_at"]),
            # The dashboards count and average submitted observations by coach and by
            # practitioner over a range of months: on PostgreSQL these cover the columns
            # read, so the rows themselves are not visited one by one.
            models.Index(
                fields=["coach", "observed_on"],
                include=["id"],
                condition=~Q(status="draft"),
                name="observation_submitted_by_coach",
            ),
            models.Index(
                fields=["practitioner", "observed_on"],
                include=["id", "rubric_version", "overall_score"],
                condition=~Q(status="draft") & Q(overall_score__isnull=False),
                name="observation_scored",
            ),
            # The decision queue's cut (certification.models.could_be_ready) and the
            # certification evidence read each person's observations in a look-back: what
            # the evidence rules read, so the rows themselves are not visited.
            models.Index(
                fields=["practitioner", "observed_on"],
                include=["id", "rubric_version", "overall_score", "band", "coach", "activity"],
                condition=~Q(status="draft"),
                name="observation_evidence",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(coach=models.F("practitioner")),
                name="observation_not_of_oneself",
                violation_error_message="A coach cannot observe themselves.",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes=None)
                | Q(duration_minutes__gte=DURATION_MIN, duration_minutes__lte=DURATION_MAX),
                name="observation_duration_in_range",
                violation_error_message=(
                    f"The duration is from {DURATION_MIN} to {DURATION_MAX} minutes."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.practitioner} on {self.observed_on} ({self.rubric_version})"

    def save(self, *args, **kwargs):
        stamp_organization([self])
        super().save(*args, **kwargs)
        self._loaded_practitioner_id = self.practitioner_id

    def get_absolute_url(self):
        return reverse("observations:detail", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values):
        """As loaded, remembering the practitioner: a row given another by id alone (no
        Person at hand) then has its organization read again when saved."""
        row = super().from_db(db, field_names, values)
        row._loaded_practitioner_id = row.__dict__.get("practitioner_id")
        row._summarized = summaries.signature(row.__dict__)
        return row

    @property
    def is_draft(self):
        return self.status == self.Status.DRAFT

    def feedback(self):
        """(heading, text, item codes) for each kind of feedback given."""
        return [
            ("Strengths", self.strengths, self.strengths_items),
            ("Growth areas", self.growth_areas, self.growth_areas_items),
            ("Next steps", self.next_steps, self.next_steps_items),
        ]


def stamp_organization(observations):
    """Set each observation's organization to its practitioner's: from the practitioner
    already loaded when there is one (no query), else read for all of them at once. A row
    without its practitioner at hand keeps the organization it has unless its practitioner
    changed since it was loaded (or it has none yet): it was right when stored."""
    field = Observation.practitioner.field
    unread = []
    for observation in observations:
        if field.is_cached(observation):
            observation.organization_id = observation.practitioner.organization_id
        elif observation.organization_id is None or observation.practitioner_id != getattr(
            observation, "_loaded_practitioner_id", observation.practitioner_id
        ):
            unread.append(observation)
    if unread:
        ids = {observation.practitioner_id for observation in unread}
        found = dict(Person.objects.filter(pk__in=ids).values_list("pk", "organization_id"))
        for observation in unread:
            observation.organization_id = found.get(observation.practitioner_id)
    return observations


def restamp_moved(person_id, organization_id):
    """A practitioner moved organization: their observations move with them, so the new
    organization's leaders see them and the old one's no longer do, as Person.visible_to
    says. Returns the rows moved. A rare, indexed write (by practitioner)."""
    rows = Observation.objects.filter(practitioner_id=person_id)
    return rows.exclude(organization_id=organization_id).update(organization_id=organization_id)


class Amendment(models.Model):
    """A change to a submitted observation: who, when, why, and what it said before."""

    observation = models.ForeignKey(Observation, models.CASCADE, related_name="amendments")
    amended_by = models.ForeignKey(Person, models.PROTECT, related_name="+")
    amended_at = models.DateTimeField(auto_now_add=True)
    reason = ProseField(max_length=NOTE)
    previous = models.JSONField(help_text="The observation's values before this change.")

    class Meta:
        ordering = ["-amended_at", "-pk"]

    def __str__(self):
        return f"Amendment of {self.observation_id} at {self.amended_at:%Y-%m-%d %H:%M}"


class DisputeQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Disputes of the observations the user sees (observations.visible_to's rule)."""
        return self.filter(observation__in=Observation.objects.visible_to(user).values("pk"))

    def open(self):
        return self.filter(status=Dispute.Status.OPEN)

    def for_list(self):
        return self.select_related(
            "observation__practitioner__team",
            "observation__practitioner__organization",
            "observation__coach",
            "observation__rubric_version__rubric",
            "observation__activity",
            "settled_by",
        )


class Dispute(models.Model):
    """The practitioner says an observation of them is wrong, and why; the coach settles it
    by amending the observation or by answering in writing. While open, the observation
    does not count as certification evidence."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        AMENDED = "amended", "Settled by an amendment"
        ANSWERED = "answered", "Settled with an answer"

    observation = models.ForeignKey(Observation, models.CASCADE, related_name="disputes")
    raised_by = models.ForeignKey(Person, models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    reason = ProseField(max_length=NOTE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    answer = ProseField(max_length=NOTE, blank=True, help_text="The coach's written answer.")
    # RESTRICT: deleting the observation deletes both; an amendment alone stays.
    amendment = models.OneToOneField(
        Amendment, models.RESTRICT, null=True, blank=True, related_name="settled_dispute"
    )
    settled_by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    settled_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    objects = DisputeQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["status", "raised_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["observation"],
                condition=Q(status="open"),
                name="one_open_dispute_per_observation",
                violation_error_message="This observation is already disputed.",
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(settled_at=None))
                | (~Q(status="open") & Q(settled_at__isnull=False)),
                name="dispute_settled_has_a_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="amended") | Q(amendment__isnull=False),
                name="dispute_amended_names_the_amendment",
            ),
            models.CheckConstraint(
                condition=~Q(status="answered") | ~Q(answer=""),
                name="dispute_answered_has_an_answer",
            ),
        ]

    def __str__(self):
        return f"Dispute of {self.observation_id} raised {self.raised_at:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("observations:detail", args=[self.observation_id]) + "#dispute"

    @property
    def is_open(self):
        return self.status == self.Status.OPEN


# Observer reliability: calibration against master codes ------------------------------------


def calibration_file_path(case, filename):
    """Where an uploaded transcript is stored: under a random folder, never served as media
    (observations.views.calibration_transcript checks who asks before sending it)."""
    return f"calibration/{uuid.uuid4().hex}/{Path(filename).name}"


class CalibrationCaseQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Every case to the purveyor; to others, the cases of the rounds they see."""
        if viewer_for(user).sees_everything:
            return self.all()
        rounds = CalibrationRound.objects.visible_to(user).values("pk")
        return self.filter(rounds__in=rounds).distinct()


class CalibrationCase(models.Model):
    """A recorded session scored once by an expert (the master code), for calibrating
    observers. The family's recording is held elsewhere and only linked, or a transcript
    is uploaded; either is kept until `retain_until`, then deleted (services
    .calibration_material_expire). The rationale stays hidden from a coach until they
    have submitted their own scores of the case."""

    title = models.CharField(max_length=200)
    description = ProseField(max_length=NOTE, blank=True)
    rubric_version = models.ForeignKey(RubricVersion, models.PROTECT, related_name="+")
    recording_url = models.URLField(
        "recording link",
        max_length=500,
        blank=True,
        help_text="Where the recording is held; it is never uploaded here.",
    )
    transcript = models.FileField(
        upload_to=calibration_file_path,
        max_length=300,
        blank=True,
        help_text="Served only to the purveyor and to coaches the case is assigned to.",
    )
    consent_on = models.DateField(
        "consent given on", help_text="The day the family consented to this use of the session."
    )
    consent_note = models.CharField(
        max_length=300, help_text="Who consented, and where the signed consent is kept."
    )
    retain_until = models.DateField(
        help_text="After this day the transcript is deleted and the recording link removed."
    )
    material_removed_on = models.DateField(null=True, blank=True, editable=False)
    master_scores = models.JSONField(default=dict, blank=True)
    rationale = models.JSONField(
        default=dict, blank=True, help_text="{item code: why the master code is what it is}."
    )
    master_coder = models.ForeignKey(
        Person, models.PROTECT, null=True, blank=True, related_name="+"
    )
    master_coded_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Retired cases stay in past rounds but join no new one."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The day the material went is the job's claim; the history records the removal itself.
    history = HistoricalRecords(excluded_fields=["material_removed_on"])

    objects = CalibrationCaseQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(retain_until__gte=models.F("consent_on")),
                name="calibration_case_kept_after_consent",
                violation_error_message="Keep the case until a day on or after the consent.",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("observations:calibration_case", args=[self.pk])

    @property
    def is_master_coded(self):
        return self.master_coded_at is not None

    def master_shown_to(self, viewer):
        """Whether `viewer` may read the master code and its rationale: the purveyor, and
        coaches who have submitted their own scores of the case."""
        if viewer.sees_everything:
            return True
        mine = self.attempts.submitted().filter(coach_id=viewer.person_id or 0)
        return viewer.person_id is not None and mine.exists()

    def material_kept_on(self, day):
        """Whether the recording link and transcript may still be used on `day`."""
        return self.material_removed_on is None and day <= self.retain_until


class CalibrationRoundQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Every round to the purveyor; to others, those assigning someone they see."""
        if viewer_for(user).sees_everything:
            return self.all()
        people = Person.objects.visible_to(user).values("pk")
        return self.filter(
            pk__in=CalibrationAssignment.objects.filter(coach__in=people).values("round_id")
        )


class CalibrationRound(models.Model):
    """Cases a set of coaches each score on their own, between two days."""

    name = models.CharField(max_length=200)
    cases = models.ManyToManyField(CalibrationCase, related_name="rounds")
    opens_on = models.DateField()
    due_on = models.DateField()
    created_by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = CalibrationRoundQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("opens_on")),
                name="calibration_round_due_after_it_opens",
                violation_error_message="The round must be due on or after the day it opens.",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("observations:calibration")


class CalibrationAssignmentQuerySet(models.QuerySet):
    def to_score(self, coach_id):
        """The coach's rounds, newest first, each with `cases`: [(case, the coach's attempt
        or None)]. Three queries, whatever the number of rounds and cases."""
        cases = CalibrationCase.objects.select_related("rubric_version__rubric")
        assignments = list(
            self.filter(coach_id=coach_id)
            .select_related("round")
            .prefetch_related(models.Prefetch("round__cases", queryset=cases))
            .order_by("-round__opens_on", "-round_id")
        )
        attempts = CalibrationAttempt.objects.filter(coach_id=coach_id).defer("scores")
        by_case = {(a.round_id, a.case_id): a for a in attempts}
        for assignment in assignments:
            assignment.cases = [
                (case, by_case.get((assignment.round_id, case.pk)))
                for case in assignment.round.cases.all()
            ]
        return assignments


class CalibrationAssignment(models.Model):
    """A coach asked to score every case of a round."""

    round = models.ForeignKey(CalibrationRound, models.CASCADE, related_name="assignments")
    coach = models.ForeignKey(Person, models.PROTECT, related_name="calibration_assignments")
    assigned_by = models.ForeignKey(Person, models.PROTECT, null=True, blank=True, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)

    objects = CalibrationAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["round", "coach"]
        constraints = [
            models.UniqueConstraint(fields=["round", "coach"], name="one_assignment_per_round"),
        ]

    def __str__(self):
        return f"{self.coach} in {self.round}"


class CalibrationAttemptQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A coach's own attempts; the submitted attempts of coaches the user sees."""
        viewer = viewer_for(user)
        submitted = Q(status=CalibrationAttempt.Status.SUBMITTED)
        if viewer.sees_everything:
            return self.filter(submitted | Q(coach_id=viewer.person_id))
        if viewer.person_id is None:
            return self.none()
        people = Person.objects.visible_to(user).values("pk")
        return self.filter((Q(coach__in=people) & submitted) | Q(coach_id=viewer.person_id))

    def submitted(self):
        return self.filter(status=CalibrationAttempt.Status.SUBMITTED)

    def results(self):
        """Per coach and round, of the submitted: cases, items compared, within one point
        and the same as the master code (pooled over the cases), the mean signed
        difference; each row with its `coach` and `round`. Three queries."""
        rows = list(
            self.submitted()
            .order_by()
            .values("coach_id", "round_id")
            .annotate(
                cases=Count("pk"),
                compared=Sum("items_compared"),
                within=Sum("items_within_one"),
                exact=Sum("items_exact"),
                signed=Avg("signed_difference"),
            )
        )
        coaches = Person.objects.in_bulk({row["coach_id"] for row in rows})
        rounds = CalibrationRound.objects.in_bulk({row["round_id"] for row in rows})
        for row in rows:
            row["coach"], row["round"] = coaches[row["coach_id"]], rounds[row["round_id"]]
            row["within_percent"] = calibration.percent(row["within"], row["compared"])
            row["exact_percent"] = calibration.percent(row["exact"], row["compared"])
            row["lean"] = calibration.lean(row["signed"])
        return sorted(rows, key=lambda r: (-r["round"].opens_on.toordinal(), r["coach"].full_name))


class CalibrationAttempt(models.Model):
    """One coach's scores of one case in one round, compared with the master code on submit.

    Never an observation: these scores reach no evidence, drift, summary, heat map,
    trend or export of observations, which all read Observation alone."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    round = models.ForeignKey(CalibrationRound, models.PROTECT, related_name="attempts")
    case = models.ForeignKey(CalibrationCase, models.PROTECT, related_name="attempts")
    coach = models.ForeignKey(Person, models.PROTECT, related_name="calibration_attempts")
    scores = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Set on submit, and again whenever the master code changes (observations.calibration):
    # items scored by both, how many the same and how many within one point, and the mean
    # signed and absolute difference from the master on rated items (positive: lenient).
    items_compared = models.PositiveSmallIntegerField(null=True, blank=True)
    items_exact = models.PositiveSmallIntegerField(null=True, blank=True)
    items_within_one = models.PositiveSmallIntegerField(null=True, blank=True)
    signed_difference = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    absolute_difference = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    # The coach's own overall score of the case (observations.scoring), set on submit: the
    # reliability report's intraclass correlations read it.
    overall_score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = CalibrationAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["coach", "submitted_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "case", "coach"], name="one_attempt_per_case_per_round"
            ),
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(submitted_at=None))
                | (Q(status="submitted") & Q(submitted_at__isnull=False)),
                name="calibration_submitted_has_a_time",
            ),
        ]

    def __str__(self):
        return f"{self.coach} on {self.case}"

    def get_absolute_url(self):
        return reverse("observations:calibration_score", args=[self.round_id, self.case_id])

    @property
    def is_submitted(self):
        return self.status == self.Status.SUBMITTED

    @property
    def within_one_percent(self):
        """Items within one point of the master, in percent of those compared; None if none."""
        return calibration.percent(self.items_within_one or 0, self.items_compared)

    @property
    def exact_percent(self):
        return calibration.percent(self.items_exact or 0, self.items_compared)

    @property
    def lean(self):
        return calibration.lean(self.signed_difference)


# Co-observation: a second observer at the same visit ---------------------------------------


class CoObservationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The second observer's own; the others' only once both observers have scored,
        to those who see the observation (its observer among them; for a leader, their
        organization's and their own): until then neither may read the other's scores
        anywhere."""
        viewer = viewer_for(user)
        if viewer.person_id is None and not viewer.sees_everything:
            return self.none()
        both = Q(status=CoObservation.Status.SUBMITTED)
        if viewer.sees_organization and not viewer.sees_everything:
            # A leader's: their organization's visits, and those they observed themselves
            # (as a subquery of every observation they see, the planner read them all).
            mine = Q(invited_by_id=viewer.person_id)
            both &= Q(observation__organization_id=viewer.organization_id) | mine
        elif not viewer.sees_everything:  # the purveyor sees every submitted observation
            both &= Q(observation__in=Observation.objects.visible_to(user).values("pk"))
        # Not to the practitioner observed: a second opinion of their visit is the
        # observers' check on themselves, not feedback.
        both &= ~Q(observation__practitioner_id=viewer.person_id or 0)
        return self.filter(both | Q(second_observer_id=viewer.person_id or 0))

    def pending(self):
        return self.filter(status=CoObservation.Status.INVITED)

    def asked_of(self, person_id):
        """The visits a coach is asked to score as second observer and has not yet."""
        asked = self.pending().filter(second_observer_id=person_id, submitted_at=None)
        return asked.select_related("observation__practitioner", "invited_by")


class CoObservation(models.Model):
    """A second observer scores the same visit on their own, for reliability only.

    The observation stays a draft, which only its observer sees, until both have scored
    (observations.services.co_observation_submit): so the second observer cannot read
    the record's scores on any page, export or admin, and the second scores, kept here
    and never in an Observation, reach no evidence, drift, summary, trend or export."""

    class Status(models.TextChoices):
        INVITED = "invited", "Waiting for the second observer"
        SUBMITTED = "submitted", "Both scored"
        WITHDRAWN = "withdrawn", "Withdrawn"

    observation = models.OneToOneField(Observation, models.CASCADE, related_name="co_observation")
    second_observer = models.ForeignKey(Person, models.PROTECT, related_name="co_observations")
    invited_by = models.ForeignKey(Person, models.PROTECT, related_name="+")
    invited_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    scores = models.JSONField(default=dict, blank=True)
    # When the record's observer finished scoring; the observation is submitted once the
    # second observer has too.
    primary_done_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set once both have scored (observations.calibration, the record's scores as the
    # reference): items both scored, the same, within one point; second minus first.
    items_compared = models.PositiveSmallIntegerField(null=True, blank=True)
    items_exact = models.PositiveSmallIntegerField(null=True, blank=True)
    items_within_one = models.PositiveSmallIntegerField(null=True, blank=True)
    signed_difference = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    second_overall = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    history = HistoricalRecords()

    objects = CoObservationQuerySet.as_manager()

    class Meta:
        ordering = ["-invited_at", "-pk"]
        indexes = [
            models.Index(fields=["second_observer", "status"]),
            # The latest both scored, first (the calibration page's list): read off in order.
            models.Index(
                fields=["-closed_at", "-id"],
                condition=Q(status="submitted"),
                name="co_observation_latest",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="submitted") & Q(submitted_at__isnull=False))
                | ~Q(status="submitted"),
                name="co_observation_submitted_has_a_time",
            ),
        ]

    def __str__(self):
        return f"Second observer {self.second_observer} on {self.observation}"

    def get_absolute_url(self):
        return reverse("observations:co_observation", args=[self.pk])

    @staticmethod
    def candidates(observation):
        """Who may be asked to co-observe: coaches still working in the practitioner's
        organization or on the purveyor's staff, but the observer and the observed."""
        practitioner = observation.practitioner
        here = Q(organization_id=practitioner.organization_id) | Q(organization__is_purveyor=True)
        coaches = Person.objects.with_role(Role.COACH).filter(here)
        coaches = coaches.active_on(practitioner.organization.local_today())
        coaches = coaches.exclude(pk__in=[observation.coach_id, practitioner.pk])
        return coaches.order_by("last_name", "first_name")

    @property
    def is_pending(self):
        return self.status == self.Status.INVITED

    @property
    def both_scored(self):
        return self.status == self.Status.SUBMITTED

    @property
    def within_one_percent(self):
        return calibration.percent(self.items_within_one or 0, self.items_compared)


# Rater drift: a coach's scoring moving away from the master codes --------------------------


class RaterAlertQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Alerts about coaches the user sees, never their own: to leaders and the purveyor."""
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if not viewer.sees_organization:
            return self.none()
        people = Person.objects.visible_to(user).exclude(pk=viewer.person_id or 0)
        return self.filter(coach__in=people.values("pk"))

    def open(self):
        return self.filter(closed_on=None)


class RaterAlert(models.Model):
    """A coach's calibration scores drifting lenient or severe (observations.rater_drift),
    raised by the daily job while their latest case is in an episode, closed once it is
    not. One open alert per coach and direction."""

    class Direction(models.TextChoices):
        LENIENT = "lenient", "Lenient: scoring above the master codes"
        SEVERE = "severe", "Severe: scoring below the master codes"

    coach = models.ForeignKey(Person, models.PROTECT, related_name="rater_alerts")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    raised_on = models.DateField()
    rules = models.JSONField(default=list)
    # The mean signed difference from the master code over the cases since it began, and
    # [(item code, label, mean difference)] of the items leaning most that way.
    level = models.DecimalField(max_digits=6, decimal_places=3)
    cases = models.PositiveSmallIntegerField(help_text="Cases since the drift began.")
    items = models.JSONField(default=list)
    checked_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["checked_on"])

    objects = RaterAlertQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["coach", "direction"],
                condition=Q(closed_on=None),
                name="one_open_rater_alert_per_direction",
            ),
        ]

    def __str__(self):
        return f"{self.coach} scoring {self.direction} since {self.raised_on}"

    @property
    def lean(self):
        return calibration.lean(self.level)


# Summaries kept on write (observations.summaries) ------------------------------------------


class LatestObservation(models.Model):
    """Each person's latest submitted observation on each rubric (the latest observed on,
    then the highest id): what "last observed" and "latest band" read, one short row a
    person and rubric instead of a probe into every observation. Kept by
    observations.summaries on every write of an observation; never edited by hand."""

    practitioner = models.ForeignKey(Person, models.CASCADE, related_name="+")
    rubric = models.ForeignKey(Rubric, models.CASCADE, related_name="+")
    observation = models.ForeignKey(Observation, models.CASCADE, related_name="+")
    observed_on = models.DateField()
    overall_score = models.DecimalField(max_digits=6, decimal_places=2, null=True)
    band = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "rubric"], name="latest_observation_per_rubric"
            )
        ]
        indexes = [
            models.Index(
                fields=["practitioner", "-observed_on", "-observation"],
                name="latest_observation_first",
            )
        ]

    def __str__(self):
        return f"Latest of {self.practitioner_id} on {self.rubric_id}: {self.observation_id}"


class CoachMonth(models.Model):
    """How many submitted observations a coach made on a rubric in a month, and how many
    of them tie growth areas to items and agree a next step (with_feedback_tied). Kept by
    observations.summaries on every write of an observation; never edited by hand."""

    coach = models.ForeignKey(Person, models.CASCADE, related_name="+")
    rubric = models.ForeignKey(Rubric, models.CASCADE, related_name="+")
    month = models.DateField(help_text="The month's first day.")
    observed = models.PositiveIntegerField()
    tied = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coach", "month", "rubric"], name="coach_month_unique")
        ]

    def __str__(self):
        return f"{self.coach_id} in {self.month:%Y-%m} on {self.rubric_id}: {self.observed}"

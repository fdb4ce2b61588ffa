import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    Exists,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Lower
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from miiwrap.people.access import viewer_for


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a time zone name such as America/Chicago.")


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    COACH = "coach", "Coach"
    LEADER = "leader", "Supervisor / leader"
    ORG_ADMIN = "org_admin", "Organization admin"
    PURVEYOR_ADMIN = "purveyor_admin", "Purveyor admin"


class OrganizationQuerySet(models.QuerySet):
    def visible_to(self, user):
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.organization_id is None:
            return self.none()
        return self.filter(pk=viewer.organization_id)


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(
        max_length=64,
        default=settings.TIME_ZONE,
        validators=[validate_time_zone],
        help_text="Dates such as expiries are read in this zone.",
    )
    is_purveyor = models.BooleanField(
        default=False,
        help_text="The model's purveyor: its admins certify and see every organization.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def local_today(self, now=None):
        """Today where the organization works: a date is a date in its own zone."""
        now = now or timezone.now()
        return now.astimezone(zoneinfo.ZoneInfo(self.time_zone)).date()


def todays_by_zone(zones, now=None):
    """{zone: today there} for each zone, so one query can read a date in many zones."""
    now = now or timezone.now()
    return {zone: now.astimezone(zoneinfo.ZoneInfo(zone)).date() for zone in zones}


def zone_dates(todays, zone_field="organization__time_zone", offset=0):
    """Each row's own today (plus `offset` days) as an expression, from {zone: today}: a
    constant when every row shares a zone, else a CASE on the row's zone."""
    shift = dt.timedelta(days=offset)
    if len(todays) <= 1:
        day = next(iter(todays.values()), timezone.localdate())
        return Value(day + shift, output_field=DateField())
    whens = [When(**{zone_field: zone}, then=Value(day + shift)) for zone, day in todays.items()]
    return Case(*whens, output_field=DateField())


class TeamQuerySet(models.QuerySet):
    def visible_to(self, user):
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.sees_organization:
            return self.filter(organization_id=viewer.organization_id)
        team_ids = Person.objects.visible_to(user).exclude(team=None).values("team_id")
        return self.filter(pk__in=team_ids)


class Team(models.Model):
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="teams")
    name = models.CharField(max_length=200)
    history = HistoricalRecords()

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="team_name_unique_in_org")
        ]

    def __str__(self):
        return self.name


class PersonQuerySet(models.QuerySet):
    def visible_to(self, user):
        viewer = viewer_for(user)
        if viewer.sees_everything:
            return self.all()
        if viewer.person_id is None:
            return self.none()
        # A UNION of id sets rather than an OR of conditions: the planner then sees how
        # few people a coach has and reads their observations through the indexes.
        people = Person.objects.order_by()
        seen = people.filter(pk=viewer.person_id).values("pk")
        if viewer.sees_organization:
            seen = seen.union(people.filter(organization_id=viewer.organization_id).values("pk"))
        if viewer.is_coach:
            from coaching.models import CoachAssignment, TrainerAssignment

            caseload = CoachAssignment.objects.current().filter(coach_id=viewer.person_id)
            seen = seen.union(caseload.order_by().values("practitioner_id"))
            # A trainer is a certified coach: they see the coaches they are assigned to.
            trained = TrainerAssignment.objects.current().filter(trainer_id=viewer.person_id)
            seen = seen.union(trained.order_by().values("coach_id"))
        return self.filter(pk__in=seen)

    def signed_in_as(self, user):
        """The Person a login belongs to, with organization and roles; None without one."""
        person_id = viewer_for(user).person_id
        if person_id is None:
            return None
        return self.select_related("organization").prefetch_related("roles").get(pk=person_id)

    def active_on(self, day):
        return self.filter(Q(leave_date=None) | Q(leave_date__gte=day), hire_date__lte=day)

    def with_role(self, role):
        return self.filter(pk__in=RoleGrant.objects.filter(role=role).values("person_id"))

    def search(self, text):
        query = Q()
        for word in text.split():
            query &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(staff_id__iexact=word)
            )
        return self.filter(query)

    def for_directory(self):
        return self.select_related("organization", "team").prefetch_related("roles")

    def still_working(self, todays):
        """Those who have not left by their organization's today ({zone: today})."""
        return self.filter(Q(leave_date=None) | Q(leave_date__gte=zone_dates(todays)))

    LAST_OBSERVATION = {
        "last_observed_on": "observed_on",
        "last_score": "overall_score",
        "last_band": "band",
        "last_id": "observation_id",
    }

    def with_last_observation(self, rubric_id=None, only=None):
        """Annotated with `last_observed_on`, `last_score`, `last_band` and `last_id` of
        their latest submitted observation of practice (on `rubric_id` if given), or `only`
        those of these names: read from the summary kept on write (one short indexed row
        a rubric and person, observations.summaries), so a page of people costs one query
        whatever the number of observations."""
        from observations.models import LatestObservation

        # Practice only: a coach's coaching observations are not observations of practice.
        latest = LatestObservation.objects.filter(
            practitioner=OuterRef("pk"), rubric__audience=Role.PRACTITIONER
        )
        if rubric_id is not None:
            latest = latest.filter(rubric_id=rubric_id)
        latest = latest.order_by("-observed_on", "-observation_id")
        wanted = only or list(self.LAST_OBSERVATION)
        return self.annotate(
            **{name: Subquery(latest.values(self.LAST_OBSERVATION[name])[:1]) for name in wanted}
        )

    def with_feedback_quality(self, start, end):
        """Coaches annotated, from their submitted practice observations dated `start` to
        `end`, with `observed` (how many) and `tied` (how many tie growth areas to items
        and agree a next step); and with_coaching_scores. Subqueries into the
        observations: one query for a page of coaches. (The leader dashboard reads the
        same counts from observations.summaries.coach_counts.)"""
        from observations.models import Observation

        made = Observation.objects.submitted().of_practice().filter(coach=OuterRef("pk"))
        made = made.filter(observed_on__range=(start, end)).order_by()
        return self.with_coaching_scores(start, end).annotate(
            observed=Coalesce(_count_of(made), 0),
            tied=Coalesce(_count_of(made.with_feedback_tied()), 0),
        )

    def with_coaching_scores(self, start, end):
        """Coaches annotated, from their own coaching-rubric observations, with
        `coaching_mean` (dated `start` to `end`) and `coaching_latest` with `coaching_on`
        (ever)."""
        from observations.models import Observation

        coached = Observation.objects.submitted().of_coaching().exclude(overall_score=None)
        coached = coached.filter(practitioner=OuterRef("pk"))
        latest = coached.order_by("-observed_on", "-pk")
        in_range = coached.filter(observed_on__range=(start, end)).order_by()
        return self.annotate(
            coaching_mean=Subquery(
                in_range.values("practitioner").annotate(m=Avg("overall_score")).values("m")
            ),
            coaching_latest=Subquery(latest.values("overall_score")[:1]),
            coaching_on=Subquery(latest.values("observed_on")[:1]),
        )

    def with_session_activity(self, program, start, end, day=None):
        """Coaches annotated with `caseload` (practitioners assigned to them on `day`,
        today by default, as CoachAssignment.caseload_sizes counts them), `certified`
        (those of them holding a current period in `program` that day), `sessions_held`
        (coaching sessions they held from `start` to `end`) and `goals_met` of `goals`
        (goals of plans that list them: a goal keeps no date it was met, so all of them).
        Subqueries: one query for a page of coaches."""
        from certification.models import CertificationPeriod
        from coaching.models import CoachAssignment, CoachingSession, Goal

        day = day or timezone.localdate()
        caseload = CoachAssignment.objects.current(day).filter(coach=OuterRef("pk"))
        held = CertificationPeriod.objects.valid_within(day).filter(
            person=OuterRef("practitioner"), program=program
        )
        sessions = CoachingSession.objects.filter(coach=OuterRef("pk"), held_on__range=(start, end))
        goals = Goal.objects.filter(plan__coaches=OuterRef("pk"))
        return self.annotate(
            caseload=_counted(caseload, "coach", "practitioner"),
            certified=(
                _counted(caseload.filter(Exists(held)), "coach", "practitioner")
                if program
                else Value(0)
            ),
            sessions_held=_counted(sessions, "coach"),
            goals=_counted(goals, "plan__coaches"),
            goals_met=_counted(goals.filter(status="met"), "plan__coaches"),
        )

    def due_for_observation(self, every_days, todays, within_days=0):
        """Those whose latest observation (or hire, if never observed) is `every_days` or
        more before their today, or will be within `within_days`; annotated with
        `due_from`, the day the wait is counted from, most urgent first."""
        cutoff = zone_dates(todays, offset=within_days - every_days)
        people = self.annotate(due_from=Coalesce("last_observed_on", "hire_date"))
        return people.filter(due_from__lte=cutoff).order_by("due_from", "pk")

    def with_session_cadence(self, program, todays):
        """Annotated with `last_session_on` (their latest coaching session, under a plan
        or on its own), `certified` (holding a current period in `program` on their today,
        as dates.Held.valid_on reads it), `session_every` (the program's days between
        sessions for them; its defaults with no program) and `session_due_from`, the day
        the wait is counted from: the last session, else the latest of their hire, the
        start of their first coach assignment (nobody owes a session before someone
        coaches them) and the program's `sessions_expected_from`. One query for any number
        of people."""
        from certification.models import CertificationPeriod, Program
        from coaching.models import CoachAssignment, CoachingSession

        program = program or Program()  # unsaved: its field defaults
        sessions = CoachingSession.objects.filter(practitioner=OuterRef("pk"))
        first_coached = CoachAssignment.objects.filter(practitioner=OuterRef("pk"))
        first_coached = first_coached.order_by("starts_on").values("starts_on")[:1]
        people = self.annotate(
            cadence_today=zone_dates(todays),
            last_session_on=Subquery(sessions.order_by("-held_on").values("held_on")[:1]),
            first_coached_on=Subquery(first_coached),
        )
        if program.pk is None:
            certified = Value(False)
        else:
            periods = CertificationPeriod.objects.valid_within(OuterRef("cadence_today"))
            certified = Exists(periods.filter(person=OuterRef("pk"), program=program))
        starts = ["hire_date", Coalesce("first_coached_on", "hire_date")]
        if program.sessions_expected_from is not None:
            starts.append(Value(program.sessions_expected_from, output_field=models.DateField()))
        return people.annotate(
            certified=certified,
            session_every=Case(
                When(certified=True, then=Value(program.session_every(True))),
                default=Value(program.session_every(False)),
            ),
            session_due_from=Coalesce("last_session_on", Greatest(*starts)),
        )

    def due_for_session(self, program, todays, within_days=0):
        """with_session_cadence's people whose wait reaches `session_every` days by their
        today, or will within `within_days`. Their due day is `session_due_from` plus
        `session_every` days (added in Python: date arithmetic differs between databases)."""
        from certification.models import Program

        people = self.with_session_cadence(program, todays)
        program = program or Program()
        late = Q()
        for certified in (True, False):
            every = program.session_every(certified)
            cutoff = zone_dates(todays, offset=within_days - every)
            late |= Q(certified=certified, session_due_from__lte=cutoff)
        return people.filter(late).order_by("session_due_from", "pk")


def _count_of(observations):
    """The number of `observations` (filtered on an OuterRef coach), as a subquery."""
    counted = observations.values("coach").annotate(n=Count("pk")).values("n")
    return Subquery(counted, output_field=models.IntegerField())


def _counted(rows, key, distinct="pk"):
    """How many distinct `distinct` values `rows` (filtered on an OuterRef, grouped by
    `key`) hold, as a subquery that reads 0 for none."""
    counted = rows.order_by().values(key).annotate(n=Count(distinct, distinct=True))
    return Coalesce(Subquery(counted.values("n"), output_field=models.IntegerField()), 0)


class Person(models.Model):
    """A member of staff; the login is optional and history outlives employment."""

    organization = models.ForeignKey(Organization, models.PROTECT, related_name="people")
    team = models.ForeignKey(Team, models.SET_NULL, null=True, blank=True, related_name="members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
        help_text="The login, if this person signs in.",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    staff_id = models.CharField(
        "staff ID", max_length=50, blank=True, help_text="The organization's own identifier."
    )
    job_title = models.CharField(max_length=120, blank=True)
    hire_date = models.DateField()
    leave_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "pk"]
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="person_email_unique", condition=~Q(email="")
            ),
            models.UniqueConstraint(
                fields=["organization", "staff_id"],
                name="person_staff_id_unique_in_org",
                condition=~Q(staff_id=""),
            ),
            models.CheckConstraint(
                condition=Q(leave_date=None) | Q(leave_date__gte=models.F("hire_date")),
                name="person_leaves_after_hire",
                violation_error_message="The leave date cannot be before the hire date.",
            ),
        ]
        indexes = [models.Index(fields=["organization", "last_name", "first_name"])]

    def __str__(self):
        return self.full_name

    def get_absolute_url(self):
        return reverse("people:detail", args=[self.pk])

    def clean(self):
        team_org = self.team.organization_id if self.team_id else self.organization_id
        if team_org != self.organization_id:
            raise ValidationError({"team": "This team belongs to another organization."})

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def has_left(self, today=None):
        today = today or timezone.localdate()
        return self.leave_date is not None and self.leave_date < today

    def role_values(self):
        """The person's roles; reads the prefetched grants when there are some."""
        return sorted(grant.role for grant in self.roles.all())

    def role_labels(self):
        return [Role(value).label for value in self.role_values()]

    def has_role(self, role):
        return role in self.role_values()


class RoleGrantQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(person__in=Person.objects.visible_to(user))


class RoleGrant(models.Model):
    """One role one person holds; a person may hold several."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="roles")
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = RoleGrantQuerySet.as_manager()

    class Meta:
        ordering = ["person", "role"]
        constraints = [
            models.UniqueConstraint(fields=["person", "role"], name="role_granted_once"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="role_is_known"),
        ]

    def __str__(self):
        return f"{self.person}: {self.get_role_display()}"


class DatedPeriodQuerySet(models.QuerySet):
    """Periods that hold from `starts_on` through `ends_on` (None: still going)."""

    def visible_to(self, user):
        return self.filter(person__in=Person.objects.visible_to(user))

    def on(self, day):
        return self.filter(Q(ends_on=None) | Q(ends_on__gte=day), starts_on__lte=day)

    def overlapping(self, first, last):
        """Those holding on some day from `first` to `last`."""
        return self.filter(Q(ends_on=None) | Q(ends_on__gte=first), starts_on__lte=last)


def _period_constraints(prefix, *open_fields):
    return [
        models.UniqueConstraint(
            fields=open_fields, condition=Q(ends_on=None), name=f"{prefix}_one_open"
        ),
        models.CheckConstraint(
            condition=Q(ends_on=None) | Q(ends_on__gte=models.F("starts_on")),
            name=f"{prefix}_ends_after_start",
            violation_error_message="A period cannot end before it starts.",
        ),
    ]


class TeamMembership(models.Model):
    """Which team a person was on, from when to when: Person.team is only today's, and
    figures as of a past month follow the team the person was on then. Kept in step with
    Person.team by services.person_periods_sync."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="team_memberships")
    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Empty while still on the team.")
    history = HistoricalRecords()

    objects = DatedPeriodQuerySet.as_manager()

    class Meta:
        ordering = ["person", "starts_on", "pk"]
        constraints = _period_constraints("team_membership", "person")
        indexes = [models.Index(fields=["team", "starts_on"])]

    def __str__(self):
        return f"{self.person} on {self.team} from {self.starts_on} to {self.ends_on or 'now'}"


class RolePeriod(models.Model):
    """When a person held a role: RoleGrant is only today's, and a removed grant leaves no
    row. Kept in step with RoleGrant by services.person_periods_sync."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="role_periods")
    role = models.CharField(max_length=20, choices=Role.choices)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Empty while still held.")
    history = HistoricalRecords()

    objects = DatedPeriodQuerySet.as_manager()

    class Meta:
        ordering = ["person", "role", "starts_on", "pk"]
        constraints = _period_constraints("role_period", "person", "role")
        indexes = [models.Index(fields=["role", "starts_on"])]

    def __str__(self):
        held = f"{self.starts_on} to {self.ends_on or 'now'}"
        return f"{self.person}: {self.get_role_display()} from {held}"

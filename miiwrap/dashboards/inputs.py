"""What the dashboards read, declared once: each model whose rows feed a dashboard, and
whose organizations a saved or deleted row makes stale (miiwrap.generations).

A model added to a dashboard is added here; a write that skips model signals (bulk_create,
QuerySet.update, a nightly job) calls miiwrap.generations.touched itself.
"""

from miiwrap.generations import feeds


def _both(first, second):
    """A row about two people (practitioner and coach, coach and trainer): both their
    organizations, since each has a dashboard that reads it."""

    def read(row):
        return (getattr(row, first).organization_id, getattr(row, second).organization_id)

    return read


def register():
    from certification.models import (
        CertificationPeriod,
        EvidenceRule,
        Program,
    )
    from coaching.models import (
        CoachAssignment,
        CoachingPlan,
        CoachingSession,
        DriftAlert,
        DriftSettings,
        Goal,
        ItemMonth,
        Momentum,
        OrganizationItemMonth,
        PlanComment,
        PooledSpread,
        TrainerAssignment,
    )
    from miiwrap.community.models import Attendance, Event
    from miiwrap.implementation.models import ActionItem, AlignmentPlan, ReadinessAssessment
    from miiwrap.people.models import (
        Organization,
        Person,
        RoleGrant,
        RolePeriod,
        Team,
        TeamMembership,
    )
    from observations.models import (
        ActivityType,
        Amendment,
        CalibrationAttempt,
        CoObservation,
        Dispute,
        Domain,
        Item,
        Level,
        Metric,
        Observation,
        Rubric,
        RubricVersion,
    )

    # What every organization shares: rubrics, programs and their rules, drift settings.
    for shared in (
        Rubric,
        RubricVersion,
        Domain,
        Item,
        Level,
        Metric,
        ActivityType,
        Program,
        EvidenceRule,
        DriftSettings,
        PooledSpread,
    ):
        feeds(shared, everyone=True)
    feeds(Organization, "pk")
    feeds(Team, "organization_id", moves=True)
    feeds(Person, "organization_id", moves=True)
    feeds(RoleGrant, "person.organization_id")
    # Internal capacity reads who held which team and role at each month end.
    feeds(TeamMembership, "person.organization_id")
    feeds(RolePeriod, "person.organization_id")
    # An observation keeps its practitioner's organization: only the coach is read.
    feeds(Observation, lambda row: (row.organization_id, row.coach.organization_id))
    feeds(Amendment, "observation.practitioner.organization_id")
    feeds(Dispute, "observation.practitioner.organization_id")
    feeds(
        CoObservation,
        lambda row: (
            row.observation.organization_id,
            row.observation.coach.organization_id,
            row.second_observer.organization_id,
        ),
    )
    feeds(CertificationPeriod, "person.organization_id")
    # The observer certification's evidence: the coach's card, roster and the queue read it.
    feeds(CalibrationAttempt, "coach.organization_id")
    feeds(CoachAssignment, _both("practitioner", "coach"))
    feeds(TrainerAssignment, _both("coach", "trainer"))
    feeds(DriftAlert, "organization_id")
    feeds(Momentum, "person.organization_id")
    feeds(ItemMonth, "organization_id")
    feeds(OrganizationItemMonth, "organization_id")
    feeds(CoachingPlan, "organization_id")
    feeds(Goal, "plan.organization_id")
    feeds(PlanComment, "plan.organization_id")
    feeds(CoachingSession, _both("practitioner", "coach"))
    # Events attended can count toward certification: the decision queue reads them. An
    # event's date or kind decides whose attendance counts, in any organization.
    feeds(Event, everyone=True)
    feeds(Attendance, "person.organization_id")
    # The organization's system: its readiness and its alignment plan.
    feeds(ReadinessAssessment, "organization_id")
    feeds(AlignmentPlan, "organization_id")
    feeds(ActionItem, "plan.organization_id")

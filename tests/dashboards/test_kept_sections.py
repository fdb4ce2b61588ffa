"""Every kept dashboard section equals the section computed from scratch, after each kind
of write that feeds it (miiwrap/generations.py, miiwrap/dashboards/inputs.py).

For each kind of write, the test reads the leader's (of one organization, and comparing them
all, each organization's part kept apart) and the coach's dashboards (which keeps
their sections), makes the write the way the app makes it, reads them again, and compares
with the same dashboards computed with nothing kept, and the summaries kept on write
(observations.summaries) with the same figures read afresh. It also checks that the write changed
what the dashboards show, so that a write that reached no figure could not pass unnoticed.
"""

import datetime as dt

import pytest
from django.test import Client

from certification.jobs import run as certification_job
from certification.models import EvidenceRule, Program
from certification.services import certification_revoke
from coaching import services as coaching_services
from coaching.models import CoachAssignment, DriftAlert
from miiwrap import generations
from miiwrap.dashboards import coach, leader
from miiwrap.dashboards.forms import LeaderFilterForm
from miiwrap.implementation import services as implementation_services
from miiwrap.implementation.models import ActionItem, ReadinessAssessment
from miiwrap.people.models import Organization, Person, RolePeriod
from observations import services as observation_services
from observations import summaries
from observations.models import Metric, Observation, Rubric, RubricVersion
from tests.coaching.test_alert_views import make_alert
from tests.dashboards.test_browser_dashboards import history  # noqa: F401  (fixture)
from tests.dashboards.test_coach_co_observation import co_observed_visit
from tests.factories import (
    grant_role,
    make_assignment,
    make_observation,
    make_period,
    make_person,
    make_session,
    move_team,
    remove_role,
)

pytestmark = pytest.mark.usefixtures("shipped_programs")


def leader_sections(world, organizations=None):
    """The leader dashboard's sections with the filters a leader lands on: of their
    organization, or comparing these organizations (each one's part kept apart)."""
    organizations = organizations or [world.home]
    form = LeaderFilterForm(
        {},
        organizations=organizations,
        today=world.home.local_today(),
        default_rubric=Rubric.objects.for_dashboards().first(),
    )
    assert form.is_valid(), form.errors
    return leader.build(leader.scope_from(form.cleaned_data, organizations))


def dashboards(world):
    fresh_coach = Person.objects.select_related("organization").get(pk=world.coach.pk)
    return {
        "leader": leader_sections(world),
        "compared": leader_sections(world, list(Organization.objects.order_by("name"))),
        "coach": coach.build(fresh_coach),
    }


# The rendered parts of pages kept per viewer (miiwrap.pages): whose page, where, and the
# context entry holding what was kept.
PAGES = [
    ("leader", "/dashboards/", "body"),
    ("purveyor_admin", "/dashboards/", "body"),
    ("coach", "/dashboards/coach/", "body"),
    ("leader", "/observations/", "listing"),
    ("coach", "/observations/", "listing"),
    ("purveyor_admin", "/observations/?status=submitted", "listing"),
    ("leader", "/certification/practitioner/", "body"),
    ("purveyor_admin", "/certification/practitioner/?state=certified", "body"),
]
# The decision queue's kept cards have a test of their own, in a world where someone is
# ready (tests/certification/test_queue_view.py).


def rendered(world):
    """Each page's kept part as its viewer is served it (none of the rest of the page is
    kept: the navigation and the form's token are made for each request)."""
    found = {}
    for persona, url, part in PAGES:
        client = Client()
        client.force_login(getattr(world, persona).user)
        response = client.get(url)
        assert response.status_code == 200, (persona, url)
        found[persona, url] = response.context[part]
    return found


def today(world):
    return world.home.local_today()


# One function per kind of write, each the way the app writes it.


def observation_submitted(world, past):
    make_observation(world.coach, world.practitioner, observed_on=today(world))


def draft_saved(world, past):
    make_observation(world.coach, world.unassigned, submit=False, observed_on=today(world))


def observation_amended(world, past):
    observation = Observation.objects.submitted().filter(practitioner=world.practitioner).first()
    changed = Observation.objects.get(pk=observation.pk)
    code = next(item.code for item in past.version.items.all() if item.kind == "rating")
    low = min(level.value for level in past.version.items.get(code=code).levels.all())
    observation.scores = {**observation.scores, code: low}
    observation_services.observation_amend(
        observation=observation,
        changed=changed,
        definition=past.version.definition(),
        amended_by=world.coach,
        reason="Misread the item.",
    )


def dispute_raised(world, past):
    observation = Observation.objects.submitted().filter(practitioner=world.practitioner)
    observation_services.dispute_raise(
        observation=observation.latest("observed_on"), by=world.practitioner, reason="Not so."
    )


def certified(world, past):
    make_period(world.unassigned, world.purveyor_admin, valid_from=today(world))


def revoked(world, past):
    period = world.practitioner.certifications.get()
    certification_revoke(period=period, revoked_by=world.purveyor_admin, reason="Fraud.")


def assigned(world, past):
    make_assignment(world.coach, world.unassigned, starts_on=today(world) - dt.timedelta(1))


def assignment_ended(world, past):
    assignment = CoachAssignment.objects.get(coach=world.coach, practitioner=world.practitioner)
    assignment.ends_on = today(world) - dt.timedelta(1)
    assignment.save()


def moved_team(world, past):
    move_team(world.practitioner, world.team_b, today(world))


def left(world, past):
    world.practitioner.leave_date = today(world) - dt.timedelta(1)
    world.practitioner.save()


def role_granted(world, past):
    grant_role(world.unassigned, "coach", today(world))


def role_removed(world, past):
    remove_role(world.unassigned, "coach", today(world) + dt.timedelta(1))


def role_period_corrected(world, past):
    """A period's start put right (the admin's history of it says who did): internal
    capacity counts the person only from then."""
    period = RolePeriod.objects.get(person=world.unassigned, role="practitioner")
    period.starts_on = today(world) - dt.timedelta(days=20)
    period.save()


def team_renamed(world, past):
    world.team_a.name = "Northeast"
    world.team_a.save()


def program_changed(world, past):
    program = Program.objects.get(code="practitioner")
    program.observe_every_days = 7
    program.save()


def evidence_rule_changed(world, past):
    """Only the last week's observations count towards a first certification: those in
    progress by older ones are not any more."""
    rule = EvidenceRule.objects.get(program__code="practitioner", kind="initial")
    rule.within_days = 7
    rule.save()


def rubric_thresholds_changed(world, past):
    metric = Metric.objects.get(version=past.version, is_overall=True)
    metric.thresholds = [{**t, "minimum": t["minimum"] + 3} for t in metric.thresholds]
    metric.save()


def drift_job(world, past):
    coaching_services.drift_detect(today=today(world))


def session_logged(world, past):
    make_session(world.practitioner, world.coach, today(world), alone=True)


def alert_raised(world, past):
    day = today(world)
    make_alert(world.practitioner, raised_on=day - dt.timedelta(3), checked_on=day)


def co_observed(world, past):
    # Someone still working: an earlier write has the practitioner leave.
    visited = make_person(world.home, "practitioner", team=world.team_a, first_name="Vic")
    make_assignment(world.coach, visited, starts_on=today(world))
    second = make_person(world.home, "coach", first_name="Sol")
    co_observed_visit(world.coach, visited, second, today(world))


def readiness_assessed(world, past):
    readiness = RubricVersion.objects.with_structure().get(rubric__code="miiwrap-readiness")
    scores = {item.code: 2 for item in readiness.items.all()}
    assessment = ReadinessAssessment(
        organization=world.home,
        version=readiness,
        recorded_by=world.purveyor_admin,
        assessed_on=today(world),
        scores={**scores, "ct-size": 0, "lc-sponsor": 1},
    )
    implementation_services.readiness_assessment_save(
        assessment=assessment,
        leaders=[world.leader],
        definition=readiness.definition(),
        finalize=True,
    )


def plan_started(world, past):
    assessment = ReadinessAssessment.objects.get(organization=world.home)
    implementation_services.action_items_from_weakest(assessment=assessment, by=world.leader)


def action_done(world, past):
    action = ActionItem.objects.filter(plan__organization=world.home).first()
    action.status = ActionItem.Status.DONE
    implementation_services.action_item_save(action=action, plan=action.plan, by=world.leader)


def action_overdue(world, past):
    action = ActionItem.objects.filter(plan__organization=world.home, status="planned").first()
    action.due_on = today(world) - dt.timedelta(days=1)
    implementation_services.action_item_save(action=action, plan=action.plan, by=world.leader)


def alert_dismissed(world, past):
    alert = DriftAlert.objects.active().get(practitioner=world.practitioner, rule="ewma")
    coaching_services.alert_dismiss(alert=alert, by=world.coach, reason="A bad week.")


WRITES = [
    observation_submitted,
    draft_saved,
    observation_amended,
    dispute_raised,
    certified,
    revoked,
    assigned,
    assignment_ended,
    moved_team,
    left,
    role_granted,
    role_removed,
    role_period_corrected,
    team_renamed,
    program_changed,
    evidence_rule_changed,
    rubric_thresholds_changed,
    drift_job,
    session_logged,
    alert_raised,
    alert_dismissed,
    co_observed,
    readiness_assessed,
    plan_started,
    action_done,
    action_overdue,
]


# Two runs, each on its own world, so that two processes share the minute and a half:
# within each the writes go one after another (a world costs seconds to make), and each
# run holds the writes that need an earlier one (a dismissal its alert, an action its plan).
SPLIT = WRITES.index(team_renamed)


@pytest.mark.parametrize(
    "writes", [WRITES[:SPLIT], WRITES[SPLIT:]], ids=["people-and-evidence", "rules-and-plans"]
)
def test_kept_sections_equal_fresh_ones_after_each_kind_of_write(
    world,
    history,  # noqa: F811
    django_capture_on_commit_callbacks,
    writes,
):
    problems = {}
    for write in writes:
        before = dashboards(world)
        if dashboards(world) != before:  # read again: kept, and the same
            problems[write.__name__] = "a second read differs from the first"
        pages_before = rendered(world)
        with django_capture_on_commit_callbacks(execute=True):
            write(world, history)
        kept, pages = dashboards(world), rendered(world)
        with generations.uncached():
            fresh, fresh_pages = dashboards(world), rendered(world)
        if summaries.check() != ([], []):
            problems[write.__name__] = "the summaries differ from the observations read afresh"
        elif kept != fresh:
            problems[write.__name__] = "kept sections differ from fresh ones"
        elif fresh == before:
            problems[write.__name__] = "this write changed nothing on the dashboards"
        elif stale := [page for page in PAGES if pages[page[:2]] != fresh_pages[page[:2]]]:
            problems[write.__name__] = f"kept pages differ from fresh ones: {stale}"
        elif fresh_pages == pages_before:
            problems[write.__name__] = "this write changed no page"
    assert problems == {}


def test_the_certification_jobs_writes_reach_no_dashboard_figure(
    world,
    history,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    """What the daily job records (the transitions of the past, reminders) no dashboard
    reads: states are decided from the periods' dates on each read."""
    before = dashboards(world)
    with django_capture_on_commit_callbacks(execute=True):
        certification_job(today=today(world) + dt.timedelta(days=800), send=False)
    assert dashboards(world) == before
    with generations.uncached():
        assert dashboards(world) == before

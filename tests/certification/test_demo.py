"""seed_demo's certification layer: histories that follow the demo's observations."""

import datetime as dt
import io
import re
from collections import Counter

import pytest
from django.core.management import call_command

from certification import dates, evidence, roster
from certification.demo import CARRIED_OVER, PANEL, VISIT_KEY
from certification.models import CertificationPeriod, Program, on_roster
from coaching.models import TrainerAssignment
from miiwrap.people import demo
from miiwrap.people.models import Person
from observations.models import Observation
from tests.factories import DEMO_NOW, DEMO_TODAY, seed_demo

TODAY, NOW = DEMO_TODAY, DEMO_NOW
pytestmark = pytest.mark.time_machine(NOW, tick=False)
CERTIFIED_LINE = re.compile(
    r"^Added ([\d,]+) certification periods \(([\d,]+) carried over or renewed by the "
    r"purveyor's panel\) and ([\d,]+) certification visits in [\d.]+ s\.$",
    re.MULTILINE,
)


def test_it_says_what_it_added(demo_output):
    periods, overrides, visits = (
        int(n.replace(",", "")) for n in CERTIFIED_LINE.search(demo_output).groups()
    )
    assert periods == CertificationPeriod.objects.count() > 100
    assert overrides == CertificationPeriod.objects.exclude(override_reason="").count()
    assert visits == Observation.objects.filter(import_key__startswith=VISIT_KEY).count() > 100


def test_the_histories_break_no_invariant(demo_output):
    out = io.StringIO()
    call_command("check_certifications", stdout=out)
    assert out.getvalue().startswith("No problems in ")


def test_every_override_is_a_carried_over_or_panel_decision(demo_output):
    reasons = Counter(CertificationPeriod.objects.values_list("override_reason", flat=True))
    assert set(reasons) == {"", CARRIED_OVER, PANEL}
    assert reasons[""] > reasons[CARRIED_OVER] / 2  # most later decisions rest on evidence
    panel = CertificationPeriod.objects.filter(override_reason=PANEL)
    assert set(panel.values_list("person__organization__is_purveyor", flat=True)) == {True}


def test_carried_over_certifications_start_before_the_records(demo_output):
    start = TODAY - dt.timedelta(days=3 * 365)
    carried = CertificationPeriod.objects.filter(override_reason=CARRIED_OVER)
    assert all(p.decided_on <= start < p.valid_until for p in carried)


def test_every_decision_on_evidence_meets_its_rule_on_its_day(demo_output):
    """Judged again from the stored snapshot and the observers' periods, not the replay."""
    programs = {p.pk: p for p in Program.objects.with_rules()}
    held = {}
    for period in CertificationPeriod.objects.all():
        held.setdefault((period.person_id, period.program_id), []).append(period.as_held())
    checked = 0
    for period in CertificationPeriod.objects.filter(override_reason="").select_related("person"):
        program = programs[period.program_id]
        rule_row = program.evidence_rule("renewal" if period.is_renewal else "initial")
        progress = evidence.evaluate(
            rule_row.as_rule(),
            seen_in(period, rule_row, held),
            as_of=period.decided_on,
            first=first_day(period, rule_row, held),
            requires=required(period, program, held),
        )
        assert progress.meets, (period, progress.summary)
        checked += 1
    assert checked > 50


def seen_in(period, rule_row, held):
    rows = Observation.objects.filter(pk__in=period.evidence_ids()).select_related(
        "rubric_version", "activity"
    )
    assert len(rows) == len(period.evidence)
    observer_program = rule_row.observer_certified_in_id
    return [
        evidence.Seen(
            id=row.pk,
            observed_on=row.observed_on,
            rubric_id=row.rubric_version.rubric_id,
            overall=row.overall_score,
            band=row.band,
            bands=tuple(row.rubric_version.bands),
            activity=row.activity.name,
            observer="",
            observer_certified=dates.holds_on(
                held.get((row.coach_id, observer_program), []), row.observed_on
            ),
        )
        for row in rows
        if row.status != Observation.Status.DRAFT
    ]


def first_day(period, rule_row, held):
    if not period.is_renewal:
        return evidence.first_day(rule_row.as_rule(), period.decided_on)
    before = [
        h
        for h in held[(period.person_id, period.program_id)]
        if h.period.valid_from < period.valid_from
        and h.period.window_opens <= period.decided_on <= h.period.grace_ends
    ]
    window = max(before, key=lambda h: h.period.valid_from).period.window_opens
    return evidence.first_day(rule_row.as_rule(), period.decided_on, window_opens=window)


def required(period, program, held):
    if program.requires_id is None:
        return None
    own = held.get((period.person_id, program.requires_id), [])
    return (program.requires.name, dates.holds_on(own, period.decided_on))


def test_certification_visits_are_by_observers_certified_that_day(demo_output):
    held = {}
    for period in CertificationPeriod.objects.all():
        held.setdefault((period.person_id, period.program.code), []).append(period.as_held())
    visits = Observation.objects.filter(import_key__startswith=VISIT_KEY).select_related("coach")
    for visit in visits:
        trainer = visit.coach.organization.is_purveyor
        needed = "trainer" if trainer else "coach"
        assert dates.holds_on(held.get((visit.coach_id, needed), []), visit.observed_on), visit
    assert visits.filter(coach__organization__is_purveyor=True).exists()  # coaches' visits


def test_coaches_are_observed_coaching_by_the_trainers_assigned_to_them(demo_output):
    coaching = Observation.objects.of_coaching().submitted()
    assert coaching.exists()
    pairs = set(coaching.values_list("coach_id", "practitioner_id"))
    assigned = set(TrainerAssignment.objects.values_list("trainer_id", "coach_id"))
    assert pairs == assigned
    assert not coaching.exclude(practitioner__roles__role="coach").exists()
    assert not coaching.exclude(activity__name="Coaching feedback conversation").exists()
    # Routine practice visits never happen in a coaching conversation.
    practice = Observation.objects.of_practice()
    assert not practice.filter(activity__name="Coaching feedback conversation").exists()


def test_coaches_certified_on_evidence_were_observed_coaching(demo_output):
    decided = CertificationPeriod.objects.filter(program__code="coach", override_reason="")
    assert decided.exists()
    coaching = set(Observation.objects.of_coaching().values_list("pk", flat=True))
    for period in decided:
        assert coaching & set(period.evidence_ids()), period


def test_the_demo_shows_every_common_state(demo_output):
    program = Program.objects.with_rules().get(code="practitioner")
    people = on_roster(Person.objects.filter(organization__is_purveyor=False), program)
    states = Counter(row.state for row in roster.standings(people, program))
    assert {"certified", "in_progress", "window_open", "lapsed"} <= set(states)
    assert states["certified"] > states["in_progress"]


def leaning_on_purveyor():
    """The slugs of the demo's client organizations still certified by the purveyor."""
    identities = demo.identities(1, demo.SCALES["demo"].organizations)
    return {i.slug for i in identities if i.support == "purveyor"}


def certified_coaches(coaches):
    holding = CertificationPeriod.objects.filter(program__code="coach", person__in=coaches)
    return holding.values("person").distinct().count()


def test_client_coaches_hold_coach_certifications_where_the_organization_built_its_own(
    demo_output,
):
    clients = Person.objects.filter(organization__is_purveyor=False)
    coaches = clients.exclude(organization__slug__in=leaning_on_purveyor()).with_role("coach")
    assert certified_coaches(coaches) == coaches.count() > 0


def test_an_organization_leaning_on_the_purveyor_has_no_certified_coach_of_its_own(
    demo_output,
):
    leaning = leaning_on_purveyor()
    assert len(leaning) == 1
    coaches = Person.objects.filter(organization__slug__in=leaning).with_role("coach")
    assert coaches.exists() and certified_coaches(coaches) == 0


def test_the_purveyors_trainers_observe_the_leaning_organizations_certification_visits(
    demo_output,
):
    visits = Observation.objects.filter(import_key__startswith=VISIT_KEY)
    leaning = visits.filter(practitioner__organization__slug__in=leaning_on_purveyor())
    assert leaning.exists()
    assert set(leaning.values_list("coach__organization__is_purveyor", flat=True)) == {True}


def test_each_organization_that_built_its_own_coaches_has_a_trainer(demo_output):
    clients = Person.objects.filter(organization__is_purveyor=False)
    trainers = CertificationPeriod.objects.filter(program__code="trainer", person__in=clients)
    organizations = set(trainers.values_list("person__organization__slug", flat=True))
    built = set(clients.values_list("organization__slug", flat=True)) - leaning_on_purveyor()
    assert organizations == built


def test_running_again_adds_no_certification(demo_output):
    before = CertificationPeriod.objects.count()
    again = seed_demo()
    assert CertificationPeriod.objects.count() == before
    assert "certification" not in again.split("\n\n")[0]


def test_a_later_organization_gets_histories_from_the_existing_purveyor(demo_output):
    before = CertificationPeriod.objects.filter(person__organization__is_purveyor=True).count()
    more = seed_demo("--orgs", "5")
    periods = int(CERTIFIED_LINE.search(more).group(1).replace(",", ""))
    assert periods > 10
    assert (
        CertificationPeriod.objects.filter(person__organization__is_purveyor=True).count() == before
    )
    new_slug = demo.identities(1, 5)[5].slug
    new_coach_periods = CertificationPeriod.objects.filter(
        program__code="coach", person__organization__slug=new_slug
    )
    assert new_coach_periods.filter(override_reason="").exists()

"""Programs, evidence rules and periods as shipped and as the database keeps them."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from certification import dates
from certification.models import CertificationEvent, CertificationPeriod, EvidenceRule, Program
from observations.models import Rubric
from tests.factories import make_period

D = dt.date


def test_the_three_programs_ship_as_a_ladder_with_the_observer_beside_it(db):
    programs = {p.code: p for p in Program.objects.select_related("requires")}
    assert [p.name for p in Program.objects.all()] == [
        "MiiWrap Practitioner",
        "MiiWrap Coach",
        "MiiWrap Trainer",
        "MiiWrap Observer",
    ]
    assert programs["observer"].requires is None
    assert programs["coach"].requires == programs["practitioner"]
    assert programs["trainer"].requires == programs["coach"]
    assert not programs["practitioner"].certified_by_purveyor
    assert programs["coach"].certified_by_purveyor


def test_the_default_evidence_rules_follow_the_domain(db):
    initial = EvidenceRule.objects.get(program__code="practitioner", kind="initial")
    renewal = EvidenceRule.objects.get(program__code="practitioner", kind="renewal")
    assert initial.rubric == Rubric.objects.get(code="miiwrap-fidelity")
    assert (initial.min_observations, initial.within_days, initial.min_overall) == (3, 180, 85)
    assert initial.min_activity_types == 2
    assert initial.observer_certified_in.code == "coach"
    assert (initial.companion_rubric.code, initial.companion_min_band) == ("mi-coding", "fair")
    assert (renewal.min_observations, renewal.within_days) == (2, None)


def test_a_program_gives_its_date_rules(db):
    rules = Program.objects.get(code="practitioner").rules()
    assert rules == dates.Rules(24, 90, 30, dates.RenewFrom.EXPIRY)


def test_an_evidence_rule_must_set_a_standard(db):
    rule = EvidenceRule.objects.get(program__code="coach", kind="renewal")
    with pytest.raises(IntegrityError), transaction.atomic():
        EvidenceRule.objects.filter(pk=rule.pk).update(min_overall=None, min_band="")


def test_the_state_of_a_period_is_derived_from_its_dates(world):
    period = make_period(world.practitioner, world.coach)
    assert period.state_on(D(2026, 1, 1)) == dates.State.CERTIFIED
    assert period.state_on(D(2027, 2, 1)) == dates.State.WINDOW_OPEN
    assert period.state_on(D(2027, 5, 15)) == dates.State.GRACE
    assert period.state_on(D(2027, 6, 1)) == dates.State.LAPSED


def test_a_revoked_period_says_so_from_the_revocation_day(world):
    period = make_period(
        world.practitioner, world.coach, revoked_on=D(2026, 3, 1), revoked_by=world.coach,
        revocation_reason="Observed practice did not match the record.",
    )  # fmt: skip
    assert period.state_on(D(2026, 2, 28)) == dates.State.CERTIFIED
    assert period.state_on(D(2026, 3, 1)) == dates.State.REVOKED


def test_a_revocation_needs_a_reason(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_period(world.practitioner, world.coach, revoked_on=D(2026, 3, 1))


def test_dates_out_of_order_are_refused(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_period(world.practitioner, world.coach, window_opens=D(2030, 1, 1))


def test_a_transition_is_recorded_once_per_period(world):
    period = make_period(world.practitioner, world.coach)
    CertificationEvent.objects.create(period=period, kind="lapsed", happened_on=D(2027, 6, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        CertificationEvent.objects.create(period=period, kind="lapsed", happened_on=D(2027, 6, 1))
    # Decisions are not transitions: a period may be noted more than once.
    for _ in range(2):
        CertificationEvent.objects.create(
            period=period, kind="certified", happened_on=D(2025, 5, 2)
        )


@pytest.mark.parametrize(
    "persona, sees",
    [
        ("purveyor_admin", True),
        ("leader", True),
        ("org_admin", True),
        ("coach", True),
        ("practitioner", True),
        ("unassigned", False),
        ("outsider", False),
    ],
)
def test_periods_are_visible_to_those_who_see_the_person(world, persona, sees):
    period = make_period(world.practitioner, world.coach)
    user = getattr(world, persona).user
    assert CertificationPeriod.objects.visible_to(user).filter(pk=period.pk).exists() is sees

"""The MiiWrap Coach program is certified on how a coach coaches: its evidence rules read
the coaching feedback rubric, observed by a certified trainer."""

import importlib
from decimal import Decimal

from django.apps import apps
from django.forms.models import model_to_dict

from certification import dates
from certification.models import EvidenceRule
from observations.models import Rubric
from tests.certification.conftest import COACHING, D, coaching_evidence, evidence
from tests.certification.test_progress import card_of
from tests.factories import make_period, make_person

MIGRATION = "certification.migrations.0013_coach_evidence_on_coaching_rubric"


def test_the_coach_programs_rules_read_the_coaching_rubric(db):
    rules = EvidenceRule.objects.filter(program__code="coach").select_related("rubric")
    assert {(r.kind, r.rubric.code, r.min_overall) for r in rules} == {
        ("initial", COACHING, Decimal(80)),
        ("renewal", COACHING, Decimal(80)),
    }
    assert {r.observer_certified_in.code for r in rules} == {"trainer"}
    others = EvidenceRule.objects.exclude(program__code="coach").values_list("rubric__code")
    assert set(others) == {("miiwrap-fidelity",)}


def test_the_move_left_what_the_rule_said_before_and_why(db):
    rule = EvidenceRule.objects.get(program__code="coach", kind="initial")
    before, after = rule.history.order_by("history_date")
    assert before.rubric.code == "miiwrap-fidelity"
    assert before.min_overall == 85
    assert after.rubric.code == COACHING
    assert "coaching feedback rubric" in after.history_change_reason


def _trainer(world):
    trainer = make_person(world.purveyor, "coach", first_name="Tia")
    make_period(trainer, world.purveyor_admin, "trainer", D(2025, 1, 2))
    make_period(world.coach, world.purveyor_admin, "practitioner", D(2025, 1, 2))
    return trainer


def test_practice_observations_no_longer_certify_a_coach(world, frozen):
    evidence(_trainer(world), world.coach)
    card = card_of(world.coach, "coach")
    assert not card.progress.meets
    assert card.progress.summary.startswith("0 of 3 qualifying observations")


def test_coaching_observations_by_a_trainer_certify_a_coach(world, frozen):
    made = coaching_evidence(_trainer(world), world.coach)
    card = card_of(world.coach, "coach")
    assert card.progress.meets
    assert {seen.id for seen in card.progress.evidence} == {o.pk for o in made}


def test_coaching_scored_under_80_does_not_count(world, frozen):
    trainer = _trainer(world)
    for observation in coaching_evidence(trainer, world.coach)[:3]:
        observation.overall_score = Decimal("79.99")
        observation.save()
    assert not card_of(world.coach, "coach").progress.meets


def test_coaching_observations_never_count_toward_a_practitioners_certification(world, frozen):
    trainer = _trainer(world)
    coaching_evidence(trainer, world.coach)
    card = card_of(world.coach, "practitioner")
    assert not [s for s in card.progress.qualifying if s.rubric_id != card.rule.rubric_id]


def test_moving_the_rules_leaves_certified_coaches_certified(world, frozen):
    fidelity = Rubric.objects.get(code="miiwrap-fidelity")
    for rule in EvidenceRule.objects.filter(program__code="coach"):
        rule.rubric, rule.min_overall = fidelity, 85
        rule.save()
    period = make_period(world.coach, world.purveyor_admin, "coach", D(2025, 1, 2))
    before = model_to_dict(period)
    importlib.import_module(MIGRATION).move(apps, None)
    period.refresh_from_db()
    assert model_to_dict(period) == before
    assert card_of(world.coach, "coach").state == dates.State.CERTIFIED
    moved = EvidenceRule.objects.filter(program__code="coach").values_list("rubric__code")
    assert set(moved) == {(COACHING,)}


def test_a_rule_the_purveyor_pointed_elsewhere_is_not_moved(world):
    mi_coding = Rubric.objects.get(code="mi-coding")
    rule = EvidenceRule.objects.get(program__code="coach", kind="renewal")
    rule.rubric, rule.min_band, rule.min_overall = mi_coding, "fair", None
    rule.save()
    importlib.import_module(MIGRATION).move(apps, None)
    rule.refresh_from_db()
    assert rule.rubric == mi_coding

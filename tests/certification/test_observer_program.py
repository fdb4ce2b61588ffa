"""MiiWrap Observer as shipped, its calibration rules as the database and the admin keep
them, and its migration run again and undone."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from certification import evidence
from certification.models import CertificationPeriod, EvidenceRule, Program, ReminderRule
from observations.models import Rubric
from tests.certification.test_admin import PROGRAMS, rule_form_data
from tests.factories import make_period

MIGRATION = "certification.migrations.0017_ship_observer_program"


def observer_rule(kind="initial"):
    return EvidenceRule.objects.get(program__code="observer", kind=kind)


def test_the_observer_program_ships_beside_the_ladder(db):
    program = Program.objects.get(code="observer")
    assert program.name == "MiiWrap Observer"
    assert (program.audience_role, program.active_months) == ("coach", 12)
    assert program.certified_by_purveyor
    assert (program.requires, program.certifier_program) == (None, None)
    assert ReminderRule.objects.filter(program=program, organization=None).count() == 6


@pytest.mark.parametrize("kind", ["initial", "renewal"])
def test_its_rules_read_calibration_on_the_fidelity_tool(db, kind):
    rule = observer_rule(kind)
    assert rule.source == EvidenceRule.Source.CALIBRATION
    assert rule.rubric == Rubric.objects.get(code="miiwrap-fidelity")
    assert (rule.min_cases, rule.min_within_one_percent, rule.within_days) == (3, 80, 365)
    assert (rule.min_overall, rule.min_band, rule.observer_certified_in) == (None, "", None)


def test_no_shipped_rule_requires_the_observer_certification(db):
    observer = Program.objects.get(code="observer")
    assert not EvidenceRule.objects.filter(observer_certified_in=observer).exists()


def test_the_shipped_observation_rules_stay_observation_rules(db):
    sources = EvidenceRule.objects.exclude(program__code="observer").values_list("source")
    assert set(sources) == {("observations",)}


def test_running_the_migration_again_makes_nothing_twice(db):
    rule = observer_rule()
    rule.min_within_one_percent = 90
    rule.save()
    importlib.import_module(MIGRATION).load(apps, None)
    assert Program.objects.filter(code="observer").count() == 1
    assert EvidenceRule.objects.filter(program__code="observer").count() == 2
    assert observer_rule().min_within_one_percent == 90  # the purveyor's setting stays
    assert ReminderRule.objects.filter(program__code="observer").count() == 6


def test_the_migration_records_what_it_shipped_in_the_history(db):
    assert observer_rule().history.filter(history_change_reason="As shipped.").exists()
    program = Program.objects.get(code="observer")
    assert program.history.filter(history_type="+").exists()


def test_undoing_the_migration_removes_the_program_then_loading_brings_it_back(db):
    migration = importlib.import_module(MIGRATION)
    migration.unload(apps, None)
    assert not Program.objects.filter(code="observer").exists()
    migration.load(apps, None)
    assert observer_rule("renewal").min_cases == 3


def test_undoing_the_migration_keeps_a_program_someone_holds(world):
    make_period(world.coach, world.purveyor_admin, "observer")
    importlib.import_module(MIGRATION).unload(apps, None)
    assert CertificationPeriod.objects.filter(program__code="observer").exists()
    assert EvidenceRule.objects.filter(program__code="observer").count() == 2


# The database's constraints ----------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"min_within_one_percent": 0},
        {"min_within_one_percent": 101},
        {"min_cases": 0},
        {"min_overall": 85},
        {"min_band": "high"},
        {"companion_min_band": "fair"},
    ],
)
def test_the_database_refuses_a_calibration_rule_that_cannot_mean_anything(db, change):
    with pytest.raises(IntegrityError), transaction.atomic():
        EvidenceRule.objects.filter(pk=observer_rule().pk).update(**change)


def test_the_database_refuses_a_calibration_rule_naming_an_observer_program(db):
    coach = Program.objects.get(code="coach")
    with pytest.raises(IntegrityError), transaction.atomic():
        EvidenceRule.objects.filter(pk=observer_rule().pk).update(observer_certified_in=coach)


def test_a_calibration_rule_needs_no_observation_standard(db):
    observer_rule().full_clean()


def test_an_observation_rule_still_needs_one(db):
    rule = EvidenceRule.objects.get(program__code="practitioner", kind="initial")
    with pytest.raises(IntegrityError), transaction.atomic():
        EvidenceRule.objects.filter(pk=rule.pk).update(min_overall=None, min_band="")


# Validation and the admin --------------------------------------------------------------------


def test_a_first_calibration_rule_left_without_a_look_back_looks_back_365_days(db):
    rule = observer_rule()
    rule.within_days = None
    rule.full_clean()
    assert rule.within_days == 365


def test_a_calibration_renewal_left_without_a_look_back_counts_from_the_window(db):
    rule = observer_rule("renewal")
    rule.within_days = None
    rule.full_clean()
    assert rule.within_days is None


def test_switching_an_observation_rule_to_calibration_asks_to_empty_its_standard(db):
    rule = EvidenceRule.objects.get(program__code="practitioner", kind="initial")
    rule.source = EvidenceRule.Source.CALIBRATION
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert set(refused.value.message_dict) == {
        "min_overall",
        "observer_certified_in",
        "companion_rubric",
        "companion_min_band",
    }


def test_the_admin_shows_the_calibration_settings(world, login):
    program = Program.objects.get(code="observer")
    page = login(world.purveyor_admin).get(f"{PROGRAMS}{program.pk}/change/").content.decode()
    assert "From calibration against master codes" in page
    assert 'name="evidence_rules-0-min_within_one_percent"' in page
    assert 'name="evidence_rules-0-source"' in page


def test_the_purveyor_raises_the_share_within_one_point_in_the_admin(world, login):
    program = Program.objects.get(code="observer")
    data = rule_form_data(program, min_within_one_percent=85, min_cases=4)
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 302
    rule = observer_rule()
    assert (rule.min_cases, rule.min_within_one_percent) == (4, 85)
    assert rule.history.count() >= 2


@pytest.mark.parametrize(
    "change, error",
    [
        ({"min_within_one_percent": 101}, "Give a share from 1 to 100 %."),
        ({"min_within_one_percent": 0}, "Give a share from 1 to 100 %."),
        ({"min_cases": 0}, "Ask for at least 1 calibration case."),
        ({"min_overall": 85}, "Calibration evidence reads no observations: leave empty."),
    ],
)
def test_a_calibration_rule_that_cannot_be_met_is_refused_with_a_reason(
    world, login, change, error
):
    program = Program.objects.get(code="observer")
    data = rule_form_data(program, **change)
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert observer_rule().min_within_one_percent == 80


def test_a_rule_hands_its_source_and_settings_to_the_pure_rule(db):
    rule = observer_rule().as_rule()
    assert rule.from_calibration
    assert (rule.source, rule.min_cases, rule.min_within_one_percent) == (
        evidence.CALIBRATION,
        3,
        80,
    )
    practice = EvidenceRule.objects.get(program__code="practitioner", kind="initial").as_rule()
    assert (practice.source, practice.from_calibration) == (evidence.OBSERVATIONS, False)


def test_an_observation_rule_with_an_impossible_share_is_refused_not_an_error(world, login):
    """The calibration settings are constraints on every rule: the form says so."""
    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program, min_within_one_percent=101)
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 200
    assert "The share within one point is 1 to 100 %." in response.content.decode()

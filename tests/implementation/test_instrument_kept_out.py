"""The readiness instrument scores organizations: it never appears where observations of
people are made, read, imported, exported, compared or certified."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from certification.models import EvidenceRule
from coaching.forms import AlertFilter
from coaching.models import DriftSettings, current_versions
from miiwrap.dashboards.forms import LeaderFilterForm
from miiwrap.people.models import Person
from observations import exports, import_guide
from observations.admin_forms import CalibrationCaseForm
from observations.filters import ObservationFilter, band_choices
from observations.models import CalibrationCase, Observation, Rubric, RubricVersion
from tests.observations.test_imports import row_for, run

NAME = "MiiWrap organizational readiness"
CODE = "miiwrap-readiness"


@pytest.fixture
def readiness(instrument):
    return instrument.rubric


def test_the_instrument_is_shipped_for_organizations(readiness):
    assert readiness.assesses_organizations and readiness.versions.get().status == "published"
    assert list(Rubric.objects.of_organizations()) == [readiness]


def test_of_people_lists_every_rubric_but_the_instrument(readiness):
    assert readiness not in Rubric.objects.of_people()
    assert Rubric.objects.of_people().count() == Rubric.objects.count() - 1
    assert not RubricVersion.objects.of_people().filter(rubric=readiness).exists()
    assert RubricVersion.objects.of_organizations().get().rubric == readiness


def test_the_observation_form_does_not_offer_it(world, login, readiness):
    client = login(world.coach)
    assert NAME not in client.get(reverse("observations:new")).content.decode()
    version = readiness.versions.get()
    chosen = client.get(reverse("observations:new"), {"rubric": version.pk})
    assert chosen.status_code == 404


def test_the_observation_forms_live_summary_refuses_it(world, login, readiness):
    version = readiness.versions.get()
    response = login(world.coach).post(
        reverse("observations:preview"), {"rubric_version": version.pk}
    )
    assert response.status_code == 404


def test_no_one_can_be_observed_on_it(world, readiness):
    for person in (world.practitioner, world.coach, world.leader):
        assert "assesses organizations" in readiness.audience_problem(person)
    everyone = Person.objects.filter(organization=world.home)
    assert not readiness.observable_among(everyone).exists()


def test_the_observation_filters_neither_list_it_nor_its_bands(world, readiness):
    filterset = ObservationFilter({}, queryset=Observation.objects.none(), user=world.leader.user)
    assert readiness not in filterset.form.fields["rubric"].queryset
    bands = [band for band, _label in band_choices()]
    assert "high" in bands and "ready" not in bands and "early" not in bands


def test_the_import_guide_and_the_importer_do_not_know_it(world, readiness):
    assert all(v.rubric != readiness for v in import_guide.published_versions())
    result = run([row_for(world.practitioner, world.coach, rubric=CODE)], dry_run=True)
    assert not result.ok
    assert "no rubric has the code “miiwrap-readiness”" in str(result.errors)


def test_the_export_columns_of_a_rubric_leave_it_out(readiness):
    metrics, items = exports.columns_for(Observation.objects.none(), rubric=readiness)
    assert (metrics, items) == ([], [])


def test_the_dashboards_rubric_picker_leaves_it_out(readiness):
    assert readiness not in Rubric.objects.for_dashboards()
    assert readiness not in LeaderFilterForm.base_fields["rubric"].queryset


def test_coaching_goals_and_alert_filters_leave_it_out(readiness):
    assert readiness.pk not in current_versions()
    assert readiness not in AlertFilter.base_filters["rubric"].queryset


def test_calibration_cases_cannot_be_on_it(readiness):
    form = CalibrationCaseForm(instance=CalibrationCase())
    assert readiness.versions.get() not in form.fields["rubric_version"].queryset


@pytest.mark.parametrize(
    "model, field",
    [(EvidenceRule, "rubric"), (EvidenceRule, "companion_rubric"), (DriftSettings, "rubric")],
)
def test_evidence_rules_and_drift_settings_cannot_name_it(world, readiness, model, field):
    request = RequestFactory().get("/")
    request.user = world.purveyor_admin.user
    if model is EvidenceRule:
        from certification.admin import EvidenceRuleInline

        admin = EvidenceRuleInline(EvidenceRule, site)
    else:
        admin = site._registry[DriftSettings]
    formfield = admin.formfield_for_foreignkey(model._meta.get_field(field), request)
    assert readiness not in formfield.queryset
    assert formfield.queryset.exists()


def test_the_recompute_command_neither_lists_nor_takes_it(readiness):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as refused:
        call_command("recompute_scores", "--rubric", CODE)
    assert "No rubric has the code “miiwrap-readiness”" in str(refused.value)
    assert CODE not in str(refused.value).split("the codes are")[1]

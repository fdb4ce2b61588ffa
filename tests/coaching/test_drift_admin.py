"""Drift in the admin: settings tuned by the purveyor only; alerts read-only, scoped."""

import pytest
from django.urls import reverse

from coaching.models import DriftAlert, DriftSettings
from observations.models import Rubric
from tests.coaching.test_alert_views import make_alert

SETTINGS_LIST = reverse("admin:coaching_driftsettings_changelist")
SETTINGS_ADD = reverse("admin:coaching_driftsettings_add")
ALERTS = reverse("admin:coaching_driftalert_changelist")


def fidelity():
    return Rubric.objects.get(code="miiwrap-fidelity")


def settings_fields(rubric, **changes):
    fields = {
        "rubric": rubric.pk,
        "enabled": "on",
        "lam": "0.2",
        "limit_sigmas": "3",
        "cusum_k": "0.5",
        "cusum_h": "4",
        "run_length": "8",
        "baseline_n": "5",
        "min_own_points": "10",
        "adequate_band": "",
        "momentum_window": "6",
        "momentum_slope": "0.1",
        "close_after": "3",
        "shift_limit": "2.2",
        "items_limit": "5.0",
        "before_points": "12",
    }
    return {**fields, **changes}


def rows(response):
    return set(response.context["cl"].result_list)


# Drift settings ----------------------------------------------------------------------------


def test_the_purveyor_lists_each_rubrics_settings_with_their_parameters(world, login):
    DriftSettings.objects.create(rubric=fidelity(), lam=0.3, run_length=7, adequate_band="high")
    response = login(world.purveyor_admin).get(SETTINGS_LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "MiiWrap fidelity tool" in page
    for header in ("EWMA weight (λ)", "CUSUM limit (h)", "Run length", "Adequate band"):
        assert header in page
    assert ">0.3<" in page and ">7<" in page and ">high<" in page


def test_the_purveyor_sets_after_how_many_calm_observations_an_alert_closes(world, login):
    response = login(world.purveyor_admin).post(
        SETTINGS_ADD, settings_fields(fidelity(), close_after="0")
    )
    assert response.status_code == 200
    assert not DriftSettings.objects.exists()
    response = login(world.purveyor_admin).post(
        SETTINGS_ADD, settings_fields(fidelity(), close_after="5")
    )
    assert response.status_code == 302
    assert DriftSettings.objects.get(rubric=fidelity()).params().close_after == 5


def test_the_purveyor_adds_settings_for_a_rubric(world, login):
    data = settings_fields(fidelity(), lam="0.25", adequate_band="adequate")
    response = login(world.purveyor_admin).post(SETTINGS_ADD, data)
    assert response.status_code == 302
    saved = DriftSettings.objects.get(rubric=fidelity())
    assert (saved.lam, saved.adequate_band) == (0.25, "adequate")


def test_an_adequate_band_no_version_has_is_refused_with_the_bands_named(world, login):
    data = settings_fields(fidelity(), adequate_band="splendid")
    response = login(world.purveyor_admin).post(SETTINGS_ADD, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["adequate_band"]
    assert errors == [
        "No version of MiiWrap fidelity tool has a band called “splendid”; choose one of: "
        "adequate, borderline, high, low."
    ]
    assert not DriftSettings.objects.exists()


def test_a_lambda_out_of_range_is_refused(world, login):
    response = login(world.purveyor_admin).post(SETTINGS_ADD, settings_fields(fidelity(), lam="0"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not DriftSettings.objects.exists()


def test_the_purveyor_changes_settings(world, login):
    settings = DriftSettings.objects.create(rubric=fidelity())
    url = reverse("admin:coaching_driftsettings_change", args=[settings.pk])
    response = login(world.purveyor_admin).post(url, settings_fields(fidelity(), cusum_h="5"))
    assert response.status_code == 302
    settings.refresh_from_db()
    assert settings.cusum_h == 5.0


def test_an_org_admin_has_no_drift_settings_in_the_admin(world, login):
    settings = DriftSettings.objects.create(rubric=fidelity())
    client = login(world.org_admin)
    assert b"Drift settings" not in client.get(reverse("admin:index")).content
    assert client.get(SETTINGS_LIST).status_code == 403
    assert client.get(SETTINGS_ADD).status_code == 403
    change = reverse("admin:coaching_driftsettings_change", args=[settings.pk])
    assert client.post(change, settings_fields(fidelity(), lam="0.9")).status_code == 403
    settings.refresh_from_db()
    assert settings.lam == 0.2


def test_an_org_admin_cannot_add_settings_by_posting(world, login):
    response = login(world.org_admin).post(SETTINGS_ADD, settings_fields(fidelity()))
    assert response.status_code == 403
    assert not DriftSettings.objects.exists()


@pytest.mark.parametrize("persona", ["coach", "leader", "practitioner"])
def test_other_roles_are_sent_to_the_admin_sign_in(world, login, persona):
    response = login(getattr(world, persona)).get(SETTINGS_LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


# Drift alerts ------------------------------------------------------------------------------


@pytest.fixture
def alerts(world):
    return {
        "pat": make_alert(world.practitioner),
        "team": make_alert(scope="team", team=world.team_a, rule=DriftAlert.Rule.RUN),
        "org_admin": make_alert(world.org_admin),
        "ari": make_alert(world.away_practitioner, rule=DriftAlert.Rule.BAND),
    }


def change_url(alert):
    return reverse("admin:coaching_driftalert_change", args=[alert.pk])


def test_the_purveyor_lists_every_alert(world, login, alerts):
    response = login(world.purveyor_admin).get(ALERTS)
    assert response.status_code == 200
    assert rows(response) == set(alerts.values())
    page = response.content.decode()
    assert "Team North" in page
    assert "A run below baseline" in page


def test_an_org_admin_reads_their_organizations_alerts_but_not_those_about_themselves(
    world, login, alerts
):
    response = login(world.org_admin).get(ALERTS)
    assert response.status_code == 200
    assert rows(response) == {alerts["pat"], alerts["team"]}
    assert b"Elsewhere County" not in response.content


def test_an_org_admin_gets_another_organizations_alert_as_not_found(world, login, alerts):
    response = login(world.org_admin).get(change_url(alerts["ari"]))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


@pytest.mark.parametrize("persona", ["purveyor_admin", "org_admin"])
def test_an_alert_opens_read_only(world, login, alerts, persona):
    client = login(getattr(world, persona))
    response = client.get(change_url(alerts["pat"]))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert client.post(change_url(alerts["pat"]), {"status": "resolved"}).status_code == 403
    alerts["pat"].refresh_from_db()
    assert alerts["pat"].status == DriftAlert.Status.OPEN


@pytest.mark.parametrize("persona", ["purveyor_admin", "org_admin"])
def test_nobody_adds_or_deletes_an_alert_in_the_admin(world, login, alerts, persona):
    client = login(getattr(world, persona))
    assert client.get(reverse("admin:coaching_driftalert_add")).status_code == 403
    delete = reverse("admin:coaching_driftalert_delete", args=[alerts["pat"].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert DriftAlert.objects.filter(pk=alerts["pat"].pk).exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"scope__exact": "team"}, {"team"}),
        ({"rule__exact": "band"}, {"ari"}),
        ({"status__exact": "acknowledged"}, {"org_admin"}),
    ],
)
def test_the_purveyor_filters_alerts_by_scope_rule_and_status(
    world, login, alerts, query, expected
):
    DriftAlert.objects.filter(pk=alerts["org_admin"].pk).update(status="acknowledged")
    response = login(world.purveyor_admin).get(ALERTS, query)
    assert rows(response) == {alerts[name] for name in expected}


def test_the_purveyor_finds_alerts_by_the_practitioners_name(world, login, alerts):
    response = login(world.purveyor_admin).get(ALERTS, {"q": world.practitioner.last_name})
    assert rows(response) == {alerts["pat"]}


@pytest.mark.parametrize("persona", ["coach", "leader", "practitioner"])
def test_other_roles_never_reach_the_alerts_in_the_admin(world, login, alerts, persona):
    response = login(getattr(world, persona)).get(ALERTS)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))

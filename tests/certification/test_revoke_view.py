"""Revoking from a person's page: certifiers only, a reason always, history kept."""

import pytest
from django.urls import reverse

from tests.certification.conftest import D
from tests.factories import make_period

PERSONAS = [
    "coach", "practitioner", "unassigned", "leader", "org_admin", "purveyor_admin", "outsider",
    "away_practitioner",
]  # fmt: skip
DECIDERS = {"coach", "purveyor_admin"}


@pytest.fixture
def period(world, certified_coach):
    return make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 3, 3))


def url(period):
    return reverse("certification:revoke", args=[period.pk])


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_certifiers_open_the_revocation_page(world, period, login, persona):
    response = login(getattr(world, persona)).get(url(period))
    assert response.status_code == (200 if persona in DECIDERS else 404)


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_certifiers_revoke(world, period, login, persona):
    response = login(getattr(world, persona)).post(url(period), {"reason": "Misconduct."})
    period.refresh_from_db()
    if persona in DECIDERS:
        assert response.status_code == 302
        assert (period.revoked_on, period.revocation_reason) == (D(2026, 6, 30), "Misconduct.")
    else:
        assert response.status_code == 404
        assert period.revoked_on is None


def test_a_revocation_without_a_reason_is_refused_and_says_so(world, period, login):
    response = login(world.coach).post(url(period), {"reason": "   "})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    period.refresh_from_db()
    assert period.revoked_on is None


def test_a_revoked_period_cannot_be_revoked_twice(world, period, login):
    client = login(world.coach)
    client.post(url(period), {"reason": "Misconduct."})
    response = client.post(url(period), {"reason": "Again."})
    assert response.status_code == 400
    assert "already lapsed or been revoked" in response.content.decode()
    assert period.events.filter(kind="revoked").count() == 1


def test_after_revoking_the_person_page_says_revoked(world, period, login):
    client = login(world.coach)
    response = client.post(url(period), {"reason": "Misconduct."}, follow=True)
    content = response.content.decode()
    assert "certification is revoked" in content
    assert "Revoked on <strong>2026-06-30</strong>" in content


def test_an_unknown_period_is_404(world, period, login):
    assert (
        login(world.purveyor_admin).get("/certification/periods/999999/revoke/").status_code == 404
    )

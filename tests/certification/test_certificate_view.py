"""The printable certificate, and the verification page anyone with its link may open."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from tests.certification.conftest import D
from tests.factories import make_period

PERSONAS = [
    "coach", "practitioner", "unassigned", "leader", "org_admin", "purveyor_admin", "outsider",
    "away_practitioner",
]  # fmt: skip
SEE_PAT = {"coach", "practitioner", "leader", "org_admin", "purveyor_admin"}


@pytest.fixture
def period(world, frozen):
    return make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 3, 3))


@pytest.mark.parametrize("persona", PERSONAS)
def test_whoever_sees_the_person_opens_the_certificate(world, period, login, persona):
    response = login(getattr(world, persona)).get(period.get_absolute_url())
    assert response.status_code == (200 if persona in SEE_PAT else 404)


def test_the_certificate_names_the_person_the_program_and_the_dates(world, period, login):
    content = login(world.practitioner).get(period.get_absolute_url()).content.decode()
    assert world.practitioner.full_name in content
    assert "MiiWrap Practitioner" in content
    assert "2025-03-03" in content and "2027-03-02" in content
    assert f"http://testserver/verify/{period.verification_code}/" in content
    assert "<svg" in content  # the QR code, drawn inline: it prints with no network
    assert "data-print" in content and "js/print-button.js" in content


def test_a_revoked_certificate_says_it_is_not_valid(world, period, login):
    period.revoked_on, period.revocation_reason = D(2026, 1, 5), "Misconduct."
    period.revoked_by = world.purveyor_admin
    period.save()
    content = login(world.practitioner).get(period.get_absolute_url()).content.decode()
    assert "Revoked on 2026-01-05: not valid" in content


def test_verification_codes_are_long_random_and_different(world, period):
    other = make_period(world.unassigned, world.purveyor_admin)
    assert len(period.verification_code) >= 20
    assert period.verification_code != other.verification_code


# Verification: no sign-in -------------------------------------------------------------------


def verify(client, period):
    return client.get(period.verification_url())


@pytest.mark.parametrize(
    "day, says",
    [
        (D(2026, 6, 30), "Valid today, until 2027-03-02"),
        (D(2027, 3, 2), "Valid today, until 2027-03-02"),  # the last day, in the window
        (D(2027, 3, 3), "Not valid: expired on 2027-03-02"),  # grace: renewable, not valid
        (D(2028, 1, 1), "Not valid: expired on 2027-03-02"),
    ],
)
def test_anyone_can_check_whether_a_certificate_is_valid_today(
    client, period, time_machine, day, says
):
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo("America/New_York"))
    time_machine.move_to(noon, tick=False)
    response = verify(client, period)
    assert response.status_code == 200
    assert says in response.content.decode()
    assert '<meta name="robots" content="noindex">' in response.content.decode()


def test_a_revoked_certificate_checks_as_revoked(client, world, period):
    period.revoked_on, period.revocation_reason = D(2026, 1, 5), "Misconduct."
    period.revoked_by = world.purveyor_admin
    period.save()
    assert "Not valid: revoked on 2026-01-05" in verify(client, period).content.decode()


def test_an_old_certificate_points_to_its_renewal(client, world, frozen):
    old = make_period(world.practitioner, world.purveyor_admin, valid_from=D(2023, 3, 6))
    make_period(
        world.practitioner,
        world.purveyor_admin,
        valid_from=D(2025, 3, 6),
        decided_on=D(2025, 2, 1),
        is_renewal=True,
    )
    content = verify(client, old).content.decode()
    assert "Not valid: expired on 2025-03-05" in content
    assert "a later certificate runs 2025-03-06 to 2027-03-05" in content


def test_the_verification_page_shows_no_more_than_it_must(client, world, period):
    content = verify(client, period).content.decode()
    assert world.practitioner.email not in content
    assert "Sign out" not in content


@pytest.mark.parametrize("code", ["nope", "x" * 40, "%27%22"])
def test_an_unknown_code_is_404(client, period, code):
    assert client.get(f"/verify/{code}/").status_code == 404


def test_the_verification_url_is_stable(period):
    assert period.verification_url() == reverse("verify", args=[period.verification_code])

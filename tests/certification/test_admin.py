"""The certification admin: programs are the purveyor's; periods are read-only and scoped."""

import pytest

from certification.models import CertificationPeriod
from tests.factories import make_period

PROGRAMS = "/admin/certification/program/"
PERIODS = "/admin/certification/certificationperiod/"


@pytest.mark.parametrize("url", [PROGRAMS, PROGRAMS + "add/", PERIODS])
def test_purveyor_admin_opens_the_certification_admin(world, login, url):
    assert login(world.purveyor_admin).get(url).status_code == 200


def test_org_admin_reads_programs_but_cannot_add_one(world, login):
    client = login(world.org_admin)
    assert client.get(PROGRAMS).status_code == 200
    assert client.get(PROGRAMS + "add/").status_code == 403


def test_periods_cannot_be_added_or_edited_in_the_admin(world, login):
    period = make_period(world.practitioner, world.coach)
    client = login(world.purveyor_admin)
    assert client.get(PERIODS + "add/").status_code == 403
    response = client.post(f"{PERIODS}{period.pk}/change/", {"valid_until": "2099-01-01"})
    assert response.status_code == 403
    assert CertificationPeriod.objects.get(pk=period.pk).valid_until == period.valid_until


def test_org_admin_sees_only_their_organizations_periods(world, login):
    home = make_period(world.practitioner, world.coach)
    away = make_period(world.away_practitioner, world.outsider)
    listed = set(login(world.org_admin).get(PERIODS).context["cl"].result_list)
    assert home in listed
    assert away not in listed


def test_coaches_are_kept_out_of_the_admin(world, login):
    response = login(world.coach).get(PROGRAMS)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]

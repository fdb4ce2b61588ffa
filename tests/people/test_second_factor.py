"""The second sign-in step: a code from an authenticator app, for those who decide or
administer, computed here from the device's key as the app would."""

import base64
import datetime as dt
import re

import pytest
import time_machine
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from miiwrap.people.second_factor import PENDING
from tests.factories import PASSWORD

SETUP = reverse("second_factor")
VERIFY = reverse("second_factor_verify")


def code(device, at):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at.timestamp()
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def start():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def device(world):
    return TOTPDevice.objects.create(user=world.org_admin.user, name="Phone", confirmed=True)


def sign_in(client, person):
    response = client.post(
        reverse("login"), {"username": person.user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    return response


def test_after_the_password_every_page_asks_for_the_code(client, world, device, start):
    with time_machine.travel(start, tick=False):
        sign_in(client, world.org_admin)
        for url in ["/", "/people/", reverse("admin:index")]:
            response = client.get(url)
            assert response.status_code == 302
            assert response.url.startswith(VERIFY + "?next=")
        page = client.get(VERIFY)
        assert b"Sign-in code" in page.content


def test_a_wrong_code_is_refused_and_the_right_one_opens_the_pages(client, world, device, start):
    with time_machine.travel(start, tick=False):
        sign_in(client, world.org_admin)
        wrong = client.post(VERIFY, {"code": "000000" if code(device, start) != "000000" else "1"})
        assert wrong.status_code == 200
        assert wrong.context["form"].errors
        assert client.get("/people/").status_code == 302
    later = start + dt.timedelta(seconds=31)
    with time_machine.travel(later, tick=False):
        device.refresh_from_db()
        response = client.post(VERIFY, {"code": code(device, later), "next": "/people/"})
        assert response.status_code == 302
        assert response.url == "/people/"
        assert client.get("/people/").status_code == 200
        assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("target", ["https://elsewhere.example/", "//elsewhere.example/", "0", "²"])
def test_the_code_page_never_sends_elsewhere(client, world, device, start, target):
    with time_machine.travel(start, tick=False):
        sign_in(client, world.org_admin)
        response = client.post(VERIFY, {"code": code(device, start), "next": target})
    assert response.url == reverse("home")


def test_a_code_is_good_once(client, world, device, start):
    with time_machine.travel(start, tick=False):
        used = code(device, start)
        assert device.verify_token(used)
        sign_in(client, world.org_admin)
        assert client.post(VERIFY, {"code": used}).status_code == 200


def test_someone_without_a_device_signs_in_with_the_password_alone(client, world):
    sign_in(client, world.org_admin)
    assert client.get("/people/").status_code == 200


def test_the_admin_refuses_a_session_that_still_owes_a_code(world):
    request = RequestFactory().get("/admin/")
    request.user = world.org_admin.user
    request.session = {PENDING: True}
    request.user.is_verified = lambda: False
    assert not admin.site.has_permission(request)
    request.user.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_setting_it_up_shows_the_key_and_confirms_with_a_code(client, world, start):
    client.force_login(world.org_admin.user)
    page = client.get(SETUP)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=world.org_admin.user)
    assert not device.confirmed
    content = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in content
    typed = re.search(r'class="second-factor-secret">([A-Z2-7 ]+)<', content).group(1)
    secret = typed.replace(" ", "")
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    assert client.get(SETUP).status_code == 200
    assert TOTPDevice.objects.filter(user=world.org_admin.user).count() == 1

    with time_machine.travel(start, tick=False):
        response = client.post(SETUP, {"code": code(device, start)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_wrong_code_does_not_turn_it_on(client, world, start):
    client.force_login(world.org_admin.user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=world.org_admin.user)
    with time_machine.travel(start, tick=False):
        wrong = str((int(code(device, start)) + 1) % 1_000_000).zfill(6)
        response = client.post(SETUP, {"code": wrong})
    assert response.status_code == 200
    assert "not the current one" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


@pytest.mark.parametrize("persona", ["coach", "purveyor_admin", "org_admin"])
def test_deciders_and_admins_are_offered_it(client, world, persona):
    client.force_login(getattr(world, persona).user)
    assert client.get(SETUP).status_code == 200
    assert f'href="{SETUP}"'.encode() in client.get(reverse("password_change")).content


@pytest.mark.parametrize("persona", ["practitioner", "leader"])
def test_others_are_not(client, world, persona):
    client.force_login(getattr(world, persona).user)
    assert client.get(SETUP).status_code == 404
    assert f'href="{SETUP}"'.encode() not in client.get(reverse("password_change")).content


def test_turning_it_off_takes_a_current_code(client, world, device, start):
    with time_machine.travel(start, tick=False):
        sign_in(client, world.org_admin)
        client.post(VERIFY, {"code": code(device, start)})
    later = start + dt.timedelta(seconds=31)
    with time_machine.travel(later, tick=False):
        device.refresh_from_db()
        assert client.post(SETUP, {"code": "12"}).status_code == 200
        assert TOTPDevice.objects.filter(pk=device.pk).exists()
    latest = start + dt.timedelta(seconds=95)
    with time_machine.travel(latest, tick=False):
        device.refresh_from_db()
        response = client.post(SETUP, {"code": code(device, latest)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.org_admin.user).exists()
    client.logout()
    sign_in(client, world.org_admin)
    assert client.get("/people/").status_code == 200


def test_when_required_deciders_and_admins_set_it_up_before_anything_else(client, world, settings):
    settings.REQUIRE_SECOND_FACTOR = True
    for persona in ["org_admin", "coach", "purveyor_admin"]:
        client.force_login(getattr(world, persona).user)
        for url in ["/", "/people/", reverse("admin:index")]:
            response = client.get(url)
            assert response.status_code == 302, (persona, url)
            assert response.url == SETUP
        assert client.get(SETUP).status_code == 200
    client.force_login(world.leader.user)
    assert client.get("/people/").status_code == 200


def test_when_required_it_cannot_be_turned_off(client, world, device, start, settings):
    settings.REQUIRE_SECOND_FACTOR = True
    with time_machine.travel(start, tick=False):
        sign_in(client, world.org_admin)
        client.post(VERIFY, {"code": code(device, start)})
    later = start + dt.timedelta(seconds=31)
    with time_machine.travel(later, tick=False):
        device.refresh_from_db()
        page = client.post(SETUP, {"code": code(device, later)})
    assert b"Your role requires it" in page.content
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_required_is_off_by_default(settings):
    assert settings.REQUIRE_SECOND_FACTOR is False

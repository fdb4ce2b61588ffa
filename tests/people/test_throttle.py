"""Failed sign-ins are throttled for a while, by name and address and by address alone."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY, get_user_model
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
LOCKED = b"Too many failed sign-ins from here. Wait 15 minutes"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("cora.coach", "cora@example.org", PASSWORD)


def sign_in(client, username, password=PASSWORD, address="127.0.0.1", url=LOGIN):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address="127.0.0.1", url=LOGIN):
    for _ in range(times):
        sign_in(client, username, "not the password", address, url)


def test_the_right_password_is_refused_after_five_wrong_ones(client, user):
    fail(client, "cora.coach", 4)
    fifth = sign_in(client, "cora.coach", "not the password")
    assert fifth.status_code == 429
    response = sign_in(client, "cora.coach")
    assert response.status_code == 429
    assert LOCKED in response.content
    assert b"Please enter a correct username" not in response.content
    assert 'name="username"' in response.content.decode()
    assert client.session.get(SESSION_KEY) is None


def test_four_wrong_passwords_still_let_the_right_one_in(client, user):
    fail(client, "cora.coach", 4)
    assert sign_in(client, "cora.coach").status_code == 302


def test_an_unknown_name_is_throttled_with_the_same_page(client, user):
    fail(client, "cora.coach", 5)
    fail(client, "nobody@example.org", 5)
    known = sign_in(client, "cora.coach", "not the password")
    unknown = sign_in(client, "nobody@example.org", "not the password")
    assert known.status_code == unknown.status_code == 429
    assert page_without_name_or_token(known, "cora.coach") == page_without_name_or_token(
        unknown, "nobody@example.org"
    )


def page_without_name_or_token(response, typed):
    page = response.content.decode().replace(typed, "NAME")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)


def test_the_name_is_counted_in_any_letter_case(client, user):
    for typed in ["cora.coach", "CORA.coach", " Cora.Coach", "cora.COACH", "CORA.COACH"]:
        sign_in(client, typed, "not the password")
    assert sign_in(client, "cora.coach").status_code == 429


def test_the_same_name_from_another_address_still_signs_in(client, user):
    fail(client, "cora.coach", 5, address="203.0.113.7")
    assert sign_in(client, "cora.coach", address="198.51.100.2").status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, user):
    fail(client, "cora.coach", 5)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=14), tick=False):
        assert sign_in(client, "cora.coach").status_code == 429
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16), tick=False):
        assert sign_in(client, "cora.coach").status_code == 302


def test_trying_while_locked_does_not_extend_the_cool_off(client, user):
    fail(client, "cora.coach", 5)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10), tick=False):
        fail(client, "cora.coach", 3)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16), tick=False):
        assert sign_in(client, "cora.coach").status_code == 302


def test_a_success_clears_the_failures(client, user):
    fail(client, "cora.coach", 4)
    assert sign_in(client, "cora.coach").status_code == 302
    client.logout()
    fail(client, "cora.coach", 4)
    assert sign_in(client, "cora.coach").status_code == 302


def test_one_address_trying_many_names_is_throttled_too(client, user, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 12
    for n in range(12):
        sign_in(client, f"guess{n}@example.org", "not the password", "203.0.113.7")
    assert sign_in(client, "cora.coach", address="203.0.113.7").status_code == 429
    assert sign_in(client, "cora.coach", address="198.51.100.2").status_code == 302


def test_the_admin_sign_in_is_throttled_too(client, user):
    fail(client, "cora.coach", 5, url=ADMIN_LOGIN)
    response = sign_in(client, "cora.coach", url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert LOCKED in response.content
    assert sign_in(client, "cora.coach").status_code == 429


def test_behind_a_proxy_the_forwarded_address_counts(client, user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": "cora.coach", "password": "x"},
            HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
            **proxy,
        )
    right = {"username": "cora.coach", "password": PASSWORD}
    locked = client.post(LOGIN, right, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert locked.status_code == 429
    other = client.post(LOGIN, right, HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.2", **proxy)
    assert other.status_code == 302


def test_an_address_gets_more_tries_in_all_than_one_name_gets(client, user):
    for n in range(10):
        sign_in(client, f"guess{n}@example.org", "not the password")
    assert sign_in(client, "cora.coach").status_code == 302


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_a_name_longer_than_axes_keeps_is_a_failed_sign_in_not_an_error(client, user, url):
    """What axes records is cut to its column (PostgreSQL refuses a longer value)."""
    typed = "x" * 400
    fail(client, typed, 4, url=url)
    response = sign_in(client, typed, "not the password", url=url)
    assert response.status_code == 429
    from axes.models import AccessAttempt

    assert {len(a.username) for a in AccessAttempt.objects.all()} == {255}

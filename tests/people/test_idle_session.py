"""A session ends after a working day idle, and is not written on every request."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from miiwrap.people.middleware import REFRESHED_AT

PAGE = "/people/"


@pytest.fixture
def saves(monkeypatch):
    """How many times a session was saved."""
    count = []
    original = SessionStore.save

    def counting_save(self, *args, **kwargs):
        count.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SessionStore, "save", counting_save)
    return count


@pytest.fixture
def start():
    return timezone.now()


def at(start, **delta):
    return time_machine.travel(start + dt.timedelta(**delta), tick=False)


@pytest.fixture
def signed_in(world, client, start):
    with at(start):
        client.force_login(world.leader.user)
    return client


def test_the_idle_limit_is_a_working_day_by_default(settings):
    assert settings.SESSION_COOKIE_AGE == 9 * 3600
    assert not settings.SESSION_SAVE_EVERY_REQUEST


def test_requests_within_the_refresh_interval_do_not_save_the_session(signed_in, saves, start):
    for minutes in (1, 20, 50):
        with at(start, minutes=minutes):
            assert signed_in.get(PAGE).status_code == 200
    assert saves == []


def test_a_request_after_the_interval_saves_the_session_once(signed_in, saves, start):
    with at(start, minutes=60):
        response = signed_in.get(PAGE)
        signed_in.get(PAGE)
    assert saves == [1]
    assert response.cookies["sessionid"]["max-age"] == 9 * 3600


def test_someone_idle_for_the_limit_is_signed_out(signed_in, start):
    with at(start, hours=9, minutes=1):
        response = signed_in.get(PAGE)
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_someone_active_all_day_stays_signed_in(signed_in, start):
    for hour in range(1, 13):
        with at(start, hours=hour):
            assert signed_in.get(PAGE).status_code == 200
    assert signed_in.session.get(SESSION_KEY)


def test_an_anonymous_visit_saves_no_session(client, db, saves):
    client.get("/accounts/login/")
    assert saves == []
    assert REFRESHED_AT not in client.session


def test_the_first_page_after_signing_in_saves_nothing(world, client, saves):
    client.force_login(world.leader.user)
    saves.clear()
    client.get(PAGE)
    assert saves == []

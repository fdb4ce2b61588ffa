"""Signing in (by email or username), signing out and resetting a password."""

import re

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD

LOGIN = reverse("login")
NEW_PASSWORD = "a quite different phrase 42"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        "cora.coach", "Cora@Example.org", PASSWORD, first_name="Cora"
    )


def sign_in(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


def signed_in_as(client):
    return client.session.get(SESSION_KEY)


def test_sign_in_page_renders(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Email or username" in content
    assert 'name="password"' in content
    assert f'href="{reverse("password_reset")}"' in content


@pytest.mark.parametrize(
    "typed",
    ["cora.coach", "CORA.Coach", "cora@example.org", "CORA@EXAMPLE.ORG", "Cora@Example.org"],
)
def test_sign_in_by_email_or_username_in_any_case(client, user, typed):
    response = sign_in(client, typed)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert signed_in_as(client) == str(user.pk)


def test_sign_in_follows_next(client, user):
    response = client.post(
        LOGIN, {"username": "cora.coach", "password": PASSWORD, "next": "/people/"}
    )
    assert response.url == "/people/"


def test_wrong_password_shows_an_error(client, user):
    response = sign_in(client, "cora.coach", "not the password")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert response.context["form"]["username"].value() == "cora.coach"
    assert signed_in_as(client) is None


def test_unknown_account_shows_the_same_error(client, user):
    response = sign_in(client, "nobody@example.org")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert signed_in_as(client) is None


def test_an_inactive_user_cannot_sign_in(client, user):
    user.is_active = False
    user.save()
    sign_in(client, "cora.coach")
    assert signed_in_as(client) is None


def test_a_username_that_is_someone_elses_email_signs_in_that_username(client, user):
    # One person's username is another's email: the name is decided before the password,
    # so the username holder is the one; the other signs in with their own username.
    other = get_user_model().objects.create_user("cora@example.org", "x@example.org", "other pw 9")
    sign_in(client, "cora@example.org", "other pw 9")
    assert signed_in_as(client) == str(other.pk)
    client.logout()
    sign_in(client, "cora@example.org")
    assert signed_in_as(client) is None
    sign_in(client, "cora.coach")
    assert signed_in_as(client) == str(user.pk)


def test_a_signed_in_user_is_sent_on_from_the_sign_in_page(client, user):
    client.force_login(user)
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_logout_is_a_post(client, user):
    client.force_login(user)
    assert client.get(reverse("logout")).status_code == 405
    assert signed_in_as(client) == str(user.pk)

    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == LOGIN
    assert signed_in_as(client) is None


def test_every_page_offers_sign_out_as_a_form(world, login):
    content = login(world.leader).get("/people/").content.decode()
    assert f'<form method="post" action="{reverse("logout")}">' in content


def reset_link():
    assert len(mail.outbox) == 1
    match = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(1)


def test_password_reset_sends_an_email_with_a_link(client, user):
    response = client.post(reverse("password_reset"), {"email": "cora@EXAMPLE.org"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Reset your MiiWrap Fidelity password"
    assert message.body.startswith("Hello Cora,")
    assert reset_link()


def test_password_reset_link_sets_a_new_password(client, user):
    client.post(reverse("password_reset"), {"email": user.email})
    form_page = client.get(reset_link(), follow=True)
    assert b"Choose a new password" in form_page.content

    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.url == reverse("password_reset_complete")
    assert sign_in(client, "cora.coach", NEW_PASSWORD).status_code == 302
    assert signed_in_as(client) == str(user.pk)
    client.logout()
    assert sign_in(client, "cora.coach", PASSWORD).status_code == 200


def test_a_used_reset_link_no_longer_works(client, user):
    client.post(reverse("password_reset"), {"email": user.email})
    link = reset_link()
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    client.cookies.clear()
    response = client.get(link, follow=True)
    assert b"This link no longer works" in response.content


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, user):
    response = client.post(reverse("password_reset"), {"email": "stranger@example.org"})
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_password_reset_pages_render(client, db):
    assert b"Send the link" in client.get(reverse("password_reset")).content
    assert b"Check your email" in client.get(reverse("password_reset_done")).content
    assert b"Password saved" in client.get(reverse("password_reset_complete")).content


def test_signed_in_user_changes_their_password(client, user):
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.url == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

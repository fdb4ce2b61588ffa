"""The sign-in backend does the same hashing work whether the account exists or not."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher

from miiwrap.people.backends import EmailOrUsernameBackend
from tests.factories import PASSWORD


class CountingHasher(MD5PasswordHasher):
    """MD5, counting every hash it computes (verify() hashes through encode())."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings, db):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    User = get_user_model()
    User.objects.create_user("cora.coach", "cora@example.org", PASSWORD)
    # Someone whose username is another person's email: two accounts match what is typed.
    User.objects.create_user("cora@example.org", "other@example.org", "other pw 9")
    User.objects.create_user("Cora.Coach", "cc@example.org", "case pw 9")

    def count(typed, password):
        CountingHasher.calls = 0
        user = EmailOrUsernameBackend().authenticate(None, username=typed, password=password)
        return CountingHasher.calls, user

    return count


@pytest.mark.parametrize(
    "typed, password",
    [
        ("cora.coach", "wrong"),
        ("cora.coach", PASSWORD),
        ("nobody@example.org", "wrong"),
        ("cora@example.org", "wrong"),
        ("cora@example.org", "other pw 9"),
        ("CORA.COACH", "wrong"),
        ("cc@example.org", "wrong"),
    ],
)
def test_every_sign_in_hashes_exactly_once(hashes, typed, password):
    calls, _ = hashes(typed, password)
    assert calls == 1


def test_an_inactive_account_hashes_once_and_is_refused(hashes):
    get_user_model().objects.filter(username="cora.coach").update(is_active=False)
    assert hashes("cora.coach", PASSWORD) == (1, None)


def test_the_exact_username_wins_over_another_case_and_over_an_email(hashes):
    assert hashes("cora.coach", PASSWORD)[1].username == "cora.coach"
    assert hashes("Cora.Coach", "case pw 9")[1].username == "Cora.Coach"
    # This name is one account's username and another's email: the username holder.
    assert hashes("cora@example.org", "other pw 9")[1].username == "cora@example.org"
    assert hashes("cora@example.org", PASSWORD)[1] is None


def test_an_email_signs_in_its_account_in_any_case(hashes):
    assert hashes("CC@Example.ORG", "case pw 9")[1].username == "Cora.Coach"

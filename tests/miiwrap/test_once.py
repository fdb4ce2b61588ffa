"""form_token_once: one record per token, whoever sends it first, however they race."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, close_old_connections

from miiwrap.once import services
from miiwrap.once.forms import OnceForm
from miiwrap.once.models import FormToken
from miiwrap.people.models import Team
from tests.conftest import require
from tests.factories import make_org, make_person

TOKEN = "a" * 32


@pytest.fixture
def org(db):
    return make_org()


@pytest.fixture
def user(org):
    return make_person(org, "org_admin").user


def team_maker(org, name="North"):
    return lambda: Team.objects.create(organization=org, name=name)


def test_a_token_creates_once_and_then_names_what_it_created(org, user):
    team = services.form_token_once(token=TOKEN, user=user, create=team_maker(org))
    with pytest.raises(services.AlreadySent) as sent:
        services.form_token_once(token=TOKEN, user=user, create=team_maker(org, "South"))
    assert sent.value.target == team
    assert list(Team.objects.filter(organization=org)) == [team]


def test_a_race_lost_at_the_constraint_loads_the_winner(org, user, monkeypatch):
    """The second post checks before the first commits, so only the constraint stops it."""
    team = services.form_token_once(token=TOKEN, user=user, create=team_maker(org))
    monkeypatch.setattr(services, "form_token_earlier", lambda **kwargs: None)
    with pytest.raises(services.AlreadySent) as sent:
        services.form_token_once(token=TOKEN, user=user, create=team_maker(org, "South"))
    assert sent.value.target == team
    assert Team.objects.filter(organization=org).count() == 1


def test_a_refused_create_leaves_the_token_free(org, user):
    def refused():
        team_maker(org)()
        raise ValidationError("No.")

    with pytest.raises(ValidationError):
        services.form_token_once(token=TOKEN, user=user, create=refused)
    assert not FormToken.objects.exists() and not Team.objects.filter(organization=org).exists()
    services.form_token_once(token=TOKEN, user=user, create=team_maker(org))
    assert Team.objects.filter(organization=org).count() == 1


def test_another_constraint_failing_is_not_taken_for_a_repeat(org, user):
    def clash():
        raise IntegrityError("some other unique constraint")

    with pytest.raises(IntegrityError):
        services.form_token_once(token=TOKEN, user=user, create=clash)


def test_a_token_used_by_someone_else_is_refused_without_naming_the_record(org, user):
    services.form_token_once(token=TOKEN, user=user, create=team_maker(org))
    stranger = make_person(org, "org_admin").user
    with pytest.raises(ValidationError) as refused:
        services.form_token_once(token=TOKEN, user=stranger, create=team_maker(org, "South"))
    assert "another account" in refused.value.messages[0]


def test_the_form_draws_a_fresh_token_each_time_and_keeps_a_posted_one():
    first, second = OnceForm().initial_token(), OnceForm().initial_token()
    assert first != second and len(first) == 32
    kept = OnceForm({"form_token": TOKEN})
    assert kept.is_valid() and kept.token() == TOKEN
    assert f'value="{TOKEN}"' in str(kept["form_token"])


def test_a_post_without_a_token_is_given_one(db):
    form = OnceForm({})
    assert form.is_valid() and len(form.token()) == 32


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_posts_racing_on_one_token_create_once(threads_close_connections):
    from django.db import connection

    require(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:5432/DB to run it",
    )
    org = make_org()
    user = make_person(org, "org_admin").user
    claimed, outcomes = threading.Event(), {}

    def slow_create():
        claimed.set()  # the token is claimed, not yet committed
        time.sleep(1)
        return Team.objects.create(organization=org, name="North")

    def post(name, create):
        try:
            outcomes[name] = services.form_token_once(token=TOKEN, user=user, create=create)
        except services.AlreadySent as sent:
            outcomes[name] = sent
        finally:
            close_old_connections()

    def second():
        claimed.wait(10)
        post("second", team_maker(org, "South"))

    threads = [
        threading.Thread(target=post, args=("first", slow_create)),
        threading.Thread(target=second),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    team = Team.objects.get(organization=org)
    assert team.name == "North"
    assert outcomes["first"] == team
    # The second waited for the first to commit, then was shown what it created.
    assert isinstance(outcomes["second"], services.AlreadySent)
    assert outcomes["second"].target == team

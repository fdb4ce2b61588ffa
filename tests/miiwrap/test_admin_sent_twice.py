"""Admin add pages sent twice add one record; the second post is shown the first's page."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from miiwrap.people.models import Person, Team
from tests.people.test_admin import form_data, person_fields


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def sent_twice(client, url, data):
    return client.post(url, data), client.post(url, data)


def test_a_person_added_twice_is_one_person(world, login):
    client = login(world.org_admin)
    url = reverse("admin:people_person_add")
    token = client.get(url).context["adminform"].form["form_token"].value()
    data = person_fields(world.home, form_token=token)
    first, second = sent_twice(client, url, data)
    nova = Person.objects.get(email="nova@example.org")
    assert first.status_code == second.status_code == 302
    assert second.url == change_url(nova)
    page = client.get(second.url).content.decode()
    assert "already been sent; it was saved once" in page


def test_the_add_page_draws_its_token_as_a_hidden_input(world, login):
    page = login(world.purveyor_admin).get(reverse("admin:people_team_add")).content.decode()
    assert page.count('name="form_token"') == 1
    assert 'type="hidden" name="form_token"' in page


def test_a_team_added_twice_is_one_team_and_a_new_page_adds_another(world, login):
    client = login(world.purveyor_admin)
    url = reverse("admin:people_team_add")
    data = form_data(client.get(url))
    data.update(organization=world.home.pk, name="Harbor")
    sent_twice(client, url, data)
    assert Team.objects.filter(name="Harbor").count() == 1
    again = form_data(client.get(url))
    again.update(organization=world.home.pk, name="Lakeside")
    assert client.post(url, again).status_code == 302
    assert Team.objects.filter(name="Lakeside").count() == 1


def test_a_refused_add_page_keeps_its_token(world, login):
    client = login(world.purveyor_admin)
    url = reverse("admin:people_team_add")
    data = form_data(client.get(url))
    refused = client.post(url, {**data, "name": ""})
    assert refused.status_code == 200
    assert refused.context["adminform"].form["form_token"].value() == data["form_token"]


def test_a_program_added_twice_is_one_program(world, login):
    from certification.models import Program

    client = login(world.purveyor_admin)
    url = reverse("admin:certification_program_add")
    data = form_data(client.get(url))
    data.update(code="peer-support", name="Peer support", position="0")
    data.update({"evidence_rules-TOTAL_FORMS": "0", "evidence_rules-INITIAL_FORMS": "0"})
    before = Program.objects.count()
    first, second = sent_twice(client, url, data)
    assert first.status_code == 302
    assert Program.objects.count() == before + 1
    assert second.url == change_url(Program.objects.get(code="peer-support"))


@pytest.mark.parametrize("persona", ["purveyor_admin"])
def test_a_login_added_twice_is_one_login(world, login, persona):
    client = login(getattr(world, persona))
    url = reverse("admin:auth_user_add")
    data = form_data(client.get(url))
    data.update(
        username="newlogin", password1="a-long-pass-phrase-9", password2="a-long-pass-phrase-9"
    )
    data.pop("usable_password", None)
    first, second = sent_twice(client, url, data)
    assert first.status_code == 302, first.context["adminform"].form.errors
    assert get_user_model().objects.filter(username="newlogin").count() == 1
    assert second.url == change_url(get_user_model().objects.get(username="newlogin"))

"""The admin: open to purveyor admins, scoped to their organization for organization admins."""

import datetime as dt

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse

from miiwrap.people.models import Person, RoleGrant, Team
from tests.factories import PASSWORD, make_person

MODELS = [
    "people_organization",
    "people_team",
    "people_person",
    "people_rolegrant",
    "coaching_coachassignment",
    "auth_user",
    "auth_group",
]


def changelist(model):
    return reverse(f"admin:{model}_changelist")


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def rows(response):
    return set(response.context["cl"].result_list)


def form_data(response):
    """What a browser would post back from an admin add or change page, as it was rendered."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += [formset.management_form, *formset.forms]
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            # `is`, so that a 0 is posted (0 == False).
            if value is not None and value is not False:
                data[form.add_prefix(name)] = "on" if value is True else str(value)
    return data


def person_fields(org, team=None, **overrides):
    return {
        "organization": org.pk,
        "team": team.pk if team else "",
        "first_name": "Nova",
        "last_name": "Newhire",
        "email": "nova@example.org",
        "staff_id": "RB-9",
        "job_title": "",
        "hire_date": "2025-01-06",
        "leave_date": "",
        "roles-TOTAL_FORMS": "1",
        "roles-INITIAL_FORMS": "0",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
        "roles-0-role": "practitioner",
        **overrides,
    }


# Who may open the admin at all


@pytest.mark.parametrize("persona", ["purveyor_admin", "org_admin"])
def test_purveyor_and_org_admins_open_the_admin_index(world, login, persona):
    person = getattr(world, persona)
    assert not person.user.is_staff and not person.user.is_superuser
    response = login(person).get(reverse("admin:index"))
    assert response.status_code == 200
    assert b"MiiWrap Fidelity admin" in response.content


@pytest.mark.parametrize(
    "persona", ["coach", "practitioner", "leader", "unassigned", "away_practitioner"]
)
@pytest.mark.parametrize("url", ["admin:index", "admin:people_person_changelist"])
def test_other_roles_are_redirected_to_admin_login(world, login, persona, url):
    response = login(getattr(world, persona)).get(reverse(url))
    assert response.status_code == 302
    assert response.url.startswith(f"{reverse('admin:login')}?next=")


def test_an_org_admin_who_left_is_redirected_to_admin_login(world, login):
    Person.objects.filter(pk=world.org_admin.pk).update(leave_date=dt.date(2024, 1, 1))
    response = login(world.org_admin).get(reverse("admin:index"))
    assert response.status_code == 302


def test_anonymous_is_redirected_to_admin_login(client, world):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("persona", ["purveyor_admin", "org_admin"])
def test_admins_without_is_staff_sign_in_on_the_admin_sign_in_page(client, world, persona):
    person = getattr(world, persona)
    response = client.post(
        reverse("admin:login"),
        {"username": person.email, "password": PASSWORD, "next": reverse("admin:index")},
    )
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert client.get(response.url).status_code == 200


def test_a_coach_signing_in_on_the_admin_sign_in_page_is_still_kept_out(client, world):
    client.post(reverse("admin:login"), {"username": world.coach.email, "password": PASSWORD})
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_admin_sign_in_page_refuses_a_wrong_password(client, world):
    response = client.post(
        reverse("admin:login"), {"username": world.purveyor_admin.email, "password": "nope"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors


def test_a_superuser_without_a_person_opens_every_changelist(client, world):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.org", "pw"))
    for model in MODELS:
        assert client.get(changelist(model)).status_code == 200, model


# Purveyor admin: everything


@pytest.mark.parametrize("model", MODELS)
def test_purveyor_admin_opens_every_changelist(world, login, model):
    response = login(world.purveyor_admin).get(changelist(model))
    assert response.status_code == 200
    assert response.context["cl"].result_count == apps.get_model(*model.split("_")).objects.count()


@pytest.mark.parametrize("model", MODELS)
def test_purveyor_admin_opens_every_add_form(world, login, model):
    response = login(world.purveyor_admin).get(reverse(f"admin:{model}_add"))
    assert response.status_code == 200
    assert b'type="submit"' in response.content


def test_purveyor_admin_index_lists_every_model(world, login):
    content = login(world.purveyor_admin).get(reverse("admin:index")).content.decode()
    for model in MODELS:
        assert f'href="{changelist(model)}"' in content, model


def test_purveyor_admin_changes_a_person_in_another_organization(world, login):
    client = login(world.purveyor_admin)
    url = change_url(world.away_practitioner)
    data = form_data(client.get(url))
    data.update({"job_title": "Care coordinator", "roles-1-role": "coach"})

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    world.away_practitioner.refresh_from_db()
    assert world.away_practitioner.job_title == "Care coordinator"
    assert world.away_practitioner.role_values() == ["coach", "practitioner"]


def test_purveyor_admin_may_grant_purveyor_admin(world, login):
    client = login(world.purveyor_admin)
    url = change_url(world.leader)
    response = client.get(url)
    assert b'value="purveyor_admin"' in response.content
    data = {**form_data(response), "roles-1-role": "purveyor_admin"}
    assert client.post(url, data).status_code == 302
    assert world.leader.roles.filter(role="purveyor_admin").exists()


def test_purveyor_admin_links_a_login_to_a_person(world, login):
    client = login(world.purveyor_admin)
    person = make_person(world.home, "practitioner", login=False)
    account = get_user_model().objects.create_user("newlogin", "n@example.org", "pw")
    url = change_url(person)
    data = {**form_data(client.get(url)), "user": account.pk}
    assert client.post(url, data).status_code == 302
    person.refresh_from_db()
    assert person.user == account


def test_only_a_superuser_deletes_logins(world, login, client):
    url = reverse("admin:auth_user_delete", args=[world.practitioner.user_id])
    assert login(world.purveyor_admin).post(url, {"post": "yes"}).status_code == 403
    assert get_user_model().objects.filter(pk=world.practitioner.user_id).exists()

    client.force_login(get_user_model().objects.create_superuser("root", "r@example.org", "pw"))
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not get_user_model().objects.filter(pk=world.practitioner.user_id).exists()


# Organization admin: their own organization only


def test_org_admin_index_lists_their_models_but_not_users_or_groups(world, login):
    content = login(world.org_admin).get(reverse("admin:index")).content.decode()
    for model in ["people_person", "people_team", "coaching_coachassignment"]:
        assert f'href="{changelist(model)}"' in content, model
    assert changelist("auth_user") not in content
    assert changelist("auth_group") not in content


@pytest.mark.parametrize("model", ["auth_user", "auth_group"])
def test_org_admin_cannot_open_users_or_groups(world, login, model):
    client = login(world.org_admin)
    assert client.get(changelist(model)).status_code == 403
    assert client.get(reverse(f"admin:{model}_add")).status_code == 403


def test_org_admin_cannot_open_a_users_change_page(world, login):
    response = login(world.org_admin).get(change_url(world.leader.user))
    assert response.status_code == 403


def test_org_admin_sees_only_their_organizations_people(world, login):
    response = login(world.org_admin).get(changelist("people_person"))
    assert rows(response) == set(Person.objects.filter(organization=world.home))
    assert world.outsider.full_name.encode() not in response.content


def test_org_admin_sees_only_their_organizations_teams(world, login):
    response = login(world.org_admin).get(changelist("people_team"))
    assert rows(response) == {world.team_a, world.team_b}


def test_org_admin_sees_only_their_organization(world, login):
    response = login(world.org_admin).get(changelist("people_organization"))
    assert rows(response) == {world.home}


def test_org_admin_sees_only_their_organizations_role_grants(world, login):
    response = login(world.org_admin).get(changelist("people_rolegrant"))
    assert {grant.person.organization for grant in rows(response)} == {world.home}


@pytest.mark.parametrize("model", ["people_person", "people_rolegrant", "people_team"])
def test_org_admin_changelist_filters_do_not_name_other_organizations(world, login, model):
    response = login(world.org_admin).get(changelist(model))
    assert response.status_code == 200
    assert b"Elsewhere County" not in response.content
    assert b"MiiWrap Purveyor" not in response.content
    assert b">East<" not in response.content


@pytest.mark.parametrize("persona", ["outsider", "away_practitioner", "purveyor_admin"])
def test_org_admin_gets_another_organizations_person_as_not_found(world, login, persona):
    response = login(world.org_admin).get(change_url(getattr(world, persona)))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_org_admin_gets_another_organizations_team_as_not_found(world, login):
    response = login(world.org_admin).get(change_url(world.away_team))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_org_admin_cannot_change_another_organizations_person_by_post(world, login):
    client = login(world.org_admin)
    data = person_fields(world.home, first_name="Hijacked")
    client.post(change_url(world.away_practitioner), data)
    world.away_practitioner.refresh_from_db()
    assert world.away_practitioner.first_name == "Ari"


def test_org_admin_adds_a_person_in_their_organization(world, login):
    client = login(world.org_admin)
    response = client.post(
        reverse("admin:people_person_add"), person_fields(world.home, world.team_b)
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    person = Person.objects.get(email="nova@example.org")
    assert (person.organization, person.team) == (world.home, world.team_b)
    assert person.role_values() == ["practitioner"]
    assert person.user is None


@pytest.mark.parametrize("name", ["Nova\nBcc: x@example.org", "No\rva", "No\tva", "No\x85va"])
def test_a_name_with_a_line_break_or_control_character_is_refused(world, login, name):
    client = login(world.org_admin)
    data = person_fields(world.home, first_name=name)
    response = client.post(reverse("admin:people_person_add"), data)
    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["first_name"]
    assert "this field holds a single line of text" in error
    assert not Person.objects.filter(email="nova@example.org").exists()


def test_a_team_name_with_a_line_break_is_refused(world, login):
    url = reverse("admin:people_team_add")
    response = login(world.org_admin).post(url, {"organization": world.home.pk, "name": "W\nest"})
    assert "name" in response.context["adminform"].form.errors
    assert not Team.objects.filter(organization=world.home, name__startswith="W").exists()


def test_org_admin_add_form_offers_only_their_organization_and_teams(world, login):
    response = login(world.org_admin).get(reverse("admin:people_person_add"))
    form = response.context["adminform"].form
    assert set(form.fields["organization"].queryset) == {world.home}
    assert set(form.fields["team"].queryset) == {world.team_a, world.team_b}
    assert "user" not in form.fields


def test_org_admin_cannot_choose_another_organization(world, login):
    client = login(world.org_admin)
    response = client.post(reverse("admin:people_person_add"), person_fields(world.away))
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not Person.objects.filter(email="nova@example.org").exists()


def test_org_admin_cannot_choose_another_organizations_team(world, login):
    client = login(world.org_admin)
    data = person_fields(world.home, world.away_team)
    response = client.post(reverse("admin:people_person_add"), data)
    assert response.status_code == 200
    assert "team" in response.context["adminform"].form.errors
    assert not Person.objects.filter(email="nova@example.org").exists()


def test_a_team_from_another_organization_is_refused_even_for_the_purveyor(world, login):
    client = login(world.purveyor_admin)
    data = person_fields(world.home, world.away_team)
    response = client.post(reverse("admin:people_person_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["team"] == [
        "This team belongs to another organization."
    ]


def test_org_admin_is_not_offered_purveyor_admin(world, login):
    response = login(world.org_admin).get(change_url(world.practitioner))
    assert b'value="purveyor_admin"' not in response.content
    assert b'value="org_admin"' in response.content


def test_org_admin_cannot_grant_purveyor_admin(world, login):
    client = login(world.org_admin)
    url = change_url(world.leader)
    data = {**form_data(client.get(url)), "roles-1-role": "purveyor_admin"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert not RoleGrant.objects.filter(role="purveyor_admin", person=world.leader).exists()


def test_org_admin_saves_a_person_without_adding_a_role_by_accident(world, login):
    # The spare role row must start empty, as it does for the purveyor; otherwise a
    # browser posts its first choice and every save grants (or collides on) a role.
    client = login(world.org_admin)
    url = change_url(world.practitioner)
    response = client.get(url)
    spare_role = response.context["inline_admin_formsets"][0].formset.forms[-1]["role"]
    assert spare_role.field.choices[0] == ("", "---------")

    data = {**form_data(response), "job_title": "Youth partner"}
    assert client.post(url, data).status_code == 302
    world.practitioner.refresh_from_db()
    assert world.practitioner.job_title == "Youth partner"
    assert world.practitioner.role_values() == ["practitioner"]


def test_org_admin_grants_a_coach_role_at_home(world, login):
    client = login(world.org_admin)
    url = change_url(world.unassigned)
    data = {**form_data(client.get(url)), "roles-1-role": "coach"}
    assert client.post(url, data).status_code == 302
    assert world.unassigned.role_values() == ["coach", "practitioner"]


def test_org_admin_sees_the_login_but_cannot_relink_it(world, login):
    client = login(world.org_admin)
    url = change_url(world.practitioner)
    response = client.get(url)
    assert world.practitioner.user.username.encode() in response.content
    other = get_user_model().objects.create_user("spare", "s@example.org", "pw")
    client.post(url, {**form_data(response), "user": other.pk})
    world.practitioner.refresh_from_db()
    assert world.practitioner.user_id != other.pk


def test_org_admin_adds_a_team_only_in_their_organization(world, login):
    client = login(world.org_admin)
    url = reverse("admin:people_team_add")
    response = client.post(url, {"organization": world.away.pk, "name": "West"})
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert client.post(url, {"organization": world.home.pk, "name": "West"}).status_code == 302
    assert Team.objects.get(name="West").organization == world.home


def test_org_admin_cannot_delete_people(world, login):
    client = login(world.org_admin)
    url = reverse("admin:people_person_delete", args=[world.unassigned.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Person.objects.filter(pk=world.unassigned.pk).exists()


def test_org_admin_views_but_cannot_change_their_organization(world, login):
    client = login(world.org_admin)
    url = change_url(world.home)
    assert client.get(url).status_code == 200
    client.post(url, {"name": "Renamed", "slug": "renamed", "time_zone": "UTC"})
    world.home.refresh_from_db()
    assert world.home.name == "Riverbend Family Services"
    assert client.get(reverse("admin:people_organization_add")).status_code == 403


# Search and filters


def test_person_search_finds_by_name_email_and_staff_id(world, login):
    make_person(world.home, "practitioner", first_name="Sam", staff_id="RB-0042")
    client = login(world.purveyor_admin)

    def found(text):
        return {p.first_name for p in rows(client.get(changelist("people_person"), {"q": text}))}

    assert found("Otto") == {"Otto"}
    assert found(world.coach.email) == {"Cora"}
    assert found("RB-0042") == {"Sam"}


def test_org_admin_search_stays_at_home(world, login):
    response = login(world.org_admin).get(changelist("people_person"), {"q": "Otto"})
    assert rows(response) == set()


def test_person_changelist_filters_by_role(world, login):
    response = login(world.purveyor_admin).get(changelist("people_person"), {"role": "coach"})
    assert rows(response) == {world.coach, world.outsider}


def test_person_changelist_filters_by_organization_and_team(world, login):
    client = login(world.purveyor_admin)
    url = changelist("people_person")
    by_org = client.get(url, {"organization__id__exact": world.away.pk})
    assert rows(by_org) == {world.outsider, world.away_practitioner}
    by_team = client.get(url, {"team__id__exact": world.team_b.pk})
    assert rows(by_team) == {world.unassigned}


def test_person_changelist_filters_by_having_left(world, login):
    Person.objects.filter(pk=world.unassigned.pk).update(leave_date=dt.date(2024, 1, 1))
    client = login(world.org_admin)
    url = changelist("people_person")
    assert rows(client.get(url, {"leave_date__isempty": "0"})) == {world.unassigned}
    assert world.unassigned not in rows(client.get(url, {"leave_date__isempty": "1"}))


def test_team_search_matches_organization_name(world, login):
    response = login(world.purveyor_admin).get(changelist("people_team"), {"q": "Elsewhere"})
    assert rows(response) == {world.away_team}


def test_role_grant_changelist_filters_by_role(world, login):
    response = login(world.org_admin).get(changelist("people_rolegrant"), {"role": "leader"})
    assert {grant.person for grant in rows(response)} == {world.leader}


def test_organization_changelist_filters_purveyors(world, login):
    response = login(world.purveyor_admin).get(
        changelist("people_organization"), {"is_purveyor__exact": "1"}
    )
    assert rows(response) == {world.purveyor}

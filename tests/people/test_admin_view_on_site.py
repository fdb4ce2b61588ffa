"""The admin's "view on site" shortcut answers 404 for records the admin does not show."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from coaching.models import CoachAssignment
from miiwrap.people.models import Organization, Person


def shortcut(model, object_id):
    content_type = ContentType.objects.get_for_model(model)
    return reverse("admin:view_on_site", args=[content_type.pk, object_id])


def test_an_org_admin_is_sent_to_their_own_persons_page(world, login):
    response = login(world.org_admin).get(shortcut(Person, world.practitioner.pk))
    assert response.status_code == 302
    assert response.url.endswith(world.practitioner.get_absolute_url())


@pytest.mark.parametrize("object_id", ["away", "missing", "not-a-number"])
def test_an_org_admin_gets_the_same_404_for_others_and_missing_records(world, login, object_id):
    ids = {"away": world.away_practitioner.pk, "missing": 987654, "not-a-number": "x1"}
    response = login(world.org_admin).get(shortcut(Person, ids[object_id]))
    assert response.status_code == 404


def test_an_org_admin_gets_404_for_another_organizations_assignment(world, login):
    away = CoachAssignment.objects.get(practitioner=world.away_practitioner)
    own = CoachAssignment.objects.get(practitioner=world.practitioner)
    client = login(world.org_admin)
    assert client.get(shortcut(CoachAssignment, away.pk)).status_code == 404
    assert client.get(shortcut(CoachAssignment, own.pk)).status_code in {302, 404}


def test_a_model_the_admin_does_not_show_answers_404(world, login):
    # Organizations are the purveyor's to manage; an org admin's admin does not list them.
    response = login(world.org_admin).get(shortcut(Organization, world.home.pk))
    assert response.status_code == 404


def test_an_unknown_content_type_answers_404(world, login):
    url = reverse("admin:view_on_site", args=[999999, world.practitioner.pk])
    assert login(world.org_admin).get(url).status_code == 404


def test_the_purveyor_admin_is_sent_to_any_organizations_person(world, login):
    response = login(world.purveyor_admin).get(shortcut(Person, world.away_practitioner.pk))
    assert response.status_code == 302


def test_someone_without_the_admin_is_sent_to_sign_in(world, login):
    response = login(world.coach).get(shortcut(Person, world.practitioner.pk))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url

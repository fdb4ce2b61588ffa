"""The admin's "Import observations from CSV" page: who may use it, scope, and the report."""

from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.timezone import localtime

from observations import admin as observation_admin
from observations.models import Observation
from tests.observations.test_imports import csv_file, row_for

IMPORT = reverse("admin:observations_observation_import")
CHANGELIST = reverse("admin:observations_observation_changelist")


def upload(client, rows=None, content=None, **data):
    content = content if content is not None else csv_file(rows).getvalue()
    file = SimpleUploadedFile("observations.csv", content, content_type="text/csv")
    return client.post(IMPORT, {"file": file, **data})


@pytest.mark.parametrize("persona", ["purveyor_admin", "org_admin"])
def test_the_observation_list_links_to_the_import_page(world, login, persona):
    response = login(getattr(world, persona)).get(CHANGELIST)
    assert f'<a href="{IMPORT}">Import observations from CSV</a>'.encode() in response.content


@pytest.mark.parametrize("persona", ["coach", "leader", "practitioner"])
def test_people_who_do_not_use_the_admin_are_sent_to_its_sign_in(world, login, persona):
    response = login(getattr(world, persona)).get(IMPORT)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_purveyor_admin_imports_for_any_organization(world, login):
    rows = [
        row_for(world.practitioner, world.coach),
        row_for(world.away_practitioner, world.outsider),
    ]
    response = upload(login(world.purveyor_admin), rows)
    assert response.status_code == 200
    assert response.context["result"].created == 2
    assert b"Imported 2 of 2 rows." in response.content
    assert Observation.objects.count() == 2


def test_org_admin_imports_their_own_organization(world, login):
    response = upload(login(world.org_admin), [row_for(world.practitioner, world.coach)])
    assert response.context["result"].created == 1
    assert Observation.objects.get().practitioner == world.practitioner


def test_the_importer_is_recorded_and_shown_on_the_observation(world, login):
    upload(login(world.org_admin), [row_for(world.practitioner, world.coach)])
    observation = Observation.objects.get()
    created = observation.history.get()
    assert (created.history_type, created.history_user) == ("+", world.org_admin.user)
    assert created.history_change_reason == "Imported from a CSV file"
    page = login(world.coach).get(observation.get_absolute_url()).content.decode()
    when = f"{localtime(created.history_date, ZoneInfo(world.home.time_zone)):%Y-%m-%d}"
    assert f"by {world.org_admin.full_name} on {when}" in page


def test_org_admin_cannot_name_people_of_another_organization(world, login):
    rows = [
        row_for(world.practitioner, world.coach),
        row_for(world.away_practitioner, world.outsider),
    ]
    response = upload(login(world.org_admin), rows)
    assert response.context["result"].errors == [
        (
            3,
            f"practitioner: nobody in your organization has the email "
            f"{world.away_practitioner.email}; check it.",
        ),
        (3, f"coach: nobody in your organization has the email {world.outsider.email}; check it."),
    ]
    assert b"2 problems found; nothing was imported." in response.content
    assert b"<tr><td>3</td><td>practitioner: nobody in your organization" in response.content
    assert not Observation.objects.exists()


def test_outsider_org_admin_cannot_import_into_home(world, login):
    response = upload(login(world.outsider), [row_for(world.practitioner, world.coach)])
    assert not response.context["result"].ok
    assert not Observation.objects.exists()


def test_a_second_upload_of_the_same_file_adds_nothing(world, login):
    client = login(world.org_admin)
    rows = [row_for(world.practitioner, world.coach)]
    upload(client, rows)
    response = upload(client, rows)
    assert (
        b"Imported 0 of 1 rows; 1 skipped (imported before or meanwhile, or repeated in the file)."
        in (response.content)
    )
    assert Observation.objects.count() == 1


def test_checking_only_saves_nothing(world, login):
    response = upload(
        login(world.org_admin), [row_for(world.practitioner, world.coach)], dry_run="on"
    )
    assert b"The file is ready: 1 of 1 rows would be imported. Nothing was saved." in (
        response.content
    )
    assert not Observation.objects.exists()


def test_a_file_that_is_not_csv_is_explained(world, login):
    response = upload(login(world.org_admin), content=b"\x89PNG\r\n\x1a\n\x00")
    assert response.status_code == 200
    assert b"1 problem found; nothing was imported." in response.content
    assert b"The file is not UTF-8 text." in response.content


def test_no_file_is_a_form_error(world, login):
    response = login(world.org_admin).post(IMPORT, {})
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": ["This field is required."]}
    assert response.context["result"] is None


def test_a_long_report_is_cut_and_says_how_much_is_left(world, login, monkeypatch):
    monkeypatch.setattr(observation_admin.ObservationAdmin, "errors_shown", 2)
    good = row_for(world.practitioner, world.coach)
    rows = [{**good, "date": f"bad-{n}"} for n in range(5)]
    response = upload(login(world.org_admin), rows)
    assert len(response.context["errors_shown"]) == 2
    assert b"and 3 more" in response.content

"""Bad input found on the pages and in the admin: each now a 4xx or a form error, never a 500."""

import pytest
from django.test import Client

BIG = str(2**63)


@pytest.fixture
def as_person(world):
    def sign_in(person):
        client = Client(raise_request_exception=False)
        client.force_login(person.user)
        return client

    return sign_in


# NUL refused at the edge


def test_a_nul_in_the_path_is_a_400_even_signed_out(world):
    response = Client(raise_request_exception=False).get("/verify/%00/")
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_nul_in_the_query_string_is_a_400(world, as_person):
    response = as_person(world.leader).get("/observations/", {"practitioner": "Pat\x00"})
    assert response.status_code == 400


def test_a_nul_in_an_admin_autocomplete_search_is_a_400(world, as_person):
    query = {
        "term": "a\x00",
        "app_label": "coaching",
        "model_name": "coachassignment",
        "field_name": "coach",
    }
    response = as_person(world.purveyor_admin).get("/admin/autocomplete/", query)
    assert response.status_code == 400


def test_a_nul_in_a_posted_form_is_a_400(world):
    client = Client(raise_request_exception=False)
    response = client.post("/accounts/login/", {"username": "x\x00", "password": "y"})
    assert response.status_code == 400


def test_a_nul_free_request_passes(world, as_person):
    assert as_person(world.leader).get("/observations/", {"practitioner": "Pat"}).status_code == 200


# Ids: ASCII digits within a bigint, everywhere


@pytest.mark.parametrize("name", ["practitioner", "coach"])
@pytest.mark.parametrize("value", ["²", "٣", BIG, "9" * 40])
def test_a_person_filter_with_a_non_id_searches_by_text(world, as_person, name, value):
    response = as_person(world.leader).get("/observations/", {name: value})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/admin/certification/reminderrule/?whose=²",
        f"/admin/certification/reminderrule/?whose={BIG}",
        "/admin/certification/reminderrule/add/?replaces=²",
        f"/admin/certification/reminderrule/add/?replaces={BIG}",
        "/admin/certification/reminderrule/add/?program=²",
    ],
)
def test_reminder_rule_pages_ignore_a_non_id(world, as_person, url):
    assert as_person(world.purveyor_admin).get(url).status_code == 200


@pytest.mark.parametrize("value", ["²", BIG, "9" * 40, "1e999"])
def test_an_autocomplete_field_with_a_non_id_is_a_form_error(world, as_person, value):
    data = {"coach": value, "practitioner": "", "starts_on": "2025-01-01", "ends_on": ""}
    client = as_person(world.purveyor_admin)
    response = client.post("/admin/coaching/coachassignment/add/", data)
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content


def test_a_many_to_many_field_with_a_huge_id_is_a_form_error(world, as_person):
    client = as_person(world.purveyor_admin)
    response = client.post("/admin/auth/group/add/", {"name": "G", "permissions": [BIG]})
    assert response.status_code == 200
    assert b"is not a valid value" in response.content


@pytest.mark.parametrize("value", [BIG, "9" * 40, "0", "²", "10000"])
def test_a_date_hierarchy_year_out_of_reach_is_a_400(world, as_person, value):
    client = as_person(world.purveyor_admin)
    response = client.get("/admin/observations/observation/", {"observed_on__year": value})
    assert response.status_code == 400
    assert b"not a year this list can show" in response.content


def test_a_date_hierarchy_day_in_reach_is_shown(world, as_person):
    client = as_person(world.purveyor_admin)
    query = {"observed_on__year": "2025", "observed_on__month": "6", "observed_on__day": "1"}
    assert client.get("/admin/observations/observation/", query).status_code == 200


# Dates within a window the dashboards' month arithmetic handles


@pytest.mark.parametrize(
    "query",
    [
        {"end": "9999-12-01"},
        {"start": "", "end": "0001-01-15"},
        {"start": "0002-01-01", "end": "0002-12-31"},
        {"start": "2025-01-01", "end": "2201-01-01"},
    ],
)
def test_a_dashboard_range_out_of_the_window_is_a_400_that_says_so(world, as_person, query):
    response = as_person(world.leader).get("/dashboards/", query)
    assert response.status_code == 400
    assert "Choose a date between 1900 and 2200" in response.content.decode()


def test_a_dashboard_range_still_refuses_a_backward_range(world, as_person):
    response = as_person(world.leader).get(
        "/dashboards/", {"start": "2025-06-01", "end": "2025-01-01"}
    )
    assert response.status_code == 400
    assert "The start must be on or before the end" in response.content.decode()


@pytest.mark.parametrize("name", ["date_from", "date_to"])
def test_an_observation_date_filter_far_away_is_a_form_error(world, as_person, name):
    response = as_person(world.leader).get("/observations/", {name: "0001-01-01"})
    assert response.status_code == 200
    assert "Choose a date between 1900 and 2200" in response.content.decode()


def test_an_observation_date_range_must_run_forward(world, as_person):
    query = {"date_from": "2025-06-01", "date_to": "2025-01-01"}
    response = as_person(world.leader).get("/observations/", query)
    assert response.status_code == 200
    assert "The start must be on or before the end" in response.content.decode()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0000-01", "Choose a date between 1900 and 2200"),
        ("9999-12", "Choose a date between 1900 and 2200"),
        ("\u0662\u0660\u0662\u0665-\u0660\u0661", "is not a month such as 2027-05"),  # Arabic-Indic
    ],
)
def test_a_roster_month_far_away_or_in_other_digits_is_a_form_error(world, as_person, value, error):
    response = as_person(world.leader).get("/certification/practitioner/", {"expires": value})
    assert response.status_code == 200
    assert error in response.content.decode()


# The authenticator devices' admin (django-otp's own pages)


@pytest.mark.parametrize("page", ["config", "qrcode"])
@pytest.mark.parametrize("pk", ["1", "999999", BIG])
def test_a_devices_secret_pages_refuse_rather_than_fail(world, as_person, page, pk):
    """Its own views look the device up with get(), a 500 for an unknown id; and a device's
    secret is for its owner to see once, at set-up, never for an admin."""
    from django.contrib.auth import get_user_model

    superuser = get_user_model().objects.create_superuser("root", "root@example.org", "x")
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get(f"/admin/otp_totp/totpdevice/{pk}/{page}/")
    assert response.status_code in {403, 404}

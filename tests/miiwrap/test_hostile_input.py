"""The hostile-input sweep: every page, as one person of each kind of access, answers bad
values in its path, its parameters and its forms, and the CSV import, with no 5xx.

On CI it runs a sample (one hostile value per page and person, rotating so every value is
used); `manage.py sweep_hostile_input` runs the full matrix.
"""

import re
import time

import pytest
from django.contrib.sessions.models import Session

from miiwrap import sweep

SAMPLE = 1

# The sweep reads the database only through its module-wide fixture; the mark tells
# pytest-django to set the test database up even when one test is run alone. The sweep
# signs in and posts outside any test's transaction, so the shared demo world is rebuilt
# for any reader after it (tests/conftest.py, DemoWorld).
pytestmark = [pytest.mark.django_db, pytest.mark.changes_demo_world]


@pytest.fixture(scope="module")
def swept(demo_seeded, django_db_blocker):
    """The sample sweep, run once over the demo world."""
    with django_db_blocker.unblock():
        started = time.monotonic()
        personas = sweep.personas()
        row, importer = sweep.import_sample(), personas.get("purveyor_admin")
        result = sweep.Sweep(personas, sample=SAMPLE, import_row=row).run()
        imported = sweep.sweep_import(row, importer=importer)
        seconds = time.monotonic() - started
    print(
        f"\nhostile-input sample: {result.pages} URL patterns × {len(personas)} personas × "
        f"{SAMPLE} of {len(sweep.HOSTILE)} values; {len(result.parameters)} parameters, "
        f"{len(result.form_fields)} form fields; {result.requests} requests and "
        f"{imported[0]} import rows in {seconds:.0f} s; {len(result.failures)} 5xx"
    )
    yield personas, result, imported
    with django_db_blocker.unblock():
        # The personas' sessions were saved outside any test's transaction.
        Session.objects.all().delete()


def test_no_page_answers_a_hostile_value_with_a_5xx(swept):
    _, result, _ = swept
    assert result.failures == []


def test_no_import_cell_crashes_the_import(swept):
    _, _, (tried, failures) = swept
    assert failures == []
    assert tried == len(sweep.import_sample()) * len(sweep.HOSTILE)


def test_one_person_of_each_kind_of_access_is_swept(swept):
    personas, _, _ = swept
    assert list(personas) == ["anonymous", *sweep.ROLES]


def test_the_sweep_reaches_pages_with_real_arguments(swept):
    _, result, _ = swept
    assert result.pages > 150  # the admin's included
    assert result.reached > 3 * result.pages  # about three of the six personas a page


@pytest.mark.parametrize(
    ("route", "name"),
    [
        ("observations/", "practitioner"),  # declared by the view's filter
        ("observations/new/", "rubric"),  # declared by the view
        ("dashboards/", "end"),  # the leader dashboard's form
        ("admin/certification/reminderrule/", "whose"),  # an admin filter, from its links
        ("admin/observations/observation/", "q"),  # the admin's search
        ("admin/autocomplete/", "term"),  # asked as the coach assignment's widgets ask
        ("events/", "kind"),  # declared by the events list
    ],
)
def test_declared_and_linked_parameters_get_hostile_values(swept, route, name):
    _, result, _ = swept
    assert (route, name) in result.parameters


def test_the_admin_autocomplete_is_asked_as_its_widgets_ask(swept):
    _, result, _ = swept
    assert "admin/autocomplete/" in result.answered  # not refused for want of a widget


def test_the_import_upload_page_gets_hostile_files(swept):
    _, result, _ = swept
    assert ("/admin/observations/observation/import/", "dry_run") in result.form_fields
    assert ("/admin/community/attendance/import/", "dry_run") in result.form_fields


@pytest.mark.parametrize(
    ("action", "name"),
    [
        (r"/events/new/", "title"),  # an event's form
        (r"/events/\d+/edit/", "title"),  # reached through a real event's page
        (r"/events/\d+/attendance/", "add"),
    ],
)
def test_the_events_forms_get_hostile_values(swept, action, name):
    _, result, _ = swept
    assert any(re.fullmatch(action, a) and n == name for a, n in result.form_fields)


def test_the_sweep_catches_each_kind_of_crash(db, settings):
    settings.ROOT_URLCONF = "tests.miiwrap.sweep_urls"
    result = sweep.Sweep({"anonymous": None}).run()
    crashed = {(method, url.split("?")[0]) for _, method, url, _, _ in result.failures}
    assert {("GET", "/number/"), ("GET", "/code/%C2%B2/"), ("POST", "/form/")} <= crashed
    assert all(status == 500 for *_, status, _ in result.failures)
    assert all("ValueError" in cause for *_, cause in result.failures)


def test_an_int_argument_is_matched_by_digits_only():
    """Else "/events/new/" would be taken for the event page of an event called "new",
    and the pages under a real event never reached."""
    page = sweep.Page("events/<int:pk>/", "event", None)
    assert page.matches("/events/12/") and not page.matches("/events/new/")
    assert sweep.Page("code/<str:code>/", "code", None).matches("/code/new/")


def test_a_sample_rotates_through_every_hostile_value():
    chosen = sweep.Sweep({}, sample=SAMPLE)
    used = {value for index in range(len(sweep.HOSTILE)) for value in chosen.values_for(index)}
    assert used == set(sweep.HOSTILE)

"""Calibration cases, rounds and attempts in the admin: the purveyor's alone."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from observations import services
from observations.admin import master_code_url
from observations.models import (
    CalibrationAssignment,
    CalibrationAttempt,
    CalibrationCase,
    CalibrationRound,
)
from tests.factories import full_scores, make_person, rubric_version
from tests.observations.calibration_data import attempt_save, make_case, make_round, master_code

CASE_ADD = reverse("admin:observations_calibrationcase_add")
ROUND_ADD = reverse("admin:observations_calibrationround_add")
MODELS = ["calibrationcase", "calibrationround", "calibrationattempt"]


def url(model, page, *args):
    return reverse(f"admin:observations_{model}_{page}", args=args)


def change_url(obj):
    return url(obj._meta.model_name, "change", obj.pk)


def token(client, add_url):
    return client.get(add_url).context["adminform"].form["form_token"].value()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def purveyor(world, login):
    return login(world.purveyor_admin)


def case_fields(version, **overrides):
    return {
        "title": "Home visit, week 3",
        "description": "",
        "rubric_version": version.pk,
        "recording_url": "https://recordings.example.org/visit-3",
        "consent_on": "2026-01-05",
        "consent_note": "Mother signed; form in the binder.",
        "retain_until": "2027-01-05",
        "is_active": "on",
        **overrides,
    }


def round_fields(*cases, **overrides):
    return {
        "name": "Spring calibration",
        "opens_on": "2026-02-01",
        "due_on": "2026-03-01",
        "cases": [case.pk for case in cases],
        "assignments-TOTAL_FORMS": "0",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
        **overrides,
    }


def errors(response):
    """Every error the admin form shows, field and non-field, as one list of texts."""
    form = response.context["adminform"].form
    return [text for texts in form.errors.values() for text in texts]


# Cases ------------------------------------------------------------------------------------------


def test_purveyor_adds_a_case_with_an_uploaded_transcript(world, purveyor, version, media):
    upload = SimpleUploadedFile("visit 3.txt", b"C: How was the week?", "text/plain")
    data = case_fields(version, transcript=upload, form_token=token(purveyor, CASE_ADD))
    response = purveyor.post(CASE_ADD, data)
    assert response.status_code == 302
    case = CalibrationCase.objects.get()
    assert (case.title, case.rubric_version, case.consent_on) == (
        "Home visit, week 3",
        version,
        dt.date(2026, 1, 5),
    )
    stored = Path(case.transcript.path)
    assert stored.is_relative_to(media / "calibration")
    assert stored.read_bytes() == b"C: How was the week?"
    assert case.history.get().history_user == world.purveyor_admin.user


def test_the_case_page_names_the_transcript_without_linking_into_storage(purveyor, version, media):
    case = make_case(version)
    case.transcript.save("visit-3.txt", ContentFile(b"text"))
    page = purveyor.get(change_url(case)).content.decode()
    assert "visit-3.txt" in page
    assert case.transcript.name not in page  # the stored path, linked as media by Django
    assert 'name="transcript-clear"' in page


def test_a_case_added_twice_is_one_case(purveyor, version, media):
    data = case_fields(version, form_token=token(purveyor, CASE_ADD))
    first, second = purveyor.post(CASE_ADD, data), purveyor.post(CASE_ADD, data)
    case = CalibrationCase.objects.get()
    assert first.status_code == second.status_code == 302
    assert second.url == change_url(case)


def test_only_published_rubric_versions_are_offered(purveyor, version):
    draft = services.rubric_version_copy(version=version)
    offered = purveyor.get(CASE_ADD).context["adminform"].form.fields["rubric_version"]
    assert version in offered.queryset
    assert draft not in offered.queryset
    response = purveyor.post(CASE_ADD, case_fields(draft, form_token=token(purveyor, CASE_ADD)))
    assert response.status_code == 200
    assert "Select a valid choice" in errors(response)[0]
    assert not CalibrationCase.objects.exists()


def test_keeping_a_case_until_before_the_consent_is_a_form_error(purveyor, version):
    data = case_fields(version, retain_until="2026-01-04", form_token=token(purveyor, CASE_ADD))
    response = purveyor.post(CASE_ADD, data)
    assert response.status_code == 200
    assert errors(response) == ["Keep the case until a day on or after the consent."]
    assert not CalibrationCase.objects.exists()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "²"])
def test_a_date_out_of_reach_is_a_form_error(purveyor, version, day):
    data = case_fields(version, consent_on=day, form_token=token(purveyor, CASE_ADD))
    response = purveyor.post(CASE_ADD, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["consent_on"]


def test_a_transcript_with_a_very_long_name_is_a_form_error(purveyor, version, media):
    upload = SimpleUploadedFile("x" * 200 + ".txt", b"text")
    data = case_fields(version, transcript=upload, form_token=token(purveyor, CASE_ADD))
    response = purveyor.post(CASE_ADD, data)
    assert response.status_code == 200
    assert errors(response) == ["Shorten the file's name to 150 characters or fewer."]
    assert not list(media.iterdir())


def test_the_master_code_is_only_read_here_and_linked_to_its_own_page(world, purveyor, version):
    case = master_code(make_case(version), world.purveyor_admin)
    response = purveyor.get(change_url(case))
    form = response.context["adminform"].form
    assert not {"master_scores", "rationale", "master_coder", "rubric_version"} & set(form.fields)
    assert f'href="{master_code_url(case)}"' in response.content.decode()
    assert master_code_url(case) == f"/observations/calibration/cases/{case.pk}/master/"
    data = {**case_fields(version), "master_scores": "{}", "title": "Renamed"}
    assert purveyor.post(change_url(case), data).status_code == 302
    case.refresh_from_db()
    assert case.title == "Renamed"
    assert case.master_scores == full_scores(version, rating=2)


def test_a_new_case_asks_to_be_saved_before_it_is_master_coded(purveyor):
    assert "Save the case first" in purveyor.get(CASE_ADD).content.decode()


def test_a_replaced_transcript_is_deleted_once_saved(
    purveyor, version, media, django_capture_on_commit_callbacks
):
    case = make_case(version)
    case.transcript.save("first.txt", ContentFile(b"first"))
    old = Path(case.transcript.path)
    upload = SimpleUploadedFile("second.txt", b"second")
    with django_capture_on_commit_callbacks(execute=True):
        response = purveyor.post(change_url(case), case_fields(version, transcript=upload))
    assert response.status_code == 302
    case.refresh_from_db()
    assert Path(case.transcript.path).read_bytes() == b"second"
    assert not old.exists()


def test_a_cleared_transcript_is_deleted_once_saved(
    purveyor, version, media, django_capture_on_commit_callbacks
):
    case = make_case(version)
    case.transcript.save("first.txt", ContentFile(b"first"))
    old = Path(case.transcript.path)
    with django_capture_on_commit_callbacks(execute=True):
        purveyor.post(change_url(case), case_fields(version, **{"transcript-clear": "on"}))
    case.refresh_from_db()
    assert case.transcript.name == ""
    assert not old.exists()


def test_a_deleted_case_takes_its_transcript_with_it(
    purveyor, version, media, django_capture_on_commit_callbacks
):
    case = make_case(version)
    case.transcript.save("first.txt", ContentFile(b"first"))
    stored = Path(case.transcript.path)
    with django_capture_on_commit_callbacks(execute=True):
        response = purveyor.post(url("calibrationcase", "delete", case.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not CalibrationCase.objects.exists()
    assert not stored.exists()


def test_after_its_material_went_a_case_takes_no_new_material(purveyor, version, media):
    case = make_case(version, recording_url="https://recordings.example.org/1")
    services.calibration_material_expire(dt.date(2027, 2, 1))
    form = purveyor.get(change_url(case)).context["adminform"].form
    assert not {"recording_url", "transcript", "retain_until"} & set(form.fields)
    assert {"title", "consent_note", "is_active"} <= set(form.fields)


# Rounds -----------------------------------------------------------------------------------------


@pytest.fixture
def case(version, world):
    return master_code(make_case(version), world.purveyor_admin)


def test_purveyor_adds_a_round_assigning_an_organizations_coaches(world, purveyor, case):
    second = make_person(world.home, "coach")
    make_person(world.home, "coach", leave_date=dt.date(2021, 1, 1))  # left
    data = round_fields(case, organizations=[world.home.pk], form_token=token(purveyor, ROUND_ADD))
    assert purveyor.post(ROUND_ADD, data).status_code == 302
    made = CalibrationRound.objects.get()
    assert list(made.cases.all()) == [case]
    assert made.created_by == world.purveyor_admin
    assigned = CalibrationAssignment.objects.filter(round=made)
    assert {a.coach for a in assigned} == {world.coach, second}
    assert {a.assigned_by for a in assigned} == {world.purveyor_admin}


def test_a_round_assigns_coaches_by_name_and_by_organization_once_each(world, purveyor, case):
    data = round_fields(
        case,
        coaches=[world.coach.pk, world.outsider.pk],
        organizations=[world.home.pk],
        form_token=token(purveyor, ROUND_ADD),
    )
    purveyor.post(ROUND_ADD, data)
    coaches = CalibrationAssignment.objects.values_list("coach", flat=True)
    assert sorted(coaches) == sorted([world.coach.pk, world.outsider.pk])


def test_a_round_posted_twice_is_one_round_with_one_set_of_assignments(world, purveyor, case):
    data = round_fields(case, organizations=[world.home.pk], form_token=token(purveyor, ROUND_ADD))
    first, second = purveyor.post(ROUND_ADD, data), purveyor.post(ROUND_ADD, data)
    made = CalibrationRound.objects.get()
    assert first.status_code == second.status_code == 302
    assert second.url == change_url(made)
    assert CalibrationAssignment.objects.count() == 1


def test_a_round_changed_twice_keeps_one_assignment_each(world, purveyor, case):
    made = make_round(case, coaches=[world.coach])
    data = round_fields(case, organizations=[world.home.pk, world.away.pk])
    data["assignments-INITIAL_FORMS"] = data["assignments-TOTAL_FORMS"] = "1"
    data["assignments-0-id"] = str(made.assignments.get().pk)
    data["assignments-0-round"] = str(made.pk)
    for _ in range(2):
        assert purveyor.post(change_url(made), data).status_code == 302
    coaches = CalibrationAssignment.objects.values_list("coach", flat=True)
    assert sorted(coaches) == sorted([world.coach.pk, world.outsider.pk])


def test_only_current_coaches_and_active_cases_are_offered(world, purveyor, case, version):
    retired = make_case(version, title="Retired", is_active=False)
    left = make_person(world.home, "coach", leave_date=dt.date(2021, 1, 1))
    form = purveyor.get(ROUND_ADD).context["adminform"].form
    assert set(form.fields["coaches"].queryset) == {world.coach, world.outsider}
    assert left not in form.fields["coaches"].queryset
    assert list(form.fields["cases"].queryset) == [case]
    # A case already in a round stays offered there after it is retired.
    made = make_round(case, retired)
    form = purveyor.get(change_url(made)).context["adminform"].form
    assert set(form.fields["cases"].queryset) == {case, retired}


def test_a_non_coach_cannot_be_chosen(world, purveyor, case):
    data = round_fields(
        case, coaches=[world.practitioner.pk], form_token=token(purveyor, ROUND_ADD)
    )
    response = purveyor.post(ROUND_ADD, data)
    assert response.status_code == 200
    assert "Select a valid choice" in errors(response)[0]
    assert not CalibrationRound.objects.exists()


def test_a_round_due_before_it_opens_is_a_form_error(purveyor, case):
    data = round_fields(case, due_on="2026-01-31", form_token=token(purveyor, ROUND_ADD))
    response = purveyor.post(ROUND_ADD, data)
    assert response.status_code == 200
    assert errors(response) == ["The round must be due on or after the day it opens."]
    assert not CalibrationRound.objects.exists()


@pytest.mark.parametrize("value", [str(2**63), "²", "-1"])
def test_an_impossible_id_among_the_choices_is_a_form_error(purveyor, case, value):
    for name in ("cases", "coaches", "organizations"):
        data = round_fields(case, **{name: [value]}, form_token=token(purveyor, ROUND_ADD))
        response = purveyor.post(ROUND_ADD, data)
        assert response.status_code == 200, name
        assert response.context["adminform"].form.errors[name]


def test_the_round_page_lists_its_assignments_read_only(world, purveyor, case):
    made = make_round(case, coaches=[world.coach, world.outsider])
    response = purveyor.get(change_url(made))
    [inline] = response.context["inline_admin_formsets"]
    assert not inline.has_add_permission and not inline.has_change_permission
    assert not inline.has_delete_permission
    page = response.content.decode()
    assert "Riverbend Family Services" in page and "Elsewhere County" in page


def test_the_round_list_counts_cases_and_coaches(world, purveyor, case, version):
    make_round(case, make_case(version, title="Second"), coaches=[world.coach])
    [row] = purveyor.get(url("calibrationround", "changelist")).context["cl"].result_list
    assert (row.case_count, row.coach_count) == (2, 1)


# Attempts ---------------------------------------------------------------------------------------


def submitted_attempts(world, case, how_many):
    made = make_round(case)
    for _ in range(how_many):
        coach = make_person(world.home, "coach")
        services.calibration_round_assign(round=made, coaches=[coach])
        attempt_save(made, case, coach, full_scores(case.rubric_version, rating=3))


def test_purveyor_reads_submitted_attempts_with_the_share_within_one(world, purveyor, case):
    made = make_round(case, coaches=[world.coach])
    version = case.rubric_version
    attempt_save(made, case, world.coach, {**full_scores(version, rating=2), "ep-voice": 0})
    response = purveyor.get(url("calibrationattempt", "changelist"))
    assert [a.coach for a in response.context["cl"].result_list] == [world.coach]
    assert "94% (16 of 17)" in response.content.decode()


def test_attempts_are_read_only(world, purveyor, case):
    made = make_round(case, coaches=[world.coach])
    attempt = attempt_save(made, case, world.coach, full_scores(case.rubric_version))
    response = purveyor.get(change_url(attempt))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert purveyor.get(url("calibrationattempt", "add")).status_code == 403
    assert purveyor.post(url("calibrationattempt", "delete", attempt.pk)).status_code == 403
    assert CalibrationAttempt.objects.filter(pk=attempt.pk).exists()


def queries_for(client, page):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    return len(queries)


def test_each_calibration_list_takes_as_many_queries_for_three_rows_as_for_one(
    world, purveyor, case, version
):
    lists = [url(model, "changelist") for model in MODELS]
    submitted_attempts(world, case, 1)
    one = [queries_for(purveyor, page) for page in lists]
    for title in ("Second", "Third"):
        make_round(make_case(version, title=title), coaches=[world.coach])
    submitted_attempts(world, case, 2)
    assert CalibrationCase.objects.count() == CalibrationAttempt.objects.count() == 3
    assert CalibrationRound.objects.count() == 4
    assert [queries_for(purveyor, page) for page in lists] == one


# Organization admins see none of it ---------------------------------------------------------------


@pytest.fixture
def every_page(world, case):
    made = make_round(case, coaches=[world.coach, world.outsider])
    attempt = attempt_save(made, case, world.outsider, full_scores(case.rubric_version))
    records = {"calibrationcase": case, "calibrationround": made, "calibrationattempt": attempt}
    pages = []
    for model, record in records.items():
        pages += [url(model, "changelist"), url(model, "add")]
        pages += [url(model, page, record.pk) for page in ("change", "history", "delete")]
    return pages


@pytest.mark.parametrize("persona", ["org_admin", "outsider"])
def test_an_organization_admin_gets_no_calibration_admin_page(world, login, every_page, persona):
    # The outsider administers their organization, coaches, and is assigned to the round.
    client = login(getattr(world, persona))
    for page in every_page:
        assert client.get(page).status_code in (403, 404), page
        assert client.post(page, {"title": "Changed", "post": "yes"}).status_code in (403, 404)
    assert CalibrationCase.objects.get().title == "Home visit, week 3"
    assert CalibrationRound.objects.exists()


@pytest.mark.parametrize("persona", ["org_admin", "outsider"])
def test_an_organization_admin_cannot_reach_a_case_through_view_on_site(world, login, persona):
    case = make_case(rubric_version())
    content_type = ContentType.objects.get_for_model(CalibrationCase)
    page = reverse("admin:view_on_site", args=[content_type.pk, case.pk])
    assert login(getattr(world, persona)).get(page).status_code == 404


@pytest.mark.parametrize("persona", ["org_admin", "outsider"])
def test_an_organization_admin_is_not_shown_calibration_on_the_admin_index(world, login, persona):
    index = login(getattr(world, persona)).get(reverse("admin:index"))
    shown = {m["object_name"].lower() for app in index.context["app_list"] for m in app["models"]}
    assert shown and not set(MODELS) & shown
    assert not re.search(r"calibration", index.content.decode(), re.IGNORECASE)


def test_the_purveyor_is_shown_calibration_on_the_admin_index(world, purveyor):
    index = purveyor.get(reverse("admin:index"))
    shown = {m["object_name"].lower() for app in index.context["app_list"] for m in app["models"]}
    assert set(MODELS) <= shown


def test_a_recording_link_typed_without_its_scheme_is_read_as_https(purveyor, version):
    data = case_fields(version, recording_url="recordings.example.org/visit-3")
    purveyor.post(CASE_ADD, {**data, "form_token": token(purveyor, CASE_ADD)})
    assert CalibrationCase.objects.get().recording_url == "https://recordings.example.org/visit-3"


def test_the_purveyor_reads_the_history_of_each_calibration_record(world, purveyor, case):
    made = make_round(case, coaches=[world.coach])
    attempt = attempt_save(made, case, world.coach, full_scores(case.rubric_version))
    for record in (case, made, attempt):
        response = purveyor.get(url(record._meta.model_name, "history", record.pk))
        assert response.status_code == 200, record
        assert b'id="change-history"' in response.content

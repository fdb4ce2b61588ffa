"""Calibration services: the master code, assigning coaches, who may score a case, a
coach's attempt, and the daily removal of a case's material."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from observations import services
from observations.models import CalibrationAssignment, CalibrationAttempt, CalibrationCase
from tests.factories import full_scores, make_person
from tests.observations.calibration_data import (
    OPENS_ON,
    attempt_save,
    make_case,
    make_round,
    master_code,
)

TODAY = OPENS_ON + dt.timedelta(days=3)


def errors_of(call):
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value


@pytest.fixture
def case(version, world):
    return master_code(make_case(version), world.purveyor_admin)


@pytest.fixture
def round(case, world):
    return make_round(case, coaches=[world.coach])


# The master code ----------------------------------------------------------------------------


def test_master_coding_stores_scores_rationale_and_who(version, world):
    case = make_case(version)
    assert not case.is_master_coded
    master_code(case, world.purveyor_admin, rationale={"ep-voice": "Mother led.", "mi-open": ""})
    case.refresh_from_db()
    assert case.is_master_coded
    assert case.master_scores == full_scores(version, rating=2)
    assert case.rationale == {"ep-voice": "Mother led."}  # blank reasons are not kept
    assert case.master_coder == world.purveyor_admin


def test_master_coding_refuses_an_incomplete_code_item_by_item(version, world):
    case = make_case(version)
    scores = full_scores(version, rating=2)
    del scores["ep-voice"]
    scores["mi-open"] = 7
    error = errors_of(lambda: master_code(case, world.purveyor_admin, scores=scores))
    assert error.message_dict == {
        "item__ep-voice": ["Score this item."],
        "item__mi-open": ["Choose a rating from 0 to 3."],
    }
    case.refresh_from_db()
    assert (case.master_scores, case.master_coded_at) == ({}, None)


def test_recoding_compares_every_submitted_attempt_again(case, round, world):
    attempt = attempt_save(round, case, world.coach, full_scores(case.rubric_version))
    assert (attempt.items_exact, attempt.signed_difference) == (4, Decimal("1.000"))
    master_code(case, world.purveyor_admin, scores=full_scores(case.rubric_version))
    attempt.refresh_from_db()
    assert (attempt.items_compared, attempt.items_exact, attempt.items_within_one) == (17, 17, 17)
    assert (attempt.signed_difference, attempt.absolute_difference) == (0, 0)


def test_recoding_leaves_drafts_uncompared(case, round, world):
    draft = attempt_save(round, case, world.coach, {"ep-voice": 1}, submit=False)
    master_code(case, world.purveyor_admin, scores=full_scores(case.rubric_version))
    draft.refresh_from_db()
    assert draft.items_compared is None


def test_recoding_keeps_the_old_master_code_in_the_cases_history(case, world):
    version = case.rubric_version
    master_code(case, world.purveyor_admin, scores=full_scores(version, rating=1))
    kept = [row.master_scores for row in case.history.order_by("history_id")]
    assert kept[-2:] == [full_scores(version, rating=2), full_scores(version, rating=1)]


# Assigning coaches --------------------------------------------------------------------------


def test_assigning_twice_stores_one_assignment(case, world):
    made = make_round(case)
    first = services.calibration_round_assign(round=made, coaches=[world.coach], by=world.leader)
    again = services.calibration_round_assign(round=made, coaches=[world.coach, world.coach])
    assert len(first) == 1 and again == []
    assignment = CalibrationAssignment.objects.get(round=made)
    assert (assignment.coach, assignment.assigned_by) == (world.coach, world.leader)


def test_only_coaches_are_assigned(case, world):
    made = make_round(case)
    error = errors_of(
        lambda: services.calibration_round_assign(round=made, coaches=[world.practitioner])
    )
    assert "is not a coach" in error.messages[0]
    assert not made.assignments.exists()


# Who may score a case -----------------------------------------------------------------------


def problem(round, case, coach, today=TODAY):
    return services.calibration_problem(round=round, case=case, coach=coach, today=today)


def test_an_assigned_coach_may_score_a_master_coded_case_of_an_open_round(case, round, world):
    assert problem(round, case, world.coach) is None
    assert problem(round, case, world.coach, today=OPENS_ON) is None


def test_a_coach_not_assigned_may_not_score(case, round, world):
    other = make_person(world.home, "coach")
    assert problem(round, case, other) == "You are not assigned to this calibration round."


def test_a_case_outside_the_round_may_not_be_scored(case, round, world, version):
    elsewhere = master_code(make_case(version, title="Another"), world.purveyor_admin)
    assert problem(round, elsewhere, world.coach) == "This case is not part of the round."


def test_a_round_not_open_yet_may_not_be_scored(case, round, world):
    early = OPENS_ON - dt.timedelta(days=1)
    assert problem(round, case, world.coach, today=early) == "The round opens on 2026-02-01."


def test_a_case_without_a_master_code_may_not_be_scored(world, version):
    uncoded = make_case(version)
    made = make_round(uncoded, coaches=[world.coach])
    assert "no master code yet" in problem(made, uncoded, world.coach)


# A coach's attempt --------------------------------------------------------------------------


def test_a_draft_is_kept_incomplete_and_uncompared(case, round, world):
    draft = attempt_save(round, case, world.coach, {"ep-voice": 3}, submit=False)
    draft.refresh_from_db()
    assert (draft.status, draft.submitted_at, draft.items_compared) == ("draft", None, None)


def test_a_draft_refuses_an_impossible_score(case, round, world):
    error = errors_of(lambda: attempt_save(round, case, world.coach, {"ep-voice": 9}, False))
    assert error.message_dict == {"item__ep-voice": ["Choose a rating from 0 to 3."]}


def test_submitting_a_draft_compares_it_with_the_master_code(case, round, world):
    version = case.rubric_version
    draft = attempt_save(round, case, world.coach, {"ep-voice": 3}, submit=False)
    draft.scores = {**full_scores(version, rating=2), "ep-voice": 0, "mi-open": 3}
    services.calibration_attempt_save(attempt=draft, definition=version.definition(), submit=True)
    draft.refresh_from_db()
    assert draft.is_submitted and draft.submitted_at is not None
    # 17 items; two ratings off (by -2 and +1), the other eleven ratings and four yes/no agree.
    assert (draft.items_compared, draft.items_exact, draft.items_within_one) == (17, 15, 16)
    assert draft.signed_difference == Decimal("-0.077")  # -1/13
    assert draft.absolute_difference == Decimal("0.231")  # 3/13
    assert CalibrationAttempt.objects.count() == 1


def test_submitting_demands_every_required_item(case, round, world):
    scores = full_scores(case.rubric_version)
    del scores["ind-summary"]
    error = errors_of(lambda: attempt_save(round, case, world.coach, scores))
    assert error.message_dict == {"item__ind-summary": ["Score this item."]}
    assert not CalibrationAttempt.objects.exists()


def test_a_submitted_attempt_cannot_be_changed(case, round, world):
    version = case.rubric_version
    attempt = attempt_save(round, case, world.coach, full_scores(version))
    attempt.scores = full_scores(version, rating=2)
    for submit in (False, True):
        error = errors_of(
            lambda submit=submit: services.calibration_attempt_save(
                attempt=attempt, definition=version.definition(), submit=submit
            )
        )
        assert "already submitted" in error.messages[0]
    attempt.refresh_from_db()
    assert attempt.scores == full_scores(version)


def test_a_second_attempt_at_the_same_case_is_refused_not_a_crash(case, round, world):
    version = case.rubric_version
    first = attempt_save(round, case, world.coach, {"ep-voice": 1}, submit=False)
    error = errors_of(lambda: attempt_save(round, case, world.coach, full_scores(version)))
    assert "saved from another page" in error.messages[0]
    assert list(CalibrationAttempt.objects.all()) == [first]
    first.refresh_from_db()
    assert (first.status, first.scores) == ("draft", {"ep-voice": 1})


# Removing the material after its retention day -------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def with_material(case, text=b"C: How was the week?"):
    case.recording_url = "https://recordings.example.org/visit-3"
    case.transcript.save("visit 3.txt", ContentFile(text))
    return case


def test_material_past_its_retention_day_is_deleted(version, media):
    case = with_material(make_case(version, retain_until=dt.date(2027, 1, 5)))
    stored = Path(case.transcript.path)
    assert stored.read_bytes() == b"C: How was the week?"
    assert stored.is_relative_to(media / "calibration")
    assert services.calibration_material_expire(dt.date(2027, 1, 6)) == 1
    assert not stored.exists()
    case.refresh_from_db()
    assert (case.transcript.name, case.recording_url) == ("", "")
    assert case.material_removed_on == dt.date(2027, 1, 6)
    assert not case.material_kept_on(dt.date(2027, 1, 6))


def test_the_removal_is_in_the_cases_history(version, media):
    case = with_material(make_case(version, retain_until=dt.date(2027, 1, 5)))
    services.calibration_material_expire(dt.date(2027, 2, 1))
    latest = case.history.latest()
    assert (latest.transcript, latest.recording_url) == ("", "")
    assert latest.prev_record.recording_url == "https://recordings.example.org/visit-3"


def test_running_the_removal_twice_is_harmless(version, media):
    case = with_material(make_case(version, retain_until=dt.date(2027, 1, 5)))
    assert services.calibration_material_expire(dt.date(2027, 1, 6)) == 1
    assert services.calibration_material_expire(dt.date(2027, 1, 7)) == 0
    case.refresh_from_db()
    assert case.material_removed_on == dt.date(2027, 1, 6)


def test_a_file_already_gone_does_not_stop_the_removal(version, media):
    case = with_material(make_case(version, retain_until=dt.date(2027, 1, 5)))
    Path(case.transcript.path).unlink()
    assert services.calibration_material_expire(dt.date(2027, 1, 6)) == 1
    case.refresh_from_db()
    assert case.transcript.name == ""


def test_material_is_kept_through_its_retention_day(version, media):
    kept = with_material(make_case(version, retain_until=dt.date(2027, 1, 5)))
    later = with_material(make_case(version, title="Later", retain_until=dt.date(2028, 1, 5)))
    assert services.calibration_material_expire(dt.date(2027, 1, 5)) == 0
    for case in (kept, later):
        case.refresh_from_db()
        assert Path(case.transcript.path).exists()
        assert case.recording_url and case.material_removed_on is None
        assert case.material_kept_on(dt.date(2027, 1, 5))


def test_the_removal_keeps_the_master_code_and_the_case(version, world, media):
    case = master_code(with_material(make_case(version)), world.purveyor_admin)
    services.calibration_material_expire(dt.date(2028, 1, 1))
    case.refresh_from_db()
    assert case.master_scores == full_scores(version, rating=2)
    assert CalibrationCase.objects.filter(pk=case.pk, is_active=True).exists()


def test_a_file_that_cannot_be_deleted_is_logged_and_left_for_the_next_run(
    version, media, monkeypatch, caplog
):
    stuck = with_material(make_case(version, title="Stuck", retain_until=dt.date(2027, 1, 5)))
    other = with_material(make_case(version, title="Other", retain_until=dt.date(2027, 1, 5)))
    refused = {stuck.transcript.name}
    delete = FileSystemStorage.delete

    def refuse_some(storage, name):
        if name in refused:
            raise PermissionError(13, "Permission denied")
        return delete(storage, name)

    monkeypatch.setattr(FileSystemStorage, "delete", refuse_some)
    assert services.calibration_material_expire(dt.date(2027, 1, 6)) == 1
    assert f"calibration case {stuck.pk} was not removed" in caplog.text
    stuck.refresh_from_db()
    other.refresh_from_db()
    # The stuck case is not claimed, so the next run tries it again.
    assert (stuck.material_removed_on, stuck.recording_url != "") == (None, True)
    assert Path(stuck.transcript.path).exists()
    assert (other.material_removed_on, other.transcript.name) == (dt.date(2027, 1, 6), "")
    refused.clear()
    assert services.calibration_material_expire(dt.date(2027, 1, 7)) == 1
    assert not Path(stuck.transcript.path).exists()

"""The calibration pages: who opens which, the master code hidden until a coach submits,
the item-by-item comparison, the master-coding page, the transcript, query counts."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from observations.models import CalibrationAttempt, CalibrationCase
from tests.factories import full_scores, make_person, rubric_version
from tests.observations import calibration_data

WHY = "Uses the words of the family before any plan is offered"


def make_case(title="Home visit, week 3", coded=True, **fields):
    """A case kept for years, master coded at 2 on every rating with a reason for each."""
    version = rubric_version()
    fields.setdefault("retain_until", dt.date(2099, 1, 1))
    case = calibration_data.make_case(version, title=title, **fields)
    if coded:
        scores = full_scores(version, rating=2)
        rationale = {code: f"{WHY} ({code})" for code in scores}
        calibration_data.master_code(case, None, scores=scores, rationale=rationale)
    return case


def make_round(*cases, coaches=(), opens_on=dt.date(2024, 1, 1), name="Spring calibration"):
    return calibration_data.make_round(
        *cases, coaches=coaches, opens_on=opens_on, due_on=dt.date(2099, 1, 1), name=name
    )


def score_url(round, case):
    return reverse("observations:calibration_score", args=[round.pk, case.pk])


def item_data(version, scores, action="submit"):
    data = {f"item__{code}": str(value) for code, value in scores.items()}
    return {**data, "rubric_version": version.pk, "action": action}


@pytest.fixture
def setup(world):
    case = make_case()
    round = make_round(case, coaches=[world.coach])
    return case, round


def submit(client, round, case, rating=3):
    version = rubric_version()
    return client.post(score_url(round, case), item_data(version, full_scores(version, rating)))


# The list page ------------------------------------------------------------------------------

LIST = reverse("observations:calibration")


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "purveyor_admin", "outsider"])
def test_coaches_and_those_who_lead_them_open_the_list(world, login, setup, persona):
    assert login(getattr(world, persona)).get(LIST).status_code == 200


@pytest.mark.parametrize("persona", ["practitioner", "unassigned", "away_practitioner"])
def test_practitioners_get_404_on_the_list(world, login, setup, persona):
    assert login(getattr(world, persona)).get(LIST).status_code == 404


def test_a_coach_sees_their_cases_to_score_and_after_submitting_their_figure(world, login, setup):
    case, round = setup
    client = login(world.coach)
    page = client.get(LIST).content.decode()
    assert case.title in page and "To score" in page
    submit(client, round, case, rating=3)
    page = client.get(LIST).content.decode()
    assert "Submitted · 100 % of items within one point" in page


def test_a_leader_sees_their_coaches_results_and_an_outsider_does_not(world, login, setup):
    case, round = setup
    submit(login(world.coach), round, case, rating=0)
    page = login(world.leader).get(LIST).content.decode()
    assert world.coach.full_name in page and "2 points severe" in page
    page = login(world.outsider).get(LIST).content.decode()
    assert world.coach.full_name not in page and round.name not in page


def test_only_the_purveyor_sees_the_cases_and_their_master_code_state(world, login, setup):
    case, _ = setup
    make_case("Team meeting, uncoded", coded=False)
    page = login(world.purveyor_admin).get(LIST).content.decode()
    assert case.title in page and "Not yet: code it" in page
    assert "Team meeting, uncoded" not in login(world.leader).get(LIST).content.decode()


def test_the_list_reads_a_constant_number_of_queries(world, login, setup):
    client = login(world.coach)
    submit(client, *reversed(setup))
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for n in range(3):
        more = [make_case(f"Extra case {n}-{i}") for i in range(2)]
        extra = make_round(*more, coaches=[world.coach], name=f"Round {n}")
        submit(client, extra, more[0])
    with CaptureQueriesContext(connection) as many:
        assert client.get(LIST).status_code == 200
    assert len(many) == len(few)


# Scoring a case -------------------------------------------------------------------------------


def test_the_assigned_coach_scores_with_the_observation_widgets_and_no_master_code(
    world, login, setup
):
    case, round = setup
    response = login(world.coach).get(score_url(round, case))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="btn-check" name="item__' in page
    assert WHY not in page and "Master code" not in page
    assert case.consent_note not in page  # the purveyor's record, not the coach's business


@pytest.mark.parametrize("persona", ["leader", "org_admin", "purveyor_admin", "practitioner"])
def test_anyone_but_a_coach_gets_404_on_the_scoring_page(world, login, setup, persona):
    case, round = setup
    assert login(getattr(world, persona)).get(score_url(round, case)).status_code == 404


def test_a_coach_not_assigned_to_the_round_gets_404(world, login, setup):
    case, round = setup
    other = make_person(world.home, "coach", first_name="Nell")
    for person in (other, world.outsider):
        assert login(person).get(score_url(round, case)).status_code == 404


def test_a_case_outside_the_round_gets_404(world, login, setup):
    _, round = setup
    elsewhere = make_case("Not in this round")
    assert login(world.coach).get(score_url(round, elsewhere)).status_code == 404


def test_junk_ids_get_404(world, login, setup):
    client = login(world.coach)
    assert (
        client.get("/observations/calibration/rounds/99999999999999999999/cases/1/").status_code
        == 404
    )


def test_an_incomplete_submit_is_refused_and_keeps_what_was_entered(world, login, setup):
    case, round = setup
    version = rubric_version()
    scores = full_scores(version, rating=4)
    first, *rest = scores
    partial = {code: scores[code] for code in rest}
    response = login(world.coach).post(score_url(round, case), item_data(version, partial))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Not saved yet" in page and f'id="field-item__{first}" aria-invalid="true"' in page
    assert not CalibrationAttempt.objects.exists()
    assert WHY not in page


def test_a_draft_is_saved_and_the_master_code_stays_hidden(world, login, setup):
    case, round = setup
    version = rubric_version()
    client = login(world.coach)
    response = client.post(score_url(round, case), item_data(version, {}, action="draft"))
    assert response.status_code == 302
    attempt = CalibrationAttempt.objects.get()
    assert attempt.status == "draft" and attempt.items_compared is None
    assert WHY not in client.get(score_url(round, case)).content.decode()


def test_on_submit_the_coach_sees_each_item_beside_the_master_code_and_why(world, login, setup):
    case, round = setup
    client = login(world.coach)
    response = submit(client, round, case, rating=0)
    assert response.status_code == 302 and response.url == score_url(round, case)
    page = client.get(response.url).content.decode()
    assert WHY in page and "Master code" in page
    assert "2 points severe" in page and "Apart -2" in page
    attempt = CalibrationAttempt.objects.get()
    assert attempt.is_submitted and attempt.items_within_one < attempt.items_compared


def test_a_submit_sent_twice_stores_one_attempt_and_changes_nothing(world, login, setup):
    case, round = setup
    client = login(world.coach)
    submit(client, round, case, rating=2)
    again = submit(client, round, case, rating=0)
    assert again.status_code == 302
    attempt = CalibrationAttempt.objects.get()
    assert 0 not in attempt.scores.values()
    assert attempt.items_exact == attempt.items_compared


def test_before_the_round_opens_the_page_says_when_and_a_post_stores_nothing(world, login):
    case = make_case()
    later = timezone.localdate() + dt.timedelta(days=10)
    round = make_round(case, coaches=[world.coach], opens_on=later)
    client = login(world.coach)
    assert (
        f"The round opens on {later:%Y-%m-%d}"
        in client.get(score_url(round, case)).content.decode()
    )
    assert submit(client, round, case).status_code == 400
    assert not CalibrationAttempt.objects.exists()


def test_a_case_without_a_master_code_cannot_be_scored_yet(world, login):
    case = make_case(coded=False)
    round = make_round(case, coaches=[world.coach])
    client = login(world.coach)
    assert "no master code yet" in client.get(score_url(round, case)).content.decode()
    assert submit(client, round, case).status_code == 400


# Another's attempt ---------------------------------------------------------------------------


def attempt_url(attempt):
    return reverse("observations:calibration_attempt", args=[attempt.pk])


@pytest.fixture
def attempt(world, login, setup):
    submit(login(world.coach), *reversed(setup), rating=0)
    return CalibrationAttempt.objects.get()


def test_a_leader_reads_the_figures_but_never_the_master_code(world, login, attempt):
    page = login(world.leader).get(attempt_url(attempt)).content.decode()
    assert "Items within one point" in page and "2 points severe" in page
    assert WHY not in page and 'data-item="' not in page


def test_the_purveyor_reads_the_attempt_item_by_item(world, login, attempt):
    page = login(world.purveyor_admin).get(attempt_url(attempt)).content.decode()
    assert WHY in page and "Their score" in page


def test_a_coach_who_scored_the_case_too_may_read_anothers_comparison(world, login, attempt):
    page = login(world.coach).get(attempt_url(attempt))
    assert page.status_code == 302 and page.url == score_url(attempt.round, attempt.case)


@pytest.mark.parametrize("persona", ["outsider", "practitioner", "unassigned", "away_practitioner"])
def test_others_get_404_on_an_attempt(world, login, attempt, persona):
    assert login(getattr(world, persona)).get(attempt_url(attempt)).status_code == 404


def test_a_draft_attempt_is_nobody_elses_business(world, login, setup):
    case, round = setup
    version = rubric_version()
    login(world.coach).post(score_url(round, case), item_data(version, {}, action="draft"))
    draft = CalibrationAttempt.objects.get()
    for persona in ("leader", "purveyor_admin"):
        assert login(getattr(world, persona)).get(attempt_url(draft)).status_code == 404


# The purveyor's case and master-code pages ---------------------------------------------------


def case_url(case, name="calibration_case"):
    return reverse(f"observations:{name}", args=[case.pk])


@pytest.mark.parametrize("name", ["calibration_case", "calibration_master"])
@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "outsider", "practitioner"])
def test_only_the_purveyor_opens_a_case_and_its_master_code(world, login, setup, persona, name):
    case, _ = setup
    assert login(getattr(world, persona)).get(case_url(case, name)).status_code == 404
    assert login(world.purveyor_admin).get(case_url(case, name)).status_code == 200


def test_the_case_page_shows_the_master_code_consent_and_who_scored_it(world, login, attempt):
    page = login(world.purveyor_admin).get(case_url(attempt.case)).content.decode()
    assert WHY in page and attempt.case.consent_note in page and world.coach.full_name in page


def test_a_master_code_needs_every_item_and_a_reason_and_keeps_what_was_typed(world, login):
    case = make_case(coded=False)
    version = rubric_version()
    scores = full_scores(version, rating=2)
    data = item_data(version, scores)
    rated = next(item for item in version.items.all() if item.kind == "rating")
    data[f"why__{rated.code}"] = "Typed and kept"
    response = login(world.purveyor_admin).post(case_url(case, "calibration_master"), data)
    page = response.content.decode()
    assert response.status_code == 400 and "Typed and kept" in page
    assert "This field is required" in page
    case.refresh_from_db()
    assert not case.is_master_coded


def test_a_master_code_saved_compares_every_submitted_attempt_again(world, login, attempt):
    version = rubric_version()
    scores = full_scores(version, rating=0)
    data = item_data(version, scores)
    data.update({f"why__{code}": "Because the session shows it." for code in scores})
    response = login(world.purveyor_admin).post(case_url(attempt.case, "calibration_master"), data)
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.items_exact == attempt.items_compared and attempt.lean == "no lean"
    case = CalibrationCase.objects.get(pk=attempt.case_id)
    assert case.master_coder == world.purveyor_admin
    assert case.history.count() == 3  # created, first code, this one: the old code is kept


# The transcript -------------------------------------------------------------------------------


@pytest.fixture
def with_transcript(setup):
    case, round = setup
    case.transcript.save("visit.txt", ContentFile(b"Coach: What matters most to you?"))
    return case, round


def test_the_assigned_coach_and_the_purveyor_download_the_transcript(world, login, with_transcript):
    case, _ = with_transcript
    for persona in ("coach", "purveyor_admin"):
        response = login(getattr(world, persona)).get(case_url(case, "calibration_transcript"))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"Coach: What matters most to you?"
        assert "attachment" in response["Content-Disposition"]


@pytest.mark.parametrize("persona", ["leader", "org_admin", "outsider", "practitioner"])
def test_nobody_else_gets_the_transcript(world, login, with_transcript, persona):
    case, _ = with_transcript
    response = login(getattr(world, persona)).get(case_url(case, "calibration_transcript"))
    assert response.status_code == 404


def test_past_its_retention_the_transcript_is_not_served(world, login, with_transcript):
    case, _ = with_transcript
    CalibrationCase.objects.filter(pk=case.pk).update(
        consent_on=dt.date(2020, 1, 1), retain_until=timezone.localdate() - dt.timedelta(days=1)
    )
    response = login(world.coach).get(case_url(case, "calibration_transcript"))
    assert response.status_code == 404


def test_the_transcript_is_never_at_a_public_media_address(settings, with_transcript, client):
    case, _ = with_transcript
    for prefix in {settings.MEDIA_URL.strip("/") or "media", "media"}:
        assert client.get(f"/{prefix}/{case.transcript.name}").status_code == 404

"""MiiWrap Observer earned by calibration: a coach's card, the decision queue and the
decision; calibration never counting as observations of practice; and a rule asking for
observers who hold MiiWrap Observer."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from certification import dates, decider, progress, services
from certification.models import CertificationPeriod, EvidenceRule, Program
from miiwrap import generations
from miiwrap.people.models import Person
from observations.models import CalibrationAttempt, CalibrationRound
from observations.services import calibration_attempt_save
from tests.certification.conftest import (
    D,
    calibrated,
    calibration_case,
    evidence,
)
from tests.factories import full_scores, make_period, make_person, rubric_version

QUEUE = reverse("certification:queue")
DAYS = (D(2026, 2, 2), D(2026, 3, 2), D(2026, 4, 6))


def card_of(person, code):
    return progress.card(person, Program.objects.with_rules().get(code=code))


def listed(response):
    page = response.context["page"]
    return [card.person.pk for card in page.object_list] if page else []


def observer_queue(client):
    response = client.get(QUEUE, {"program": "observer"})
    assert response.status_code == 200
    assert response.context["program"].code == "observer"
    return response


# The coach's card ---------------------------------------------------------------------------


def test_three_cases_at_80_percent_make_a_coach_ready(world, frozen):
    calibrated(world.coach, DAYS, within=(80, 80, 80), compared=100)
    card = card_of(world.coach, "observer")
    assert card.progress.meets
    assert card.state == dates.State.NOT_CERTIFIED
    (requirement,) = card.progress.requirements
    assert requirement.text == (
        "3 calibration cases on the MiiWrap fidelity tool since 2025-06-30 with at least "
        "80 % of items within one point of the master code"
    )
    assert requirement.detail == "3 cases, 80 % of their items within one point"


def test_three_cases_at_79_percent_do_not(world, frozen):
    calibrated(world.coach, DAYS, within=(79, 79, 79), compared=100)
    card = card_of(world.coach, "observer")
    assert not card.progress.meets
    assert card.progress.summary == "3 cases, 79 % of their items within one point; 80 % needed"


def test_a_draft_attempt_does_not_count(world, frozen):
    attempts = calibrated(world.coach, DAYS)
    CalibrationAttempt.objects.filter(pk=attempts[-1].pk).update(status="draft", submitted_at=None)
    assert card_of(world.coach, "observer").progress.summary.startswith("2 of 3 cases so far")


def test_a_case_scored_again_in_a_later_round_counts_once(world, frozen):
    case = calibration_case(title="The same case")
    calibrated(world.coach, DAYS, cases=[case, case, case])
    card = card_of(world.coach, "observer")
    assert [a.id for a in card.progress.qualifying] == [
        CalibrationAttempt.objects.filter(coach=world.coach).order_by("-submitted_at")[0].pk
    ]
    assert card.progress.summary.startswith("1 of 3 cases so far")


def test_an_attempt_older_than_a_year_does_not_count(world, frozen):
    calibrated(world.coach, (D(2025, 6, 29), *DAYS[1:]))
    assert not card_of(world.coach, "observer").progress.meets
    calibrated(world.coach, (D(2025, 6, 30),))
    assert card_of(world.coach, "observer").progress.meets


def test_cases_on_another_rubric_do_not_count(world, frozen):
    calibrated(world.coach, DAYS, rubric="mi-coding")
    assert card_of(world.coach, "observer").progress.qualifying == ()


def test_the_coachs_page_shows_the_observer_card_and_its_progress(world, frozen, login):
    calibrated(world.coach, DAYS[:2], within=(9, 8), compared=10)
    page = login(world.leader).get(world.coach.get_absolute_url()).content.decode()
    assert 'data-program="observer" data-state="not_certified"' in page
    assert "Toward certification: 2 of 3 cases so far, 85 % of their items within one" in page


# The queue and the decision ----------------------------------------------------------------


def test_the_purveyor_finds_a_calibrated_coach_in_the_queue(world, frozen, login):
    calibrated(world.coach, DAYS)
    response = observer_queue(login(world.purveyor_admin))
    assert listed(response) == [world.coach.pk]
    assert "3 calibration cases, latest 2026-04-06" in response.content.decode()


def test_a_coach_at_79_percent_is_not_in_the_queue(world, frozen, login):
    calibrated(world.coach, DAYS, within=(79, 79, 79), compared=100)
    assert listed(observer_queue(login(world.purveyor_admin))) == []


def test_a_coach_with_two_cases_is_not_in_the_queue(world, frozen, login):
    calibrated(world.coach, DAYS[:2])
    assert listed(observer_queue(login(world.purveyor_admin))) == []


def test_only_the_purveyor_decides_the_observer_certification(world, certified_coach, login):
    response = login(certified_coach).get(QUEUE)
    assert "observer" not in [p.code for p in response.context["programs"]]


def test_the_decision_keeps_the_cases_and_names_no_observation(world, frozen, login):
    attempts = calibrated(world.coach, DAYS)
    page = login(world.purveyor_admin).get(
        reverse("certification:decide", args=[world.coach.pk, "observer"])
    )
    assert "data-calibration-evidence" in page.content.decode()
    assert "8 of 10" in page.content.decode()
    period = services.certification_decide(
        person=world.coach,
        program=Program.objects.with_rules().get(code="observer"),
        decided_by=world.purveyor_admin,
    )
    assert [entry["calibration_attempt"] for entry in period.evidence] == [a.pk for a in attempts]
    assert period.evidence_ids() == []
    assert (period.valid_from, period.valid_until) == (D(2026, 6, 30), D(2027, 6, 29))
    assert card_of(world.coach, "observer").state == dates.State.CERTIFIED


def test_the_records_check_accepts_a_certification_kept_on_calibration(world, frozen, capsys):
    calibrated(world.coach, DAYS)
    services.certification_decide(
        person=world.coach,
        program=Program.objects.with_rules().get(code="observer"),
        decided_by=world.purveyor_admin,
    )
    call_command("check_certifications")
    assert "certifies without evidence" not in capsys.readouterr().out


def test_a_renewal_in_the_window_reads_the_years_cases(world, frozen, login):
    """Certified 2025-08-01 to 2026-07-31: the window opened on 2026-05-02."""
    make_period(world.coach, world.purveyor_admin, "observer", D(2025, 8, 1))
    calibrated(world.coach, DAYS)
    card = card_of(world.coach, "observer")
    assert card.state == dates.State.WINDOW_OPEN
    assert card.progress.meets
    assert listed(observer_queue(login(world.purveyor_admin))) == [world.coach.pk]


# Calibration is never an observation of practice ----------------------------------------------


@pytest.mark.parametrize("code", ["practitioner", "coach"])
def test_calibration_never_counts_toward_the_ladder(world, frozen, code):
    calibrated(world.coach, DAYS, within=(10, 10, 10))
    card = card_of(world.coach, code)
    assert card.progress.qualifying == ()
    assert card.state == dates.State.NOT_CERTIFIED


@pytest.mark.parametrize("code", ["practitioner", "coach"])
def test_a_calibrated_coach_is_not_in_the_ladders_queues(world, frozen, login, code):
    calibrated(world.coach, DAYS, within=(10, 10, 10))
    response = login(world.purveyor_admin).get(QUEUE, {"program": code})
    assert world.coach.pk not in listed(response)


def test_observations_never_count_toward_the_observer_certification(world, frozen):
    """A coach observed at the top of the fidelity tool, with no calibration, is not ready."""
    trainer = make_person(world.purveyor, "coach", first_name="Tia")
    make_period(trainer, world.purveyor_admin, "coach", D(2025, 1, 2))
    evidence(trainer, world.coach)
    assert card_of(world.coach, "practitioner").progress.meets  # the observations count there
    card = card_of(world.coach, "observer")
    assert not card.progress.meets
    assert card.state == dates.State.NOT_CERTIFIED  # not "in progress" either


def test_the_dispute_window_is_not_set_by_the_observer_program(world):
    Program.objects.filter(code="observer").update(dispute_window_days=60)
    fidelity = rubric_version("miiwrap-fidelity").rubric_id
    assert Program.objects.dispute_window_days(world.coach, fidelity) == 14


# A rule asking for observers who hold MiiWrap Observer ----------------------------------------


@pytest.fixture
def observers_must_be_calibrated(db):
    observer = Program.objects.get(code="observer")
    EvidenceRule.objects.filter(program__code="practitioner", kind="initial").update(
        observer_certified_in=observer
    )


def test_observations_by_a_calibrated_observer_count(
    world, certified_coach, observers_must_be_calibrated
):
    make_period(certified_coach, world.purveyor_admin, "observer", D(2026, 1, 5))
    evidence(certified_coach, world.practitioner)
    card = card_of(world.practitioner, "practitioner")
    assert card.progress.meets
    assert "by an observer holding MiiWrap Observer" in card.progress.requirements[0].text


def test_observations_by_an_observer_not_calibrated_do_not(
    world, certified_coach, observers_must_be_calibrated
):
    evidence(certified_coach, world.practitioner)
    card = card_of(world.practitioner, "practitioner")
    assert not card.progress.meets
    assert "(3 more scored high enough, but the observer was not certified)" in (
        card.progress.requirements[0].detail
    )


def test_observations_before_the_observer_was_calibrated_do_not(
    world, certified_coach, observers_must_be_calibrated
):
    """Cora was certified as an observer on 2026-04-01: the March observation is hers
    from before, so 2 of 3 count."""
    make_period(certified_coach, world.purveyor_admin, "observer", D(2026, 4, 1))
    evidence(certified_coach, world.practitioner)
    assert not card_of(world.practitioner, "practitioner").progress.meets
    assert card_of(world.practitioner, "practitioner").progress.summary.startswith("2 of 3")


@pytest.mark.parametrize("calibrated_on, listed_in_queue", [(D(2026, 1, 5), True), (None, False)])
def test_the_queue_follows_the_observer_rule(
    world, certified_coach, observers_must_be_calibrated, login, calibrated_on, listed_in_queue
):
    if calibrated_on:
        make_period(certified_coach, world.purveyor_admin, "observer", calibrated_on)
    evidence(certified_coach, world.practitioner)
    response = login(world.purveyor_admin).get(QUEUE, {"program": "practitioner"})
    assert (world.practitioner.pk in listed(response)) is listed_in_queue
    held = CertificationPeriod.objects.filter(person=certified_coach, program__code="observer")
    assert held.exists() is listed_in_queue


# One decider: the SQL standing and the cards agree -----------------------------------------


@pytest.mark.parametrize("code", ["observer", "coach", "practitioner"])
def test_the_sql_standing_and_the_cards_agree_on_calibrated_coaches(world, frozen, code):
    """Calibration makes nobody "in progress", in SQL or in Python; nor do observations of
    a coach's practice make them "in progress" as an observer."""
    trainer = make_person(world.purveyor, "coach", first_name="Tia")
    make_period(trainer, world.purveyor_admin, "coach", D(2025, 1, 2))
    attempts_only = make_person(world.home, "coach", first_name="Ada")
    calibrated(attempts_only, DAYS)
    observed_only = make_person(world.home, "coach", "practitioner", first_name="Obi")
    evidence(trainer, observed_only)
    certified = make_person(world.home, "coach", first_name="Cid")
    make_period(certified, world.purveyor_admin, "observer", D(2026, 1, 5))
    calibrated(certified, DAYS[:1])
    people = [attempts_only, observed_only, certified, world.coach]
    program = Program.objects.with_rules().get(code=code)
    rows = decider.read(
        Person.objects.filter(pk__in=[p.pk for p in people]),
        [program],
        {world.home.time_zone: D(2026, 6, 30)},
        members=decider.Members.GIVEN,
    )
    cards = progress.cards(people, program)
    assert {row.person_id: row.state for row in rows} == {
        pk: card.state.value for pk, card in cards.items()
    }
    if code == "observer":
        assert cards[attempts_only.pk].state == dates.State.NOT_CERTIFIED
        assert cards[observed_only.pk].state == dates.State.NOT_CERTIFIED
        assert cards[certified.pk].state == dates.State.CERTIFIED
    elif code == "practitioner":  # the coach program reads the coaching rubric
        assert cards[observed_only.pk].state == dates.State.IN_PROGRESS
    assert cards[attempts_only.pk].state == dates.State.NOT_CERTIFIED


# Through the services, and the pages' costs ---------------------------------------------------


def test_attempts_submitted_through_the_services_certify_on_their_comparison(world, frozen):
    """Master codes at the top of every item; Cora scores every rating one level lower on
    two cases (within one point) and matches the third: 100 % within one point."""
    version = rubric_version("miiwrap-fidelity")
    definition = version.definition()
    master = full_scores(version)
    lower = {
        item.code: master[item.code] - 1 if item.kind == "rating" else master[item.code]
        for item in version.items.all()
    }
    for n, mine in enumerate([lower, lower, master]):
        case = calibration_case(version, f"Case {n}")
        case.master_scores = master
        case.save()
        round_ = CalibrationRound.objects.create(
            name=f"R{n}", opens_on=D(2026, 6, 1), due_on=D(2026, 6, 30)
        )
        round_.cases.add(case)
        attempt = CalibrationAttempt(round=round_, case=case, coach=world.coach, scores=mine)
        calibration_attempt_save(attempt=attempt, definition=definition, submit=True)
    card = card_of(world.coach, "observer")
    assert card.progress.meets
    assert [a.submitted_on for a in card.progress.qualifying] == [D(2026, 6, 30)] * 3
    (first, *_) = card.progress.qualifying
    assert first.items_within_one == first.items_compared > 0


def test_the_decision_page_says_when_no_case_counts_yet(world, frozen, login):
    page = login(world.purveyor_admin).get(
        reverse("certification:decide", args=[world.coach.pk, "observer"])
    )
    assert "No calibration case counts toward the rule yet." in page.content.decode()


def test_the_coachs_page_takes_the_same_queries_however_many_attempts(world, frozen, login):
    client = login(world.leader)

    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(world.coach.get_absolute_url()).status_code == 200
        return len(captured)

    calibrated(world.coach, DAYS[:1])
    few = count_queries()
    calibrated(world.coach, (D(2026, 5, 1), D(2026, 5, 2), D(2026, 5, 3), D(2026, 5, 4)))
    assert count_queries() == few


def test_the_observer_queue_takes_the_same_queries_for_one_coach_and_for_many(world, frozen, login):
    client = login(world.purveyor_admin)

    def count_queries():
        generations.touched(everyone=True)  # nothing kept from the last read
        with CaptureQueriesContext(connection) as captured:
            observer_queue(client)
        return len(captured)

    calibrated(world.coach, DAYS)
    one = count_queries()
    for n in range(3):
        calibrated(make_person(world.home, "coach", first_name=f"C{n}"), DAYS)
    assert listed(observer_queue(client)) != []
    assert count_queries() == one


def test_the_kept_observer_queue_follows_a_submitted_attempt(
    world, frozen, login, django_capture_on_commit_callbacks
):
    """Who is ready is kept (miiwrap.generations) until a write changes it: submitting a
    third case is one."""
    client = login(world.purveyor_admin)
    calibrated(world.coach, DAYS[:2])
    assert listed(observer_queue(client)) == []
    with django_capture_on_commit_callbacks(execute=True):
        calibrated(world.coach, DAYS[2:])
    assert listed(observer_queue(client)) == [world.coach.pk]
    with generations.uncached():
        assert listed(observer_queue(client)) == [world.coach.pk]

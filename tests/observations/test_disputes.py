"""Disputes: the observed practitioner disputes an observation inside its program's window;
its coach settles it by amending or answering; the leader sees those still open."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from certification.models import EvidenceRule, Program
from miiwrap import text as limits
from miiwrap.notifications.models import Notification
from observations import services
from observations.models import Dispute, Observation
from tests.factories import make_observation, make_person, rubric_version

ZONE = ZoneInfo("America/New_York")
# Submitted at noon on 1 May where Riverbend works: with 14 days, the last day is 15 May.
SUBMITTED = dt.datetime(2024, 5, 1, 12, tzinfo=ZONE)
LAST_DAY_LATE = dt.datetime(2024, 5, 15, 23, 30, tzinfo=ZONE)
NEXT_DAY_EARLY = dt.datetime(2024, 5, 16, 0, 30, tzinfo=ZONE)
DURING = dt.datetime(2024, 5, 6, 10, tzinfo=ZONE)

EVERYONE_ELSE = ["coach", "unassigned", "leader", "org_admin", "purveyor_admin", "outsider"]


def detail(observation):
    return reverse("observations:detail", args=[observation.pk])


def dispute_url(observation):
    return reverse("observations:dispute", args=[observation.pk])


def answer_url(observation):
    return reverse("observations:dispute_answer", args=[observation.pk])


LIST = reverse("observations:disputes")


@pytest.fixture
def observation(world, time_machine):
    time_machine.move_to(SUBMITTED, tick=False)
    made = make_observation(world.coach, world.practitioner, observed_on=dt.date(2024, 4, 30))
    time_machine.move_to(DURING, tick=False)
    return made


@pytest.fixture
def disputed(world, observation):
    return services.dispute_raise(
        observation=observation, by=world.practitioner, reason="The meeting was not mine."
    )


def another_coach(world):
    return make_person(world.home, "coach", team=world.team_a)


def told(person, kind=Notification.Kind.DISPUTE):
    return list(Notification.objects.filter(recipient=person, kind=kind))


# Raising a dispute ----------------------------------------------------------------------


def test_the_practitioner_disputes_with_a_reason_and_their_coach_is_told(world, login, observation):
    response = login(world.practitioner).post(dispute_url(observation), {"reason": " Wrong. "})
    assert response.status_code == 302
    assert response.url == detail(observation) + "#dispute"
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.reason, dispute.raised_by) == (
        "open",
        "Wrong.",
        world.practitioner,
    )
    [notice] = told(world.coach)
    assert notice.link == detail(observation) + "#dispute"
    assert "Wrong." in notice.body_text
    assert notice.subject.startswith(f"{world.practitioner} disputes your observation")
    assert not told(world.practitioner)


def test_a_reason_is_required(world, login, observation):
    response = login(world.practitioner).post(dispute_url(observation), {"reason": "  "})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not Dispute.objects.exists()
    assert not Notification.objects.filter(kind="dispute").exists()


def test_a_reason_too_long_is_refused_with_the_text_kept(world, login, observation):
    reason = "x" * (limits.NOTE + 1)
    response = login(world.practitioner).post(dispute_url(observation), {"reason": reason})
    assert response.status_code == 400
    assert f"{reason}</textarea>" in response.content.decode()
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("persona", EVERYONE_ELSE)
def test_nobody_else_disputes_it(world, login, observation, persona):
    response = login(getattr(world, persona)).post(dispute_url(observation), {"reason": "No."})
    assert response.status_code == 404
    assert not Dispute.objects.exists()


def test_another_coach_cannot_dispute_it(world, login, observation):
    response = login(another_coach(world)).post(dispute_url(observation), {"reason": "No."})
    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in(client, observation):
    response = client.post(dispute_url(observation), {"reason": "No."})
    assert response.url.startswith(reverse("login"))
    assert not Dispute.objects.exists()


def test_a_get_is_not_allowed(world, login, observation):
    assert login(world.practitioner).get(dispute_url(observation)).status_code == 405


def test_a_draft_cannot_be_disputed(world, login):
    draft = make_observation(world.coach, world.practitioner, submit=False)
    response = login(world.practitioner).post(dispute_url(draft), {"reason": "No."})
    assert response.status_code == 404


def test_the_same_form_posted_twice_stores_one_dispute_and_tells_once(world, login, observation):
    client = login(world.practitioner)
    page = client.get(detail(observation)).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page[page.index('id="dispute"') :])
    data = {"reason": "Not my meeting.", "form_token": token.group(1)}
    first = client.post(dispute_url(observation), data)
    second = client.post(dispute_url(observation), data)
    assert first.status_code == second.status_code == 302
    assert second.url == detail(observation) + "#dispute"
    assert Dispute.objects.count() == 1
    assert len(told(world.coach)) == 1


def test_a_second_dispute_while_one_is_open_is_refused(world, login, disputed):
    response = login(world.practitioner).post(
        dispute_url(disputed.observation), {"reason": "Again"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "already dispute this observation" in page
    assert "Again</textarea>" in page
    assert Dispute.objects.count() == 1


def test_the_database_holds_one_open_dispute_an_observation(world, disputed):
    with pytest.raises(IntegrityError):
        Dispute.objects.create(
            observation=disputed.observation, raised_by=world.practitioner, reason="Twice."
        )


def test_once_settled_it_may_be_disputed_again_in_the_window(world, login, disputed):
    services.dispute_answer(dispute=disputed, by=world.coach, answer="It was yours.")
    response = login(world.practitioner).post(
        dispute_url(disputed.observation), {"reason": "Still not mine."}
    )
    assert response.status_code == 302
    assert list(Dispute.objects.order_by("pk").values_list("status", flat=True)) == [
        "answered",
        "open",
    ]


# The window -------------------------------------------------------------------------------


def test_the_last_day_of_the_window_is_accepted(world, login, observation, time_machine):
    time_machine.move_to(LAST_DAY_LATE, tick=False)
    response = login(world.practitioner).post(dispute_url(observation), {"reason": "Late."})
    assert response.status_code == 302
    assert Dispute.objects.count() == 1


def test_the_day_after_the_window_is_refused_with_the_text_kept(
    world, login, observation, time_machine
):
    time_machine.move_to(NEXT_DAY_EARLY, tick=False)
    response = login(world.practitioner).post(dispute_url(observation), {"reason": "Too late."})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The time to dispute this observation ended on 2024-05-15." in page
    assert "Too late.</textarea>" in page
    assert not Dispute.objects.exists()
    assert not told(world.coach)


def test_the_page_shows_the_closing_date_while_open(world, login, observation):
    page = login(world.practitioner).get(detail(observation)).content.decode()
    assert "you can dispute it until <strong>2024-05-15</strong>" in page
    assert "Dispute this observation</button>" in page


def test_after_the_window_the_page_says_so_instead_of_the_button(
    world, login, observation, time_machine
):
    time_machine.move_to(NEXT_DAY_EARLY, tick=False)
    page = login(world.practitioner).get(detail(observation)).content.decode()
    assert "The time to dispute this observation ended on 2024-05-15." in page
    assert "Dispute this observation</button>" not in page


def test_the_window_is_the_programs(world, login, observation, time_machine):
    Program.objects.filter(code="practitioner").update(dispute_window_days=3)
    assert services.dispute_window(observation).closes_on == dt.date(2024, 5, 4)
    time_machine.move_to(dt.datetime(2024, 5, 5, 9, tzinfo=ZONE), tick=False)
    response = login(world.practitioner).post(dispute_url(observation), {"reason": "Late."})
    assert response.status_code == 400
    assert "ended on 2024-05-04" in response.content.decode()


def test_the_window_runs_from_the_submission_not_the_visit(world, observation):
    assert observation.observed_on == dt.date(2024, 4, 30)
    assert services.dispute_window(observation).opens_on == dt.date(2024, 5, 1)


def test_the_window_of_a_rubric_no_program_reads_is_the_default(world):
    rubric = rubric_version("mi-coding").rubric
    Program.objects.update(dispute_window_days=30)
    reading = Program.objects.dispute_window_days(world.practitioner, rubric.pk)
    assert reading == 30  # the practitioner program reads MI coding as its companion
    loner = make_person(world.home, "org_admin")  # on no program's path
    assert Program.objects.dispute_window_days(loner, rubric.pk) == 14


def test_the_longest_window_of_the_programs_on_the_path_applies(world):
    fidelity, mi_coding = rubric_version().rubric, rubric_version("mi-coding").rubric
    Program.objects.filter(code="practitioner").update(dispute_window_days=10)
    Program.objects.filter(code="coach").update(dispute_window_days=21)
    coach_rules = EvidenceRule.objects.filter(program__code="coach")
    coach_rules.update(rubric=fidelity)
    assert Program.objects.dispute_window_days(world.practitioner, fidelity.pk) == 10
    # Cora coaches and practises: both programs read the fidelity tool; the longer wins.
    assert Program.objects.dispute_window_days(world.coach, fidelity.pk) == 21
    coach_rules.update(rubric=mi_coding, companion_rubric=None, companion_min_band="")
    assert Program.objects.dispute_window_days(world.coach, fidelity.pk) == 10


# Answering ------------------------------------------------------------------------------


def test_the_coach_answers_and_the_practitioner_is_told(world, login, disputed):
    response = login(world.coach).post(answer_url(disputed.observation), {"answer": "It was."})
    assert response.status_code == 302
    disputed.refresh_from_db()
    assert (disputed.status, disputed.answer, disputed.settled_by) == (
        "answered",
        "It was.",
        world.coach,
    )
    assert disputed.settled_at is not None
    [notice] = told(world.practitioner)
    assert notice.link == detail(disputed.observation) + "#dispute"
    assert "It was." in notice.body_text
    assert len(told(world.coach)) == 1  # only of the dispute itself


def test_the_history_keeps_who_when_and_the_old_status(world, login, disputed):
    login(world.coach).post(answer_url(disputed.observation), {"answer": "It was."})
    rows = list(disputed.history.order_by("history_id"))
    assert [row.status for row in rows] == ["open", "answered"]
    assert rows[-1].history_user == world.coach.user
    page = login(world.practitioner).get(detail(disputed.observation)).content.decode()
    history = page[page.index('id="history"') :]
    assert "Dispute</span> · Changed by <strong>" in history
    assert "<del>Open</del> → <ins>Settled with an answer</ins>" in history


def test_a_purveyor_admin_may_answer(world, login, disputed):
    response = login(world.purveyor_admin).post(answer_url(disputed.observation), {"answer": "Ok"})
    assert response.status_code == 302
    disputed.refresh_from_db()
    assert disputed.settled_by == world.purveyor_admin


@pytest.mark.parametrize(
    "persona", ["practitioner", "unassigned", "leader", "org_admin", "outsider"]
)
def test_nobody_else_answers(world, login, disputed, persona):
    response = login(getattr(world, persona)).post(
        answer_url(disputed.observation), {"answer": "x"}
    )
    assert response.status_code == 404
    disputed.refresh_from_db()
    assert disputed.is_open


def test_another_coach_cannot_answer(world, login, disputed):
    response = login(another_coach(world)).post(answer_url(disputed.observation), {"answer": "x"})
    assert response.status_code == 404


def test_anonymous_cannot_answer(client, disputed):
    response = client.post(answer_url(disputed.observation), {"answer": "x"})
    assert response.url.startswith(reverse("login"))


def test_an_empty_answer_is_refused(world, login, disputed):
    response = login(world.coach).post(answer_url(disputed.observation), {"answer": ""})
    assert response.status_code == 400
    disputed.refresh_from_db()
    assert disputed.is_open


def test_an_answer_posted_twice_settles_once_and_tells_once(world, login, disputed):
    client = login(world.coach)
    page = client.get(detail(disputed.observation)).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page[page.index('id="dispute"') :])
    data = {"answer": "It was yours.", "form_token": token.group(1)}
    assert client.post(answer_url(disputed.observation), data).status_code == 302
    assert client.post(answer_url(disputed.observation), data).status_code == 302
    assert len(told(world.practitioner)) == 1
    assert disputed.history.count() == 2


def test_an_answer_to_a_settled_dispute_changes_nothing(world, login, disputed):
    services.dispute_answer(dispute=disputed, by=world.coach, answer="First.")
    response = login(world.coach).post(answer_url(disputed.observation), {"answer": "Second."})
    assert response.status_code == 302
    disputed.refresh_from_db()
    assert disputed.answer == "First."
    assert len(told(world.practitioner)) == 1


def test_amending_settles_the_dispute_and_links_the_amendment(world, disputed):
    observation = disputed.observation
    changed = Observation.objects.get(pk=observation.pk)
    observation.strengths = "Named two strengths."
    services.observation_amend(
        observation=observation,
        changed=changed,
        definition=rubric_version().definition(),
        amended_by=world.coach,
        reason="You were right.",
    )
    disputed.refresh_from_db()
    assert disputed.status == Dispute.Status.AMENDED
    assert disputed.amendment == observation.amendments.get()
    assert disputed.settled_by == world.coach
    # One notice for the one action: the amendment, saying it settles the dispute.
    [notice] = Notification.objects.filter(recipient=world.practitioner).exclude(kind="feedback")
    assert notice.kind == Notification.Kind.AMENDMENT
    assert "answers your dispute" in notice.body_text
    assert "Strengths: rewritten" in notice.body_text


def test_the_amend_page_says_it_settles_the_dispute(world, login, disputed):
    page = login(world.coach).get(reverse("observations:amend", args=[disputed.observation_id]))
    assert "Saving this amendment settles the dispute" in page.content.decode()


# The observation's page ----------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["practitioner", "coach", "leader", "org_admin", "purveyor_admin"]
)
def test_everyone_who_sees_the_observation_sees_the_dispute(world, login, disputed, persona):
    services.dispute_answer(dispute=disputed, by=world.coach, answer="It was yours.")
    page = login(getattr(world, persona)).get(detail(disputed.observation)).content.decode()
    assert "The meeting was not mine." in page
    assert "It was yours." in page
    assert "Settled with an answer" in page


def test_the_coach_sees_the_answer_form_and_the_practitioner_does_not(world, login, disputed):
    coach_page = login(world.coach).get(detail(disputed.observation)).content.decode()
    assert "Answer and settle" in coach_page
    practitioner_page = login(world.practitioner).get(detail(disputed.observation)).content.decode()
    assert "Answer and settle" not in practitioner_page
    assert "Dispute this observation</button>" not in practitioner_page
    assert "does not count as certification evidence" in practitioner_page


@pytest.mark.parametrize("persona", ["leader", "org_admin"])
def test_the_people_above_see_it_without_a_form(world, login, disputed, persona):
    page = login(getattr(world, persona)).get(detail(disputed.observation)).content.decode()
    assert "The meeting was not mine." in page
    assert "Answer and settle" not in page


@pytest.mark.parametrize("persona", ["unassigned", "outsider"])
def test_those_who_do_not_see_the_observation_get_404(world, login, disputed, persona):
    assert login(getattr(world, persona)).get(detail(disputed.observation)).status_code == 404


# The list --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["leader", "org_admin", "purveyor_admin", "coach"])
def test_leaders_admins_and_the_coach_list_open_disputes(world, login, disputed, persona):
    response = login(getattr(world, persona)).get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-dispute="{disputed.pk}"' in page
    assert "1 open dispute" in page


@pytest.mark.parametrize("persona", ["practitioner", "unassigned", "away_practitioner"])
def test_practitioners_get_404(world, login, disputed, persona):
    assert login(getattr(world, persona)).get(LIST).status_code == 404


def test_an_outsider_sees_none_of_another_organizations(world, login, disputed):
    response = login(world.outsider).get(LIST)
    assert response.status_code == 200
    assert f'data-dispute="{disputed.pk}"' not in response.content.decode()


def test_another_coach_sees_none_of_a_practitioner_they_do_not_coach(world, login, disputed):
    response = login(another_coach(world)).get(LIST)
    assert f'data-dispute="{disputed.pk}"' not in response.content.decode()


def test_anonymous_is_sent_to_sign_in_from_the_list(client):
    assert client.get(LIST).url.startswith(reverse("login"))


def test_settled_disputes_leave_the_open_list_and_show_under_settled(world, login, disputed):
    services.dispute_answer(dispute=disputed, by=world.coach, answer="It was.")
    client = login(world.leader)
    assert f'data-dispute="{disputed.pk}"' not in client.get(LIST).content.decode()
    settled = client.get(LIST + "?status=settled").content.decode()
    assert f'data-dispute="{disputed.pk}"' in settled
    assert f'data-dispute="{disputed.pk}"' in client.get(LIST + "?status=all").content.decode()


def test_an_unknown_status_is_a_400_not_a_500(world, login, disputed):
    response = login(world.leader).get(LIST + "?status=%00")
    assert response.status_code == 400


def list_queries(client):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST + "?status=all").status_code == 200
    return len(captured)


def test_the_list_reads_a_constant_number_of_queries(world, login, disputed, time_machine):
    client = login(world.leader)
    client.get(LIST)  # the session and the viewer are read once
    one = list_queries(client)
    for n in range(4):
        other = make_observation(world.coach, world.unassigned)
        settled = services.dispute_raise(observation=other, by=world.unassigned, reason=f"{n}")
        if n % 2:
            services.dispute_answer(dispute=settled, by=world.purveyor_admin, answer="Fine.")
    assert Dispute.objects.count() == 5
    assert list_queries(client) == one


def test_the_leader_dashboard_counts_open_disputes(world, login, disputed):
    page = login(world.leader).get(reverse("dashboards:leader")).content.decode()
    assert 'data-open-disputes="1"' in page
    assert "1 disputed observation waiting for an answer" in page


def detail_queries(client, observation):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(detail(observation)).status_code == 200
    return len(captured)


def answer_and_raise_again(world, n):
    services.dispute_answer(dispute=Dispute.objects.open().get(), by=world.coach, answer=f"{n}")
    observation = Dispute.objects.first().observation
    services.dispute_raise(observation=observation, by=world.practitioner, reason=f"Again {n}.")


@pytest.mark.parametrize("persona", ["practitioner", "coach"])
def test_the_page_reads_as_many_queries_with_two_disputes_as_with_five(
    world, login, disputed, persona
):
    # One settled and one open: the history names who settled (one query for people).
    answer_and_raise_again(world, 0)
    client = login(getattr(world, persona))
    client.get(detail(disputed.observation))  # the session and the viewer are read once
    two = detail_queries(client, disputed.observation)
    for n in range(1, 4):
        answer_and_raise_again(world, n)
    assert Dispute.objects.count() == 5
    assert detail_queries(client, disputed.observation) == two

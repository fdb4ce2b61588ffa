"""Decisions, revocations and the evidence they count, when a form is sent twice."""

import re

from django.urls import reverse

from certification import progress
from certification.models import CertificationEvent, CertificationPeriod, Program
from observations.models import Observation
from tests.certification.conftest import D, evidence
from tests.factories import full_scores, make_period, rubric_version
from tests.observations.page import form_token, post_data


def decide_url(person):
    return reverse("certification:decide", args=[person.pk, "practitioner"])


def test_a_decision_sent_twice_is_one_period_and_the_second_shows_the_first(
    world, certified_coach, login
):
    evidence(certified_coach, world.practitioner)
    client = login(certified_coach)
    url = decide_url(world.practitioner)
    data = {"decided_on": "2026-06-30", "form_token": form_token(client.get(url))}
    first, second = client.post(url, data), client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == world.practitioner.get_absolute_url()
    assert CertificationPeriod.objects.filter(person=world.practitioner).count() == 1
    assert CertificationEvent.objects.filter(period__person=world.practitioner).count() == 1


def test_a_decision_page_drawn_again_decides_again(world, certified_coach, login):
    evidence(certified_coach, world.practitioner)
    client = login(certified_coach)
    url = decide_url(world.practitioner)
    client.post(url, {"decided_on": "2026-06-30", "form_token": form_token(client.get(url))})
    again = {"decided_on": "2026-06-30", "form_token": form_token(client.get(url))}
    response = client.post(url, again)
    # A new form is a new decision, judged on its own: here refused, the window being shut.
    assert response.status_code == 400
    assert "override_reason" in response.context["form"].errors


def test_a_revocation_sent_twice_is_revoked_once(world, certified_coach, login):
    period = make_period(world.practitioner, world.purveyor_admin, valid_from=D(2025, 3, 3))
    url = reverse("certification:revoke", args=[period.pk])
    client = login(certified_coach)
    data = {"reason": "Misconduct.", "form_token": form_token(client.get(url))}
    first, second = client.post(url, data), client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert second.url == world.practitioner.get_absolute_url()
    revoked = CertificationEvent.objects.filter(kind=CertificationEvent.Kind.REVOKED)
    assert revoked.count() == 1


def test_a_submit_sent_twice_counts_once_as_evidence(world, certified_coach, login):
    version = rubric_version("miiwrap-fidelity")
    client = login(certified_coach)
    new = reverse("observations:new")
    data = post_data(world.practitioner, version, full_scores(version), observed_on="2026-06-01")
    data["form_token"] = form_token(client.get(new))
    client.post(new, data)
    client.post(new, data)
    assert Observation.objects.submitted().count() == 1
    program = Program.objects.with_rules().get(code="practitioner")
    card = progress.card(world.practitioner, program, as_of=D(2026, 6, 30))
    assert len(card.progress.qualifying) == 1
    page = client.get(decide_url(world.practitioner)).content.decode()
    assert len(re.findall(r'href="/observations/\d+/"', page)) == 1

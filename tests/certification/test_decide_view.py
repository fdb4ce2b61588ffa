"""The decision page: who may open it, what it shows, and what a bad submit keeps."""

import re

import pytest
from django.urls import reverse

from certification.models import CertificationPeriod
from tests.certification.conftest import D, evidence, observe
from tests.factories import make_period

PERSONAS = [
    "coach", "practitioner", "unassigned", "leader", "org_admin", "purveyor_admin", "outsider",
    "away_practitioner",
]  # fmt: skip


def url(person, code="practitioner"):
    return reverse("certification:decide", args=[person.pk, code])


@pytest.fixture
def ready(world, certified_coach):
    evidence(certified_coach, world.practitioner)
    return world


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_certifiers_who_see_the_person_open_the_page(ready, login, persona):
    response = login(getattr(ready, persona)).get(url(ready.practitioner))
    assert response.status_code == (200 if persona in {"coach", "purveyor_admin"} else 404)


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_post_by_anyone_else_changes_nothing(ready, login, persona):
    response = login(getattr(ready, persona)).post(url(ready.practitioner))
    allowed = persona in {"coach", "purveyor_admin"}
    assert response.status_code == (302 if allowed else 404)
    assert ready.practitioner.certifications.exists() is allowed


def test_a_coach_cannot_decide_the_coach_program(ready, login):
    assert login(ready.coach).get(url(ready.practitioner, "coach")).status_code == 404


def test_an_unknown_person_or_program_is_404(ready, login):
    client = login(ready.purveyor_admin)
    assert (
        client.get(reverse("certification:decide", args=[999999, "practitioner"])).status_code
        == 404
    )
    assert client.get(url(ready.practitioner, "astronaut")).status_code == 404


def test_the_page_shows_the_rule_and_the_evidence_a_decision_keeps(ready, login):
    content = login(ready.coach).get(url(ready.practitioner)).content.decode()
    assert "Certify" in content and "Meets the rule" in content
    assert len(re.findall(r'href="/observations/\d+/"', content)) == 4
    assert "2026-05-04" in content


def test_certifying_says_so_and_returns_to_the_person(ready, login):
    client = login(ready.coach)
    response = client.post(url(ready.practitioner), {"decided_on": "2026-06-30"}, follow=True)
    assert response.redirect_chain[-1][0] == ready.practitioner.get_absolute_url()
    assert "Certified" in response.content.decode()
    assert "until 2028-06-29" in response.content.decode()


@pytest.mark.parametrize("target", ["0", "²", "https://elsewhere.example/", "//elsewhere.example/"])
def test_a_next_that_is_no_path_here_returns_to_the_person(ready, login, target):
    """A bare word was taken for a view's name and failed to reverse: a 500 after saving."""
    client = login(ready.coach)
    response = client.post(url(ready.practitioner), {"decided_on": "2026-06-30", "next": target})
    assert response.status_code == 302
    assert response.url == ready.practitioner.get_absolute_url()


def test_a_next_on_this_site_is_followed(ready, login):
    client = login(ready.coach)
    response = client.post(
        url(ready.practitioner), {"decided_on": "2026-06-30", "next": "/people/"}
    )
    assert response.url == "/people/"


def test_a_refused_decision_keeps_what_was_typed_and_says_what_to_fix(
    world, certified_coach, login
):
    observe(certified_coach, world.practitioner, D(2026, 6, 1))
    data = {"decided_on": "2026-06-20", "override_reason": "", "backdate_reason": "Paper form."}
    response = login(certified_coach).post(url(world.practitioner), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["override_reason"]
    assert 'value="2026-06-20"' in response.content.decode()
    assert "Paper form." in response.content.decode()
    assert not world.practitioner.certifications.exists()


@pytest.mark.parametrize("bad", ["yesterday", "2026-02-30", "99999-01-01"])
def test_a_date_that_is_not_a_date_is_a_form_error(ready, login, bad):
    response = login(ready.coach).post(url(ready.practitioner), {"decided_on": bad})
    assert response.status_code == 400
    assert response.context["form"].errors["decided_on"]
    assert not ready.practitioner.certifications.exists()


def test_a_future_date_is_refused_on_the_form(ready, login):
    response = login(ready.coach).post(url(ready.practitioner), {"decided_on": "2026-07-01"})
    assert response.context["form"].errors["decided_on"] == [
        "A decision cannot be dated in the future."
    ]


def test_an_overlong_reason_is_a_form_error(ready, login):
    data = {"override_reason": "x" * 2001}
    response = login(ready.coach).post(url(ready.practitioner), data)
    assert response.status_code == 400 and "override_reason" in response.context["form"].errors


def test_once_renewed_the_page_says_so_instead_of_offering_the_form(ready, login):
    make_period(ready.practitioner, ready.purveyor_admin, valid_from=D(2024, 9, 1))
    make_period(
        ready.practitioner,
        ready.purveyor_admin,
        valid_from=D(2026, 9, 1),
        decided_on=D(2026, 6, 20),
        is_renewal=True,
    )
    response = login(ready.coach).get(url(ready.practitioner))
    assert "Already recertified" in response.content.decode()
    assert "<form" not in response.content.decode().split("decision-heading")[1]
    posted = login(ready.coach).post(url(ready.practitioner), {"override_reason": "x"})
    assert posted.status_code == 400
    assert CertificationPeriod.objects.filter(person=ready.practitioner).count() == 2

"""The decision queue: everyone a certifier may decide for whose evidence meets the rule."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from certification.models import CertificationPeriod
from miiwrap import generations
from observations.models import Observation
from observations.services import dispute_raise
from tests.certification.conftest import D, evidence
from tests.factories import make_assignment, make_period, make_person

URL = reverse("certification:queue")


def listed(response):
    page = response.context["page"]
    return [card.person.pk for card in page.object_list] if page else []


@pytest.fixture
def ready(world, certified_coach):
    """Pat's evidence meets the first-certification rule; Uma has none."""
    evidence(certified_coach, world.practitioner)
    return world


@pytest.mark.parametrize(
    "persona, status",
    [
        ("coach", 200),
        ("purveyor_admin", 200),
        ("outsider", 200),  # a coach at home, with nobody to decide for
        ("practitioner", 404),
        ("unassigned", 404),
        ("leader", 404),
        ("org_admin", 404),
    ],
)
def test_certifiers_open_the_queue_and_others_get_404(ready, login, persona, status):
    assert login(getattr(ready, persona)).get(URL).status_code == status


def test_the_certified_coach_sees_their_practitioner_who_is_ready(ready, login):
    response = login(ready.coach).get(URL)
    assert listed(response) == [ready.practitioner.pk]
    content = response.content.decode()
    assert "First certification" in content
    assert "3 qualifying observations, latest 2026-05-04" in content


def test_the_purveyor_sees_every_organization_and_may_pick_one(ready, login):
    client = login(ready.purveyor_admin)
    assert listed(client.get(URL)) == [ready.practitioner.pk]
    assert listed(client.get(f"{URL}?organization={ready.away.pk}")) == []


def test_the_outsider_is_told_they_decide_nothing_and_sees_no_one(ready, login):
    response = login(ready.outsider).get(URL)
    assert response.context["programs"] == []
    assert "You do not hold a certification that lets you decide" in response.content.decode()


def test_an_uncertified_coach_decides_nothing(world, frozen, login):
    evidence(world.coach, world.practitioner)
    assert login(world.coach).get(URL).context["programs"] == []


def test_someone_already_certified_leaves_the_queue(ready, login):
    make_period(ready.practitioner, ready.purveyor_admin, valid_from=D(2026, 6, 1))
    assert listed(login(ready.coach).get(URL)) == []


def test_a_bad_program_or_organization_is_a_form_error(ready, login):
    client = login(ready.purveyor_admin)
    assert client.get(f"{URL}?program=astronaut").status_code == 400
    assert client.get(f"{URL}?organization=abc").status_code == 400


def test_one_click_certifies_from_the_queue_and_comes_back(ready, login):
    client = login(ready.coach)
    decide = reverse("certification:decide", args=[ready.practitioner.pk, "practitioner"])
    response = client.post(decide, {"next": URL})
    assert response.status_code == 302 and response["Location"] == URL
    period = CertificationPeriod.objects.get(person=ready.practitioner)
    assert (period.decided_by, period.decided_on) == (ready.coach, D(2026, 6, 30))
    assert listed(client.get(URL)) == []


def test_a_next_address_elsewhere_is_ignored(ready, login):
    decide = reverse("certification:decide", args=[ready.practitioner.pk, "practitioner"])
    response = login(ready.coach).post(decide, {"next": "https://evil.example/"})
    assert response["Location"] == ready.practitioner.get_absolute_url()


def test_the_queue_takes_the_same_queries_for_one_person_and_for_many(ready, login):
    client = login(ready.coach)

    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL)
        return len(captured), len(listed(response))

    one = count_queries()
    for _ in range(6):
        person = make_person(ready.home, "practitioner", team=ready.team_a)
        make_assignment(ready.coach, person)
        evidence(ready.coach, person)
    many = count_queries()
    assert (one[1], many[1]) == (1, 7)
    assert many[0] == one[0]


def test_the_kept_queue_equals_a_fresh_one_after_each_kind_of_write(
    ready, login, django_capture_on_commit_callbacks
):
    """Who is ready is kept (miiwrap.generations): after each write that changes it, the
    queue served equals the queue worked out from scratch."""
    newcomer = make_person(ready.home, "practitioner", team=ready.team_a)
    make_assignment(ready.coach, newcomer)

    def newcomer_has_evidence():
        evidence(ready.coach, newcomer)

    def evidence_disputed():
        latest = Observation.objects.filter(practitioner=ready.practitioner).latest("observed_on")
        dispute_raise(observation=latest, by=ready.practitioner, reason="That was not me.")

    def newcomer_certified():
        make_period(newcomer, ready.purveyor_admin, valid_from=D(2026, 6, 1))

    clients = [login(ready.purveyor_admin), Client(), Client()]
    clients[1].force_login(ready.coach.user)
    clients[2].force_login(ready.purveyor_admin.user)
    urls = [URL, URL, f"{URL}?organization={ready.home.pk}"]
    for write in (newcomer_has_evidence, evidence_disputed, newcomer_certified):
        before = [listed(client.get(url)) for client, url in zip(clients, urls, strict=True)]
        with django_capture_on_commit_callbacks(execute=True):
            write()
        kept = [listed(client.get(url)) for client, url in zip(clients, urls, strict=True)]
        with generations.uncached():
            fresh = [listed(client.get(url)) for client, url in zip(clients, urls, strict=True)]
        assert kept == fresh, write.__name__
        assert fresh != before, write.__name__

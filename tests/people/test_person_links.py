"""Every person's name links to the most useful page about them for the viewer, and never
to a page that answers that viewer 404 (miiwrap.people.links)."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching.models import CoachingPlan, DriftAlert
from miiwrap.people.links import GONE, Reach, reach_for
from miiwrap.people.models import Person
from observations.models import Dispute
from tests.dashboards.conftest import NOW, TODAY, observe
from tests.factories import make_person, make_session, make_trainer_assignment


def coach_page(person):
    return reverse("dashboards:coach", args=[person.pk])


def practitioner_page(person):
    return reverse("dashboards:practitioner", args=[person.pk])


def person_page(person):
    return reverse("people:detail", args=[person.pk])


def reach(person):
    return Reach(person.user)


# The rule, persona by persona (the world: Cora coaches and practises, and coaches Pat;
# Uma practises on another team; Lee leads; Ada administers; Pia is the purveyor's admin;
# Otto leads, coaches and administers elsewhere, where Ari practises).


def test_a_leader_opens_a_coachs_dashboard_and_a_practitioners_view(world):
    lee = reach(world.leader)
    assert lee.url(world.coach.pk) == coach_page(world.coach)
    assert lee.url(world.practitioner.pk) == practitioner_page(world.practitioner)
    assert lee.url(world.org_admin.pk) == person_page(world.org_admin)
    assert lee.url(world.leader.pk) == person_page(world.leader)


def test_a_page_about_practitioners_opens_a_coach_who_practises_as_a_practitioner(world):
    assert reach(world.leader).url(world.coach.pk, "practitioner") == practitioner_page(world.coach)
    # Someone who does not practise opens as what they are, whatever the page prefers.
    assert reach(world.leader).url(world.outsider.pk, "practitioner") is None
    assert reach(world.purveyor_admin).url(world.outsider.pk, "practitioner") == coach_page(
        world.outsider
    )


def test_a_leader_links_nobody_outside_their_organization(world):
    lee = reach(world.leader)
    assert lee.url(world.outsider.pk) is None
    assert lee.url(world.away_practitioner.pk) is None
    assert lee.url(world.purveyor_admin.pk) is None


def test_a_coach_opens_their_caseloads_view_and_nobody_elses(world):
    cora = reach(world.coach)
    assert cora.url(world.practitioner.pk) == practitioner_page(world.practitioner)
    assert cora.url(world.coach.pk) == person_page(world.coach)
    assert cora.url(world.unassigned.pk) is None
    assert cora.url(world.leader.pk) is None


def test_a_practitioner_links_only_themselves(world):
    pat = reach(world.practitioner)
    assert pat.url(world.practitioner.pk) == person_page(world.practitioner)
    assert pat.url(world.coach.pk) is None  # their coach's page would answer them 404
    assert pat.url(world.leader.pk) is None


def test_an_organization_admin_opens_pages_as_a_leader_does(world):
    ada = reach(world.org_admin)
    assert ada.url(world.coach.pk) == coach_page(world.coach)
    assert ada.url(world.unassigned.pk) == practitioner_page(world.unassigned)
    assert ada.url(world.leader.pk) == person_page(world.leader)
    assert ada.url(world.away_practitioner.pk) is None


def test_the_purveyor_opens_every_organizations_pages(world):
    pia = reach(world.purveyor_admin)
    assert pia.url(world.outsider.pk) == coach_page(world.outsider)
    assert pia.url(world.away_practitioner.pk) == practitioner_page(world.away_practitioner)
    assert pia.url(world.leader.pk) == person_page(world.leader)
    assert pia.url(world.purveyor_admin.pk) == person_page(world.purveyor_admin)


def test_a_trainer_opens_the_person_page_of_a_coach_they_train(world):
    trainer = make_person(world.home, "coach")
    coach_only = make_person(world.home, "coach")
    make_trainer_assignment(trainer, coach_only)
    assert reach(trainer).url(coach_only.pk) == person_page(coach_only)


def test_someone_who_has_left_links_nobody(world):
    Person.objects.filter(pk=world.leader.pk).update(leave_date=dt.date(2021, 1, 1))
    world.leader.user.refresh_from_db()
    assert reach(world.leader).url(world.coach.pk) is None
    assert Reach(AnonymousUser()).url(world.coach.pk) is None


def test_the_reach_is_read_in_one_query_whatever_the_number_of_names(world):
    for persona in ("leader", "coach", "practitioner", "purveyor_admin"):
        lee = reach(getattr(world, persona))
        with CaptureQueriesContext(connection) as captured:
            urls = [lee.url(pk) for pk in Person.objects.values_list("pk", flat=True)]
        assert len(captured) == 2, persona  # the ids above, and the reach itself
        assert any(urls), persona


@pytest.mark.parametrize("page", ["people:detail", "dashboards:coach", "dashboards:practitioner"])
def test_each_page_is_resolved_once_and_its_paths_are_those_reverse_gives(world, page):
    lee = reach(world.purveyor_admin)
    for pk in (1, 7, 42, 987654321, 10**12):
        assert lee._path(page, pk) == reverse(page, args=[pk])
    assert list(lee._paths) == [page]


def test_the_reach_is_kept_on_the_user_for_the_request(world):
    user = world.leader.user
    assert reach_for(user) is reach_for(user)


# The template tag.


def render(person, user, prefer=""):
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load person_links %}{% person_link person prefer %}")
    return template.render(Context({"person": person, "prefer": prefer, "request": request}))


def test_the_tag_links_a_name_or_leaves_it_plain(world):
    assert render(world.coach, world.leader.user) == (
        f'<a href="{coach_page(world.coach)}">{world.coach.full_name}</a>'
    )
    assert render(world.coach, world.leader.user, "practitioner") == (
        f'<a href="{practitioner_page(world.coach)}">{world.coach.full_name}</a>'
    )
    assert render(world.coach, world.practitioner.user) == world.coach.full_name


def test_the_tag_escapes_a_name(world):
    Person.objects.filter(pk=world.practitioner.pk).update(first_name="<b>Pat</b>")
    world.practitioner.refresh_from_db()
    assert "&lt;b&gt;Pat&lt;/b&gt;" in render(world.practitioner, world.leader.user)


class Gone:
    """A record whose person was deleted: reading it raises, as a dangling key does."""

    @property
    def person(self):
        raise Person.DoesNotExist


def test_someone_gone_reads_as_such_without_a_link_or_an_error(world):
    assert render(None, world.leader.user) == GONE
    request = RequestFactory().get("/")
    request.user = world.leader.user
    template = Template("{% load person_links %}{% person_link record.person %}")
    assert template.render(Context({"record": Gone(), "request": request})) == GONE


# Crawl: each persona's pages, every person link on them followed.

PERSON_LINK = re.compile(r'href="(/(?:people|dashboards/coach|dashboards/practitioner)/\d+/)"')


@pytest.fixture
def busy(world, time_machine):
    """Something on every page that names people: observations, a dispute, an alert,
    a plan with a session, and a coach (Otto) the purveyor sees elsewhere."""
    time_machine.move_to(NOW, tick=False)
    seen = observe(world.coach, world.practitioner, TODAY - dt.timedelta(days=40), 90, "high")
    observe(world.outsider, world.away_practitioner, TODAY - dt.timedelta(days=30), 80, "adequate")
    Dispute.objects.create(observation=seen, raised_by=world.practitioner, reason="Not so.")
    DriftAlert.objects.create(
        scope=DriftAlert.Scope.PERSON,
        subject=f"person:{world.practitioner.pk}",
        organization=world.home,
        practitioner=world.practitioner,
        rubric=seen.rubric_version.rubric,
        rule="ewma",
        rules=[],
        began_on=TODAY - dt.timedelta(days=30),
        raised_on=TODAY - dt.timedelta(days=10),
        checked_on=TODAY,
        baseline=90,
        baseline_from="Test",
        current=70,
        points=10,
    )
    make_session(world.practitioner, world.coach, TODAY - dt.timedelta(days=5))
    plan = CoachingPlan.objects.get()
    return SimpleNamespace(world=world, observation=seen, plan=plan)


def pages(busy):
    world = busy.world
    alert = DriftAlert.objects.get()
    return [
        reverse("home"),
        reverse("dashboards:leader"),
        reverse("dashboards:leader") + "?organization=all",
        reverse("dashboards:coach"),
        reverse("dashboards:coach", args=[world.coach.pk]),
        reverse("dashboards:practitioner"),
        reverse("dashboards:practitioner", args=[world.practitioner.pk]),
        reverse("people:directory"),
        reverse("people:detail", args=[world.coach.pk]),
        reverse("people:detail", args=[world.practitioner.pk]),
        reverse("observations:list"),
        busy.observation.get_absolute_url(),
        reverse("observations:disputes"),
        reverse("coaching:alerts"),
        alert.get_absolute_url(),
        reverse("coaching:plans"),
        busy.plan.get_absolute_url(),
        reverse("certification:roster", args=["practitioner"]),
        reverse("certification:roster", args=["coach"]),
        reverse("certification:queue"),
        reverse("certification:reminders"),
    ]


def person_links(client, url):
    response = client.get(url, follow=True)
    if response.status_code != 200:
        return set()  # a page this persona may not open names nobody to them
    return set(PERSON_LINK.findall(response.content.decode()))


PERSONAS = ["leader", "org_admin", "coach", "practitioner", "purveyor_admin", "outsider"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_person_link_on_any_page_answers_404(busy, client, persona):
    client.force_login(getattr(busy.world, persona).user)
    found = set()
    for url in pages(busy):
        found |= person_links(client, url)
    assert found, f"{persona} saw no person links at all"
    for link in sorted(found):
        assert client.get(link).status_code == 200, f"{persona}: {link}"


def test_coach_names_in_coach_activity_open_the_coachs_dashboard(busy, client):
    world = busy.world
    client.force_login(world.leader.user)
    body = client.get(reverse("dashboards:leader")).content.decode()
    assert f'<a href="{coach_page(world.coach)}">{world.coach.full_name}</a>' in body
    client.force_login(world.purveyor_admin.user)
    body = client.get(reverse("dashboards:leader"), {"organization": world.away.pk}).content
    assert f'<a href="{coach_page(world.outsider)}">'.encode() in body


def test_a_practitioner_sees_their_coach_named_without_a_link(busy, client):
    world = busy.world
    client.force_login(world.practitioner.user)
    body = client.get(busy.observation.get_absolute_url()).content.decode()
    assert world.coach.full_name in body
    assert f"/people/{world.coach.pk}/" not in body
    assert f"/dashboards/coach/{world.coach.pk}/" not in body


def test_a_coach_opens_their_practitioner_from_the_observation_list(busy, client):
    world = busy.world
    client.force_login(world.coach.user)
    body = client.get(reverse("observations:list")).content.decode()
    assert f'<a href="{practitioner_page(world.practitioner)}">' in body


@pytest.mark.parametrize("persona", ["leader", "coach", "purveyor_admin", "practitioner"])
def test_a_reach_primed_with_a_pages_names_links_everyone_as_one_read_whole(world, persona):
    viewer = getattr(world, persona)
    everyone = list(Person.objects.order_by("pk").values_list("pk", flat=True))
    primed_with = everyone[::2]
    whole, primed = Reach(viewer.user), Reach(viewer.user)
    primed.prime(primed_with)
    with CaptureQueriesContext(connection) as read:
        inside = [primed.url(pk) for pk in primed_with]
    assert len(read) == 0  # what it was primed with is read already
    assert inside == [whole.url(pk) for pk in primed_with]
    # A name outside them has everyone read, and links as a reach read whole.
    assert [primed.url(pk, "practitioner") for pk in everyone] == [
        whole.url(pk, "practitioner") for pk in everyone
    ]

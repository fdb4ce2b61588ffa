"""Observations and amendments in the admin: scoped like every page, read-only."""

from django.urls import reverse

from observations import services
from observations.models import Amendment, Dispute, Observation
from tests.factories import make_observation

CHANGELIST = reverse("admin:observations_observation_changelist")
AMENDMENTS = reverse("admin:observations_amendment_changelist")


def rows(response):
    return set(response.context["cl"].result_list)


def change_url(obj):
    return reverse(f"admin:observations_{obj._meta.model_name}_change", args=[obj.pk])


def amend(observation, by):
    changed = Observation.objects.get(pk=observation.pk)
    observation.strengths = "Clearer now"
    return services.observation_amend(
        observation=observation,
        changed=changed,
        definition=observation.rubric_version.definition(),
        amended_by=by,
        reason="Typo",
    )


def test_org_admin_sees_their_organization_only_and_no_drafts(world, login):
    home = make_observation(world.coach, world.practitioner)
    make_observation(world.outsider, world.away_practitioner)
    make_observation(world.coach, world.unassigned, submit=False, scores={})
    assert rows(login(world.org_admin).get(CHANGELIST)) == {home}


def test_purveyor_admin_sees_every_submitted_observation(world, login):
    home = make_observation(world.coach, world.practitioner)
    away = make_observation(world.outsider, world.away_practitioner)
    make_observation(world.coach, world.unassigned, submit=False, scores={})
    assert rows(login(world.purveyor_admin).get(CHANGELIST)) == {home, away}


def test_outsider_gets_no_page_for_a_home_observation(world, login):
    home = make_observation(world.coach, world.practitioner)
    response = login(world.outsider).get(change_url(home))
    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert response.url == reverse("admin:index")


def test_observations_are_read_only_in_the_admin(world, login):
    observation = make_observation(world.coach, world.practitioner)
    client = login(world.purveyor_admin)
    response = client.get(change_url(observation))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert b'name="_save"' not in response.content
    assert client.post(change_url(observation), {"band": "low"}).status_code == 403
    assert client.get(reverse("admin:observations_observation_add")).status_code == 403
    observation.refresh_from_db()
    assert observation.band == "high"


def test_only_the_purveyor_deletes_an_observation(world, login):
    observation = make_observation(world.coach, world.practitioner)
    url = reverse("admin:observations_observation_delete", args=[observation.pk])
    assert login(world.org_admin).post(url, {"post": "yes"}).status_code == 403
    assert login(world.purveyor_admin).post(url, {"post": "yes"}).status_code == 302
    assert not Observation.objects.exists()


def test_amendments_are_listed_within_scope_and_never_changed(world, login):
    home = amend(make_observation(world.coach, world.practitioner), world.coach)
    amend(make_observation(world.outsider, world.away_practitioner), world.outsider)
    client = login(world.org_admin)
    assert rows(client.get(AMENDMENTS)) == set(Amendment.objects.filter(observation=home))
    amendment = Amendment.objects.get(observation=home)
    response = client.get(change_url(amendment))
    assert not response.context["has_change_permission"]
    assert client.post(change_url(amendment), {"reason": "x"}).status_code == 403
    purveyor = login(world.purveyor_admin)
    delete = reverse("admin:observations_amendment_delete", args=[amendment.pk])
    assert purveyor.post(delete, {"post": "yes"}).status_code == 403
    assert Amendment.objects.count() == 2


DISPUTES = reverse("admin:observations_dispute_changelist")


def dispute(observation, by):
    return services.dispute_raise(observation=observation, by=by, reason="Not mine.")


def test_disputes_are_listed_within_scope_and_never_changed(world, login):
    home = dispute(make_observation(world.coach, world.practitioner), world.practitioner)
    dispute(make_observation(world.outsider, world.away_practitioner), world.away_practitioner)
    client = login(world.org_admin)
    assert rows(client.get(DISPUTES)) == {home}
    response = client.get(change_url(home))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert client.post(change_url(home), {"status": "answered"}).status_code == 403
    assert login(world.purveyor_admin).get(DISPUTES).status_code == 200
    home.refresh_from_db()
    assert home.is_open


def test_an_observation_whose_dispute_an_amendment_settled_can_be_deleted(world):
    """The dispute holds on to its amendment, yet both go with their observation."""
    observation = make_observation(world.coach, world.practitioner)
    raised = dispute(observation, world.practitioner)
    amend(observation, world.coach)
    raised.refresh_from_db()
    assert raised.amendment is not None
    Observation.objects.filter(pk=observation.pk).delete()
    assert not Observation.objects.exists()
    assert not Amendment.objects.exists()
    assert not Dispute.objects.exists()

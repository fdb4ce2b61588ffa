"""Admin edits leave history rows naming the acting user and the old values; the History
page shows them only to those who may see the record, and restores nothing."""

import pytest
from django.urls import reverse

from certification.models import EvidenceRule, Program, ReminderRule
from coaching.models import CoachAssignment
from miiwrap.people.models import Person, RoleGrant
from tests.people.test_admin import form_data


def admin_url(obj, action="change", *args):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}", args=[obj.pk, *args])


def edit(client, obj, **changes):
    """Open the record's change page and post it back with `changes`."""
    data = form_data(client.get(admin_url(obj)))
    data.update(changes)
    response = client.post(admin_url(obj), data)
    assert response.status_code == 302, (
        response.status_code,
        response.context and response.context["errors"],
    )
    return response


def last_two(obj):
    """The history rows before and after the latest change."""
    newest, before = obj.history.order_by("-history_date", "-history_id")[:2]
    return before, newest


def test_editing_a_person_keeps_the_old_value_and_who_changed_it(world, login):
    Person.objects.filter(pk=world.practitioner.pk).update(job_title="Facilitator")
    world.practitioner.refresh_from_db()
    world.practitioner.save()  # a first history row, as any row saved since has
    edit(login(world.org_admin), world.practitioner, job_title="Senior facilitator")
    before, after = last_two(world.practitioner)
    assert (before.job_title, after.job_title) == ("Facilitator", "Senior facilitator")
    assert after.history_user == world.org_admin.user


def roles_form(client, person, grant, **changes):
    """The person's change page with the role grant's inline row changed."""
    data = form_data(client.get(admin_url(person)))
    row = next(k for k, v in data.items() if k.endswith("-id") and v == str(grant.pk))[: -len("id")]
    data.update({row + name: value for name, value in changes.items()})
    return data


def test_changing_a_role_keeps_the_old_role_and_who_changed_it(world, login):
    grant = RoleGrant.objects.create(person=world.unassigned, role="leader")
    client = login(world.org_admin)
    client.post(
        admin_url(world.unassigned), roles_form(client, world.unassigned, grant, role="coach")
    )
    before, after = last_two(grant)
    assert (before.role, after.role) == ("leader", "coach")
    assert after.history_user == world.org_admin.user


def test_removing_a_role_keeps_who_removed_it(world, login):
    grant = RoleGrant.objects.create(person=world.unassigned, role="leader")
    client = login(world.org_admin)
    client.post(
        admin_url(world.unassigned), roles_form(client, world.unassigned, grant, DELETE="on")
    )
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    removed = RoleGrant.history.filter(id=grant.pk).latest()
    assert (removed.history_type, removed.role) == ("-", "leader")
    assert removed.history_user == world.org_admin.user


def test_ending_an_assignment_keeps_who_ended_it(world, login):
    assignment = CoachAssignment.objects.get(practitioner=world.practitioner)
    edit(login(world.org_admin), assignment, ends_on="2025-06-30")
    before, after = last_two(assignment)
    assert (before.ends_on, str(after.ends_on)) == (None, "2025-06-30")
    assert after.history_user == world.org_admin.user


def test_editing_a_program_and_its_evidence_rule_keeps_the_old_values(world, login):
    program = Program.objects.get(code="practitioner")
    rule = EvidenceRule.objects.filter(program=program).order_by("pk").first()
    program.save()
    rule.save()
    client = login(world.purveyor_admin)
    data = form_data(client.get(admin_url(program)))
    index = next(k for k, v in data.items() if k.endswith("-id") and v == str(rule.pk))
    data[index.replace("-id", "-min_observations")] = str(rule.min_observations + 1)
    data["active_months"] = str(program.active_months + 12)
    response = client.post(admin_url(program), data)
    assert response.status_code == 302, [
        response.context["adminform"].form.errors,
        [f.formset.errors for f in response.context["inline_admin_formsets"]],
    ]
    before, after = last_two(program)
    assert after.active_months == before.active_months + 12
    assert after.history_user == world.purveyor_admin.user
    before, after = last_two(rule)
    assert after.min_observations == before.min_observations + 1
    assert after.history_user == world.purveyor_admin.user


def test_editing_a_reminder_rule_keeps_the_old_subject(world, login):
    rule = ReminderRule.objects.create(
        program=Program.objects.get(code="practitioner"),
        organization=world.home,
        timing="before_expiry",
        days=45,
        subject="Renew soon",
        body_text="Hello {{ recipient }}",
    )
    edit(login(world.org_admin), rule, subject="Renew within 45 days")
    before, after = last_two(rule)
    assert (before.subject, after.subject) == ("Renew soon", "Renew within 45 days")
    assert after.history_user == world.org_admin.user


def test_the_history_page_shows_old_and_new_values_and_who(world, login):
    client = login(world.org_admin)
    edit(client, world.practitioner, job_title="Lead facilitator")
    page = client.get(admin_url(world.practitioner, "history")).content.decode()
    assert "Lead facilitator" in page
    assert world.org_admin.user.username in page


@pytest.mark.parametrize("record", ["away_practitioner", "away_assignment", "away_grant"])
def test_org_admin_gets_404_on_another_organizations_history(world, login, record):
    found = {
        "away_practitioner": world.away_practitioner,
        "away_assignment": CoachAssignment.objects.get(practitioner=world.away_practitioner),
        "away_grant": world.away_practitioner.roles.get(),
    }[record]
    found.save()  # so it has history to leak
    response = login(world.org_admin).get(admin_url(found, "history"))
    assert response.status_code == 404


def test_a_deleted_record_history_is_only_for_those_who_see_everything(world, login):
    grant = RoleGrant.objects.create(person=world.unassigned, role="leader")
    url = admin_url(grant, "history")
    grant.delete()
    assert login(world.org_admin).get(url).status_code == 404
    assert login(world.purveyor_admin).get(url).status_code == 200


@pytest.mark.parametrize("object_id", ["junk", "99999999"])
def test_history_of_junk_or_unknown_ids_is_404(world, login, object_id):
    url = reverse("admin:people_person_history", args=[object_id])
    assert login(world.purveyor_admin).get(url).status_code == 404


def test_old_versions_are_never_restored_through_the_admin(world, login):
    world.practitioner.save()
    version = world.practitioner.history.latest()
    url = admin_url(world.practitioner, "simple_history", version.history_id)
    client = login(world.purveyor_admin)
    assert client.get(url).status_code == 404
    assert client.post(url, {"first_name": "Changed"}).status_code == 404
    world.practitioner.refresh_from_db()
    assert world.practitioner.first_name == "Pat"


def test_every_audited_admin_shows_a_history_page_to_the_purveyor(world, login):
    from coaching.models import DriftSettings
    from observations.models import RubricVersion
    from tests.coaching.test_alert_views import make_alert
    from tests.factories import make_observation, make_period

    records = [
        make_observation(world.coach, world.practitioner),
        make_alert(world.practitioner),
        make_period(world.practitioner, world.coach),
        Program.objects.get(code="practitioner"),
        ReminderRule.objects.first(),
        RubricVersion.objects.first(),
        DriftSettings.objects.first() or DriftSettings.objects.create(rubric_id=1),
        world.home,
        world.team_a,
        CoachAssignment.objects.first(),
    ]
    client = login(world.purveyor_admin)
    for record in records:
        record.save()
        response = client.get(admin_url(record, "history"))
        assert response.status_code == 200, record
        assert b'id="change-history"' in response.content

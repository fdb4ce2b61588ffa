"""Overdue actions of an alignment plan reach the organization's leaders in their daily
digest, once per leader and due day."""

import datetime as dt

import pytest

from certification.jobs import run as daily_job
from miiwrap.implementation import services
from miiwrap.implementation.models import ActionItem
from miiwrap.notifications.models import Notification
from tests.factories import make_person

TODAY = dt.date(2026, 4, 1)


@pytest.fixture
def plan(world):
    return services.alignment_plan_for(organization=world.home, by=world.leader)


def action(plan, who, what, due_on, status="planned"):
    return ActionItem.objects.create(
        plan=plan, what=what, due_on=due_on, status=status, created_by=who
    )


def digest_items(person):
    return sorted(
        Notification.objects.filter(recipient=person, delivery="digest").values_list(
            "subject", flat=True
        )
    )


def test_an_overdue_action_is_in_each_leaders_digest(world, plan):
    second = make_person(world.home, "leader", first_name="Lou")
    action(plan, world.leader, "Cap caseloads", dt.date(2026, 3, 31))
    daily_job(today=TODAY, send=False)
    expected = ["Alignment plan: “Cap caseloads” was due 2026-03-31"]
    assert digest_items(world.leader) == expected
    assert digest_items(second) == expected
    digest = Notification.objects.get(recipient=world.leader, kind="digest")
    assert "Cap caseloads" in digest.body_text and "/implementation/" in digest.body_text


def test_only_open_actions_past_their_due_day_are_told(world, plan):
    action(plan, world.leader, "Due today", TODAY)
    action(plan, world.leader, "Done late", dt.date(2026, 3, 1), status="done")
    action(plan, world.leader, "Dropped", dt.date(2026, 3, 1), status="dropped")
    action(plan, world.leader, "No date", None)
    assert services.action_items_overdue_tell(today=TODAY) == 0


def test_nobody_outside_the_organizations_leaders_is_told(world, plan):
    action(plan, world.leader, "Cap caseloads", dt.date(2026, 3, 1))
    services.action_items_overdue_tell(today=TODAY)
    for person in (world.org_admin, world.coach, world.outsider, world.purveyor_admin):
        assert digest_items(person) == []


def test_running_the_job_again_tells_once_and_a_new_due_day_again(world, plan):
    late = action(plan, world.leader, "Cap caseloads", dt.date(2026, 3, 1))
    assert services.action_items_overdue_tell(today=TODAY) == 1
    assert services.action_items_overdue_tell(today=TODAY) == 0
    late.due_on = dt.date(2026, 3, 20)
    late.save()
    assert services.action_items_overdue_tell(today=TODAY) == 1
    assert len(digest_items(world.leader)) == 2


def test_each_organization_is_read_on_its_own_today(world, plan, time_machine):
    # 02:00 UTC on the 2nd is still the 1st in Chicago: due on the 1st, not yet overdue.
    world.home.time_zone = "America/Chicago"
    world.home.save()
    action(plan, world.leader, "Cap caseloads", dt.date(2026, 4, 1))
    time_machine.move_to(dt.datetime(2026, 4, 2, 2, tzinfo=dt.UTC), tick=False)
    assert services.action_items_overdue_tell() == 0
    time_machine.move_to(dt.datetime(2026, 4, 2, 7, tzinfo=dt.UTC), tick=False)
    assert services.action_items_overdue_tell() == 1


def test_a_leader_who_has_left_is_not_told(world, plan):
    world.leader.leave_date = dt.date(2026, 1, 31)
    world.leader.save()
    still = make_person(world.home, "leader", first_name="Lou")
    action(plan, still, "Cap caseloads", dt.date(2026, 3, 1))
    assert services.action_items_overdue_tell(today=TODAY) == 1
    assert digest_items(world.leader) == []
    assert len(digest_items(still)) == 1

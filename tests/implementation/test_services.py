"""The services that write readiness assessments and alignment plans, and the reads the
pages share, against small hand-made cases."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from miiwrap.implementation import plans, readiness, services
from miiwrap.implementation.forms import participants
from miiwrap.implementation.models import ActionItem, ReadinessAssessment
from tests.factories import make_person
from tests.implementation.conftest import make_assessment, ratings


def test_a_draft_is_scored_on_each_save_with_what_is_entered(world, instrument):
    draft = make_assessment(
        world.home, world.purveyor_admin, instrument, scores={"lc-sponsor": 3}, final=False
    )
    assert (draft.overall_score, draft.band) == (100, "ready")  # 3 of 3 on the one item rated
    draft.scores = {"lc-sponsor": 3, "lc-vision": 0}
    services.readiness_assessment_save(
        assessment=draft, leaders=[], definition=instrument.definition(), finalize=False
    )
    draft.refresh_from_db()
    assert (draft.overall_score, draft.band, draft.status) == (50, "emerging", "draft")
    assert draft.metrics["leadership"]["value"] == 1.5


def test_a_final_assessment_no_longer_changes(world, instrument):
    final = make_assessment(world.home, world.purveyor_admin, instrument)
    final.scores = ratings(instrument, 3)
    with pytest.raises(ValidationError, match="This assessment is final"):
        services.readiness_assessment_save(
            assessment=final, leaders=[], definition=instrument.definition(), finalize=True
        )
    final.refresh_from_db()
    assert final.scores == ratings(instrument)


def test_finalizing_needs_every_item_scored(world, instrument):
    scores = ratings(instrument)
    del scores["fy-choice"]
    with pytest.raises(ValidationError) as refused:
        make_assessment(world.home, world.purveyor_admin, instrument, scores=scores)
    assert refused.value.message_dict == {"item__fy-choice": ["Score this item."]}
    assert not ReadinessAssessment.objects.exists()


def test_a_rating_off_the_scale_is_refused_even_in_a_draft(world, instrument):
    with pytest.raises(ValidationError) as refused:
        make_assessment(
            world.home, world.purveyor_admin, instrument, scores={"lc-team": 4}, final=False
        )
    assert refused.value.message_dict == {"item__lc-team": ["Choose a rating from 0 to 3."]}


def test_the_leaders_who_took_part_are_kept(world, instrument):
    assessment = ReadinessAssessment(
        organization=world.home,
        version=instrument,
        recorded_by=world.purveyor_admin,
        assessed_on=dt.date(2026, 3, 2),
        scores=ratings(instrument),
    )
    services.readiness_assessment_save(
        assessment=assessment,
        leaders=[world.leader, world.org_admin],
        definition=instrument.definition(),
        finalize=True,
    )
    assert set(assessment.leaders.all()) == {world.leader, world.org_admin}


def test_only_current_leaders_and_admins_of_the_organization_take_part(world):
    gone = make_person(world.home, "leader", leave_date=dt.date(2025, 1, 1))
    found = set(participants(world.home))
    assert found == {world.leader, world.org_admin}
    assert gone not in found and world.outsider not in found


def test_the_weakest_items_are_started_as_many_as_asked(world, instrument):
    assessment = make_assessment(
        world.home,
        world.purveyor_admin,
        instrument,
        scores=ratings(instrument, 3, lc_team=0, pd_policy=1, su_trained=2),
    )
    plan, added = services.action_items_from_weakest(
        assessment=assessment, by=world.leader, count=2
    )
    assert [action.started_from for action in added] == ["lc-team", "pd-policy"]
    _, more = services.action_items_from_weakest(assessment=assessment, by=world.leader, count=3)
    assert [action.started_from for action in more] == ["su-trained"]
    assert plan.actions.count() == 3


def test_an_action_needs_a_what_and_keeps_its_plan(world):
    plan = services.alignment_plan_for(organization=world.home, by=world.leader)
    with pytest.raises(ValidationError):
        services.action_item_save(action=ActionItem(what=""), plan=plan, by=world.leader)
    saved = services.action_item_save(
        action=ActionItem(what="Cap caseloads"), plan=plan, by=world.leader
    )
    assert (saved.plan, saved.created_by, saved.status) == (plan, world.leader, "planned")
    assert services.alignment_plan_for(organization=world.home, by=world.purveyor_admin) == plan


def test_progress_counts_done_of_those_not_dropped(world):
    plan = services.alignment_plan_for(organization=world.home, by=world.leader)
    for status in ("done", "done", "planned", "in_progress", "dropped"):
        ActionItem.objects.create(plan=plan, what=status, status=status, created_by=world.leader)
    found = plans.progress(world.home, dt.date(2026, 4, 1))
    assert (found.done, found.total, found.overdue) == (2, 4, [])


def test_the_change_rows_group_items_by_domain_with_their_levels(world, instrument):
    before = ratings(instrument, lc_sponsor=0)
    after = ratings(instrument, lc_sponsor=3)
    changes = readiness.changes(instrument.definition(), (before, {}), (after, {}))
    rows = dict(plans.change_rows(instrument, changes))
    assert list(rows)[:2] == ["Leadership commitment", "Policies and documentation"]
    sponsor = rows["Leadership commitment"][0]
    assert (sponsor.before, sponsor.after, sponsor.change.direction) == (
        "0 · Not in place",
        "3 · In place",
        "up",
    )
    assert sum(len(group) for group in rows.values()) == 26

"""The certification admin: programs are the purveyor's; periods are read-only and scoped."""

import pytest

from certification.models import CertificationPeriod, Program
from tests.factories import make_period

PROGRAMS = "/admin/certification/program/"
PERIODS = "/admin/certification/certificationperiod/"


@pytest.mark.parametrize("url", [PROGRAMS, PROGRAMS + "add/", PERIODS])
def test_purveyor_admin_opens_the_certification_admin(world, login, url):
    assert login(world.purveyor_admin).get(url).status_code == 200


def test_org_admin_reads_programs_but_cannot_add_one(world, login):
    client = login(world.org_admin)
    assert client.get(PROGRAMS).status_code == 200
    assert client.get(PROGRAMS + "add/").status_code == 403


def test_periods_cannot_be_added_or_edited_in_the_admin(world, login):
    period = make_period(world.practitioner, world.coach)
    client = login(world.purveyor_admin)
    assert client.get(PERIODS + "add/").status_code == 403
    response = client.post(f"{PERIODS}{period.pk}/change/", {"valid_until": "2099-01-01"})
    assert response.status_code == 403
    assert CertificationPeriod.objects.get(pk=period.pk).valid_until == period.valid_until


def test_org_admin_sees_only_their_organizations_periods(world, login):
    home = make_period(world.practitioner, world.coach)
    away = make_period(world.away_practitioner, world.outsider)
    listed = set(login(world.org_admin).get(PERIODS).context["cl"].result_list)
    assert home in listed
    assert away not in listed


def test_coaches_are_kept_out_of_the_admin(world, login):
    response = login(world.coach).get(PROGRAMS)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def rule_form_data(program, **rule):
    """The program change form as the admin posts it, with its two evidence rules."""
    from certification.models import EvidenceRule

    data = {
        "code": program.code,
        "name": program.name,
        "audience_role": program.audience_role,
        "requires": program.requires_id or "",
        "certifier_program": program.certifier_program_id or "",
        "certified_by_purveyor": "on" if program.certified_by_purveyor else "",
        "active_months": program.active_months,
        "window_days": program.window_days,
        "grace_days": program.grace_days,
        "renew_from": program.renew_from,
        "deadline_days_after_hire": "",
        "observe_every_days": program.observe_every_days,
        "session_every_days": program.session_every_days,
        "session_every_days_certified": program.session_every_days_certified,
        "goal_held_observations": program.goal_held_observations,
        "dispute_window_days": program.dispute_window_days,
        "co_observed_percent": program.co_observed_percent,
        "position": program.position,
        "evidence_rules-TOTAL_FORMS": 2,
        "evidence_rules-INITIAL_FORMS": 2,
        "evidence_rules-MIN_NUM_FORMS": 0,
        "evidence_rules-MAX_NUM_FORMS": 2,
    }
    for n, existing in enumerate(EvidenceRule.objects.filter(program=program).order_by("pk")):
        values = {
            "id": existing.pk,
            "program": program.pk,
            "kind": existing.kind,
            "rubric": existing.rubric_id,
            "min_observations": existing.min_observations,
            "within_days": existing.within_days or "",
            "min_overall": existing.min_overall or "",
            "min_band": existing.min_band,
            "observer_certified_in": existing.observer_certified_in_id or "",
            "min_activity_types": existing.min_activity_types,
            "companion_rubric": existing.companion_rubric_id or "",
            "companion_min_band": existing.companion_min_band,
            "source": existing.source,
            "min_cases": existing.min_cases,
            "min_within_one_percent": existing.min_within_one_percent,
            "min_events": existing.min_events,
            "event_kind": existing.event_kind,
        }
        if existing.kind == "initial":
            values.update(rule)
        data.update({f"evidence_rules-{n}-{key}": value for key, value in values.items()})
    return data


@pytest.mark.parametrize(
    "change, error",
    [
        ({"min_band": "stellar"}, "“stellar” is not a band of MiiWrap fidelity tool."),
        ({"companion_min_band": "excellent"}, "“excellent” is not a band of MI coding rubric."),
        ({"companion_min_band": ""}, "Name the band the companion rubric must reach."),
        ({"min_activity_types": 9}, "Cannot ask for more activity types than observations."),
    ],
)
def test_an_evidence_rule_that_cannot_be_met_is_refused_with_a_reason(world, login, change, error):
    from certification.models import EvidenceRule, Program

    program = Program.objects.get(code="practitioner")
    response = login(world.purveyor_admin).post(
        f"{PROGRAMS}{program.pk}/change/", rule_form_data(program, **change)
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert EvidenceRule.objects.get(program=program, kind="initial").min_activity_types == 2


def test_the_purveyor_edits_an_evidence_rule_in_the_admin(world, login):
    from certification.models import EvidenceRule, Program

    program = Program.objects.get(code="practitioner")
    response = login(world.purveyor_admin).post(
        f"{PROGRAMS}{program.pk}/change/", rule_form_data(program, min_observations=4)
    )
    assert response.status_code == 302
    assert EvidenceRule.objects.get(program=program, kind="initial").min_observations == 4


def test_the_purveyor_asks_a_rule_for_events_of_a_kind(world, login):
    from certification.models import EvidenceRule, Program

    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program, min_events=2, event_kind="learning_community")
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 302
    rule = EvidenceRule.objects.get(program=program, kind="initial")
    assert (rule.min_events, rule.event_kind) == (2, "learning_community")


@pytest.mark.parametrize(
    "change, error",
    [
        ({"event_kind": "party"}, "Select a valid choice. party is not one of"),
        (
            {"min_events": 0, "event_kind": "training"},
            "Ask for at least 1 event of this kind, or leave the kind empty.",
        ),
    ],
)
def test_an_event_requirement_that_says_nothing_is_refused(world, login, change, error):
    from certification.models import EvidenceRule, Program

    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program, **change)
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert EvidenceRule.objects.get(program=program, kind="initial").min_events == 0


def test_the_purveyor_sets_how_often_a_program_observes(world, login):
    from certification.models import Program

    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program)
    data["observe_every_days"] = 45
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.observe_every_days == 45


def test_the_purveyor_sets_the_co_observed_share_and_over_100_is_refused(world, login):
    from certification.models import Program

    program = Program.objects.get(code="practitioner")
    client = login(world.purveyor_admin)
    data = rule_form_data(program)
    data["co_observed_percent"] = 101
    refused = client.post(f"{PROGRAMS}{program.pk}/change/", data)
    assert refused.status_code == 200 and "0 to 100" in refused.content.decode()
    data["co_observed_percent"] = 20
    assert client.post(f"{PROGRAMS}{program.pk}/change/", data).status_code == 302
    program.refresh_from_db()
    assert program.co_observed_percent == 20
    assert program.history.first().co_observed_percent == 20


def test_the_purveyor_sets_how_long_a_goal_s_target_must_hold(world, login):
    from certification.models import Program

    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program)
    data["goal_held_observations"] = 5
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.goal_held_observations == 5
    assert program.history.first().goal_held_observations == 5  # who and when kept


def test_a_goal_held_for_zero_observations_is_refused(world, login):
    from certification.models import Program

    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program)
    data["goal_held_observations"] = 0
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert "A goal&#x27;s target must hold in at least 1 observation." in response.content.decode()
    program.refresh_from_db()
    assert program.goal_held_observations == 3


def test_the_purveyor_sets_how_long_an_observation_may_be_disputed(world, login):
    program = Program.objects.get(code="practitioner")
    assert program.dispute_window_days == 14
    data = rule_form_data(program)
    data["dispute_window_days"] = 21
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.dispute_window_days == 21
    latest = program.history.first()
    assert (latest.dispute_window_days, latest.history_user) == (21, world.purveyor_admin.user)


def test_a_dispute_window_of_zero_days_is_refused(world, login):
    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program)
    data["dispute_window_days"] = 0
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 200
    assert "Allow at least 1 day to dispute an observation." in response.content.decode()
    program.refresh_from_db()
    assert program.dispute_window_days == 14


def test_observing_every_zero_days_is_refused(world, login):
    from certification.models import Program

    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program)
    data["observe_every_days"] = 0
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert "Observe at least once every 1 day or more." in response.content.decode()


def test_a_window_longer_than_the_period_is_refused(world, login):
    from certification.models import Program

    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program)
    data["window_days"] = 700
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert "The window must open inside the period (under 672)." in response.content.decode()


def test_the_purveyor_sets_how_often_coaching_sessions_are_held(world, login):
    program = Program.objects.get(code="practitioner")
    assert (program.session_every_days, program.session_every_days_certified) == (30, 90)
    data = rule_form_data(program)
    data["session_every_days"] = 21
    data["session_every_days_certified"] = 60
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 302
    program.refresh_from_db()
    assert (program.session_every(False), program.session_every(True)) == (21, 60)
    latest = program.history.first()
    assert (latest.session_every_days, latest.history_user) == (21, world.purveyor_admin.user)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("session_every_days", "Until certified, hold a coaching session once every"),
        ("session_every_days_certified", "Once certified, hold a coaching session once every"),
    ],
)
def test_coaching_sessions_every_zero_days_are_refused(world, login, field, message):
    program = Program.objects.get(code="practitioner")
    data = rule_form_data(program)
    data[field] = 0
    response = login(world.purveyor_admin).post(f"{PROGRAMS}{program.pk}/change/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert data["observe_every_days"] == program.observe_every_days
    program.refresh_from_db()
    assert getattr(program, field) in (30, 90)

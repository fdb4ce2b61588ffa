"""An alert's life, night by night: tonight's chart (a list of levels.Found, as the
detector reports it) fed to services.sync_alerts. The rule: a series out of control
tonight always has exactly one alert that is not closed; only the job closes one, once
the series is back in control for close_after points; people acknowledge, address or
dismiss, and none of these closes it."""

import datetime as dt

import pytest
from django.db import IntegrityError

from coaching import drift, levels, services
from coaching.models import DriftAlert, DriftSettings
from observations.models import Rubric

NIGHT_ONE = dt.date(2026, 6, 1)
BEGAN = dt.date(2026, 5, 4)


@pytest.fixture
def rubric(db):
    return Rubric.objects.get(code="miiwrap-fidelity")


def found(person, rubric, *, out_now=True, calm=0, points=20, began_on=BEGAN, current=80.0):
    """Tonight's chart of one practitioner's series, as the detector reports it."""
    return levels.Found(
        scope="person",
        subject=f"person:{person.pk}",
        organization_id=person.organization_id,
        rubric_id=rubric.pk,
        rule="ewma",
        rules=({"rule": "ewma", "statistic": current, "limit": 82.0},),
        began_on=began_on,
        baseline=88.0,
        baseline_from="the first 5 observations",
        current=current,
        sigma=1.6,
        points=points,
        practitioner_id=person.pk,
        out_now=out_now,
        calm=calm,
    )


def team_found(team, rubric, **fields):
    return levels.Found(
        scope="team",
        subject=f"team:{team.pk}",
        organization_id=team.organization_id,
        rubric_id=rubric.pk,
        rule="ewma",
        rules=({"rule": "ewma", "statistic": 80.0, "limit": 82.0},),
        began_on=BEGAN,
        baseline=88.0,
        baseline_from="the first 5 months",
        current=80.0,
        sigma=1.6,
        points=12,
        team_id=team.pk,
        **fields,
    )


def night(n, chart, *, scope="person", rules=None, subjects=None):
    """Run the alert part of the job on night `n` (0: NIGHT_ONE) over this chart."""
    report = services.Report()
    services.sync_alerts(
        chart,
        lambda chosen: [() for _ in chosen],
        today=NIGHT_ONE + dt.timedelta(days=n),
        scope=scope,
        subjects=subjects,
        rules={} if rules is None else rules,
        report=report,
    )
    return report


def not_closed(person=None):
    alerts = DriftAlert.objects.active()
    return list(alerts.filter(practitioner=person) if person else alerts)


def alerts_of(person):
    return list(DriftAlert.objects.filter(practitioner=person).order_by("pk"))


# The silent drift --------------------------------------------------------------------------


def test_an_episode_back_with_the_same_start_after_the_job_closed_it_raises_a_new_alert(
    world, rubric
):
    pat = world.practitioner
    night(0, [found(pat, rubric)])
    night(1, [found(pat, rubric, out_now=False, calm=3)])
    [closed] = alerts_of(pat)
    assert closed.status == "resolved" and closed.resolved_by is None
    # σ is re-estimated: the next night the same episode, with the same start, is out again.
    report = night(2, [found(pat, rubric, began_on=BEGAN)])
    assert report.raised["person"] == 1
    first, second = alerts_of(pat)
    assert (first.pk, first.status) == (closed.pk, "resolved")
    assert (second.status, second.began_on, second.raised_on) == (
        "open",
        BEGAN,
        dt.date(2026, 6, 3),
    )


def test_out_of_control_every_night_means_exactly_one_alert_not_closed(world, rubric):
    pat = world.practitioner
    # Out, a few calm points, out again, long calm, out: as σ moves night to night.
    charts = [
        (True, 0),
        (True, 0),
        (False, 1),
        (False, 2),
        (True, 0),
        (False, 1),
        (False, 2),
        (False, 3),
        (True, 0),
        (True, 0),
        (False, 3),
        (False, 4),
        (True, 0),
    ]
    for n, (out_now, calm) in enumerate(charts):
        night(n, [found(pat, rubric, out_now=out_now, calm=calm, points=20 + n)])
        if out_now:
            assert len(not_closed(pat)) == 1, f"night {n}"
        else:
            assert len(not_closed(pat)) <= 1, f"night {n}"
    # Three episodes closed by the job after three calm points each; the fourth is open.
    assert [a.status for a in alerts_of(pat)] == ["resolved", "resolved", "open"]


def test_an_alert_stays_open_while_fewer_calm_points_than_close_after(world, rubric):
    pat = world.practitioner
    night(0, [found(pat, rubric)])
    for calm in (1, 2):
        report = night(calm, [found(pat, rubric, out_now=False, calm=calm)])
        assert report.resolved == 0 and report.ongoing == 1
        assert [a.status for a in alerts_of(pat)] == ["open"]
    report = night(3, [found(pat, rubric, out_now=False, calm=3)])
    assert report.resolved == 1
    [alert] = alerts_of(pat)
    assert (alert.status, alert.resolved_on) == ("resolved", dt.date(2026, 6, 4))
    closing = alert.history.order_by("history_id").last()
    assert closing.history_change_reason == "Back in control for 3 observations"
    assert closing.history_user is None


def test_each_rubric_closes_after_its_own_setting(world, rubric):
    pat = world.practitioner
    rules = {rubric.pk: DriftSettings(rubric=rubric, close_after=5)}
    night(0, [found(pat, rubric)], rules=rules)
    night(1, [found(pat, rubric, out_now=False, calm=4)], rules=rules)
    assert not_closed(pat)
    night(2, [found(pat, rubric, out_now=False, calm=5)], rules=rules)
    assert not not_closed(pat)
    reason = alerts_of(pat)[0].history.order_by("history_id").last().history_change_reason
    assert reason == "Back in control for 5 observations"


def test_a_team_alert_closes_after_months_back_in_control(world, rubric):
    night(0, [team_found(world.team_a, rubric)], scope="team")
    night(1, [team_found(world.team_a, rubric, out_now=False, calm=3)], scope="team")
    [alert] = DriftAlert.objects.filter(scope="team")
    assert alert.status == "resolved"
    last = alert.history.order_by("history_id").last()
    assert last.history_change_reason == "Back in control for 3 months"


def test_a_series_no_longer_reported_has_its_alert_closed(world, rubric):
    night(0, [found(world.practitioner, rubric)])
    assert night(1, []).resolved == 1
    [alert] = alerts_of(world.practitioner)
    assert alert.status == "resolved"
    last = alert.history.order_by("history_id").last()
    assert last.history_change_reason == "No longer out of control"


def test_a_series_in_control_tonight_without_an_alert_raises_none(world, rubric):
    report = night(0, [found(world.practitioner, rubric, out_now=False, calm=1)])
    assert report.raised["person"] == 0
    assert not DriftAlert.objects.exists()


def test_an_ongoing_alert_is_refreshed_while_calm_points_are_too_few(world, rubric):
    pat = world.practitioner
    night(0, [found(pat, rubric, current=80.0)])
    night(1, [found(pat, rubric, out_now=False, calm=1, points=21, current=83.0)])
    [alert] = alerts_of(pat)
    assert (alert.status, alert.current, alert.points) == ("open", 83.0, 21)
    assert alert.checked_on == dt.date(2026, 6, 2)


def test_the_job_run_twice_on_one_night_changes_nothing_the_second_time(world, rubric):
    pat, other = world.practitioner, world.unassigned
    night(0, [found(pat, rubric), found(other, rubric)])
    chart = [found(pat, rubric, points=21), found(other, rubric, out_now=False, calm=3)]
    night(1, chart)
    before = list(DriftAlert.objects.values().order_by("pk"))
    history = DriftAlert.history.count()
    report = night(1, chart)
    assert (report.raised["person"], report.resolved) == (0, 0)
    assert list(DriftAlert.objects.values().order_by("pk")) == before
    assert DriftAlert.history.count() == history


def test_only_the_subjects_in_question_are_closed(world, rubric):
    pat, other = world.practitioner, world.unassigned
    night(0, [found(pat, rubric), found(other, rubric)])
    night(1, [found(pat, rubric)], subjects={f"person:{pat.pk}"})
    assert len(not_closed()) == 2


def test_a_raised_alert_s_first_history_row_is_as_simple_history_writes_one(world, rubric):
    """record_raised copies the alerts in the database: the same row bulk_history_create
    makes from the alert read back (but the history id and date)."""
    night(0, [found(world.practitioner, rubric), found(world.unassigned, rubric)])
    copied = list(DriftAlert.history.order_by("id").values())
    DriftAlert.history.all().delete()
    DriftAlert.history.bulk_history_create(
        list(DriftAlert.objects.order_by("id")), default_change_reason="Raised by the drift job"
    )
    made = list(DriftAlert.history.order_by("id").values())
    for row in (*copied, *made):
        del row["history_id"], row["history_date"]
    assert len(copied) == 2
    assert copied == made


def test_a_raised_alert_recorded_already_gets_no_second_history_row(world, rubric):
    night(0, [found(world.practitioner, rubric)])
    services.record_raised([found(world.practitioner, rubric)], NIGHT_ONE)
    assert DriftAlert.history.count() == 1


def test_two_runs_raising_at_once_store_one_alert(world, rubric):
    fresh = [found(world.practitioner, rubric)]
    services.raise_new(fresh, NIGHT_ONE)
    services.raise_new(fresh, NIGHT_ONE)
    assert len(not_closed(world.practitioner)) == 1


def test_the_database_refuses_a_second_alert_not_closed_on_one_series(world, rubric):
    night(0, [found(world.practitioner, rubric)])
    [alert] = alerts_of(world.practitioner)
    DriftAlert.objects.filter(pk=alert.pk).update(status="dismissed", dismissal_reason="Odd.")
    alert.pk = None
    with pytest.raises(IntegrityError):
        alert.save()


# What people do: none of it closes the alert --------------------------------------------


@pytest.fixture
def raised(world, rubric):
    night(0, [found(world.practitioner, rubric)])
    return DriftAlert.objects.get()


@pytest.mark.parametrize(
    ("service", "words", "status", "fields"),
    [
        ("alert_acknowledge", {"note": "Read it."}, "acknowledged", ("acknowledged_by", "note")),
        (
            "alert_address",
            {"note": "Sessions on reflections."},
            "addressing",
            ("addressed_by", "addressing_note"),
        ),
        (
            "alert_dismiss",
            {"reason": "Unusual sessions."},
            "dismissed",
            ("dismissed_by", "dismissal_reason"),
        ),
    ],
)
def test_each_action_records_who_when_and_the_old_status_and_leaves_it_open(
    world, rubric, raised, service, words, status, fields
):
    assert getattr(services, service)(alert=raised, by=world.coach, **words)
    raised.refresh_from_db()
    by, text = fields
    assert raised.status == status and raised.is_active
    assert getattr(raised, by) == world.coach
    assert getattr(raised, text) == next(iter(words.values()))
    assert getattr(raised, by.replace("_by", "_at")) is not None
    old, new = raised.history.order_by("history_id")
    assert (old.status, new.status) == ("open", status)
    assert raised.resolved_on is None
    # The same words again change nothing.
    assert not getattr(services, service)(alert=raised, by=world.coach, **words)
    assert raised.history.count() == 2
    # The series stays out: the job keeps it, raises nothing beside it.
    report = night(1, [found(world.practitioner, rubric, points=21)])
    assert (report.raised["person"], report.ongoing) == (0, 1)
    assert DriftAlert.objects.get().status == status


def test_the_job_closes_a_dismissed_alert_and_a_new_episode_raises_a_new_one(world, rubric, raised):
    pat = world.practitioner
    services.alert_dismiss(alert=raised, by=world.coach, reason="Unusual sessions.")
    night(1, [found(pat, rubric, out_now=False, calm=2)])
    assert DriftAlert.objects.get().status == "dismissed"
    night(2, [found(pat, rubric, out_now=False, calm=3)])
    closed = DriftAlert.objects.get()
    assert (closed.status, closed.resolved_by) == ("resolved", None)
    assert closed.dismissal_reason == "Unusual sessions."
    night(3, [found(pat, rubric, began_on=dt.date(2026, 6, 3))])
    assert [a.status for a in alerts_of(pat)] == ["resolved", "open"]


@pytest.mark.parametrize("service", ["alert_acknowledge", "alert_address", "alert_dismiss"])
def test_nobody_acts_on_an_alert_the_job_closed(world, rubric, raised, service):
    night(1, [])
    words = {"reason": "Late."} if service == "alert_dismiss" else {"note": "Late."}
    assert not getattr(services, service)(alert=raised, by=world.coach, **words)
    raised.refresh_from_db()
    assert raised.status == "resolved"


def test_acknowledging_does_not_take_back_being_addressed(world, raised):
    services.alert_address(alert=raised, by=world.coach, note="Sessions.")
    assert not services.alert_acknowledge(alert=raised, by=world.leader, note="Read it.")
    raised.refresh_from_db()
    assert (raised.status, raised.note) == ("addressing", "")


def test_dismissed_alerts_are_not_among_those_to_follow_up(world, raised):
    assert list(DriftAlert.objects.to_follow_up()) == [raised]
    services.alert_dismiss(alert=raised, by=world.coach, reason="Unusual sessions.")
    assert list(DriftAlert.objects.to_follow_up()) == []
    assert list(DriftAlert.objects.active()) == [raised]


def test_the_database_refuses_a_dismissal_without_a_reason(raised):
    with pytest.raises(IntegrityError):
        DriftAlert.objects.filter(pk=raised.pk).update(status="dismissed")


# The setting --------------------------------------------------------------------------------


def test_close_after_defaults_to_three_and_goes_to_the_detector(rubric):
    assert DriftSettings(rubric=rubric).params().close_after == 3 == drift.DEFAULTS.close_after
    assert DriftSettings(rubric=rubric, close_after=6).params().close_after == 6


def test_close_after_is_at_least_one(rubric):
    with pytest.raises(IntegrityError):
        DriftSettings.objects.create(rubric=rubric, close_after=0)

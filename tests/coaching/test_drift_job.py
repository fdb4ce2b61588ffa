"""The drift job over the database: alerts per episode, momentum, levels, notifications."""

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching import levels, services
from coaching.models import (
    DriftAlert,
    DriftSettings,
    ItemMonth,
    Momentum,
    OrganizationItemMonth,
    PooledSpread,
)
from miiwrap.notifications.models import Notification
from observations.models import ActivityType, Observation
from tests.factories import make_assignment, make_period, make_person, rubric_version

TODAY = dt.date(2026, 6, 30)
# Small ups and downs around a level: a within-person σ of about 1.6 points.
WOBBLE = [0.0, 1.5, -1.0, 0.5, -1.5, 1.0, -0.5, 0.0]


def fidelity_band(score):
    for band, minimum in (("high", 85), ("adequate", 75), ("borderline", 65)):
        if score >= minimum:
            return band
    return "low"


def observe(coach, person, scores, *, start=dt.date(2025, 1, 6), every=7, items=None):
    """Submitted observations with these overall scores, one every `every` days."""
    version = rubric_version()
    activity = ActivityType.objects.first()
    rows = [
        Observation(
            coach=coach,
            practitioner=person,
            rubric_version=version,
            activity=activity,
            observed_on=start + dt.timedelta(days=every * n),
            status=Observation.Status.SUBMITTED,
            overall_score=Decimal(str(round(score, 2))),
            band=fidelity_band(score),
            scores=(items(n, score) if items else {}),
        )
        for n, score in enumerate(scores)
    ]
    return Observation.objects.bulk_create(rows)


def level(value, count, shift=0):
    return [value + WOBBLE[n % len(WOBBLE)] + shift for n in range(count)]


def run(today=TODAY, **kwargs):
    return services.drift_detect(today=today, **kwargs)


def alerts(**filters):
    return list(DriftAlert.objects.filter(**filters).order_by("began_on", "pk"))


def rules_in(alert):
    return [entry["rule"] for entry in alert.rules]


@pytest.fixture
def certified(world):
    """Pat, certified on three observations at about 88, then twelve more like them."""
    made = observe(world.coach, world.practitioner, level(88, 15))
    make_period(
        world.practitioner,
        world.coach,
        valid_from=made[2].observed_on,
        evidence=[{"id": o.pk} for o in made[:3]],
    )
    return made


def test_a_steady_practitioner_raises_nothing(world, certified):
    report = run()
    assert alerts(scope="person") == []
    assert report.raised["person"] == 0
    momentum = Momentum.objects.get(person=world.practitioner)
    assert momentum.direction == "steady"


def test_a_sustained_drop_raises_one_alert_naming_every_rule_that_fires(world, certified):
    dropped = observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    [alert] = alerts(scope="person", practitioner=world.practitioner)
    # Overall scores only (no item scores): the shift rule alone.
    assert rules_in(alert) == ["shift"] and alert.rule == "shift"
    assert alert.status == "open"
    assert alert.began_on == dropped[0].observed_on
    # The usual level: the twelve before the fall, not the three that earned the
    # certification (chosen for being high); a lone practitioner has no peers to shrink to.
    usual = level(88, 15)[3:]
    assert alert.baseline == pytest.approx(sum(usual) / len(usual), abs=0.01)
    assert "not the certification's evidence" in alert.baseline_from
    assert alert.current == pytest.approx(sum(level(80, 4)) / 4, abs=0.6)
    shift = alert.rules[0]
    assert shift["statistic"] > shift["limit"]
    assert alert.organization == world.home
    assert "standard errors below the usual level" in alert.explanation()


def test_running_again_raises_nothing_new_and_tells_nobody_again(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    first = run()
    told = Notification.objects.filter(kind="alert").count()
    second = run(today=TODAY + dt.timedelta(days=1))
    assert first.raised["person"] == 1
    assert second.raised["person"] == 0 and second.ongoing == 1
    assert Notification.objects.filter(kind="alert").count() == told
    assert DriftAlert.objects.count() == 1
    assert {a.checked_on for a in DriftAlert.objects.all()} == {TODAY + dt.timedelta(days=1)}


def test_the_coach_is_emailed_and_the_leader_gets_it_in_the_digest(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    to_coach = Notification.objects.filter(kind="alert", recipient=world.coach)
    to_leader = Notification.objects.filter(kind="alert", recipient=world.leader)
    assert to_coach.count() == 1 and {n.delivery for n in to_coach} == {"email"}
    assert to_leader.count() == 1 and {n.delivery for n in to_leader} == {"digest"}
    assert not Notification.objects.filter(kind="alert", recipient=world.practitioner).exists()
    assert "Pat" in to_coach.first().subject
    assert "/coaching/alerts/" in to_coach.first().body_text


def test_back_in_control_resolves_the_alert_by_itself(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    observe(world.coach, world.practitioner, level(88, 16), start=dt.date(2025, 6, 1))
    report = run(today=TODAY + dt.timedelta(days=1))
    assert report.resolved == 1
    for alert in DriftAlert.objects.all():
        assert alert.status == "resolved"
        assert alert.resolved_on == TODAY + dt.timedelta(days=1)
        assert alert.resolved_by is None


def test_the_alert_keeps_its_start_and_first_rule_while_another_rule_carries_it_on(
    world, certified
):
    observe(world.coach, world.practitioner, level(78, 3), start=dt.date(2025, 5, 1))
    run()
    [alert] = alerts(scope="person")
    assert (alert.rule, rules_in(alert)) == ("shift", ["shift"])
    # Then two more as low and two below adequate: the band rule joins, the alert is the same.
    observe(world.coach, world.practitioner, [78, 79, 72, 73], start=dt.date(2025, 5, 22))
    report = run(today=TODAY + dt.timedelta(days=1))
    [again] = alerts(scope="person")
    assert report.raised["person"] == 0
    assert (again.pk, again.began_on, again.rule) == (alert.pk, alert.began_on, "shift")
    assert rules_in(again) == ["shift", "band"]
    assert "The last 2 observations were below the adequate band." in again.explanation()


def test_a_dismissed_alert_stays_the_one_alert_and_nobody_is_told_again(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    told = Notification.objects.filter(kind="alert").count()
    alert = DriftAlert.objects.get()
    assert services.alert_dismiss(alert=alert, by=world.coach, reason="Unusual sessions.")
    DriftAlert.objects.filter(pk=alert.pk).update(told_by_run="")  # as if never told
    report = run(today=TODAY + dt.timedelta(days=1))
    assert (report.raised["person"], report.ongoing) == (0, 1)
    assert DriftAlert.objects.get().status == "dismissed"
    assert Notification.objects.filter(kind="alert").count() == told


def test_a_dismissed_alert_costs_no_more_work_on_nights_without_new_points(
    world, certified, monkeypatch
):
    from coaching import levels

    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    alert = DriftAlert.objects.get()
    services.alert_dismiss(alert=alert, by=world.coach, reason="Unusual sessions.")
    explained = []
    monkeypatch.setattr(levels, "moved_items", lambda groups, ids: explained.extend(groups) or [])
    run(today=TODAY + dt.timedelta(days=1))
    assert explained == []


def test_a_new_episode_after_recovery_is_a_new_alert(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    observe(world.coach, world.practitioner, level(88, 16), start=dt.date(2025, 6, 1))
    run(today=TODAY + dt.timedelta(days=1))
    observe(world.coach, world.practitioner, level(79, 4), start=dt.date(2025, 10, 1))
    run(today=TODAY + dt.timedelta(days=2))
    assert [a.status for a in alerts(scope="person")] == ["resolved", "open"]


def test_an_acknowledged_alert_stays_acknowledged_until_the_job_closes_it(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    alert = DriftAlert.objects.get()
    assert services.alert_acknowledge(alert=alert, by=world.coach, note="Observing next week.")
    run(today=TODAY + dt.timedelta(days=1))
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.note == "Observing next week."
    assert alert.acknowledged_by == world.coach


def test_the_items_that_fell_most_are_named(world, certified):
    def cards(n, score):
        return {"mi-reflect": 1 if score < 84 else 3, "ep-voice": 3, "wp-plan": 2}

    Observation.objects.filter(practitioner=world.practitioner).update(
        scores={"mi-reflect": 3, "ep-voice": 3, "wp-plan": 2}
    )
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1), items=cards)
    run()
    alert = DriftAlert.objects.get()
    assert [entry["code"] for entry in alert.moved] == ["mi-reflect"]
    assert alert.moved[0]["baseline"] == 3 and alert.moved[0]["current"] == 1
    assert alert.moved_text()[0].endswith("3.00 → 1.00")


def test_without_a_certification_the_first_observations_set_the_baseline(world):
    observe(world.coach, world.practitioner, level(88, 10) + level(78, 5))
    run()
    alert = DriftAlert.objects.get(scope="person")
    assert "shift" in rules_in(alert)
    # Without evidence to leave out, every score before the fall sets the usual level.
    assert alert.baseline == pytest.approx(sum(level(88, 10)) / 10, abs=0.01)


def test_two_observations_below_adequate_raise_the_band_rule(world):
    observe(world.coach, world.practitioner, [*level(88, 10), 70, 72])
    run()
    [alert] = alerts(scope="person")
    assert "band" in rules_in(alert)
    assert "The last 2 observations were below the adequate band." in alert.explanation()


def test_a_rubric_setting_switches_detection_off(world):
    observe(world.coach, world.practitioner, level(88, 10) + level(78, 5))
    DriftSettings.objects.create(rubric=rubric_version().rubric, enabled=False)
    run()
    assert not DriftAlert.objects.exists()


def test_someone_who_left_raises_nothing(world):
    observe(world.coach, world.practitioner, level(88, 10) + level(78, 5))
    world.practitioner.leave_date = dt.date(2026, 1, 31)
    world.practitioner.save()
    run()
    assert not DriftAlert.objects.filter(scope="person").exists()


def test_momentum_follows_the_recent_slope(world):
    rising = make_person(world.home, "practitioner", team=world.team_a)
    make_assignment(world.coach, rising)
    observe(world.coach, world.practitioner, [90 - 1.2 * n for n in range(14)])
    observe(world.coach, rising, [70 + 1.2 * n for n in range(14)])
    run()
    assert Momentum.objects.get(person=world.practitioner).direction == "slipping"
    assert Momentum.objects.get(person=rising).direction == "building"


def test_a_night_without_new_observations_writes_no_momentum(world, certified):
    assert run().momentum_written == 1
    assert run(today=TODAY + dt.timedelta(days=1)).momentum_written == 0


def test_the_run_for_one_practitioner_leaves_the_others_alone(world, certified):
    other = make_person(world.home, "practitioner", team=world.team_b)
    observe(world.coach, other, level(88, 10) + level(78, 5))
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    PooledSpread.objects.update(sigma=1.7)
    report = run(person_ids=[world.practitioner.pk], today=TODAY + dt.timedelta(days=1))
    assert report.ongoing == 1
    assert DriftAlert.objects.filter(practitioner=other, checked_on=TODAY).exists()
    assert not DriftAlert.objects.filter(practitioner=other, checked_on__gt=TODAY).exists()


def test_the_nightly_queries_do_not_grow_with_the_practitioners(world):
    def queries_for(people):
        Observation.objects.all().delete()
        DriftAlert.objects.all().delete()
        Momentum.objects.all().delete()
        for _ in range(people):
            person = make_person(world.home, "practitioner", team=world.team_a, login=False)
            make_assignment(world.coach, person)
            observe(world.coach, person, level(88, 12) + level(80, 4))
        with CaptureQueriesContext(connection) as captured:
            report = run()
        assert report.raised["person"] == people
        return len(captured)

    queries_for(1)  # the first night also stores the pooled spreads
    few, many = queries_for(2), queries_for(20)
    # Ten times the people (20 alerts, 40 notifications) cost only another INSERT batch
    # or two (SQLite takes fewer rows per INSERT) and a team alert: nothing per person.
    assert many <= few + 3


def test_a_team_whose_monthly_mean_falls_is_flagged(world):
    def cards(n, score):
        return {"wp-plan": 3 if score > 84 else 1, "ep-voice": 2 + n % 2}

    people = [make_person(world.home, "practitioner", team=world.team_b) for _ in range(3)]
    for n, person in enumerate(people):
        scores = level(88, 12, shift=n * 0.3) + level(78, 6)
        observe(world.coach, person, scores, start=dt.date(2025, 1, 3), every=30, items=cards)
    run()
    team = DriftAlert.objects.filter(scope="team", team=world.team_b)
    assert team.exists()
    assert team.first().about() == "Team South"
    assert team.first().baseline_from == "the first 5 months"
    assert [entry["code"] for entry in team.first().moved] == ["wp-plan"]


def test_an_item_falling_across_the_organization_is_flagged_by_name(world):
    def cards(n, score):
        return {"mi-reflect": (2 + n % 2) if n < 12 else n % 2, "ep-voice": 2 + n % 2}

    for person in (world.practitioner, world.unassigned):
        observe(
            world.coach, person, level(88, 18), start=dt.date(2025, 1, 3), every=30, items=cards
        )
    run()
    found = DriftAlert.objects.filter(scope="item", item_code="mi-reflect")
    assert found.exists()
    assert "across Riverbend" in found.first().about()
    # Both teams' means on the item fell; the alert names them.
    teams = [entry["label"] for entry in found.first().moved]
    assert sorted(teams) == ["Team North", "Team South"]
    assert found.first().moved_heading() == "The teams where it fell most"
    assert not DriftAlert.objects.filter(scope="item", item_code="ep-voice").exists()


def test_each_item_alert_names_the_teams_of_its_own_organization_and_item(world):
    rubric, january, march = rubric_version().rubric, dt.date(2025, 1, 1), dt.date(2025, 3, 1)

    def sums(team, code, month, mean):
        row, _ = ItemMonth.objects.get_or_create(
            organization_id=team.organization_id,
            team_id=team.pk,
            rubric=rubric,
            month=month,
            defaults={"sums": {}},
        )
        row.sums[code] = [mean, 1]
        row.save()

    for team in (world.team_a, world.team_b, world.away_team):
        for code in ("mi-reflect", "ep-voice"):
            sums(team, code, january, 3)
            sums(team, code, march, 3)
    for team, code in ((world.team_a, "mi-reflect"), (world.team_b, "ep-voice")):
        sums(team, code, dt.date(2025, 4, 1), 0)
    sums(world.away_team, "mi-reflect", dt.date(2025, 4, 1), 1)

    def alert(organization, code):
        return SimpleNamespace(
            organization_id=organization.pk,
            rubric_id=rubric.pk,
            item_code=code,
            source=(march,),
            began_on=dt.date(2025, 4, 1),
        )

    found = levels.teams_moved(
        [
            alert(world.home, "mi-reflect"),
            alert(world.away, "mi-reflect"),
            alert(world.home, "ep-voice"),
        ],
        TODAY,
    )
    assert [[entry["label"] for entry in moved] for moved in found] == [
        ["Team North"],
        ["Team East"],
        ["Team South"],
    ]


def test_submitting_an_observation_queues_a_look_at_that_practitioner(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    from miiwrap import celery as queueing
    from tests.factories import make_observation

    queued = []
    monkeypatch.setattr(queueing, "enqueue", lambda task, *args: queued.append((task.name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        make_observation(world.coach, world.practitioner, observed_on=dt.date(2026, 1, 5))
    assert ("coaching.tasks.detect_drift_for", (world.practitioner.pk,)) in queued


def test_the_task_for_one_practitioner_runs_the_job(world, certified):
    from coaching.tasks import detect_drift_for

    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    assert "alerts raised: 1 person" in detect_drift_for(world.practitioner.pk)
    assert detect_drift_for(999_999) == "No such person."


def test_detect_drift_command_runs_on_the_day_given(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    out = io.StringIO()
    call_command("detect_drift", "--today", "2026-06-30", stdout=out)
    assert "alerts raised: 1 person" in out.getvalue()
    assert DriftAlert.objects.filter(raised_on=TODAY).count() == 1


def test_detect_drift_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match="--today must be a date"):
        call_command("detect_drift", "--today", "30/06/2026")


def test_drift_report_prints_the_open_alerts_as_csv(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    other = make_person(world.home, "practitioner", team=world.team_b)
    observe(world.coach, other, level(88, 10) + level(78, 5))
    run()
    DriftAlert.objects.filter(practitioner=other).update(status="resolved", resolved_on=TODAY)
    out = io.StringIO()
    call_command("drift_report", "--format", "csv", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("alert,status,scope,organization,about,rubric,first rule,rules now")
    assert len(lines) == 2 and world.practitioner.full_name in lines[1]
    assert "A fall from the usual level" in lines[1]
    assert "standard errors below the usual level" in lines[1]


def test_drift_report_as_text_and_for_an_unknown_organization(world, certified):
    out = io.StringIO()
    call_command("drift_report", stdout=out)
    assert "0 alert(s) not closed." in out.getvalue()
    with pytest.raises(CommandError, match="No organization has the slug"):
        call_command("drift_report", "--organization", "nowhere")


def test_the_mail_goes_out_with_the_next_delivery(world, certified):
    from miiwrap.notifications.delivery import deliver

    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    run()
    deliver()
    subjects = [m.subject for m in mail.outbox if m.to == [world.coach.email]]
    assert len([s for s in subjects if s.startswith("Drift")]) == 1


def test_a_band_alert_on_a_rubric_without_an_overall_score_reads_plainly(world):
    alert = DriftAlert(
        scope="person",
        rule="band",
        rules=[{"rule": "band", "statistic": 2, "limit": 2}],
        baseline=None,
        current=None,
        began_on=TODAY,
    )
    assert alert.explanation() == "The last 2 observations were below the adequate band."


def test_alerts_whose_telling_failed_are_told_by_the_next_run(world, certified, monkeypatch):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))

    def broken(*args, **kwargs):
        raise RuntimeError("mail table unavailable")

    monkeypatch.setattr("miiwrap.notifications.delivery.notify_all", broken)
    with pytest.raises(RuntimeError):
        run()
    assert set(DriftAlert.objects.values_list("told_by_run", flat=True)) == {""}
    monkeypatch.undo()
    assert run(today=TODAY + dt.timedelta(days=1)).notified == 2


def _item_sums():
    return sorted(
        (organization, team, code, month, total, count)
        for organization, team, _, code, month, total, count in ItemMonth.objects.flat()
    )


def _item(code, **filters):
    """(team, total, count) of one item's counted sums in the rows chosen."""
    rows = ItemMonth.objects.filter(**filters).flat()
    return sorted((team, total, count) for _, team, _, c, _, total, count in rows if c == code)


def test_item_sums_are_recounted_for_the_months_that_changed_only(world):
    def cards(n, score):
        return {"mi-reflect": 1 + n % 3, "ep-voice": 2}

    observe(world.coach, world.practitioner, level(88, 6), every=30, items=cards)
    assert services.count_item_months(TODAY) == "every month"
    assert services.count_item_months(TODAY) == "nothing changed"
    marked = {"ep-voice": [999, 1]}
    ItemMonth.objects.filter(month=dt.date(2025, 2, 1)).update(sums=marked)  # untouched below
    observe(world.coach, world.unassigned, [80], start=dt.date(2025, 3, 20), items=cards)
    assert services.count_item_months(TODAY) == "1 month(s)"
    march = _item("mi-reflect", month=dt.date(2025, 3, 1))
    assert [(team, count) for team, _, count in march] == [
        (world.team_a.pk, 1),
        (world.team_b.pk, 1),
    ]
    assert ItemMonth.objects.get(month=dt.date(2025, 2, 1)).sums == marked


@pytest.fixture
def counted(world):
    """Six months of Pat's observations (January to June 2025), their item sums counted."""
    made = observe(
        world.coach, world.practitioner, level(88, 6), every=30, items=lambda n, s: {"ep-voice": 2}
    )
    assert services.count_item_months(TODAY) == "every month"
    return made


def _counted_months(**filters):
    return sorted(
        {day.isoformat() for day in ItemMonth.objects.filter(**filters).dates("month", "month")}
    )


def test_a_deleted_observation_has_its_month_recounted(world, counted):
    Observation.objects.filter(observed_on__month=2).delete()
    assert services.count_item_months(TODAY) == "1 month(s)"
    assert "2025-02-01" not in _counted_months()
    assert len(_counted_months()) == 5


def test_a_person_who_changed_team_has_every_month_of_theirs_recounted(world, counted):
    world.practitioner.team = world.team_b
    world.practitioner.save()
    assert services.count_item_months(TODAY) == "6 month(s)"
    assert _counted_months(team_id=world.team_b.pk) == _counted_months()
    assert not ItemMonth.objects.filter(team_id=world.team_a.pk).exists()


def test_an_observation_moved_to_another_month_recounts_both_months(world, counted):
    moved = counted[1]  # 2025-02-05
    moved.observed_on = dt.date(2025, 3, 30)
    moved.save()
    assert services.count_item_months(TODAY) == "2 month(s)"
    assert _item("ep-voice", month=dt.date(2025, 3, 1)) == [(world.team_a.pk, 4, 2)]


def test_recomputed_scores_have_their_months_recounted(world, counted):
    from observations.services import observations_recompute

    Observation.objects.filter(pk=counted[0].pk).update(metrics={}, overall_score=None)
    assert services.count_item_months(TODAY) == "nothing changed"  # an update() is not seen
    assert observations_recompute(Observation.objects.filter(pk=counted[0].pk)) == 1
    assert services.count_item_months(TODAY) == "1 month(s)"


def test_the_running_month_is_counted_once_it_is_complete(world, counted):
    observe(world.coach, world.unassigned, [80], start=TODAY, items=lambda n, s: {"ep-voice": 3})
    assert services.count_item_months(TODAY) == "nothing changed"
    assert services.count_item_months(dt.date(2026, 7, 1)) == "1 month(s)"
    assert "2026-06-01" in _counted_months()


def test_a_count_of_every_month_tells_the_planner_what_the_sums_hold(world):
    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE and pg_class are PostgreSQL's")
    observe(
        world.coach, world.practitioner, level(88, 6), every=30, items=lambda n, s: {"ep-voice": 1}
    )
    assert services.count_item_months(TODAY) == "every month"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE relname = %s", [ItemMonth._meta.db_table]
        )
        assert cursor.fetchone()[0] == ItemMonth.objects.count() > 0


def test_a_recount_by_month_equals_a_full_recount(world):
    def cards(n, score):
        return {"mi-reflect": 1 + n % 3, "ep-voice": n % 2, "cct": 2}

    observe(world.coach, world.practitioner, level(88, 9), every=20, items=cards)
    services.count_item_months(TODAY)
    observe(world.coach, world.unassigned, level(80, 5), start=dt.date(2025, 2, 3), items=cards)
    services.count_item_months(TODAY)
    by_month = _item_sums()
    assert _organization_sums() == _summed_over_teams()
    services.count_item_months(TODAY, full=True)
    assert _item_sums() == by_month
    assert _organization_sums() == _summed_over_teams()


def _organization_sums():
    rows = OrganizationItemMonth.objects.values_list(
        "organization_id", "rubric_id", "item_code", "month", "total", "count"
    )
    return sorted(rows)


def _summed_over_teams():
    """The packed team sums added up by organization, as OrganizationItemMonth keeps them."""
    found = {}
    for organization, _, rubric, code, month, total, count in ItemMonth.objects.flat():
        old_total, old_count = found.get((organization, rubric, code, month), (0, 0))
        found[(organization, rubric, code, month)] = (old_total + total, old_count + count)
    return sorted((*key, total, count) for key, (total, count) in found.items())


def test_a_rule_still_in_its_episode_but_back_inside_its_limit_is_told_so():
    alert = DriftAlert(
        scope="team",
        rule="ewma",
        rules=[
            {"rule": "ewma", "statistic": 80.2, "limit": 79.5},
            {"rule": "cusum", "statistic": 5.0, "limit": 8.0},
        ],
        baseline=82.0,
        current=80.2,
        baseline_from="the first 5 months",
        began_on=TODAY,
    )
    assert alert.explanation() == (
        "The smoothed score is 80.2: back above its control limit of 79.5, but not yet far "
        "enough to end the episode. The months have fallen short of the baseline by 5.00 points "
        "in all: back within the 8.00 that ordinary ups and downs explain, but not yet far enough "
        "to end the episode. Baseline 82.0 (the first 5 months); now 80.2."
    )


def test_small_scales_are_told_to_the_hundredth():
    alert = DriftAlert(
        scope="item",
        rule="ewma",
        rules=[{"rule": "ewma", "statistic": 4.114, "limit": 4.146}],
        baseline=4.46,
        current=4.114,
        baseline_from="the first 5 months",
        moved=[{"code": "team:3", "label": "Team East", "baseline": 5.0, "current": 4.04}],
        began_on=TODAY,
    )
    assert alert.explanation().startswith(
        "The smoothed score is 4.11, below the control limit of 4.15"
    )
    assert alert.explanation().endswith("Baseline 4.46 (the first 5 months); now 4.11.")
    assert alert.moved_text() == ["Team East 5.00 → 4.04"]


# --- a replay of a past night reads what existed that night -------------------------------

NIGHT = dt.date(2025, 4, 30)  # Pat's fifteen steady observations end on 14 April 2025


def _submitted_at(observations, moment):
    for observation in observations:
        observation.submitted_at = moment
    Observation.objects.bulk_update(observations, ["submitted_at"])


def test_a_replay_leaves_out_observations_dated_after_its_night(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    out = io.StringIO()
    call_command("detect_drift", "--today", NIGHT.isoformat(), stdout=out)
    assert "alerts raised: 0 person" in out.getvalue()
    assert alerts(scope="person") == []
    momentum = Momentum.objects.get(person=world.practitioner)
    assert momentum.last_observed_on == certified[-1].observed_on
    assert momentum.direction == "steady"


def test_a_replay_judges_only_the_series_its_night_had(world, certified):
    observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    assert run(today=NIGHT).observations == len(certified)
    assert run(today=dt.date(2025, 5, 31)).observations == len(certified) + 4


def test_a_replay_leaves_out_observations_submitted_after_its_night(world, certified):
    late = observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    _submitted_at(late, dt.datetime(2025, 6, 10, 15, tzinfo=dt.UTC))
    night = dt.date(2025, 6, 5)
    assert run(today=night).raised["person"] == 0
    assert Momentum.objects.get(person=world.practitioner).last_observed_on == NIGHT - dt.timedelta(
        days=16
    )
    assert run(today=dt.date(2025, 6, 10)).raised["person"] == 1
    [alert] = alerts(scope="person")
    assert alert.raised_on == dt.date(2025, 6, 10)


def test_the_end_of_a_replayed_night_is_taken_in_the_servers_zone(world, certified):
    # Submitted at 23:30 in New York on the night (already the next day in UTC).
    late = observe(world.coach, world.practitioner, level(80, 4), start=dt.date(2025, 5, 1))
    _submitted_at(late, dt.datetime(2025, 6, 6, 3, 30, tzinfo=dt.UTC))
    assert run(today=dt.date(2025, 6, 5)).raised["person"] == 1
    assert run(today=dt.date(2025, 6, 5), zone="UTC").observations == len(certified)


def test_a_replay_counts_the_monthly_item_sums_its_night_had(world):
    def cards(n, score):
        return {"mi-reflect": 1 + n % 3, "ep-voice": 2}

    observe(world.coach, world.practitioner, level(88, 6), every=30, items=cards)
    late = observe(world.coach, world.unassigned, [80], start=dt.date(2025, 3, 20), items=cards)
    _submitted_at(late, dt.datetime(2025, 7, 10, 15, tzinfo=dt.UTC))
    run(today=dt.date(2025, 7, 5))

    def march():
        rows = _item("mi-reflect", month=dt.date(2025, 3, 1))
        return [(team, count) for team, _, count in rows]

    assert march() == [(world.team_a.pk, 1)]
    # The present sees the late one: its month's fingerprint differs from the replay's.
    assert services.count_item_months(dt.date(2025, 7, 11)) == "1 month(s)"
    assert march() == [(world.team_a.pk, 1), (world.team_b.pk, 1)]


def test_a_replay_for_one_person_uses_no_pooled_spread_kept_after_its_night(world):
    observe(world.coach, world.practitioner, level(88, 8))
    rows = levels.read_observations([world.practitioner.pk], {})
    [(version, pool)] = levels.pooled_spreads(rows).items()
    PooledSpread.objects.create(
        rubric_version_id=version, sigma=50.0, moving_ranges=99, computed_on=NIGHT
    )
    kept = services.pooled_spreads(rows, NIGHT, saved=True, past=True)
    earlier = services.pooled_spreads(rows, NIGHT - dt.timedelta(days=1), saved=True, past=True)
    assert {v: p.sigma for v, p in kept.items()} == {version: 50.0}
    assert {v: p.sigma for v, p in earlier.items()} == {version: pytest.approx(pool.sigma)}
    # The present always takes the kept one, whenever it was pooled.
    assert services.pooled_spreads(rows, NIGHT - dt.timedelta(days=1), saved=True) == kept


@pytest.mark.time_machine(dt.datetime(2026, 3, 1, 4, 30, tzinfo=dt.UTC), tick=False)
def test_the_present_night_reads_everything_submitted_even_where_it_is_tomorrow(world, certified):
    from coaching.tasks import detect_drift_for
    from tests.factories import make_observation

    world.home.time_zone = "Pacific/Auckland"  # 17:30 on 1 March there, 23:30 on 28 Feb here
    world.home.save()
    make_observation(world.coach, world.practitioner, observed_on=dt.date(2026, 3, 1))
    assert "observations" in detect_drift_for(world.practitioner.pk)
    assert (
        run(
            today=dt.date(2026, 3, 1), person_ids=[world.practitioner.pk], zone=("Pacific/Auckland")
        ).observations
        == len(certified) + 1
    )
    assert run(today=dt.date(2026, 2, 28)).observations == len(certified) + 1


def test_a_night_is_past_once_its_day_has_ended_in_its_zone():
    now = dt.datetime(2026, 3, 1, 4, 30, tzinfo=dt.UTC)
    assert not levels.Night.of(dt.date(2026, 2, 28), now=now).is_past  # New York
    assert levels.Night.of(dt.date(2026, 2, 28), "UTC", now=now).is_past
    assert not levels.Night.of(dt.date(2026, 3, 1), "Pacific/Auckland", now=now).is_past
    assert levels.Night.of(dt.date(2026, 2, 28), "Pacific/Auckland", now=now).is_past

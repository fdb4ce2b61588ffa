"""Drift alert pages: who opens them, the list's filters, the detail, acknowledging, marking
as being addressed, dismissing as a false alarm; people never close an alert."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching.models import DriftAlert, Momentum
from observations.models import Rubric
from tests.factories import make_observation, make_person, rubric_version

D = dt.date
TODAY = D(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 12, tzinfo=ZoneInfo("America/New_York"))
LIST = reverse("coaching:alerts")
PERSONAS = [
    "coach",
    "practitioner",
    "unassigned",
    "leader",
    "org_admin",
    "purveyor_admin",
    "outsider",
    "away_practitioner",
]
_began = itertools.count()


def make_alert(about=None, *, scope="person", rubric="miiwrap-fidelity", **fields):
    """An alert as the drift job leaves it: about a practitioner (`about`, a Person), a team
    (`team=`) or an item across an organization (`organization=` with `item_code=`)."""
    team, organization = fields.pop("team", None), fields.pop("organization", None)
    if scope == "person":
        subject, organization = f"person:{about.pk}", about.organization
    elif scope == "team":
        subject, organization = f"team:{team.pk}", team.organization
    else:
        subject = f"item:{organization.pk}:{fields.get('item_code', 'engage')}"
    fields.setdefault("item_code", "engage" if scope == "item" else "")
    fields.setdefault("item_label", "Engagement" if scope == "item" else "")
    fields.setdefault("rule", DriftAlert.Rule.EWMA)
    statistic, limit = fields.pop("statistic", 71.0), fields.pop("limit", 74.0)
    fields.setdefault("rules", [{"rule": fields["rule"], "statistic": statistic, "limit": limit}])
    # Each alert its own episode, so the constraints never meet by accident.
    fields.setdefault("began_on", D(2026, 5, 1) - dt.timedelta(days=next(_began)))
    fields.setdefault("raised_on", D(2026, 6, 1))
    fields.setdefault("checked_on", D(2026, 6, 29))
    defaults = {
        "baseline": 82.5,
        "baseline_from": "the observations that earned the certification of 2025-05-02",
        "current": 71.0,
        "sigma": 4.0,
        "points": 6,
    }
    return DriftAlert.objects.create(
        scope=scope,
        subject=subject,
        organization=organization,
        practitioner=about if scope == "person" else None,
        team=team,
        rubric=Rubric.objects.get(code=rubric),
        **{**defaults, **fields},
    )


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


@pytest.fixture
def alerts(world):
    """One alert of each scope at home, one about the home coach, and one away."""
    return {
        "pat": make_alert(world.practitioner),
        "cora": make_alert(world.coach, rule=DriftAlert.Rule.CUSUM),
        "team": make_alert(scope="team", team=world.team_a, rule=DriftAlert.Rule.RUN),
        "item": make_alert(scope="item", organization=world.home),
        "ari": make_alert(world.away_practitioner),
    }


def listed(response):
    return {alert.pk for alert in response.context["page"].object_list}


def url(alert, action=None):
    if action is None:
        return alert.get_absolute_url()
    return reverse(f"coaching:{action}", args=[alert.pk])


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# Who opens the list ------------------------------------------------------------------------

# persona -> the alerts (of the fixture) on their list
SEES = {
    "coach": {"pat"},
    "leader": {"pat", "cora", "team", "item"},
    "org_admin": {"pat", "cora", "team", "item"},
    "purveyor_admin": {"pat", "cora", "team", "item", "ari"},
    "outsider": {"ari"},
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_list_shows_each_persona_exactly_the_alerts_they_may_act_on(
    world, login, alerts, persona
):
    response = login(getattr(world, persona)).get(LIST)
    if persona not in SEES:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert listed(response) == {alerts[name].pk for name in SEES[persona]}


def own_link(person):
    """One's own name, as one reads it: linked to one's own page."""
    return f'<a href="{person.get_absolute_url()}">{person.full_name}</a>'


def test_a_practitioner_with_no_other_role_gets_404_even_without_alerts(world, login):
    assert login(world.unassigned).get(LIST).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, world):
    assert client.get(LIST)["Location"] == f"{reverse('login')}?next={LIST}"


def test_a_coach_does_not_see_an_alert_about_themselves(world, login, alerts):
    assert alerts["cora"].pk not in listed(login(world.coach).get(LIST))


def test_another_coach_sees_none_of_the_practitioners_alerts(world, login, alerts):
    other = make_person(world.home, "coach", team=world.team_b)
    response = login(other).get(LIST)
    assert response.status_code == 200
    assert listed(response) == set()
    assert b"No alerts match these filters." in response.content


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "purveyor_admin"])
def test_the_navigation_offers_alerts_to_those_who_handle_them(world, login, persona):
    page = login(getattr(world, persona)).get("/", follow=True).content.decode()
    assert f'href="{LIST}"' in page


def test_the_navigation_does_not_offer_alerts_to_a_practitioner(world, login):
    page = login(world.unassigned).get(world.unassigned.get_absolute_url()).content.decode()
    assert f'href="{LIST}"' not in page


# What the list shows -----------------------------------------------------------------------


def row(response, alert):
    content = response.content.decode()
    start = content.index(f'data-alert="{alert.pk}"')
    return content[start : content.index("</tr>", start)]


def test_a_row_says_who_which_rubric_why_since_when_and_how_far(world, login, alerts):
    response = login(world.leader).get(LIST)
    pat = row(response, alerts["pat"])
    view = reverse("dashboards:practitioner", args=[world.practitioner.pk])
    assert f'<a href="{view}">{world.practitioner}</a>' in pat
    assert "MiiWrap fidelity tool" in pat
    assert f'<a href="{url(alerts["pat"])}">Smoothed score below its control limit</a>' in pat
    assert alerts["pat"].began_on.isoformat() in pat
    assert "82.5 → 71.0" in pat
    assert ">Open</span>" in pat


def test_one_episode_that_several_rules_see_is_one_row_naming_each(world, login, alerts):
    both = [
        {"rule": "ewma", "statistic": 71.0, "limit": 74.0},
        {"rule": "cusum", "statistic": 22.5, "limit": 16.0},
    ]
    DriftAlert.objects.filter(pk=alerts["pat"].pk).update(rules=both)
    response = login(world.leader).get(LIST)
    rows = [a for a in response.context["page"].object_list if a.practitioner == world.practitioner]
    assert rows == [alerts["pat"]]
    names = "Smoothed score below its control limit; Sustained shortfall (CUSUM)"
    assert f'<a href="{url(alerts["pat"])}">{names}</a>' in row(response, alerts["pat"])


def test_the_detail_gives_each_rule_its_sentence_and_names_the_first(world, login, alerts):
    both = [
        {"rule": "cusum", "statistic": 22.5, "limit": 16.0},
        {"rule": "run", "statistic": 9, "limit": 8},
    ]
    DriftAlert.objects.filter(pk=alerts["pat"].pk).update(rules=both)
    page = login(world.coach).get(url(alerts["pat"])).content.decode()
    assert (
        "The observations have fallen short of the baseline by 22.5 points in all, more than "
        "the 16.0 that ordinary ups and downs explain. 9 observations in a row below the "
        "baseline. Baseline 82.5"
    ) in page
    assert "Sustained shortfall (CUSUM)<br>A run below baseline" in page
    assert "First to fire: Smoothed score below its control limit" in page


def test_a_row_and_the_page_show_the_momentum_on_the_alerts_rubric(world, login, alerts):
    def momentum(rubric, direction):
        Momentum.objects.create(
            person=world.practitioner,
            rubric=Rubric.objects.get(code=rubric),
            direction=direction,
            slope=-0.5,
            last_observed_on=D(2026, 6, 1),
            computed_on=D(2026, 6, 2),
        )

    momentum("miiwrap-fidelity", "slipping")
    momentum("mi-coding", "building")
    client = login(world.leader)
    pat = row(client.get(LIST), alerts["pat"])
    assert 'data-momentum="slipping"' in pat and "building" not in pat
    page = client.get(url(alerts["pat"])).content.decode()
    assert 'data-momentum="slipping"' in page and 'data-momentum="building"' not in page
    assert "data-momentum" not in row(client.get(LIST), alerts["team"])


def test_team_and_item_rows_name_the_team_and_the_item_without_a_person_link(world, login, alerts):
    response = login(world.leader).get(LIST)
    team = row(response, alerts["team"])
    assert "Team North" in team and "/people/" not in team
    assert "Engagement across Riverbend Family Services" in row(response, alerts["item"])


def test_a_row_names_who_acknowledged_it(world, login, alerts):
    DriftAlert.objects.filter(pk=alerts["pat"].pk).update(
        status=DriftAlert.Status.ACKNOWLEDGED, acknowledged_by=world.coach
    )
    pat = row(login(world.leader).get(LIST), alerts["pat"])
    assert world.coach.full_name in pat
    assert ">Acknowledged</span>" in pat


def test_an_alert_without_a_level_shows_a_dash(world, login, alerts):
    DriftAlert.objects.filter(pk=alerts["pat"].pk).update(current=None)
    assert "82.5 → —" in row(login(world.leader).get(LIST), alerts["pat"])


def test_the_newest_raised_comes_first(world, login):
    older = make_alert(world.practitioner, raised_on=D(2026, 3, 1))
    newer = make_alert(
        world.practitioner, raised_on=D(2026, 6, 2), rule=DriftAlert.Rule.RUN, rubric="mi-coding"
    )
    same_day = make_alert(world.unassigned, raised_on=D(2026, 6, 2))
    shown = list(login(world.leader).get(LIST).context["page"].object_list)
    assert shown == [same_day, newer, older]


# Filters -----------------------------------------------------------------------------------


@pytest.fixture
def resolved(world, alerts):
    """Pat's earlier episode, resolved by itself."""
    return make_alert(
        world.practitioner, status=DriftAlert.Status.RESOLVED, resolved_on=D(2026, 4, 1)
    )


def test_by_default_the_list_shows_the_alerts_not_closed(world, login, alerts, resolved):
    DriftAlert.objects.filter(pk=alerts["team"].pk).update(status=DriftAlert.Status.ACKNOWLEDGED)
    shown = listed(login(world.leader).get(LIST))
    assert alerts["team"].pk in shown and alerts["pat"].pk in shown
    assert resolved.pk not in shown


def test_the_closed_filter_shows_only_closed_alerts(world, login, resolved):
    assert listed(login(world.leader).get(LIST, {"status": "resolved"})) == {resolved.pk}


def test_not_closed_is_the_default_and_takes_in_each_status_but_closed(
    world, login, alerts, resolved
):
    statuses = {
        "pat": ("addressing", {"addressing_note": "Sessions."}),
        "team": ("dismissed", {"dismissal_reason": "Two people left."}),
        "item": ("acknowledged", {}),
    }
    for name, (status, fields) in statuses.items():
        DriftAlert.objects.filter(pk=alerts[name].pk).update(status=status, **fields)
    client = login(world.leader)
    response = client.get(LIST)
    assert listed(response) == {alerts[name].pk for name in SEES["leader"]}
    options = response.content.decode()
    for label in ("Not closed", "Open", "Acknowledged", "Being addressed", "Closed", "All"):
        assert f">{label}</option>" in options
    assert ">Dismissed as a false alarm</option>" in options
    for name, (status, _) in statuses.items():
        assert listed(client.get(LIST, {"status": status})) == {alerts[name].pk}


def test_the_all_filter_shows_every_status(world, login, alerts, resolved):
    shown = listed(login(world.leader).get(LIST, {"status": "all"}))
    assert shown == {alerts[name].pk for name in SEES["leader"]} | {resolved.pk}


def test_an_unknown_status_says_so_and_keeps_the_default(world, login, alerts, resolved):
    response = login(world.leader).get(LIST, {"status": "nonsense"})
    assert resolved.pk not in listed(response)
    assert alerts["pat"].pk in listed(response)
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize(("scope", "name"), [("person", "pat"), ("team", "team"), ("item", "item")])
def test_the_scope_filter_keeps_one_kind(world, login, alerts, scope, name):
    shown = listed(login(world.org_admin).get(LIST, {"scope": scope}))
    expected = {alerts[name].pk}
    if scope == "person":
        expected.add(alerts["cora"].pk)
    assert shown == expected


def test_the_rubric_filter_keeps_one_rubric(world, login, alerts):
    coding = make_alert(world.practitioner, rubric="mi-coding")
    rubric = Rubric.objects.get(code="mi-coding")
    assert listed(login(world.leader).get(LIST, {"rubric": rubric.pk})) == {coding.pk}


def test_fifty_alerts_a_page_with_the_filters_kept(world, login):
    for _ in range(51):
        make_alert(make_person(world.home, "practitioner", login=False))
    response = login(world.leader).get(LIST, {"scope": "person"})
    assert len(response.context["page"].object_list) == 50
    assert b'href="?scope=person&amp;page=2"' in response.content
    second = login(world.leader).get(LIST, {"scope": "person", "page": 2})
    assert len(second.context["page"].object_list) == 1


@pytest.mark.parametrize("persona", ["leader", "coach", "purveyor_admin"])
def test_the_list_reads_as_many_queries_for_thirty_alerts_as_for_three(world, login, persona):
    client = login(getattr(world, persona))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST, {"status": "all"}).status_code == 200
        return len(captured)

    def add(count):
        for n in range(count):
            person = make_person(world.home, "practitioner", team=world.team_a, login=False)
            world.coach.caseload_assignments.create(practitioner=person, starts_on=D(2020, 2, 1))
            alert = make_alert(person, rule=DriftAlert.Rule.values[n % 4])
            if n % 2:
                DriftAlert.objects.filter(pk=alert.pk).update(
                    status=DriftAlert.Status.ACKNOWLEDGED, acknowledged_by=world.leader
                )
            make_alert(scope="item", organization=world.home, item_code=f"item-{next(_began)}")

    add(3)
    few = queries()
    add(27)
    assert queries() == few
    assert len(client.get(LIST, {"status": "all"}).context["page"].object_list) >= 30


# The detail --------------------------------------------------------------------------------

# persona -> the alerts (of the fixture) whose page they open
OPENS = SEES


@pytest.mark.parametrize("name", ["pat", "cora", "team", "item", "ari"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_detail_is_200_where_visible_and_404_otherwise(world, login, alerts, persona, name):
    response = login(getattr(world, persona)).get(url(alerts[name]))
    assert response.status_code == (200 if name in OPENS.get(persona, ()) else 404)


def test_another_coach_gets_404_on_the_practitioners_alert(world, login, alerts):
    other = make_person(world.home, "coach", team=world.team_b)
    assert login(other).get(url(alerts["pat"])).status_code == 404


def test_the_practitioner_never_opens_an_alert_about_themselves(world, login, alerts):
    assert login(world.practitioner).get(url(alerts["pat"])).status_code == 404
    assert login(world.coach).get(url(alerts["cora"])).status_code == 404


def test_a_missing_alert_is_404_even_for_the_purveyor(world, login):
    assert login(world.purveyor_admin).get("/coaching/alerts/999999/").status_code == 404


def test_the_detail_explains_the_alert_in_plain_words(world, login, alerts):
    alert = alerts["pat"]
    DriftAlert.objects.filter(pk=alert.pk).update(
        moved=[
            {"code": "reflect", "label": "Reflections", "baseline": 2.6, "current": 1.4},
            {"code": "plan", "label": "Planning", "baseline": 3.0, "current": 2.2},
        ]
    )
    alert.refresh_from_db()
    page = login(world.coach).get(url(alert)).content.decode()
    assert alert.explanation() in page.replace("&#x27;", "'")
    assert "Reflections 2.60 → 1.40" in page and "Planning 3.00 → 2.20" in page
    assert "the observations that earned the certification of 2025-05-02" in page
    for day in (alert.began_on, alert.raised_on, alert.checked_on):
        assert day.isoformat() in page
    assert "Smoothed score below its control limit" in page
    assert "Nobody has acknowledged it yet." in page


def test_a_band_alert_without_an_overall_score_shows_dashes_for_the_levels(world, login):
    alert = make_alert(
        world.practitioner,
        rule=DriftAlert.Rule.BAND,
        statistic=2,
        limit=2,
        baseline=None,
        current=None,
    )
    response = login(world.coach).get(url(alert))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The last 2 observations were below the adequate band." in page
    facts = page[page.index(">Baseline</dt>") : page.index("</dl>")]
    assert "—" in facts


def test_the_detail_of_a_team_alert_has_no_observation_table(world, login, alerts):
    response = login(world.leader).get(url(alerts["team"]))
    assert response.context["observations"] == []
    assert b"Team North" in response.content
    assert b"Months since baseline" in response.content


@pytest.fixture
def observed(world, alerts):
    """Pat's fidelity observations either side of the episode's start, a coding one, a draft."""
    began = alerts["pat"].began_on
    fidelity = rubric_version()
    before = make_observation(
        world.coach, world.practitioner, fidelity, observed_on=began - dt.timedelta(days=1)
    )
    since = [
        make_observation(
            world.coach, world.practitioner, fidelity, observed_on=began + dt.timedelta(days=n)
        )
        for n in (0, 9)
    ]
    coding = make_observation(
        world.coach, world.practitioner, rubric_version("mi-coding"), observed_on=began
    )
    draft = make_observation(
        world.coach, world.practitioner, fidelity, submit=False, observed_on=began
    )
    return {"before": before, "since": since, "coding": coding, "draft": draft}


def test_the_detail_lists_the_practitioners_observations_since_the_episode_began(
    world, login, alerts, observed
):
    response = login(world.leader).get(url(alerts["pat"]))
    assert response.context["observations"] == observed["since"]
    page = response.content.decode()
    for observation in observed["since"]:
        assert f'href="{observation.get_absolute_url()}"' in page
        assert f"{observation.overall_score:.1f}" in page
        assert f">{observation.band}</span>" in page
    assert observed["before"].get_absolute_url() not in page
    assert observed["coding"].get_absolute_url() not in page


def test_the_detail_reads_the_observations_in_one_query(world, login, alerts, observed):
    client = login(world.coach)
    client.get(url(alerts["pat"]))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(alerts["pat"])).status_code == 200
        return len(captured)

    two = queries()
    fidelity = rubric_version()
    for n in range(5):
        make_observation(
            world.coach,
            world.practitioner,
            fidelity,
            observed_on=alerts["pat"].began_on + dt.timedelta(days=20 + n),
        )
    assert queries() == two


def test_the_detail_says_when_there_are_no_observations_since(world, login, alerts):
    response = login(world.coach).get(url(alerts["pat"]))
    assert b"No observations you can open since then." in response.content


# Acknowledging -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "purveyor_admin"])
def test_those_who_see_it_acknowledge_with_a_note(world, login, alerts, frozen, persona):
    alert = alerts["pat"]
    by = getattr(world, persona)
    response = login(by).post(url(alert, "acknowledge"), {"acknowledge-note": "Session Monday."})
    assert response.status_code == 302
    assert response["Location"] == url(alert)
    alert.refresh_from_db()
    assert alert.status == DriftAlert.Status.ACKNOWLEDGED
    assert (alert.acknowledged_by, alert.note) == (by, "Session Monday.")
    assert alert.acknowledged_at == NOW


def test_the_page_then_says_who_acknowledged_when_and_what_they_will_do(
    world, login, alerts, frozen
):
    client = login(world.coach)
    response = client.post(
        url(alerts["pat"], "acknowledge"), {"acknowledge-note": "Co-facilitate next meeting."}
    )
    assert "Acknowledged: your note is kept with the alert." in flashed(response)
    page = client.get(url(alerts["pat"])).content.decode()
    assert f"Acknowledged by <strong>{own_link(world.coach)}</strong>" in page
    assert "2026-06-30 12:00" in page  # noon where Riverbend works
    assert "Co-facilitate next meeting." in page
    assert "Update the note" in page


def test_acknowledging_again_replaces_the_note(world, login, alerts):
    client = login(world.coach)
    client.post(url(alerts["pat"], "acknowledge"), {"acknowledge-note": "First."})
    login(world.leader).post(url(alerts["pat"], "acknowledge"), {"acknowledge-note": "Second."})
    alerts["pat"].refresh_from_db()
    assert (alerts["pat"].note, alerts["pat"].acknowledged_by) == ("Second.", world.leader)


def test_a_team_alert_is_acknowledged_by_a_leader(world, login, alerts):
    response = login(world.leader).post(
        url(alerts["team"], "acknowledge"), {"acknowledge-note": "Team huddle."}
    )
    assert response.status_code == 302
    alerts["team"].refresh_from_db()
    assert alerts["team"].status == DriftAlert.Status.ACKNOWLEDGED


@pytest.mark.parametrize("note", ["", "   "])
def test_acknowledging_without_a_note_shows_the_page_with_the_error(world, login, alerts, note):
    response = login(world.coach).post(
        url(alerts["pat"], "acknowledge"), {"acknowledge-note": note}
    )
    assert response.status_code == 400
    assert response.context["acknowledge_form"].errors["note"] == [
        "Write a short note on what you will do about it; the note is what acknowledging records."
    ]
    assert b"Write a short note on what you will do about it" in response.content
    alerts["pat"].refresh_from_db()
    assert alerts["pat"].status == DriftAlert.Status.OPEN


def test_a_note_over_two_thousand_characters_is_refused_and_kept_on_the_page(world, login, alerts):
    note = "x" * 2001
    response = login(world.coach).post(
        url(alerts["pat"], "acknowledge"), {"acknowledge-note": note}
    )
    assert response.status_code == 400
    assert "Keep the note to 2000 characters (it has 2001)." in response.content.decode()
    assert note.encode() in response.content
    alerts["pat"].refresh_from_db()
    assert (alerts["pat"].status, alerts["pat"].note) == (DriftAlert.Status.OPEN, "")


def test_a_note_of_exactly_two_thousand_characters_is_kept(world, login, alerts):
    note = "y" * 2000
    login(world.coach).post(url(alerts["pat"], "acknowledge"), {"acknowledge-note": note})
    alerts["pat"].refresh_from_db()
    assert alerts["pat"].note == note


def test_acknowledging_a_closed_alert_changes_nothing_and_says_so(world, login, alerts):
    alert = alerts["pat"]
    DriftAlert.objects.filter(pk=alert.pk).update(
        status=DriftAlert.Status.RESOLVED, resolved_on=D(2026, 6, 20)
    )
    response = login(world.coach).post(url(alert, "acknowledge"), {"acknowledge-note": "Late."})
    assert response["Location"] == url(alert)
    assert flashed(response) == ["This alert is closed; nothing was acknowledged."]
    alert.refresh_from_db()
    assert (alert.status, alert.note, alert.acknowledged_by) == ("resolved", "", None)


def test_an_alert_changed_meanwhile_is_not_acknowledged(world, login, alerts, monkeypatch):
    from coaching import services

    monkeypatch.setattr(services, "_take_up", lambda *args, **kwargs: False)
    response = login(world.coach).post(
        url(alerts["pat"], "acknowledge"), {"acknowledge-note": "Too late."}
    )
    assert flashed(response) == [
        "This alert changed meanwhile; nothing was acknowledged. Read it again."
    ]


def test_acknowledging_twice_with_the_same_note_writes_it_once(world, login, alerts, frozen):
    alert, client = alerts["pat"], login(world.coach)
    client.post(url(alert, "acknowledge"), {"acknowledge-note": "Session Monday."}, follow=True)
    before = alert.history.count()
    response = client.post(url(alert, "acknowledge"), {"acknowledge-note": "Session Monday."})
    assert response["Location"] == url(alert)
    assert flashed(response) == ["It was acknowledged already, with these words; nothing changed."]
    assert alert.history.count() == before


# Being addressed and dismissed: neither closes the alert ------------------------------------


@pytest.mark.parametrize("persona", ["coach", "leader", "org_admin", "purveyor_admin"])
def test_those_who_see_it_mark_it_as_being_addressed_with_a_note(
    world, login, alerts, frozen, persona
):
    alert, by = alerts["pat"], getattr(world, persona)
    response = login(by).post(
        url(alert, "address"), {"address-note": "Two sessions on reflections."}
    )
    assert response["Location"] == url(alert)
    assert flashed(response) == [
        "Marked as being addressed: your note is kept with the alert. It stays until the "
        "scores are back in control."
    ]
    alert.refresh_from_db()
    assert alert.status == DriftAlert.Status.ADDRESSING
    assert (alert.addressed_by, alert.addressed_at) == (by, NOW)
    assert alert.addressing_note == "Two sessions on reflections."
    assert (alert.resolved_on, alert.resolved_by) == (None, None)


def test_being_addressed_is_recorded_in_the_history_with_who_and_the_old_status(
    world, login, alerts
):
    alert = alerts["pat"]
    login(world.coach).post(url(alert, "acknowledge"), {"acknowledge-note": "Read it."})
    login(world.leader).post(url(alert, "address"), {"address-note": "Shadowing booked."})
    rows = alert.history.order_by("history_date", "history_id")
    last, before = rows.last(), list(rows)[-2]
    assert (before.status, last.status) == ("acknowledged", "addressing")
    assert last.history_user == world.leader.user
    assert (last.note, last.addressing_note) == ("Read it.", "Shadowing booked.")


def test_the_page_says_who_addresses_it_and_what_is_done(world, login, alerts, frozen):
    client = login(world.coach)
    client.post(url(alerts["pat"], "address"), {"address-note": "Role play on open questions."})
    page = client.get(url(alerts["pat"])).content.decode()
    assert f"Marked as being addressed by <strong>{own_link(world.coach)}</strong>" in page
    assert "Role play on open questions." in page
    assert ">Being addressed</span>" in page
    assert "Update what is being done" in page
    # Acknowledging comes before; dismissing stays possible.
    assert url(alerts["pat"], "acknowledge") not in page
    assert url(alerts["pat"], "dismiss") in page


@pytest.mark.parametrize(
    ("action", "field", "error"),
    [
        (
            "address",
            "note",
            "Say what is being done about it, e.g. the coaching sessions planned; the note is "
            "what marking it records.",
        ),
        (
            "dismiss",
            "reason",
            "Say why it is a false alarm, e.g. the observations were of unusual sessions; "
            "dismissing needs a reason.",
        ),
    ],
)
@pytest.mark.parametrize("said", ["", "  "])
def test_marking_or_dismissing_without_words_shows_the_page_with_the_error(
    world, login, alerts, action, field, error, said
):
    response = login(world.coach).post(url(alerts["pat"], action), {f"{action}-{field}": said})
    assert response.status_code == 400
    assert response.context[f"{action}_form"].errors[field] == [error]
    assert error.split(",")[0].encode() in response.content
    alerts["pat"].refresh_from_db()
    assert alerts["pat"].status == DriftAlert.Status.OPEN


def test_a_reason_over_the_limit_is_refused_and_kept_on_the_page(world, login, alerts):
    reason = "z" * 2001
    response = login(world.coach).post(url(alerts["pat"], "dismiss"), {"dismiss-reason": reason})
    assert response.status_code == 400
    assert "Keep the reason to 2000 characters (it has 2001)." in response.content.decode()
    assert reason.encode() in response.content
    alerts["pat"].refresh_from_db()
    assert alerts["pat"].status == DriftAlert.Status.OPEN


def test_dismissing_records_who_when_and_why_apart_from_the_note(world, login, alerts, frozen):
    alert = alerts["pat"]
    login(world.coach).post(url(alert, "acknowledge"), {"acknowledge-note": "Will watch."})
    client = login(world.leader)
    client.get(url(alert))  # the coach's message shown
    response = client.post(url(alert, "dismiss"), {"dismiss-reason": "Covering a crisis caseload."})
    assert flashed(response) == [
        "Dismissed as a false alarm: nobody is told of it again. It stays in the list until "
        "the scores are back in control."
    ]
    alert.refresh_from_db()
    assert alert.status == DriftAlert.Status.DISMISSED
    assert (alert.dismissed_by, alert.dismissed_at) == (world.leader, NOW)
    assert (alert.note, alert.dismissal_reason) == ("Will watch.", "Covering a crisis caseload.")
    assert alert.resolved_on is None
    last = alert.history.order_by("history_id").last()
    assert (last.status, last.history_user) == ("dismissed", world.leader.user)
    page = client.get(url(alert)).content.decode()
    assert f"Dismissed as a false alarm by <strong>{own_link(world.leader)}</strong>" in page
    assert "Covering a crisis caseload." in page and "Will watch." in page
    assert "nobody is told of it again meanwhile" in page


def test_a_dismissed_alert_stays_on_the_list_with_its_status(world, login, alerts):
    login(world.coach).post(url(alerts["pat"], "dismiss"), {"dismiss-reason": "Odd sessions."})
    response = login(world.leader).get(LIST)
    assert alerts["pat"].pk in listed(response)
    pat = row(response, alerts["pat"])
    assert ">Dismissed as a false alarm</span>" in pat
    assert world.coach.full_name in pat


def test_dismissing_twice_with_the_same_reason_writes_it_once(world, login, alerts):
    alert, client = alerts["pat"], login(world.coach)
    client.post(url(alert, "dismiss"), {"dismiss-reason": "Odd sessions."}, follow=True)
    before = alert.history.count()
    response = client.post(url(alert, "dismiss"), {"dismiss-reason": "Odd sessions."})
    assert flashed(response) == ["It was dismissed already, with these words; nothing changed."]
    assert alert.history.count() == before


def test_a_dismissed_alert_is_taken_back_by_saying_how_it_is_addressed(world, login, alerts):
    alert, client = alerts["pat"], login(world.coach)
    client.post(url(alert, "dismiss"), {"dismiss-reason": "Odd sessions."})
    assert url(alert, "address") in client.get(url(alert)).content.decode()
    client.post(url(alert, "address"), {"address-note": "It is real after all: sessions."})
    alert.refresh_from_db()
    assert alert.status == DriftAlert.Status.ADDRESSING
    assert "Dismissed as a false alarm by" not in client.get(url(alert)).content.decode()


def test_an_addressed_or_dismissed_alert_is_not_acknowledged_back(world, login, alerts):
    alert, client = alerts["pat"], login(world.coach)
    client.post(url(alert, "address"), {"address-note": "Sessions."}, follow=True)
    response = client.post(url(alert, "acknowledge"), {"acknowledge-note": "Read it."})
    assert flashed(response) == ["This alert is already being addressed; nothing was acknowledged."]
    alert.refresh_from_db()
    assert (alert.status, alert.note) == ("addressing", "")


@pytest.mark.parametrize(("action", "field"), [("address", "note"), ("dismiss", "reason")])
def test_a_closed_alert_is_neither_addressed_nor_dismissed(world, login, alerts, action, field):
    alert = alerts["pat"]
    DriftAlert.objects.filter(pk=alert.pk).update(
        status=DriftAlert.Status.RESOLVED, resolved_on=D(2026, 6, 20)
    )
    response = login(world.coach).post(url(alert, action), {f"{action}-{field}": "Late."})
    assert response["Location"] == url(alert)
    verb = {"address": "marked as being addressed", "dismiss": "dismissed"}[action]
    assert flashed(response) == [f"This alert is closed; nothing was {verb}."]
    alert.refresh_from_db()
    assert (alert.status, alert.addressing_note, alert.dismissal_reason) == ("resolved", "", "")


def test_a_team_alert_is_dismissed_by_a_leader_and_an_item_one_addressed_by_an_org_admin(
    world, login, alerts
):
    login(world.leader).post(url(alerts["team"], "dismiss"), {"dismiss-reason": "Two left."})
    login(world.org_admin).post(url(alerts["item"], "address"), {"address-note": "Training day."})
    alerts["team"].refresh_from_db()
    alerts["item"].refresh_from_db()
    assert (alerts["team"].status, alerts["team"].dismissed_by) == ("dismissed", world.leader)
    assert (alerts["item"].status, alerts["item"].addressed_by) == ("addressing", world.org_admin)


def test_nobody_resolves_an_alert_by_hand_any_more(world, login, alerts):
    response = login(world.leader).post(f"{url(alerts['pat'])}resolve/", {"resolve-note": "Done."})
    assert response.status_code == 404
    alerts["pat"].refresh_from_db()
    assert alerts["pat"].status == DriftAlert.Status.OPEN
    page = login(world.leader).get(url(alerts["pat"])).content.decode()
    assert "/resolve/" not in page and ">Resolve<" not in page


def test_an_alert_the_job_closed_says_so_and_offers_no_forms(world, login, alerts):
    DriftAlert.objects.filter(pk=alerts["pat"].pk).update(
        status=DriftAlert.Status.RESOLVED, resolved_on=D(2026, 6, 12)
    )
    page = login(world.coach).get(url(alerts["pat"])).content.decode()
    assert "Closed by the drift job when the scores were back in control" in page
    assert "2026-06-12" in page and ">Closed</span>" in page
    assert "If the scores fall again, a new alert is raised." in page
    for action in ("acknowledge", "address", "dismiss"):
        assert url(alerts["pat"], action) not in page


def test_an_alert_resolved_by_hand_before_still_says_by_whom(world, login, alerts):
    DriftAlert.objects.filter(pk=alerts["pat"].pk).update(
        status=DriftAlert.Status.RESOLVED,
        resolved_on=D(2026, 6, 12),
        resolved_by=world.leader,
        resolution_note="Back on track.",
    )
    page = login(world.coach).get(url(alerts["pat"])).content.decode()
    assert f"Resolved by <strong>{world.leader.full_name}</strong>" in page
    assert "Back on track." in page and ">Resolved</span>" in page


# The momentum badge in the alert's terms --------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "words"),
    [
        ("steady", "Still below baseline"),
        ("building", "Recovering"),
        ("slipping", "Still slipping"),
    ],
)
def test_beside_an_alert_not_closed_momentum_reads_in_the_alerts_terms(
    world, login, alerts, direction, words
):
    Momentum.objects.create(
        person=world.practitioner,
        rubric=alerts["pat"].rubric,
        direction=direction,
        slope=0.0,
        last_observed_on=D(2026, 6, 1),
        computed_on=D(2026, 6, 2),
    )
    client = login(world.leader)
    for html in (
        client.get(url(alerts["pat"])).content.decode(),
        row(client.get(LIST), alerts["pat"]),
    ):
        start = html.index(f'data-momentum="{direction}"')
        badge = html[start : html.index("</span>", html.index("</span>", start) + 1)]
        assert f"</span> {words}" in badge
        assert "data-alerted" in badge
        assert "recent trend" in badge and "baseline" in badge and "drift alert" in badge
        assert "Steady" not in badge


def test_beside_a_closed_alert_momentum_reads_as_momentum(world, login, alerts):
    DriftAlert.objects.filter(pk=alerts["pat"].pk).update(
        status=DriftAlert.Status.RESOLVED, resolved_on=D(2026, 6, 12)
    )
    Momentum.objects.create(
        person=world.practitioner,
        rubric=alerts["pat"].rubric,
        direction="steady",
        slope=0.0,
        last_observed_on=D(2026, 6, 1),
        computed_on=D(2026, 6, 2),
    )
    page = login(world.leader).get(url(alerts["pat"])).content.decode()
    assert "</span> Steady</span>" in page
    assert "Still below baseline" not in page and "data-alerted" not in page


# Refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["acknowledge", "address", "dismiss"])
def test_the_actions_are_post_only(world, login, alerts, action):
    assert login(world.coach).get(url(alerts["pat"], action)).status_code == 405


@pytest.mark.parametrize("action", ["acknowledge", "address", "dismiss"])
@pytest.mark.parametrize(
    ("persona", "name"),
    [
        ("outsider", "pat"),
        ("practitioner", "pat"),
        ("coach", "cora"),
        ("coach", "team"),
        ("coach", "item"),
        ("away_practitioner", "ari"),
        ("leader", "ari"),
    ],
)
def test_those_who_may_not_see_it_get_404_and_change_nothing(
    world, login, alerts, action, persona, name
):
    alert = alerts[name]
    data = {"acknowledge-note": "Mine now.", "address-note": "Mine.", "dismiss-reason": "Mine."}
    response = login(getattr(world, persona)).post(url(alert, action), data)
    assert response.status_code == 404
    alert.refresh_from_db()
    assert (alert.status, alert.note) == (DriftAlert.Status.OPEN, "")


def test_another_coach_may_not_act_on_the_practitioners_alert(world, login, alerts):
    other = make_person(world.home, "coach", team=world.team_b)
    client = login(other)
    assert client.post(url(alerts["pat"], "dismiss"), {"dismiss-reason": "No."}).status_code == 404
    alerts["pat"].refresh_from_db()
    assert alerts["pat"].status == DriftAlert.Status.OPEN

"""The defects the drift detector was rebuilt for, each pinned by a series that showed it,
run through the real job night by night over observations in the database."""

import datetime as dt
import itertools

import numpy as np
import pytest
from django.urls import reverse

from coaching import drift, services
from coaching.models import DriftAlert
from tests.coaching import test_drift_job as drift_job
from tests.factories import make_period, make_person

START = dt.date(2024, 1, 8)
EVERY = 7
# Within-person noise: about what practitioners' overall scores move from visit to visit.
NOISE = 1.6
RATINGS = [
    "ep-voice",
    "ep-strengths",
    "ep-transparency",
    "mi-open",
    "mi-reflect",
    "mi-affirm",
    "mi-change-talk",
    "mi-autonomy",
    "wp-team",
    "wp-needs",
    "wp-plan",
    "wp-natural",
    "wp-transition",
]
INDICATORS = ["ind-agenda", "ind-safety", "ind-actions", "ind-summary"]


def noisy(level, count, seed):
    """`count` scores around `level`, the same ones for the same seed."""
    return list(level + np.random.default_rng(seed).normal(0, NOISE, count))


def observe(coach, person, scores, *, start=START, every=EVERY, cards=None):
    """The job tests' observations, with item cards (one per score) when given."""
    items = (lambda n, score: cards[n]) if cards else None
    return drift_job.observe(coach, person, scores, start=start, every=every, items=items)


def peers(world, count=4):
    """Colleagues on the same rubric with ordinary steady scores, so the pooled spread and
    the peers' level are what a real cohort gives."""
    for n in range(count):
        person = make_person(world.home, "practitioner", team=world.team_b, first_name=f"P{n}")
        observe(world.coach, person, noisy(84 + 2 * n, 30, seed=100 + n))


def nightly(observations):
    """Run the job on the day of each observation, in order; yield (position, report)."""
    for position, observation in enumerate(observations):
        yield position, services.drift_detect(today=observation.observed_on)


def person_alerts(person, **filters):
    return list(DriftAlert.objects.filter(practitioner=person, **filters).order_by("pk"))


def not_closed(person):
    return person_alerts(person, status__in=DriftAlert.ACTIVE)


def test_silent_drift_a_fall_that_stays_down_has_its_alert_every_night(world):
    """Defect 1, silent drift: a practitioner whose scores dropped and stayed down had
    nights without any alert not closed while the series was plainly out of control."""
    peers(world)
    pat = world.practitioner
    made = observe(world.coach, pat, noisy(88, 15, seed=1) + noisy(81, 20, seed=2))
    out_nights = []
    for position, _ in nightly(made):
        active = not_closed(pat)
        if position < 15:
            assert active == [], position
        # From the third low score on, the fall is beyond doubt.
        elif position >= 17:
            assert len(active) == 1, position
            out_nights.append(active[0].pk)
    assert len(set(out_nights)) == 1
    assert len(person_alerts(pat)) == 1
    [alert] = person_alerts(pat)
    assert alert.rule == "shift"
    assert alert.began_on == made[15].observed_on


def test_flapping_a_series_at_the_limit_after_a_real_drop_keeps_one_alert(world):
    """Defect 2, flapping: a series that fell and then sat just at the limit, still below
    its old level, closed its alert and raised a new one within a few observations."""
    peers(world)
    pat = world.practitioner
    # 88, four visits at 82, then back up to about 87 only: a point under the old level.
    scores = noisy(88, 15, seed=3) + noisy(82, 4, seed=4) + noisy(87, 30, seed=5)
    made = observe(world.coach, pat, scores)
    states, statistics = [], []
    for _, _ in nightly(made):
        active = not_closed(pat)
        assert len(active) <= 1
        states.append(active[0].pk if active else None)
        statistics += [
            e["statistic"] - e["limit"] for a in active for e in a.rules if e["rule"] == "shift"
        ]
    # The series did sit just at its limit (the fall's statistic less the limit) for a while.
    near = [value for value in statistics if abs(value) < 0.3]
    assert len(near) >= 5, [round(value, 2) for value in statistics]
    raised = [pk for pk in dict.fromkeys(states) if pk is not None]
    assert raised, "the drop itself raises an alert"
    # No alert closes and another opens within close_after observations of it.
    for first, second in itertools.pairwise(raised):
        gap = states.index(second) - (len(states) - states[::-1].index(first))
        assert gap > 3, states
    assert len(person_alerts(pat)) == 1, states


@pytest.mark.parametrize("where", [8, 14, 20, 29])
def test_false_alarm_one_very_bad_day_of_a_steady_practitioner_raises_nothing(world, where):
    """Defect 3, false alarms: one very bad day (a visit gone wrong) among steady scores
    raised an alert, on the night of that day or after it. Beside it, a twin with the same
    scores but that day: the bad day may add no alert the twin has not (steady noise alone
    raises one now and then, about one night in a hundred)."""
    peers(world)
    pat = world.practitioner
    twin = make_person(world.home, "practitioner", team=world.team_b, first_name="Twin")
    scores = noisy(88, 30, seed=6)
    observe(world.coach, twin, list(scores))
    scores[where] = 58.0
    made = observe(world.coach, pat, scores)
    for position, _ in nightly(made):
        raised = {alert.began_on for alert in person_alerts(pat)}
        assert raised <= {alert.began_on for alert in person_alerts(twin)}, position
        assert made[where].observed_on not in raised, position


def test_regression_to_the_mean_selected_high_evidence_raises_nothing(world):
    """Defect 4, regression to the mean: a practitioner certified on three observations
    at 95, picked from ordinary scores around 86, was flagged as falling once their
    later, ordinary, scores came in."""
    peers(world)
    pat = world.practitioner
    before = observe(world.coach, pat, noisy(86, 6, seed=7))
    evidence = observe(world.coach, pat, [95.0, 95.0, 95.0], start=START + dt.timedelta(days=42))
    make_period(
        pat,
        world.coach,
        valid_from=evidence[-1].observed_on,
        evidence=[{"id": o.pk} for o in evidence],
    )
    after = observe(world.coach, pat, noisy(86, 20, seed=8), start=START + dt.timedelta(days=63))
    assert len(before) + len(evidence) + len(after) == 29
    for position, _ in nightly(after):
        assert person_alerts(pat) == [], position


def test_backfill_an_old_recovered_episode_raises_nothing_on_the_first_run(world):
    """Defect 5, backfill: the first run over a long history raised alerts for a fall
    years ago that had long since recovered; a fall now must still raise one."""
    peers(world)
    pat, uma = world.practitioner, world.unassigned
    old = noisy(88, 20, seed=9) + noisy(79, 8, seed=10) + noisy(88, 60, seed=11)
    made = observe(world.coach, pat, old, start=dt.date(2023, 1, 2), every=14)
    observe(world.coach, uma, noisy(87, 20, seed=12) + noisy(79, 5, seed=13))
    today = made[-1].observed_on + dt.timedelta(days=1)
    services.drift_detect(today=today)
    assert person_alerts(pat) == []
    assert len(person_alerts(uma)) == 1
    # Pat falls now: one alert, about the fall now.
    now = observe(world.coach, pat, noisy(79, 4, seed=14), start=today, every=7)
    services.drift_detect(today=now[-1].observed_on)
    [alert] = person_alerts(pat)
    assert alert.began_on == now[0].observed_on


def test_momentum_and_alert_agree_on_the_alert_page(world, login):
    """Defect 6, momentum against the alert: the alert said the practitioner had fallen
    while their momentum badge beside it said steady or building; with an alert not
    closed, the badge reads in the alert's terms."""
    peers(world)
    pat = world.practitioner
    made = observe(world.coach, pat, noisy(88, 15, seed=15) + noisy(80, 6, seed=16))
    services.drift_detect(today=made[-1].observed_on)
    [alert] = not_closed(pat)
    html = login(world.coach).get(reverse("coaching:alert", args=[alert.pk])).content.decode()
    assert "data-alerted" in html
    assert any(word in html for word in ("Recovering", "Still below baseline", "Still slipping"))
    assert "Momentum building" not in html and "Momentum steady" not in html


def cards_with_slip(count, slipped_from, fallen, seed):
    """Item cards: each rating mostly 2 or 3, indicators yes; from `slipped_from` on, the
    `fallen` items score 0 or 1."""
    rng = np.random.default_rng(seed)
    cards = []
    for n in range(count):
        card = {code: int(rng.choice([2, 3, 3])) for code in RATINGS}
        card.update(dict.fromkeys(INDICATORS, 1))
        if n >= slipped_from:
            card.update({code: int(rng.choice([0, 1, 1])) for code in fallen})
        cards.append(card)
    return cards


def test_a_slip_in_three_items_with_a_steady_overall_score_raises_an_items_alert(world):
    """A practitioner who stopped reflecting, eliciting change talk and planning, while
    their overall score held (the other items carried it), raises an alert on the items
    rule, naming those items."""
    peers(world)
    pat = world.practitioner
    fallen = ["mi-reflect", "mi-change-talk", "wp-plan"]
    cards = cards_with_slip(26, 18, fallen, seed=17)
    made = observe(world.coach, pat, noisy(86, 26, seed=18), cards=cards)
    services.drift_detect(today=made[-1].observed_on)
    [alert] = not_closed(pat)
    assert alert.rule == "items"
    assert "items" in [entry["rule"] for entry in alert.rules]
    assert set(fallen) & {entry["code"] for entry in alert.moved}


def test_an_alert_records_the_limit_its_statistic_was_held_to(world):
    """The limit an alert shows is the one the detector used."""
    peers(world)
    pat = world.practitioner
    made = observe(world.coach, pat, noisy(88, 15, seed=1) + noisy(81, 4, seed=2))
    services.drift_detect(today=made[-1].observed_on)
    [alert] = not_closed(pat)
    [shift] = [entry for entry in alert.rules if entry["rule"] == "shift"]
    freedom = drift.DEFAULTS.sigma_weight + len(made) - 1
    limit = drift._student(drift.DEFAULTS.shift_limit, freedom)
    assert shift["limit"] == pytest.approx(float(limit), abs=1e-3)

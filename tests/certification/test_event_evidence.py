"""The evidence rule's requirement of learning community events, on constructed
attendances: the first day and the day of the decision, only "attended", only the kind."""

import datetime as dt
from dataclasses import replace

from certification.evidence import Attended, evaluate, first_day
from tests.certification.test_evidence import AS_OF, FIRST, RULE, enough

D = dt.date
EVENTS = replace(
    RULE, min_events=2, event_kind="learning_community", event_kind_name="Learning community"
)
_ids = iter(range(1, 10_000))


def went(day, kind="learning_community", status="attended"):
    return Attended(next(_ids), day, kind, f"Event on {day}", status)


def judged(attended, rule=EVENTS, as_of=AS_OF, first=FIRST):
    progress = evaluate(rule, enough(), as_of=as_of, first=first, attended=attended)
    return progress, progress.requirements[-1]


def test_a_rule_that_asks_for_no_events_adds_no_requirement():
    progress = evaluate(RULE, enough(), as_of=AS_OF, first=FIRST, attended=[went(D(2026, 3, 1))])
    assert len(progress.requirements) == 3
    assert progress.meets and progress.events == ()


def test_two_attended_events_of_the_kind_meet_it():
    progress, events = judged([went(D(2026, 2, 1)), went(D(2026, 5, 1))])
    assert events.met and progress.meets
    assert events.text == "2 learning community events attended since 2026-01-01"
    assert events.detail == "2 learning community events attended"


def test_one_short_says_how_many_more():
    progress, events = judged([went(D(2026, 2, 1))])
    assert not events.met and not progress.meets
    assert events.detail == "1 of 2 learning community events attended; 1 more needed"
    assert progress.summary == events.detail


def test_an_event_on_the_first_day_counts_and_the_day_before_does_not():
    _, on_first = judged([went(FIRST), went(D(2026, 5, 1))])
    _, day_before = judged([went(FIRST - dt.timedelta(days=1)), went(D(2026, 5, 1))])
    assert on_first.met and not day_before.met


def test_an_event_on_the_day_of_the_decision_counts_and_a_later_one_does_not():
    _, today = judged([went(AS_OF), went(D(2026, 5, 1))])
    _, tomorrow = judged([went(AS_OF + dt.timedelta(days=1)), went(D(2026, 5, 1))])
    assert today.met and not tomorrow.met


def test_only_an_attended_mark_counts():
    _, events = judged(
        [
            went(D(2026, 2, 1)),
            went(D(2026, 3, 1), status="registered"),
            went(D(2026, 4, 1), status="absent"),
        ]
    )
    assert not events.met
    assert events.detail.startswith("1 of 2")


def test_only_events_of_the_kind_count():
    _, events = judged([went(D(2026, 2, 1)), went(D(2026, 3, 1), kind="training")])
    assert not events.met


def test_a_rule_naming_no_kind_counts_every_kind():
    any_kind = replace(EVENTS, event_kind="", event_kind_name="")
    _, events = judged([went(D(2026, 2, 1)), went(D(2026, 3, 1), kind="training")], any_kind)
    assert events.met
    assert events.text == "2 events attended since 2026-01-01"


def test_more_than_asked_is_said_as_such_never_three_of_two():
    _, events = judged([went(D(2026, 2, day)) for day in (1, 2, 3)])
    assert events.detail == "3 learning community events attended"


def test_a_renewal_counts_events_from_the_window():
    renewal = replace(EVENTS, kind="renewal", within_days=None)
    opens = D(2026, 4, 1)
    first = first_day(renewal, AS_OF, window_opens=opens)
    _, events = judged([went(D(2026, 3, 31)), went(D(2026, 4, 1))], renewal, first=first)
    assert not events.met
    assert events.text == "2 learning community events attended since 2026-04-01"


def test_the_events_counted_are_kept_with_a_decision_oldest_first():
    early, late = went(D(2026, 2, 1)), went(D(2026, 5, 1))
    progress, _ = judged([late, went(D(2026, 3, 1), status="absent"), early])
    assert progress.events == (early, late)
    kept = progress.kept()
    assert kept[-2:] == [
        {"event": early.id, "title": early.title, "held_on": "2026-02-01"},
        {"event": late.id, "title": late.title, "held_on": "2026-05-01"},
    ]
    assert all("id" in entry for entry in kept[:-2])  # the observations, as before


def test_a_calibration_rule_may_ask_for_events_too():
    calibration = replace(EVENTS, source="calibration", min_cases=1)
    progress = evaluate(calibration, [], as_of=AS_OF, first=FIRST, attended=[])
    assert [r.met for r in progress.requirements] == [False, False]

"""A new hire's learning path, worked by hand: no database."""

import datetime as dt

from miiwrap.people import learning_path as lp
from miiwrap.people.learning_path import Evidence, State

D = dt.date
HIRED = D(2026, 9, 1)
# Due days from 2026-09-01: training 09-15, observation and plan 10-01, certification
# 10-16 (45 days), learning community 11-30.


def states(found):
    return {p.step.key: p.state for p in found.steps}


def test_the_steps_are_walked_in_order_with_the_certification_due_at_the_deadline():
    found = lp.checklist(1, HIRED, D(2026, 9, 2), {}, 45)
    assert [p.step.key for p in found.steps] == [
        "training",
        "observation",
        "plan",
        "certification",
        "community",
    ]
    assert [p.due_on for p in found.steps] == [
        D(2026, 9, 15),
        D(2026, 10, 1),
        D(2026, 10, 1),
        D(2026, 10, 16),
        D(2026, 11, 30),
    ]


def test_on_the_second_day_with_nothing_yet_every_step_is_due():
    found = lp.checklist(1, HIRED, D(2026, 9, 2), {}, 45)
    assert set(states(found).values()) == {State.DUE}
    assert found.done == 0 and found.overdue == 0 and found.days_since_hire == 1


def test_a_step_due_exactly_today_is_due_and_the_next_day_overdue():
    assert states(lp.checklist(1, HIRED, D(2026, 9, 15), {}, 45))["training"] == State.DUE
    assert states(lp.checklist(1, HIRED, D(2026, 9, 16), {}, 45))["training"] == State.OVERDUE


def test_a_new_hire_past_45_days_with_training_observation_and_plan_is_overdue_on_certification():
    evidence = {
        "training": [Evidence(D(2026, 9, 10), "MiiWrap foundations", "/events/3/")],
        "observation": [Evidence(D(2026, 9, 25), "Observation", "/observations/8/")],
        "plan": [Evidence(D(2026, 10, 5), "Coaching plan", "/coaching/plans/2/")],
    }
    found = lp.checklist(1, HIRED, D(2026, 10, 20), evidence, 45)
    assert states(found) == {
        "training": State.DONE,
        "observation": State.DONE,
        "plan": State.DONE,
        "certification": State.OVERDUE,
        "community": State.DUE,
    }
    assert found.done == 3 and found.overdue == 1
    plan = found.steps[2]
    assert plan.evidence.url == "/coaching/plans/2/" and plan.done_late  # 10-05 after 10-01
    assert not found.steps[0].done_late


def test_the_earliest_evidence_completes_a_step_whatever_the_order_given():
    evidence = {
        "observation": [
            Evidence(D(2026, 9, 20), "later", "/observations/2/"),
            Evidence(D(2026, 9, 12), "first", "/observations/1/"),
        ]
    }
    step = lp.checklist(1, HIRED, D(2026, 9, 30), evidence, 45).steps[1]
    assert step.state == State.DONE and step.evidence.title == "first"


def test_evidence_dated_before_the_hire_does_not_count():
    evidence = {"training": [Evidence(D(2026, 8, 31), "Before the job", "/events/1/")]}
    found = lp.checklist(1, HIRED, D(2026, 9, 20), evidence, 45)
    assert states(found)["training"] == State.OVERDUE


def test_evidence_on_the_hire_date_counts():
    evidence = {"training": [Evidence(HIRED, "First day", "/events/1/")]}
    assert states(lp.checklist(1, HIRED, HIRED, evidence, 45))["training"] == State.DONE


def test_evidence_dated_after_today_does_not_count_yet():
    evidence = {"observation": [Evidence(D(2026, 9, 12), "Tomorrow", "/observations/1/")]}
    assert states(lp.checklist(1, HIRED, D(2026, 9, 11), evidence, 45))["observation"] == (
        State.DUE
    )


def test_someone_who_came_certified_has_the_certification_step_done_from_that_decision():
    held = Evidence(D(2025, 3, 1), "MiiWrap Practitioner", "/cert/1/", until=D(2027, 3, 1))
    step = lp.checklist(1, HIRED, D(2026, 12, 1), {"certification": [held]}, 45).steps[3]
    assert step.state == State.DONE and step.evidence.on == D(2025, 3, 1)
    assert not step.done_late


def test_a_certification_that_ended_before_the_hire_does_not_count():
    ended = Evidence(D(2023, 3, 1), "MiiWrap Practitioner", "/cert/1/", until=D(2025, 3, 1))
    found = lp.checklist(1, HIRED, D(2026, 10, 17), {"certification": [ended]}, 45)
    assert states(found)["certification"] == State.OVERDUE


def test_only_a_certification_is_counted_from_before_the_hire():
    old = Evidence(D(2025, 3, 1), "A training", "/events/1/", until=D(2027, 3, 1))
    assert states(lp.checklist(1, HIRED, D(2026, 9, 2), {"training": [old]}, 45))["training"] == (
        State.DUE
    )


def test_without_a_deadline_the_certification_is_due_and_never_overdue():
    found = lp.checklist(1, HIRED, D(2027, 9, 1), {}, None)
    step = found.steps[3]
    assert step.due_on is None and step.state == State.DUE
    assert states(found)["training"] == State.OVERDUE


def test_each_state_reads_in_a_few_words_with_its_day():
    evidence = {
        "training": [Evidence(D(2026, 9, 10), "Foundations", "/events/3/")],
        "plan": [Evidence(D(2026, 10, 5), "Plan", "/coaching/plans/2/")],
    }
    found = lp.checklist(1, HIRED, D(2026, 10, 5), evidence, None)
    assert [p.summary for p in found.steps] == [
        "Done 2026-09-10",
        "Overdue: due 2026-10-01",
        "Done 2026-10-05 (late)",
        "Due (no deadline)",
        "Due by 2026-11-30",
    ]

"""The dashboards' SQL standing agrees with the roster's Python one (dates.standing)."""

import datetime as dt

import pytest

from certification import models as certification
from certification import pipeline, roster
from certification.models import Program
from miiwrap.people.models import Person
from tests.factories import make_observation, make_org, make_period, make_person

D = dt.date


@pytest.fixture
def cast(world):
    return make_cast(world)[0]


def make_cast(world):
    """One practitioner per situation, in two zones so each is read on its own today:
    ({name: person}, the Los Angeles organization, the certifier)."""
    pacific = make_org("Pacific Wraparound", time_zone="America/Los_Angeles")
    certifier = world.purveyor_admin
    made = {}

    def person(name, org=world.home):
        made[name] = make_person(org, "practitioner", first_name=name)
        return made[name]

    person("never")
    make_observation(world.coach, person("observed lately"), observed_on=D(2026, 6, 1))
    make_observation(world.coach, person("observed long ago"), observed_on=D(2024, 6, 1))
    make_period(person("certified"), certifier, valid_from=D(2025, 9, 1))
    make_period(person("window open"), certifier, valid_from=D(2024, 8, 1))
    make_period(person("grace"), certifier, valid_from=D(2024, 6, 20))
    make_period(person("lapsed"), certifier, valid_from=D(2023, 1, 1))
    make_period(
        person("revoked"),
        certifier,
        valid_from=D(2025, 9, 1),
        revoked_on=D(2026, 2, 1),
        revocation_reason="Test.",
    )
    renewed = person("renewed ahead")
    make_period(renewed, certifier, valid_from=D(2024, 8, 1))
    make_period(renewed, certifier, valid_from=D(2026, 8, 1), decided_on=D(2026, 6, 1))
    make_period(person("expires today in LA", pacific), certifier, valid_from=D(2024, 7, 1))
    return made, pacific, certifier


def sql_states(program, todays):
    people = Person.objects.filter(roles__role="practitioner")
    rows = certification.with_standing(people, program, todays)
    return {pk: (row.state, certification.next_date_of(row)) for pk, row in rows.items()}


@pytest.mark.parametrize("day", [D(2026, 6, 30), D(2026, 8, 15), D(2027, 3, 1)])
def test_sql_standing_matches_the_rosters(cast, day):
    program = Program.objects.with_rules().get(code="practitioner")
    now = dt.datetime.combine(day, dt.time(12), dt.UTC)
    people = Person.objects.filter(pk__in=[p.pk for p in cast.values()])
    expected = {
        row.person_id: (row.state.value, row.next_date)
        for row in roster.standings(people, program, now)
    }
    todays = {
        "America/New_York": day,
        "America/Los_Angeles": day,
    }
    found = sql_states(program, todays)
    assert {pk: found[pk] for pk in expected} == expected


def test_each_situation_reads_as_its_state(cast):
    program = Program.objects.with_rules().get(code="practitioner")
    found = sql_states(program, {"America/New_York": D(2026, 6, 30)})
    states = {name: found[person.pk][0] for name, person in cast.items()}
    assert states == {
        "never": "not_certified",
        "observed lately": "in_progress",
        "observed long ago": "not_certified",
        "certified": "certified",
        "window open": "window_open",
        "grace": "grace",
        "lapsed": "lapsed",
        "revoked": "revoked",
        "renewed ahead": "certified",
        "expires today in LA": "window_open",
    }


def test_each_organization_is_read_on_its_own_today(cast):
    """At 11 pm on June 30 in Los Angeles it is already July 1 in New York."""
    program = Program.objects.with_rules().get(code="practitioner")
    la, ny = cast["expires today in LA"], cast["window open"]
    todays = {"America/Los_Angeles": D(2026, 6, 30), "America/New_York": D(2026, 7, 1)}
    found = sql_states(program, todays)
    assert found[la.pk] == ("window_open", ("Window open until", D(2026, 6, 30)))
    assert found[ny.pk][0] == "window_open"
    todays = {"America/Los_Angeles": D(2026, 7, 1), "America/New_York": D(2026, 7, 2)}
    assert sql_states(program, todays)[la.pk] == ("grace", ("Grace ends", D(2026, 7, 30)))


def test_pipeline_counts_states_and_how_soon_the_certified_expire(cast):
    program = Program.objects.with_rules().get(code="practitioner")
    people = Person.objects.filter(pk__in=[p.pk for p in cast.values()])
    todays = {"America/New_York": D(2026, 6, 30), "America/Los_Angeles": D(2026, 6, 30)}
    counts, expiring = pipeline.read(people, [program], todays)
    rows = [(state, within, n) for _, state, within, n in counts]
    # "window open" expires 2026-07-31 (31 days: the 60-day bucket), the one in Los
    # Angeles today; "renewed ahead" is certified until 2028, so it is not expiring.
    assert sorted(rows, key=str) == sorted(
        [
            ("certified", None, 2),
            ("grace", None, 1),
            ("in_progress", None, 1),
            ("lapsed", None, 1),
            ("not_certified", None, 2),
            ("revoked", None, 1),
            ("window_open", 30, 1),
            ("window_open", 60, 1),
        ],
        key=str,
    )
    names = {person.pk: name for name, person in cast.items()}
    assert [names[row[1]] for row in expiring] == ["expires today in LA", "window open"]


@pytest.mark.parametrize("day", [D(2026, 6, 30), D(2026, 8, 15), D(2027, 3, 1)])
def test_the_pipelines_one_statement_counts_as_the_roster_does(cast, day):
    programs = list(Program.objects.with_rules())
    people = Person.objects.filter(pk__in=[p.pk for p in cast.values()])
    now = dt.datetime.combine(day, dt.time(12), dt.UTC)
    todays = {"America/New_York": day, "America/Los_Angeles": day}
    found = {}
    for program_id, state, _, n in pipeline.read(people, programs, todays)[0]:
        found[(program_id, state)] = found.get((program_id, state), 0) + n
    for program in programs:
        rows = roster.standings(certification.on_roster(people, program), program, now)
        expected = {(program.pk, s): n for s, _, n in roster.counts(rows) if n}
        assert {key: n for key, n in found.items() if key[0] == program.pk} == expected


def test_the_pipeline_lists_who_expires_soonest_first(cast):
    programs = list(Program.objects.with_rules())
    people = Person.objects.filter(pk__in=[p.pk for p in cast.values()])
    todays = {"America/New_York": D(2026, 6, 30), "America/Los_Angeles": D(2026, 6, 29)}
    soon = pipeline.read(people, programs, todays)[1]
    assert [(row[1], row[2], row[3], row[4]) for row in soon] == [
        (cast["expires today in LA"].pk, "window_open", D(2026, 6, 30), D(2026, 6, 29)),
        (cast["window open"].pk, "window_open", D(2026, 7, 31), D(2026, 6, 30)),
    ]

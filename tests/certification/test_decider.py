"""certification.decider, the one statement every reader of the current period uses,
decides as certification.dates.standing does: on hand-made worlds with every state, and
on generated histories read on many days, in every shape the statement takes."""

import datetime as dt
import random

import pytest

from certification import dates, decider
from certification.models import CertificationPeriod, EvidenceRule, Program
from miiwrap.people.models import Person
from observations.models import Observation
from tests.certification.test_jobs_current import random_history
from tests.certification.test_standing_sql import make_cast
from tests.factories import make_observation, make_org, make_period, make_person

D = dt.date
NY, LA, HONOLULU = "America/New_York", "America/Los_Angeles", "Pacific/Honolulu"
SHAPES = [
    pytest.param({"members": members, "few": few}, id=f"{members}-{'few' if few else 'many'}")
    for members in decider.Members
    for few in (True, False)
]


def expected(people, program, todays, known=False, members=decider.Members.GIVEN):
    """{person id: (state, period key, next date)} by dates.standing, each person on their
    organization's today: the oracle."""
    rule = program.evidence_rule(EvidenceRule.Kind.INITIAL)
    periods = CertificationPeriod.objects.filter(program=program, person__in=people)
    found = {}
    for person in people:
        today = todays if isinstance(todays, dt.date) else todays[person.organization.time_zone]
        mine = [p for p in periods if p.person_id == person.pk]
        if known:
            mine = [p for p in mine if p.decided_on <= today]
        on_roster = bool(mine) or person.roles.filter(role=program.audience_role).exists()
        if members == decider.Members.HELD and not mine:
            continue
        if members == decider.Members.ROSTER and not on_roster:
            continue
        since = today - dt.timedelta(days=rule.within_days) if rule.within_days else D.min
        accumulating = (
            Observation.objects.submitted()
            .filter(
                practitioner=person,
                rubric_version__rubric_id=rule.rubric_id,
                observed_on__range=(since, today),
            )
            .exists()
        )
        standing = dates.standing([p.as_held() for p in mine], today, accumulating)
        key = standing.held.key if standing.held else None
        found[person.pk] = (standing.state.value, key, standing.next_date(today))
    return found


def decided(people, program, todays, **options):
    """The same, as the decider reads it (its roster by default)."""
    rows = decider.read(
        Person.objects.filter(pk__in=[p.pk for p in people]), [program], todays, **options
    )
    assert len({row.person_id for row in rows}) == len(rows)
    return {
        row.person_id: (row.state, row.period_id, decider.standing_of(row).next_date(row.today))
        for row in rows
    }


@pytest.fixture
def program(db):
    return Program.objects.with_rules().get(code="practitioner")


@pytest.fixture
def cast(world, program):
    """One practitioner in each situation, at home (New York) unless said otherwise: the
    SQL standing's cast (tests/certification/test_standing_sql.py) and three more."""
    made, _, certifier = make_cast(world)

    def person(name, *roles):
        made[name] = make_person(world.home, *(roles or ["practitioner"]), first_name=name)
        return made[name]

    # Renewed early in the window: the new period follows the old expiry (2026-07-31).
    early = person("renewed early")
    old = make_period(early, certifier, valid_from=D(2024, 8, 1))
    renewal = dates.next_period(program.rules(), D(2026, 5, 15), old.as_period())
    make_period(
        early, certifier, valid_from=renewal.valid_from, decided_on=D(2026, 5, 15), is_renewal=True
    )
    # A renewal decided ahead, then revoked before it began: the old period decides.
    undone = person("renewal revoked ahead")
    make_period(undone, certifier, valid_from=D(2024, 8, 1))
    make_period(
        undone,
        certifier,
        valid_from=D(2026, 8, 1),
        decided_on=D(2026, 6, 1),
        revoked_on=D(2026, 6, 10),
        revocation_reason="Test.",
    )
    person("a leader only", "leader")
    return made


def states_of(cast, found):
    return {name: found[person.pk][0] for name, person in cast.items() if person.pk in found}


def test_every_state_on_one_day(cast, program):
    found = decided(cast.values(), program, {NY: D(2026, 6, 30), LA: D(2026, 6, 30)})
    assert states_of(cast, found) == {
        "never": "not_certified",
        "observed lately": "in_progress",
        "observed long ago": "not_certified",
        "certified": "certified",
        "window open": "window_open",
        "grace": "grace",
        "lapsed": "lapsed",
        "revoked": "revoked",
        "renewed ahead": "certified",
        "renewed early": "certified",
        "renewal revoked ahead": "window_open",
        "expires today in LA": "window_open",
    }  # the leader is on no practitioner's roster


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("known", [False, True])
@pytest.mark.parametrize(
    "day", [D(2024, 1, 1), D(2026, 6, 30), D(2026, 8, 15), D(2026, 9, 20), D(2027, 3, 1)]
)
def test_the_cast_as_dates_standing_decides(cast, program, day, known, shape):
    people = list(cast.values())
    todays = {NY: day, LA: day - dt.timedelta(days=1)}
    found = decided(people, program, todays, known=known, **shape)
    assert found == expected(people, program, todays, known, shape["members"])


def test_each_organization_is_read_on_its_own_today(cast, program):
    """At 11 pm on June 30 in Los Angeles it is already July 1 in New York."""
    la, ny = cast["expires today in LA"], cast["window open"]
    todays = {LA: D(2026, 6, 30), NY: D(2026, 7, 1)}
    found = decided([la, ny], program, todays)
    assert found[la.pk][0::2] == ("window_open", ("Window open until", D(2026, 6, 30)))
    assert found == expected([la, ny], program, todays)
    todays = {LA: D(2026, 7, 1), NY: D(2026, 7, 2)}
    assert decided([la], program, todays)[la.pk][0::2] == (
        "grace",
        ("Grace ends", D(2026, 7, 30)),
    )


def test_one_date_for_everyone_reads_every_zone(cast, program):
    people = list(cast.values())
    found = decided(people, program, D(2026, 7, 1), members="given")
    assert found == expected(people, program, D(2026, 7, 1))


def test_nobody_and_no_program_answer_nothing(cast, program):
    assert decider.read(Person.objects.none(), [program], {NY: D(2026, 6, 30)}) == []
    assert decider.read(Person.objects.all(), [], {NY: D(2026, 6, 30)}) == []
    assert decider.read(Person.objects.all(), [program], {}) == []


def test_expiring_within_the_horizons(cast, program):
    people = Person.objects.filter(pk__in=[p.pk for p in cast.values()])
    rows = decider.read(
        people, [program], {NY: D(2026, 6, 30), LA: D(2026, 6, 30)}, horizons=(30, 60, 90)
    )
    names = {person.pk: name for name, person in cast.items()}
    within = {names[row.person_id]: row.within for row in rows if row.within}
    # The window open expires 2026-07-31 (31 days); in LA today is the last day; the
    # renewal revoked ahead leaves its holder's old period (to 2026-07-31) deciding.
    assert within == {
        "window open": 60,
        "expires today in LA": 30,
        "renewal revoked ahead": 60,
    }


def test_generated_histories_on_many_days(world, program):
    """Property-style: random histories of first certifications, early renewals, renewals
    in grace, lapses and revocations, in three zones, read on days across five years."""
    rng = random.Random(18)
    orgs = [world.home, make_org(time_zone=LA), make_org(time_zone=HONOLULU)]
    people = [make_person(rng.choice(orgs), "practitioner") for _ in range(40)]
    people += [make_person(world.home, "practitioner") for _ in range(8)]  # the coach's
    for person in people[:44]:
        random_history(rng, person, world.purveyor_admin, program.rules())
    for person in people[40:]:  # observed, some never certified
        make_observation(
            world.coach, person, observed_on=D(2021, 1, 1) + dt.timedelta(rng.randrange(2000))
        )
    people = list(
        Person.objects.filter(pk__in=[p.pk for p in people]).select_related("organization")
    )
    for _ in range(12):
        day = D(2021, 1, 1) + dt.timedelta(days=rng.randrange(5 * 365))
        todays = {NY: day, LA: day - dt.timedelta(days=rng.randrange(2)), HONOLULU: day}
        for known in (False, True):
            for members, few in [("given", True), ("roster", False), ("held", rng.random() < 0.5)]:
                found = decided(people, program, todays, known=known, members=members, few=few)
                assert found == expected(people, program, todays, known, members), (day, known)

"""The decision queue's SQL cut (certification.models.could_be_ready) drops nobody the
Python rules would put in the queue: on generated worlds, under several rules, on days
when the zones agree and when they do not, the queue read through the cut equals the
plain evaluation of every person on the roster; for the observer certification, on
generated calibration attempts."""

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q

from certification import dates, progress
from certification.models import EvidenceRule, Program, could_be_ready, on_roster
from miiwrap.people.models import Organization, Person, todays_by_zone
from observations.models import (
    ActivityType,
    CalibrationAttempt,
    CalibrationRound,
    Dispute,
    Observation,
    RubricVersion,
)
from tests.certification.conftest import calibrated, calibration_case, evidence
from tests.factories import make_org, make_period, make_person

D = dt.date
LA, HONOLULU = "America/Los_Angeles", "Pacific/Honolulu"
UTC = ZoneInfo("UTC")
# Noon in New York; and 04:30 UTC, when New York is a day ahead of Los Angeles and Honolulu.
MOMENTS = [
    dt.datetime(2026, 6, 30, 16, tzinfo=UTC),
    dt.datetime(2026, 9, 1, 4, 30, tzinfo=UTC),
    dt.datetime(2027, 2, 10, 9, 30, tzinfo=UTC),
]
SETTLED = dt.datetime(2026, 1, 5, 12, tzinfo=UTC)
SCORES = [None, Decimal("60"), Decimal("84.99"), Decimal("85"), Decimal("92.5"), Decimal("100")]
STRONG = [Decimal("84.99"), Decimal("85"), Decimal("92.5"), Decimal("100"), Decimal("100")]
STATUSES = ["submitted", "submitted", "submitted", "acknowledged", "draft"]


def staff(program, todays):
    """Whom the queue view reads: everyone on the roster who has not left."""
    people = on_roster(Person.objects.all(), program)
    return people.filter(Q(leave_date=None) | Q(leave_date__gte=min(todays.values())))


def through_the_cut(program, todays):
    kept = could_be_ready(staff(program, todays), program, todays)
    return progress.ready(kept.select_related("organization", "team"), program)


def everyone_judged(program, todays):
    return progress.ready(staff(program, todays).select_related("organization", "team"), program)


def shown(cards):
    """What the queue shows of each card, and what a decision would keep."""
    return [
        (c.person.pk, c.state, c.deadline, c.progress.summary, [s.id for s in c.progress.evidence])
        for c in cards
    ]


def recent_history(rng, person, certifier, program, around):
    """Periods in `program` near `around`: certified, in the window or grace, lapsed,
    revoked, renewed ahead, or a new period begun while an old one was still valid."""
    rules = Program.objects.get(code=program).rules()
    start = around - dt.timedelta(days=rng.randrange(-30, 900))
    period = make_period(person, certifier, program, start)
    shape = rng.choice(["plain", "plain", "revoked", "renewed", "started over", "started over"])
    if shape == "revoked":
        revoked = start + dt.timedelta(days=rng.randrange(1, 700))
        period.revoked_on, period.revocation_reason = revoked, "Test."
        period.save()
    elif shape == "renewed":
        decided = period.window_opens + dt.timedelta(days=rng.randrange(0, 80))
        renewal = dates.next_period(rules, decided, period.as_period())
        make_period(
            person, certifier, program, renewal.valid_from, decided_on=decided, is_renewal=True
        )
    elif shape == "started over":  # decided anew against the rule, and maybe revoked
        again = start + dt.timedelta(days=rng.randrange(1, 400))
        fields = {}
        if rng.random() < 0.6:
            fields = {"revoked_on": again + dt.timedelta(days=rng.randrange(0, 90))}
            fields["revocation_reason"] = "Test."
        make_period(person, certifier, program, again, **fields)


def observations(rng, coaches, person, around, versions, activities):
    """Observations of `person` on each rubric version before `around`: for about half of
    the people, near enough to the rules to meet them, or to miss by one thing."""
    strong = rng.random() < 0.6
    scores = STRONG if strong else SCORES
    made = []
    for version in versions:
        fidelity = version.rubric.code == "miiwrap-fidelity"
        for _ in range(rng.randrange(0, 4 if fidelity else 2) + (3 if strong else 0)):
            day = around - dt.timedelta(days=rng.randrange(-2, 170 if strong else 300))
            bands = version.bands[:2] if strong else [*version.bands, "", "no such band"]
            made.append(
                Observation(
                    coach=rng.choice(coaches),
                    practitioner=person,
                    organization_id=person.organization_id,
                    rubric_version=version,
                    observed_on=day,
                    activity=rng.choice(activities),
                    status=rng.choice(STATUSES),
                    overall_score=rng.choice(scores) if fidelity else None,
                    band=rng.choice(bands),
                )
            )
    return made


@pytest.fixture
def generated(world):
    """Forty practitioners in three zones, their periods and observations by coaches
    certified (or not) on the day, on the shipped rubrics and on a second fidelity
    version that names its bands differently."""
    rng = random.Random(20261204)
    orgs = [world.home, make_org(time_zone=LA), make_org(time_zone=HONOLULU)]
    by = world.purveyor_admin
    fidelity = RubricVersion.objects.get(rubric__code="miiwrap-fidelity", number=1)
    second = RubricVersion.objects.create(
        rubric=fidelity.rubric, number=2, status="published", bands=["high", "fair", "low"]
    )
    versions = [fidelity, second, *RubricVersion.objects.filter(rubric__code="mi-coding")]
    activities = list(ActivityType.objects.all()[:3])
    coaches = [world.coach, *(make_person(rng.choice(orgs), "coach") for _ in range(5))]
    for coach in coaches[1:]:  # certified over most of the days observed, one revoked
        start = D(2024, 3, 1) + dt.timedelta(days=rng.randrange(700))
        make_period(coach, by, "coach", start)
    recent_history(rng, coaches[-1], by, "coach", D(2026, 6, 1))
    people = []
    for n in range(40):
        leave = D(2026, 7, 15) if n % 13 == 0 else None
        people.append(make_person(rng.choice(orgs), "practitioner", leave_date=leave))
    people.append(make_person(world.home, "leader"))  # holds a period: on the roster
    for person in people:
        if rng.random() < 0.6:
            recent_history(rng, person, by, "practitioner", rng.choice(MOMENTS).date())
        if rng.random() < 0.5:
            recent_history(rng, person, by, "coach", D(2026, 9, 1))
    for moment in MOMENTS * 4:  # in the window or grace on a moment
        person = make_person(rng.choice(orgs), "practitioner")
        expires = moment.date() + dt.timedelta(days=rng.randrange(-25, 80))
        make_period(person, by, valid_from=dates.add_months(expires + dates.DAY, -24))
        people.append(person)
    made = []
    for person in people:
        for moment in MOMENTS:
            made += observations(rng, coaches, person, moment.date(), versions, activities)
    made = Observation.objects.bulk_create(made)
    disputes = [
        Dispute(
            observation=o,
            raised_by=o.practitioner,
            reason="Not so.",
            status=status,
            answer="It was so." if status == "answered" else "",
            settled_at=None if status == "open" else SETTLED,
        )
        for o in made
        if (status := rng.choice(["open", "answered"] + [None] * 12))
    ]
    Dispute.objects.bulk_create(disputes)
    return people


def rules_by_band():
    """Bands instead of scores, a renewal with its own look-back, anyone observing."""
    rules = EvidenceRule.objects.filter(program__code="practitioner")
    rules.update(min_overall=None, min_band="high", observer_certified_in=None)
    rules.filter(kind="renewal").update(within_days=100, min_band="fair")


def no_companion_one_type():
    rules = EvidenceRule.objects.filter(program__code="practitioner")
    rules.update(companion_rubric=None, companion_min_band="", min_activity_types=1)


def the_coach_certification_first():
    Program.objects.filter(code="practitioner").update(requires=Program.objects.get(code="coach"))


def first_certifications_only():
    EvidenceRule.objects.filter(program__code="practitioner", kind="renewal").delete()


def renewals_need_the_companion_too():
    initial = EvidenceRule.objects.get(program__code="practitioner", kind="initial")
    EvidenceRule.objects.filter(program__code="practitioner", kind="renewal").update(
        companion_rubric=initial.companion_rubric, companion_min_band="good", min_observations=1
    )


def a_band_no_version_names():
    """A renewal asking the companion rubric for a band no version has: nobody renews."""
    initial = EvidenceRule.objects.get(program__code="practitioner", kind="initial")
    EvidenceRule.objects.filter(program__code="practitioner", kind="renewal").update(
        companion_rubric=initial.companion_rubric, companion_min_band="stellar"
    )


def shipped():
    """The rules as shipped."""


@pytest.mark.parametrize(
    "change",
    [
        shipped,
        rules_by_band,
        no_companion_one_type,
        the_coach_certification_first,
        first_certifications_only,
        renewals_need_the_companion_too,
        a_band_no_version_names,
    ],
)
def test_the_cut_keeps_everyone_the_rules_put_in_the_queue(generated, time_machine, change):
    change()
    program = Program.objects.with_rules().get(code="practitioner")
    zones = set(Organization.objects.values_list("time_zone", flat=True))
    judged = 0
    for moment in MOMENTS:
        time_machine.move_to(moment, tick=False)
        todays = todays_by_zone(zones)
        expected = everyone_judged(program, todays)
        assert shown(through_the_cut(program, todays)) == shown(expected), moment
        judged += len(expected)
    assert judged > 0  # somebody is ready, or the test proves nothing


def test_the_generated_queue_holds_first_certifications_and_renewals(generated, time_machine):
    program = Program.objects.with_rules().get(code="practitioner")
    zones = set(Organization.objects.values_list("time_zone", flat=True))
    kinds = set()
    for moment in MOMENTS:
        time_machine.move_to(moment, tick=False)
        kinds |= {card.is_renewal for card in through_the_cut(program, todays_by_zone(zones))}
    assert kinds == {False, True}


def test_the_cut_leaves_out_most_of_those_who_are_not_ready(generated, time_machine):
    """It is a cut: those it keeps are mostly the ready, not the roster."""
    program = Program.objects.with_rules().get(code="practitioner")
    time_machine.move_to(MOMENTS[0], tick=False)
    todays = todays_by_zone(set(Organization.objects.values_list("time_zone", flat=True)))
    kept = could_be_ready(staff(program, todays), program, todays)
    ready = {card.person.pk for card in everyone_judged(program, todays)}
    assert ready <= {person.pk for person in kept}
    assert kept.count() < staff(program, todays).count() / 2


def test_a_program_without_rules_keeps_nobody(generated, time_machine):
    EvidenceRule.objects.filter(program__code="practitioner").delete()
    program = Program.objects.with_rules().get(code="practitioner")
    time_machine.move_to(MOMENTS[0], tick=False)
    todays = todays_by_zone({"America/New_York"})
    assert list(could_be_ready(staff(program, todays), program, todays)) == []


# Edges: the first day that counts counts, the day before does not ------------------------


def queue_today(world):
    program = Program.objects.with_rules().get(code="practitioner")
    todays = todays_by_zone({world.home.time_zone})
    cut = [card.person.pk for card in through_the_cut(program, todays)]
    assert cut == [card.person.pk for card in everyone_judged(program, todays)]
    return cut


@pytest.mark.parametrize("first, listed", [(D(2026, 1, 1), True), (D(2025, 12, 31), False)])
def test_an_observation_on_the_first_day_of_the_look_back_counts(
    world, certified_coach, first, listed
):
    """On 2026-06-30 the 180 days counted begin on 2026-01-01."""
    evidence(certified_coach, world.practitioner, days=(first, D(2026, 3, 2), D(2026, 5, 4)))
    assert (world.practitioner.pk in queue_today(world)) is listed


@pytest.mark.parametrize("first, listed", [(D(2026, 6, 2), True), (D(2026, 6, 1), False)])
def test_a_renewal_counts_from_the_day_the_window_opens(world, certified_coach, first, listed):
    """Certified 2024-09-01 to 2026-08-31: the window opened on 2026-06-02."""
    make_period(world.practitioner, world.purveyor_admin, valid_from=D(2024, 9, 1))
    evidence(certified_coach, world.practitioner, days=(first, D(2026, 6, 20)))
    assert (world.practitioner.pk in queue_today(world)) is listed


# The observer certification: calibration, not observations -----------------------------------


def attempts(rng, coach, around, cases, other):
    """Calibration attempts of `coach` before `around`: about half of the coaches at enough
    cases, near 80 % within one point; some at the same case twice, some drafts, some on
    another rubric's case, some submitted near midnight, when zones disagree on the day."""
    made = []
    for _ in range(rng.randrange(0, 3) + (3 if rng.random() < 0.5 else 0)):
        day = around - dt.timedelta(days=rng.randrange(-3, 420))
        moment = dt.datetime.combine(day, dt.time(rng.choice([0, 3, 9, 12, 20, 23])), UTC)
        compared = rng.choice([10, 100])
        within = rng.choice([7, 8, 9, 10]) if compared == 10 else rng.choice([78, 79, 80, 81])
        submitted = rng.random() < 0.9
        made.append(
            CalibrationAttempt(
                case=other if rng.random() < 0.1 else rng.choice(cases),
                coach=coach,
                status="submitted" if submitted else "draft",
                submitted_at=moment if submitted else None,
                items_compared=compared,
                items_exact=within,
                items_within_one=within,
            )
        )
    return made


@pytest.fixture
def calibrating(world):
    """Thirty-nine coaches in three zones, some certified observers (in the window, in
    grace, lapsed, revoked, renewed ahead), with calibration attempts near each moment."""
    rng = random.Random(20261205)
    orgs = [world.home, make_org(time_zone=LA), make_org(time_zone=HONOLULU)]
    fidelity = RubricVersion.objects.get(rubric__code="miiwrap-fidelity", number=1)
    cases = [calibration_case(fidelity, f"Case {n}") for n in range(6)]
    other = calibration_case(RubricVersion.objects.get(rubric__code="mi-coding"), "MI case")
    coaches = [world.coach, *(make_person(rng.choice(orgs), "coach") for _ in range(29))]
    for moment in MOMENTS * 3:  # in the window or grace on a moment
        coach = make_person(rng.choice(orgs), "coach")
        expires = moment.date() + dt.timedelta(days=rng.randrange(-25, 80))
        valid_from = dates.add_months(expires + dates.DAY, -12)
        make_period(coach, world.purveyor_admin, "observer", valid_from)
        coaches.append(coach)
    made = []
    for coach in coaches:
        if rng.random() < 0.4:
            recent_history(rng, coach, world.purveyor_admin, "observer", rng.choice(MOMENTS).date())
        for moment in MOMENTS:
            made += attempts(rng, coach, moment.date(), cases, other)
    for attempt in made:  # each in a round of its own: one attempt per case and round
        day = (attempt.submitted_at or MOMENTS[0]).date()
        attempt.round = CalibrationRound.objects.create(name="R", opens_on=day, due_on=day)
    CalibrationAttempt.objects.bulk_create(made)
    return coaches


def strict_calibration():
    EvidenceRule.objects.filter(program__code="observer").update(
        min_cases=2, min_within_one_percent=90
    )


def calibration_renewals_from_the_window():
    """One case since the window opened renews (the cut keeps those with cases ever)."""
    renewal = EvidenceRule.objects.filter(program__code="observer", kind="renewal")
    renewal.update(within_days=None, min_cases=1)


@pytest.mark.parametrize(
    "change", [shipped, strict_calibration, calibration_renewals_from_the_window]
)
def test_the_cut_keeps_every_calibrated_coach_the_rules_put_in_the_queue(
    calibrating, time_machine, change
):
    change()
    program = Program.objects.with_rules().get(code="observer")
    zones = set(Organization.objects.values_list("time_zone", flat=True))
    judged, renewals = 0, 0
    for moment in MOMENTS:
        time_machine.move_to(moment, tick=False)
        todays = todays_by_zone(zones)
        expected = everyone_judged(program, todays)
        assert shown(through_the_cut(program, todays)) == shown(expected), moment
        judged += len(expected)
        renewals += sum(card.is_renewal for card in expected)
    assert judged > renewals > 0  # first certifications and renewals, or it proves nothing


def test_the_calibration_cut_leaves_out_most_of_those_who_are_not_ready(calibrating, time_machine):
    program = Program.objects.with_rules().get(code="observer")
    time_machine.move_to(MOMENTS[0], tick=False)
    todays = todays_by_zone(set(Organization.objects.values_list("time_zone", flat=True)))
    kept = could_be_ready(staff(program, todays), program, todays)
    ready = {card.person.pk for card in everyone_judged(program, todays)}
    assert ready <= {person.pk for person in kept}
    assert kept.count() < staff(program, todays).count()


@pytest.mark.parametrize(
    "submitted, listed",
    [
        # 2025-06-30 is the first day of the 365: in New York it began at 04:00 UTC.
        (dt.datetime(2025, 6, 30, 4, tzinfo=UTC), True),
        (dt.datetime(2025, 6, 30, 3, 59, tzinfo=UTC), False),
    ],
)
def test_a_case_submitted_on_the_first_local_day_of_the_year_counts(
    world, frozen, submitted, listed
):
    calibrated(world.coach, (D(2026, 3, 2), D(2026, 4, 6), D(2026, 5, 4)))
    CalibrationAttempt.objects.filter(case__title="Case 1").update(submitted_at=submitted)
    program = Program.objects.with_rules().get(code="observer")
    todays = {world.home.time_zone: D(2026, 6, 30)}
    cut = [card.person.pk for card in through_the_cut(program, todays)]
    assert cut == [card.person.pk for card in everyone_judged(program, todays)]
    assert (world.coach.pk in cut) is listed

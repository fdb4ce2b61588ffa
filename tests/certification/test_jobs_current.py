"""The job's SQL for "current period" agrees with certification.dates.standing."""

import datetime as dt
import random

from certification import dates, jobs
from certification.models import CertificationPeriod, Program
from tests.factories import make_period, make_person

D = dt.date


def random_history(rng, person, certifier, rules):
    """Periods as the date rules grant them: first certifications, renewals early, in
    grace or after a lapse, and now and then a revocation."""
    day = D(2021, 1, 1) + dt.timedelta(days=rng.randrange(400))
    previous = None
    for _ in range(rng.randrange(1, 5)):
        period = dates.next_period(rules, day, previous)
        fields = {"decided_on": day, "is_renewal": dates.is_renewal(previous, day)}
        revoke = rng.random() < 0.15
        if revoke:
            fields["revoked_on"] = period.valid_from + dt.timedelta(days=rng.randrange(1, 300))
            fields["revocation_reason"] = "Test."
        made = make_period(person, certifier, "practitioner", period.valid_from, **fields)
        if revoke:
            return
        previous = made.as_period()
        # The next decision: early in the window, in grace, or long after a lapse.
        day = rng.choice(
            [
                previous.window_opens + dt.timedelta(days=rng.randrange(60)),
                previous.valid_until + dt.timedelta(days=rng.randrange(1, 30)),
                previous.grace_ends + dt.timedelta(days=rng.randrange(1, 200)),
            ]
        )


def test_current_periods_match_the_date_rules(world):
    rng = random.Random(7)
    program = Program.objects.get(code="practitioner")
    people = [make_person(world.home, "practitioner") for _ in range(40)]
    for person in people:
        random_history(rng, person, world.purveyor_admin, program.rules())
    for today in [D(2022, 6, 1), D(2023, 3, 15), D(2024, 1, 1), D(2025, 8, 1), D(2027, 1, 1)]:
        # As things stood that day: decisions made later did not exist yet.
        decided = CertificationPeriod.objects.filter(program=program, decided_on__lte=today)
        held = decided.held_by("person_id")
        expected = set()
        for person in people:
            standing = dates.standing(held.get(person.pk, []), today)
            chosen = standing.held
            if chosen and chosen.period.valid_from <= today and not chosen.is_revoked(today):
                expected.add(chosen.key)
        periods, _ = jobs.current_periods(today)
        found = set(periods.filter(program=program).values_list("pk", flat=True))
        assert found == expected, today

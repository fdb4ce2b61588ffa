"""Internal capacity figures, hand-counted on small worlds without the database."""

import datetime as dt
from decimal import Decimal

from certification import dates
from miiwrap.people import capacity
from miiwrap.people.capacity import Member, Span, World

D = dt.date
TODAY = D(2026, 7, 10)
HIRED = D(2020, 1, 6)
LONG_AGO, FAR_AHEAD = D(2024, 1, 1), D(2027, 12, 31)


def held(valid_from=LONG_AGO, valid_until=FAR_AHEAD, revoked_on=None):
    period = dates.Period(valid_from, valid_until, valid_until, valid_until)
    return [dates.Held(period, revoked_on)]


def person(pk, hired=HIRED, left=None, org=1):
    return Member(pk, org, f"Person {pk}", hired, left)


def roles(pk, *names, starts_on=HIRED, ends_on=None):
    return [Span(pk, name, starts_on, ends_on) for name in names]


def small_world(**changes):
    """Four practitioners (1-4); coaches 11 and 12, certified; 13 a coach and trainer."""
    people = {pk: person(pk) for pk in (1, 2, 3, 4, 11, 12, 13)}
    spans = [span for pk in (1, 2, 3, 4) for span in roles(pk, "practitioner")]
    spans += [span for pk in (11, 12, 13) for span in roles(pk, "coach", "practitioner")]
    certified = {(pk, "coach"): held() for pk in (11, 12, 13)}
    certified[(13, "trainer")] = held()
    world = World(people, spans, certified)
    for name, value in changes.items():
        setattr(world, name, value)
    return world


def ratio_on(world, day):
    return capacity.point(world, day)


def test_month_ends_are_the_last_days_of_eleven_months_then_today():
    ends = capacity.month_ends(TODAY)
    assert ends[0] == D(2025, 8, 31) and ends[-2:] == [D(2026, 6, 30), TODAY]
    assert len(ends) == 12 and D(2026, 2, 28) in ends


def test_the_ratio_counts_certified_coaches_and_trainers_once_each_per_front_line_practitioner():
    got = ratio_on(small_world(), TODAY)
    assert (got.practitioners, got.coaches, got.trainers, got.experts) == (4, 3, 1, 3)
    assert got.per_practitioner == Decimal("0.75")
    assert got.per_ten == Decimal("7.5")


def test_a_coach_leaving_mid_year_lowers_the_ratio_from_that_month():
    world = small_world()
    world.people[11] = person(11, left=D(2026, 3, 15))
    trend = {p.day: p.per_practitioner for p in capacity.trend(world, TODAY)}
    assert trend[D(2026, 2, 28)] == Decimal("0.75")
    assert trend[D(2026, 3, 31)] == Decimal("0.50")
    assert trend[TODAY] == Decimal("0.50")


def test_a_coach_leaving_counts_in_coach_turnover_over_the_mean_headcount():
    world = small_world()
    world.people[11] = person(11, left=D(2026, 3, 15))
    got = capacity.turnover(world, _coaching, TODAY)
    # Three coaches at the seven month ends Aug-Feb, two at the five from March: 31/12.
    assert got.leavers == 1 and got.mean_headcount == Decimal("2.58")
    assert got.percent == Decimal("39")


def _coaching(world, day):
    return world.employed(day) & world.holding("coach", day)


def test_a_leaver_before_the_twelve_months_is_not_turnover():
    world = small_world()
    world.people[1] = person(1, left=D(2025, 7, 31))
    got = capacity.turnover(world, capacity.practitioners_on, TODAY)
    assert got.leavers == 0 and got.mean_headcount == Decimal("3.00")


def test_a_practitioner_leaving_counts_in_practitioner_turnover_not_coach_turnover():
    world = small_world()
    world.people[2] = person(2, left=D(2025, 12, 1))
    assert capacity.turnover(world, capacity.practitioners_on, TODAY).leavers == 1
    assert capacity.turnover(world, _coaching, TODAY).leavers == 0


def test_an_uncertified_or_lapsed_coach_is_not_counted():
    world = small_world()
    world.certified[(12, "coach")] = held(valid_until=D(2026, 4, 30))
    assert ratio_on(world, D(2026, 4, 30)).coaches == 3
    assert ratio_on(world, D(2026, 5, 31)).coaches == 2


def test_a_removed_role_is_not_counted_after_its_end_date():
    world = small_world()
    world.roles = [s for s in world.roles if (s.person_id, s.key) != (12, "coach")]
    world.roles += roles(12, "coach", ends_on=D(2026, 5, 31))
    may, june = ratio_on(world, D(2026, 5, 31)), ratio_on(world, D(2026, 6, 30))
    assert (may.coaches, may.practitioners) == (3, 4)
    # No longer coaching, the person is a front-line practitioner again.
    assert (june.coaches, june.practitioners) == (2, 5)


def test_a_practitioner_moving_team_is_counted_where_they_were_each_month():
    north, south = 100, 200
    memberships = [Span(pk, north, HIRED) for pk in (2, 3, 11)]
    memberships += [Span(1, north, HIRED, D(2026, 4, 30)), Span(1, south, D(2026, 5, 1))]
    north_world = small_world(teams=memberships, team_id=north)
    south_world = small_world(teams=memberships, team_id=south)
    assert ratio_on(north_world, D(2026, 4, 30)).practitioners == 3
    assert ratio_on(north_world, D(2026, 5, 31)).practitioners == 2
    assert ratio_on(south_world, D(2026, 4, 30)).practitioners == 0
    assert ratio_on(south_world, D(2026, 5, 31)).practitioners == 1
    assert ratio_on(north_world, TODAY).per_practitioner == Decimal("0.50")


def test_a_team_with_no_practitioners_has_no_ratio():
    world = small_world(teams=[], team_id=100)
    assert ratio_on(world, TODAY).per_practitioner is None
    assert ratio_on(world, TODAY).per_ten is None


def test_per_ten_rounds_half_up_to_one_place():
    assert capacity.Point(TODAY, 12, 2, 0, 2).per_ten == Decimal("1.7")  # 1.666...
    assert capacity.Point(TODAY, 8, 1, 0, 1).per_ten == Decimal("1.3")  # 1.25


def test_new_hires_are_judged_against_the_deadline_after_hire():
    world = small_world()
    for pk, hired in [(21, D(2026, 5, 1)), (22, D(2026, 6, 20)), (23, D(2026, 6, 1))]:
        world.people[pk] = person(pk, hired=hired)
        world.roles += roles(pk, "practitioner", starts_on=hired)
    found = {h.person.id: (h.days_since_hire, h.days_left, h.status) for h in _hires(world)}
    assert found == {
        21: (70, -25, "Past deadline"),
        23: (39, 6, "At risk"),
        22: (20, 25, "On track"),
    }
    assert [h.person.id for h in _hires(world)] == [21, 23, 22]


def _hires(world, deadline=45):
    return capacity.new_hires(world, TODAY, deadline)


def test_a_certified_or_long_standing_hire_is_not_on_the_new_hire_list():
    world = small_world()
    world.people[24] = person(24, hired=D(2026, 6, 1))
    world.people[25] = person(25, hired=D(2026, 1, 1))
    world.roles += roles(24, "practitioner", starts_on=D(2026, 6, 1))
    world.roles += roles(25, "practitioner", starts_on=D(2026, 1, 1))
    world.certified[(24, "practitioner")] = held(D(2026, 7, 1))
    assert _hires(world) == []


def test_without_a_deadline_a_new_hire_is_listed_but_not_at_risk():
    world = small_world()
    world.people[21] = person(21, hired=D(2026, 4, 15))
    world.roles += roles(21, "practitioner", starts_on=D(2026, 4, 15))
    (hire,) = _hires(world, deadline=None)
    assert (hire.days_left, hire.status, hire.at_risk) == (None, "No deadline", False)


def test_dependence_counts_practitioners_with_one_coach_none_and_the_busiest_caseload():
    world = small_world()
    assignments = [(11, 1), (11, 2), (12, 2), (11, 3), (11, 3), (12, 13)]
    got = capacity.dependence(world, TODAY, assignments)
    # 1 and 3 rest on coach 11 alone, 2 has two coaches, 4 has none; 13 is a coach.
    assert got == capacity.Dependence(4, 2, 1, 3)


def test_evidence_share_splits_own_purveyor_and_other_observers():
    observers = [(1, False)] * 3 + [(9, True)] * 6 + [(5, False)]
    got = capacity.evidence_share(1, observers)
    assert (got.own, got.purveyor, got.other, got.total) == (3, 6, 1, 10)
    assert (got.percent("own"), got.percent("purveyor")) == (Decimal("30"), Decimal("60"))


def test_no_evidence_has_no_share():
    assert capacity.evidence_share(1, []).percent("own") is None


def test_turnover_with_nobody_has_no_percent():
    world = World({}, [])
    got = capacity.turnover(world, capacity.practitioners_on, TODAY)
    assert (got.leavers, got.percent) == (0, None)


def test_a_coach_leaving_is_not_front_line_practitioner_turnover():
    world = small_world()
    world.people[11] = person(11, left=D(2026, 3, 15))
    assert capacity.turnover(world, capacity.practitioners_on, TODAY).leavers == 0
    assert capacity.turnover(world, _coaching, TODAY).leavers == 1


def test_a_revoked_coach_certification_stops_counting_on_the_revocation_day():
    world = small_world()
    world.certified[(12, "coach")] = held(revoked_on=D(2026, 5, 15))
    assert ratio_on(world, D(2026, 5, 14)).coaches == 3
    assert ratio_on(world, D(2026, 5, 15)).coaches == 2


def test_a_certified_coach_in_grace_is_not_counted():
    world = small_world()
    period = dates.Period(LONG_AGO, D(2026, 5, 31), D(2026, 3, 2), D(2026, 6, 30))
    world.certified[(12, "coach")] = [dates.Held(period)]
    assert ratio_on(world, D(2026, 6, 15)).coaches == 2


def test_a_trainer_who_no_longer_coaches_still_counts_once_as_a_trainer():
    world = small_world()
    world.roles = [s for s in world.roles if (s.person_id, s.key) != (13, "coach")]
    got = ratio_on(world, TODAY)
    # Without the coach role, 13 is a front-line practitioner who can also train.
    assert (got.coaches, got.trainers, got.experts, got.practitioners) == (2, 1, 3, 5)


def test_a_person_not_yet_hired_is_not_counted_even_with_a_role_period():
    world = small_world()
    world.people[5] = person(5, hired=D(2026, 7, 1))
    world.roles += roles(5, "practitioner", starts_on=D(2026, 6, 1))
    assert ratio_on(world, D(2026, 6, 30)).practitioners == 4
    assert ratio_on(world, TODAY).practitioners == 5


def test_a_leaver_is_counted_on_their_last_day_and_not_after():
    world = small_world()
    world.people[1] = person(1, left=D(2026, 6, 30))
    assert ratio_on(world, D(2026, 6, 30)).practitioners == 4
    assert ratio_on(world, TODAY).practitioners == 3


def test_a_leaver_with_a_role_ended_before_leaving_is_not_that_roles_turnover():
    world = small_world()
    world.people[12] = person(12, left=D(2026, 4, 30))
    world.roles = [s for s in world.roles if (s.person_id, s.key) != (12, "coach")]
    world.roles += roles(12, "coach", ends_on=D(2026, 3, 31))
    assert capacity.turnover(world, _coaching, TODAY).leavers == 0
    assert capacity.turnover(world, capacity.practitioners_on, TODAY).leavers == 1


def test_dependence_ignores_assignments_of_people_no_longer_front_line():
    world = small_world()
    world.people[1] = person(1, left=D(2026, 6, 1))
    got = capacity.dependence(world, TODAY, [(11, 1), (11, 2)])
    assert (got.practitioners, got.one_coach, got.no_coach, got.busiest_caseload) == (3, 1, 2, 1)


def test_dependence_with_no_assignments_has_no_busiest_caseload():
    got = capacity.dependence(small_world(), TODAY, [])
    assert (got.one_coach, got.no_coach, got.busiest_caseload) == (0, 4, 0)


def test_a_new_hire_on_the_deadline_day_is_at_risk_not_past_it():
    world = small_world()
    hired = TODAY - dt.timedelta(days=45)
    world.people[21] = person(21, hired=hired)
    world.roles += roles(21, "practitioner", starts_on=hired)
    (hire,) = _hires(world)
    assert (hire.days_left, hire.status) == (0, "At risk")


def test_a_new_hire_who_left_is_not_listed():
    world = small_world()
    world.people[21] = person(21, hired=D(2026, 5, 1), left=D(2026, 6, 1))
    world.roles += roles(21, "practitioner", starts_on=D(2026, 5, 1))
    assert _hires(world) == []


def test_a_new_hire_ninety_days_in_is_listed_and_ninety_one_is_not():
    world = small_world()
    for pk, days in [(21, 90), (22, 91)]:
        hired = TODAY - dt.timedelta(days=days)
        world.people[pk] = person(pk, hired=hired)
        world.roles += roles(pk, "practitioner", starts_on=hired)
    assert [hire.person.id for hire in _hires(world)] == [21]


def test_month_ends_across_a_leap_february():
    ends = capacity.month_ends(D(2028, 3, 5), count=3)
    assert ends == [D(2028, 1, 31), D(2028, 2, 29), D(2028, 3, 5)]


def test_turnover_rounds_its_percent_half_up():
    world = World({pk: person(pk) for pk in range(1, 9)}, [])
    world.roles = [s for pk in range(1, 9) for s in roles(pk, "practitioner")]
    world.people[1] = person(1, left=D(2026, 7, 9))
    got = capacity.turnover(world, capacity.practitioners_on, TODAY)
    # Eight at eleven month ends, seven today: 95/12 = 7.92; 1/7.92 = 12.6 %.
    assert (got.mean_headcount, got.percent) == (Decimal("7.92"), Decimal("13"))

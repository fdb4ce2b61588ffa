"""The demo world: organizations, teams, people, roles and coach assignments that look real.

Two steps, so later features (observations, certifications) can add a layer of their own:
`plan_organization` decides everything in memory, `insert_plans` writes the plans with a
few bulk inserts. Every organization draws from its own random stream, keyed by the seed
and its slug, so it comes out the same whatever is built beside it: a larger run adds only
the organizations that are missing, and an existing one is never touched.
"""

import datetime as dt
import itertools
import random
import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db.models import Q
from django.utils.text import slugify

from coaching.models import CoachAssignment, TrainerAssignment
from miiwrap import generations
from miiwrap.people.models import (
    Organization,
    Person,
    Role,
    RoleGrant,
    RolePeriod,
    Team,
    TeamMembership,
)

PASSWORD = "miiwrap-demo"
BATCH_SIZE = 2000
DAY = dt.timedelta(days=1)
YEAR_DAYS = 365
HISTORY_YEARS = 8
# Share of everyone who has left. Wraparound programmes lose staff often, and the demo
# should show that history outlives employment.
LEFT_SHARE = 0.065
FORMER_COACH_SHARE = 0.15
# Chance that a practitioner once had a coach who has since left, or was moved between
# two coaches who are both still here.
INHERITED_SHARE = 0.7
SWITCHED_SHARE = 0.2


@dataclass(frozen=True)
class Scale:
    organizations: int
    teams_per_org: tuple[int, int]
    practitioners_per_team: tuple[int, int] = (5, 10)
    observation_years: float = 3  # how far back observations go (observations.demo)


SCALES = {
    "demo": Scale(organizations=4, teams_per_org=(2, 4)),
    # About 200 front-line practitioners (coaches aside) an organization: 20,000 in all.
    # One year of observations (about 155,000) keeps the run under a minute on SQLite;
    # three years would be about 390,000 and take two.
    "state": Scale(organizations=100, teams_per_org=(23, 27), observation_years=1),
}

# --- Names ---------------------------------------------------------------------------------


def _words(text):
    """Names written as running text; an underscore joins the words of one name."""
    return tuple(word.replace("_", " ") for word in text.split())


FIRST_NAMES = _words("""
    Aaliyah Aaron Abigail Adrian Aisha Alejandro Alexis Alicia Amara Andre Angela Anthony
    Arjun Ashley Benjamin Bianca Brandon Brianna Caleb Camila Carlos Carmen Chloe Christopher
    Claire Daniel Danielle Darius DeShawn Diana Dominic Elena Elijah Emily Emmanuel Erica
    Esperanza Ethan Fatima Gabriel Grace Hannah Hector Imani Isaac Isabel Jacob Jamal Jasmine
    Javier Jennifer Jessica Jordan Jose Joseph Julia Kayla Keisha Kevin Kiara Laura Leah
    Leticia Liam Lucia Luis Malik Maria Marcus Maya Megan Michael Mei Mohammed Monique Nadia
    Naomi Nathan Nicole Noah Olivia Omar Patrice Priya Rachel Rafael Rebecca Ricardo Rosa
    Ryan Samantha Samuel Sara Sofia Stephanie Tamika Terrence Theresa Tiana Tyler Valeria
    Vanessa Victor Wei Whitney Xavier Yolanda Zoe
""")

LAST_NAMES = _words("""
    Adams Aguilar Ali Allen Alvarez Anderson Baker Banks Bell Bennett Brooks Brown Bryant
    Butler Campbell Carter Castillo Chang Chavez Chen Clark Coleman Collins Cook Cooper Cruz
    Daniels Davis Diaz Dixon Edwards Ellis Evans Flores Ford Foster Garcia Gomez Gonzalez
    Gordon Graham Gray Green Griffin Gutierrez Hall Harris Hayes Henderson Hernandez Hill
    Holmes Howard Hughes Jackson James Jenkins Johnson Jones Jordan Kelly Kennedy Khan Kim
    King Lee Lewis Long Lopez Marshall Martin Martinez Mendoza Miller Mitchell Moore Morales
    Morgan Morris Murphy Myers Nelson Nguyen Ortiz Owens Parker Patel Perez Perry Peterson
    Phillips Powell Price Ramirez Ramos Reed Reyes Richardson Rivera Roberts Robinson
    Rodriguez Rogers Ross Russell Sanchez Sanders Scott Shah Simmons Singh Smith Stewart
    Sullivan Taylor Thomas Thompson Torres Tran Turner Vasquez Walker Wallace Ward
    Washington Watson White Williams Wilson Wong Wood Wright Young
""")

# Client organizations: a place in each zone, and a kind of agency. Zones come round in
# this order so the first few organizations already span the country.
PLACES = {
    "America/New_York": (
        "Riverbend Blue_Ridge Tidewater Piedmont Hudson_Valley Allegheny Cumberland "
        "Chesapeake Silver_Lake Three_Rivers Kettle_Creek Pine_Barrens"
    ),
    "America/Chicago": (
        "Prairie_County Ozark_Hills Brazos_Valley Wabash_County Sandhill_County Elk_River "
        "Iron_Range Gulf_Coast Golden_Valley Rolling_Hills"
    ),
    "America/Los_Angeles": (
        "Redwood Sierra_Vista Bayview Coastal_Plains Lone_Pine Willow_Creek Harbor_County Cascade"
    ),
    "America/Denver": "Big_Sky Yellowstone_County Timberline High_Plains Painted_Hills",
    "America/Phoenix": "Verde_Valley Mohave_County Desert_Springs",
    "America/Anchorage": "Kenai_Peninsula Northern_Lights",
    "Pacific/Honolulu": "Windward Leeward",
}
ZONE_CYCLE = (
    *("America/New_York", "America/Chicago", "America/Los_Angeles", "America/Denver"),
    *("America/New_York", "America/Chicago", "America/Phoenix", "America/Los_Angeles"),
    *("America/New_York", "America/Chicago", "America/Anchorage", "America/New_York"),
    *("America/Chicago", "America/Los_Angeles", "America/Denver", "America/New_York"),
    *("America/Chicago", "Pacific/Honolulu", "America/Los_Angeles", "America/New_York"),
)
KINDS = (
    ("Family Services", "family"),
    ("Behavioral Health", "health"),
    ("Youth and Family Center", "youth"),
    ("Children's Alliance", "children"),
    ("Wraparound Partners", "wrap"),
    ("Community Services", "community"),
    ("Human Services", "human"),
)
TEAM_NAMES = _words("""
    North South East West Central Riverside Lakeside Hillcrest Harbor Mesa Valley Summit
    Fairview Brookside Greenfield Highland Meadowbrook Oak_Park Mill_Creek Maple_Grove
    Stonebridge Willow_Springs Clearwater Sunnyside Downtown Uptown Early_Childhood
    Youth_Transitions Crisis_Response Family_Reunification Juvenile_Justice School-Based
""")

PRACTITIONER_TITLES = (
    ("Care Coordinator", 40),
    ("Facilitator", 25),
    ("Family Partner", 20),
    ("Youth Partner", 15),
)
COACH_TITLES = ("MiiWrap Coach", "Practice Coach", "Senior Care Coordinator")
LEADER_TITLES = ("Wraparound Supervisor", "Clinical Supervisor", "Program Supervisor")
ADMIN_TITLES = ("Program Director", "Quality Improvement Manager", "Operations Manager")
COACH_ROLES = (Role.COACH, Role.PRACTITIONER)


@dataclass(frozen=True)
class Identity:
    """What tells one organization of the world from another, decided before any planning."""

    name: str
    slug: str
    time_zone: str
    is_purveyor: bool = False
    # Whose observers certify its practitioners: "own" (its certified coaches, as the
    # model intends) or "purveyor" (the purveyor's trainers: it has not yet built its own).
    support: str = "own"


# One client organization in this many (the second, sixth, ...) still leans on the
# purveyor's observers, so the capacity comparison has both kinds to show.
SUPPORT_CYCLE = 4
PURVEYOR = Identity("MiiWrap Institute", "miiwrap-institute", "America/Chicago", is_purveyor=True)


def identities(seed, count):
    """The purveyor, then `count` client organizations; the first n are the same for any count."""
    rng = random.Random(seed)
    names = {zone: _shuffled(rng, _words(places)) for zone, places in PLACES.items()}
    clients = []
    for index in range(count):
        zone = ZONE_CYCLE[index % len(ZONE_CYCLE)]
        if not names[zone]:
            raise ValueError(f"The demo has names for at most {index} client organizations.")
        place, (kind, short) = names[zone].pop()
        support = "purveyor" if index % SUPPORT_CYCLE == 1 else "own"
        clients.append(
            Identity(f"{place} {kind}", f"{slugify(place)}-{short}", zone, support=support)
        )
    return [PURVEYOR, *clients]


def _shuffled(rng, places):
    combinations = list(itertools.product(places, KINDS))
    rng.shuffle(combinations)
    return combinations


# --- Plans ---------------------------------------------------------------------------------


@dataclass(eq=False)
class TeamPlan:
    name: str
    row: Team | None = None


@dataclass(eq=False)
class PersonPlan:
    first_name: str
    last_name: str
    job_title: str
    roles: tuple[str, ...]
    hire_date: dt.date
    team: TeamPlan | None = None
    leave_date: dt.date | None = None
    email: str = ""
    staff_id: str = ""
    user: object = None  # the login, once inserted
    row: Person | None = None
    # History before today's team and roles: the team they were on until `moved_on`,
    # and roles they no longer hold, as (role, starts_on, ends_on).
    earlier_team: TeamPlan | None = None
    moved_on: dt.date | None = None
    former_roles: tuple = ()


@dataclass(eq=False)
class AssignmentPlan:
    coach: PersonPlan
    practitioner: PersonPlan
    starts_on: dt.date
    ends_on: dt.date | None = None


@dataclass(eq=False)
class OrgPlan:
    identity: Identity
    teams: list[TeamPlan] = field(default_factory=list)
    people: list[PersonPlan] = field(default_factory=list)
    assignments: list[AssignmentPlan] = field(default_factory=list)
    row: Organization | None = None

    def coaches(self, *, former=False):
        """Coaches still here, or (former=True) the ones who have left."""
        return [
            person
            for person in self.people
            if Role.COACH in person.roles and (person.leave_date is not None) == former
        ]


def plan_organization(identity, *, seed, today, scale):
    rng = random.Random(f"{seed}:{identity.slug}")
    org = OrgPlan(identity)
    if identity.is_purveyor:
        _plan_purveyor_staff(rng, org, today)
    else:
        _plan_client_staff(rng, org, today, scale)
        _plan_leavers(rng, org, today)
        _plan_assignments(rng, org, today)
        # A stream of its own, so the rest of the organization comes out as before.
        _plan_moves(random.Random(f"{seed}:{identity.slug}:moves"), org, today)
    _give_emails_and_staff_ids(rng, org)
    return org


def _plan_purveyor_staff(rng, org, today):
    director = "Director of Training and Certification"
    _hire(rng, org, (Role.PURVEYOR_ADMIN,), director, _hired_years_ago(rng, today, 5))
    trainer = "Senior Trainer and Coach"
    _hire(rng, org, (Role.PURVEYOR_ADMIN, Role.COACH), trainer, _hired_years_ago(rng, today, 3))


def _plan_client_staff(rng, org, today, scale):
    admin_title = rng.choice(ADMIN_TITLES)
    _hire(rng, org, (Role.ORG_ADMIN,), admin_title, _hired_years_ago(rng, today, 1))
    for name in rng.sample(TEAM_NAMES, rng.randint(*scale.teams_per_org)):
        team = TeamPlan(name)
        org.teams.append(team)
        _plan_team(rng, org, team, today, scale)


def _plan_team(rng, org, team, today, scale):
    """A supervisor, one or two coaches, and the practitioners they develop."""
    leader_hired = _hired_years_ago(rng, today, 2)
    _hire(rng, org, (Role.LEADER,), rng.choice(LEADER_TITLES), leader_hired, team)
    for _ in range(rng.randint(1, 2)):
        coach_hired = _hired_years_ago(rng, today, 3)
        _hire(rng, org, COACH_ROLES, rng.choice(COACH_TITLES), coach_hired, team)
    for _ in range(rng.randint(*scale.practitioners_per_team)):
        title = _practitioner_title(rng)
        _hire(rng, org, (Role.PRACTITIONER,), title, _recent_hire(rng, today), team)


def _plan_leavers(rng, org, today):
    """Former staff, on top of the current ones, so that about LEFT_SHARE of all have left."""
    # Rounding at random keeps the share right on average even for a small organization.
    count = int(len(org.people) * LEFT_SHARE / (1 - LEFT_SHARE) + rng.random())
    for _ in range(count):
        team = rng.choice(org.teams)
        if rng.random() < FORMER_COACH_SHARE:
            hired = _hired_years_ago(rng, today, 3)
            person = _hire(rng, org, COACH_ROLES, rng.choice(COACH_TITLES), hired, team)
        else:
            hired = _leaver_hire(rng, today)
            person = _hire(rng, org, (Role.PRACTITIONER,), _practitioner_title(rng), hired, team)
        person.leave_date = _leave_date(rng, hired, today)


MOVES = 3  # team moves in the last year, an organization
MOVE_DAYS = (30, YEAR_DAYS)


def _plan_moves(rng, org, today):
    """Some practitioners came from another team in the last year; one person stepped
    back from coaching in it (a coach role that ended), and is a practitioner again."""
    settled = [
        p
        for p in org.people
        if p.roles == (Role.PRACTITIONER,)
        and p.leave_date is None
        and p.team is not None
        and (today - p.hire_date).days > 2 * YEAR_DAYS
    ]
    if len(org.teams) < 2 or not settled:
        return
    for person in rng.sample(settled, min(MOVES, len(settled))):
        person.earlier_team = rng.choice([t for t in org.teams if t is not person.team])
        person.moved_on = today - dt.timedelta(days=rng.randint(*MOVE_DAYS))
    stepped_back = rng.choice([p for p in settled if p.earlier_team is None] or settled)
    ended = today - dt.timedelta(days=rng.randint(*MOVE_DAYS))
    coached_from = stepped_back.hire_date + dt.timedelta(days=YEAR_DAYS)
    stepped_back.former_roles = ((Role.COACH, coached_from, ended),)


def _hire(rng, org, roles, job_title, hire_date, team=None):
    first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    person = PersonPlan(first_name, last_name, job_title, roles, hire_date, team)
    org.people.append(person)
    return person


def _hired_years_ago(rng, today, at_least):
    """Leaders and coaches are experienced: hired between `at_least` and HISTORY_YEARS ago."""
    return today - dt.timedelta(days=rng.randint(at_least * YEAR_DAYS, HISTORY_YEARS * YEAR_DAYS))


def _recent_hire(rng, today):
    # Skewed towards recent hires, as turnover makes them; a few are still novices.
    return today - dt.timedelta(days=int(rng.triangular(0, HISTORY_YEARS * YEAR_DAYS, 0)))


def _leaver_hire(rng, today):
    # At least three months before today, so a month's work still ends before today.
    return today - dt.timedelta(days=rng.randint(90, HISTORY_YEARS * YEAR_DAYS))


def _leave_date(rng, hired, today):
    # Departures fall in the last two years, after at least a month, so every coach hired
    # three or more years ago (all current coaches) was there to coach the leaver.
    earliest = max(hired + dt.timedelta(days=30), today - dt.timedelta(days=2 * YEAR_DAYS))
    return earliest + dt.timedelta(days=rng.randint(0, (today - DAY - earliest).days))


def _practitioner_title(rng):
    titles, weights = zip(*PRACTITIONER_TITLES, strict=True)
    return rng.choices(titles, weights)[0]


def _plan_assignments(rng, org, today):
    coaches, former = org.coaches(), org.coaches(former=True)
    for person in org.people:
        if Role.PRACTITIONER in person.roles:
            org.assignments += _assignments_for(rng, person, coaches, former, today)


def _assignments_for(rng, person, coaches, former, today):
    """The person's coaching history, oldest first; the last runs until they leave, if they do."""
    coach = _pick_coach(rng, person, coaches)
    earlier = None
    if person.leave_date is None:
        earlier = _earlier_assignment(rng, person, coach, coaches, former, today)
    starts_on = earlier.ends_on + DAY if earlier else max(person.hire_date, coach.hire_date)
    current = AssignmentPlan(coach, person, starts_on, person.leave_date)
    return [earlier, current] if earlier else [current]


def _pick_coach(rng, person, coaches):
    """A coach from the person's own team when there is one; otherwise from the organization."""
    candidates = [coach for coach in coaches if coach is not person]
    teammates = [coach for coach in candidates if coach.team is person.team]
    return rng.choice(teammates or candidates)


def _earlier_assignment(rng, person, coach, coaches, former, today):
    departed = [
        gone
        for gone in former
        if gone.team is person.team and gone.leave_date > person.hire_date + dt.timedelta(days=30)
    ]
    if departed and rng.random() < INHERITED_SHARE:
        gone = rng.choice(departed)
        return AssignmentPlan(gone, person, max(person.hire_date, gone.hire_date), gone.leave_date)
    others = [other for other in coaches if other is not coach and other is not person]
    if others and rng.random() < SWITCHED_SHARE:
        return _switched_from(rng, person, coach, _pick_coach(rng, person, others), today)
    return None


def _switched_from(rng, person, coach, earlier_coach, today):
    # The switch falls on a day all three were employed, two months or more into the first.
    floor = max(person.hire_date, coach.hire_date, earlier_coach.hire_date)
    room = (today - floor).days - 60
    if room < 1:
        return None
    switched_on = floor + dt.timedelta(days=60 + rng.randint(1, room))
    starts_on = max(person.hire_date, earlier_coach.hire_date)
    return AssignmentPlan(earlier_coach, person, starts_on, switched_on - DAY)


def _give_emails_and_staff_ids(rng, org):
    """firstname.lastname@<slug>.example, numbered from 2 on a clash, in planning order."""
    domain, taken = f"{org.identity.slug}.example", set()
    first_number = rng.randrange(1000, 9000, 100)
    for number, person in enumerate(org.people, start=first_number):
        local = _unique(f"{_ascii(person.first_name)}.{_ascii(person.last_name)}", taken)
        person.email, person.staff_id = f"{local}@{domain}", f"E{number}"


def _unique(local, taken):
    candidate, number = local, 1
    while candidate in taken:
        number += 1
        candidate = f"{local}{number}"
    taken.add(candidate)
    return candidate


def _ascii(name):
    return re.sub(r"[^a-z]", "", name.lower())


# --- Insert --------------------------------------------------------------------------------


def build_world(wanted, *, seed, today, scale):
    """Plan and insert the organizations in `wanted` that are not there yet; return their plans."""
    missing = missing_identities(wanted)
    plans = [plan_organization(i, seed=seed, today=today, scale=scale) for i in missing]
    if plans:
        insert_plans(plans, make_password(PASSWORD))
    return plans


def missing_identities(wanted):
    """The organizations not there yet; one whose name or slug is taken counts as there."""
    there = Organization.objects.filter(
        Q(slug__in=[i.slug for i in wanted]) | Q(name__in=[i.name for i in wanted])
    ).values_list("slug", "name")
    slugs, names = {slug for slug, _ in there}, {name for _, name in there}
    return [i for i in wanted if i.slug not in slugs and i.name not in names]


def insert_plans(plans, password_hash):
    """Write the plans with bulk inserts; each row is kept on its plan for the next step."""
    people = [person for plan in plans for person in plan.people]
    _insert_organizations(plans)
    _insert_teams(plans)
    _insert_users(people, password_hash)
    _insert_people(plans)
    _bulk(RoleGrant, [RoleGrant(person=p.row, role=role) for p in people for role in p.roles])
    _insert_periods(people)
    _insert_assignments(plans)
    generations.touched(*(plan.row for plan in plans))


def _bulk(model, rows):
    # Primary keys come back from bulk_create on PostgreSQL and SQLite 3.35+, which the
    # next step needs for its foreign keys.
    return model.objects.bulk_create(rows, batch_size=BATCH_SIZE)


def _insert_organizations(plans):
    for plan in plans:
        i = plan.identity
        plan.row = Organization(
            name=i.name, slug=i.slug, time_zone=i.time_zone, is_purveyor=i.is_purveyor
        )
    _bulk(Organization, [plan.row for plan in plans])


def _insert_teams(plans):
    for plan in plans:
        for team in plan.teams:
            team.row = Team(organization=plan.row, name=team.name)
    _bulk(Team, [team.row for plan in plans for team in plan.teams])


def _insert_users(people, password_hash):
    """One login each; the password was hashed once, since hashing per user would take minutes."""
    User = get_user_model()
    for p in people:
        p.user = User(
            username=p.email,
            email=p.email,
            first_name=p.first_name,
            last_name=p.last_name,
            password=password_hash,
        )
    _bulk(User, [p.user for p in people])


def _insert_people(plans):
    for plan in plans:
        for p in plan.people:
            p.row = Person(
                organization=plan.row,
                team=p.team.row if p.team else None,
                user=p.user,
                first_name=p.first_name,
                last_name=p.last_name,
                email=p.email,
                staff_id=p.staff_id,
                job_title=p.job_title,
                hire_date=p.hire_date,
                leave_date=p.leave_date,
            )
    _bulk(Person, [p.row for plan in plans for p in plan.people])


def _insert_periods(people):
    """Each person's team and roles, as held since their hire or their move."""
    _bulk(TeamMembership, [m for p in people for m in _memberships(p)])
    roles = [
        RolePeriod(person=p.row, role=r, starts_on=p.hire_date) for p in people for r in p.roles
    ]
    former = [
        RolePeriod(person=p.row, role=role, starts_on=starts_on, ends_on=ends_on)
        for p in people
        for role, starts_on, ends_on in p.former_roles
    ]
    _bulk(RolePeriod, roles + former)


def _memberships(p):
    if p.team is None:
        return []
    if p.earlier_team is None:
        return [TeamMembership(person=p.row, team=p.team.row, starts_on=p.hire_date)]
    return [
        TeamMembership(
            person=p.row, team=p.earlier_team.row, starts_on=p.hire_date, ends_on=p.moved_on - DAY
        ),
        TeamMembership(person=p.row, team=p.team.row, starts_on=p.moved_on),
    ]


def _insert_assignments(plans):
    rows = [
        CoachAssignment(
            coach=a.coach.row,
            practitioner=a.practitioner.row,
            starts_on=a.starts_on,
            ends_on=a.ends_on,
        )
        for plan in plans
        for a in plan.assignments
    ]
    _bulk(CoachAssignment, rows)


def summarize(plans):
    """What a run created, counted by kind; a person holding two roles counts under both."""
    people = [person for plan in plans for person in plan.people]
    return {
        "organizations": len(plans),
        "teams": sum(len(plan.teams) for plan in plans),
        "people": len(people),
        "practitioners": sum(Role.PRACTITIONER in p.roles for p in people),
        "coaches": sum(Role.COACH in p.roles for p in people),
        "logins": sum(p.user is not None for p in people),
    }


# --- Reading back --------------------------------------------------------------------------


def demo_logins(client_slug, today):
    """(label, email) pairs to sign in as, read from the database so that a rerun which adds
    nothing shows them too. Roles without anyone active are left out."""
    people = Person.objects.active_on(today).exclude(user=None).order_by("pk")
    purveyor = people.filter(organization__is_purveyor=True)
    home = people.filter(organization__slug=client_slug)
    # The trainer shown observes a coach of the organization shown, when one does.
    trained = TrainerAssignment.objects.current(today).filter(coach__in=home)
    found = [
        ("Purveyor admin", purveyor.with_role(Role.PURVEYOR_ADMIN).first()),
        ("Trainer", people.filter(pk__in=trained.values("trainer_id")).first()),
        *_client_logins(home, today),
    ]
    return [(label, person.email) for label, person in found if person]


def _client_logins(home, today):
    # The coach shown coaches the practitioner shown, and the leader leads the coach's
    # team, so the demo can follow one caseload from every side.
    coaches = home.with_role(Role.COACH)
    coach = coaches.first()
    caseload = CoachAssignment.objects.current(today).filter(coach=coach).values("practitioner")
    leaders = home.with_role(Role.LEADER)
    return [
        ("Organization admin", home.with_role(Role.ORG_ADMIN).first()),
        ("Leader", leaders.filter(team__members=coach).first() or leaders.first()),
        ("Coach", coach),
        ("Practitioner", home.filter(pk__in=caseload).exclude(pk__in=coaches).first()),
    ]

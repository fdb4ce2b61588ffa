"""Small helpers that make valid rows with as few arguments as a test needs."""

import contextlib
import datetime as dt
import io
import itertools
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model

from coaching.models import CoachAssignment, TrainerAssignment
from miiwrap.people.models import Organization, Person, RoleGrant, Team
from miiwrap.people.services import person_periods_begin, person_periods_sync

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_org(name=None, **fields):
    n = next(_seq)
    name = name or f"Organization {n}"
    slug = fields.pop("slug", f"org-{n}")
    return Organization.objects.create(name=name, slug=slug, **fields)


def make_team(org, name=None):
    return Team.objects.create(organization=org, name=name or f"Team {next(_seq)}")


def make_person(org, *roles, team=None, login=True, **fields):
    n = next(_seq)
    fields.setdefault("first_name", f"First{n}")
    fields.setdefault("last_name", f"Last{n}")
    fields.setdefault("email", f"person{n}@example.org")
    fields.setdefault("hire_date", dt.date(2020, 1, 6))
    user = None
    if login:
        user = get_user_model().objects.create_user(
            username=fields["email"], email=fields["email"], password=PASSWORD
        )
    person = Person.objects.create(organization=org, team=team, user=user, **fields)
    RoleGrant.objects.bulk_create(RoleGrant(person=person, role=role) for role in roles)
    person_periods_begin(person=person)
    return person


def move_team(person, team, on):
    """The person moved to `team` (None: no team) from `on`, as the admin records it."""
    person.team = team
    person.save(update_fields=["team"])
    person_periods_sync(person=person, on=on)


def remove_role(person, role, on):
    """The person no longer holds `role` from `on`."""
    RoleGrant.objects.filter(person=person, role=role).delete()
    person_periods_sync(person=person, on=on)


def grant_role(person, role, on):
    RoleGrant.objects.get_or_create(person=person, role=role)
    person_periods_sync(person=person, on=on)


def make_assignment(coach, practitioner, starts_on=dt.date(2020, 2, 1), ends_on=None):
    return CoachAssignment.objects.create(
        coach=coach, practitioner=practitioner, starts_on=starts_on, ends_on=ends_on
    )


def make_trainer_assignment(trainer, coach, starts_on=dt.date(2020, 2, 1), ends_on=None):
    return TrainerAssignment.objects.create(
        trainer=trainer, coach=coach, starts_on=starts_on, ends_on=ends_on
    )


def rubric_version(code="miiwrap-fidelity", number=1):
    """A shipped rubric version (loaded by migration), with its structure prefetched."""
    from observations.models import RubricVersion

    return RubricVersion.objects.with_structure().get(rubric__code=code, number=number)


def full_scores(version, rating=None, count=3, yes_no=1):
    """A complete set of scores: every rating at `rating` (default its top), counts, yes."""
    scores = {}
    for item in version.items.all():
        if item.kind == "rating":
            scores[item.code] = item.scale_max if rating is None else rating
        elif item.kind == "count":
            scores[item.code] = count
        else:
            scores[item.code] = yes_no
    return scores


def make_observation(coach, practitioner, version=None, submit=True, **fields):
    """An observation saved through the services, so it is scored like a real one."""
    from observations import services
    from observations.models import ActivityType, Observation

    version = version or rubric_version()
    fields.setdefault("observed_on", dt.date(2024, 5, 1))
    fields.setdefault("activity", ActivityType.objects.first())
    fields.setdefault("scores", full_scores(version))
    observation = Observation(
        coach=coach, practitioner=practitioner, rubric_version=version, **fields
    )
    save = services.observation_submit if submit else services.observation_save_draft
    return save(observation=observation, definition=version.definition())


def make_period(person, decided_by, program_code="practitioner", valid_from=None, **fields):
    """A certification period as the date rules grant it, decided on its first day."""
    from certification import dates
    from certification.models import CertificationEvent, CertificationPeriod, Program

    program = Program.objects.get(code=program_code)
    valid_from = valid_from or dt.date(2025, 5, 2)
    period = dates.period_from(program.rules(), valid_from)
    fields = {
        "valid_from": period.valid_from,
        "valid_until": period.valid_until,
        "window_opens": period.window_opens,
        "grace_ends": period.grace_ends,
        "decided_on": valid_from,
        "override_reason": "Made by a test.",
        **fields,
    }
    # Recorded at noon on the day it was decided, where the person works.
    zone = ZoneInfo(person.organization.time_zone)
    fields.setdefault("decided_at", dt.datetime.combine(fields["decided_on"], dt.time(12), zone))
    made = CertificationPeriod.objects.create(
        person=person, program=program, decided_by=decided_by, **fields
    )
    CertificationEvent.objects.create(
        period=made, kind="certified", happened_on=made.decided_on, by=decided_by
    )
    return made


DEMO_TODAY = dt.date(2025, 6, 16)
DEMO_NOW = dt.datetime(2025, 6, 16, 12, tzinfo=ZoneInfo("America/New_York"))


def seed_demo(*args):
    """seed_demo as of DEMO_TODAY; what it printed."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command("seed_demo", "--today", DEMO_TODAY.isoformat(), *args, stdout=out)
    return out.getvalue()


# What every test hashes passwords with (conftest), and every world built outside a test.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@contextlib.contextmanager
def demo_world(django_db_blocker):
    """The demo world built once, for a module of tests that only read it; removed after."""
    import time_machine
    from django.test import override_settings

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        with time_machine.travel(DEMO_NOW, tick=False):
            output = seed_demo()
        yield output
        wipe_world()


def wipe_world():
    """Delete every organization, person, login and what hangs on them, children first."""
    from certification.models import CertificationEvent, CertificationPeriod, Program
    from coaching.models import CoachingPlan, CoachingSession, ItemMonthsCounted, PooledSpread
    from miiwrap import generations
    from miiwrap.community.models import Attendance, Event
    from miiwrap.implementation.models import AlignmentPlan, ReadinessAssessment
    from observations import summaries
    from observations.models import (
        Amendment,
        CalibrationAttempt,
        CalibrationCase,
        CalibrationRound,
        CoObservation,
        Dispute,
        Observation,
        RaterAlert,
    )

    # Calibration: the attempts and rounds name coaches; the cases name their coder.
    RaterAlert.objects.all().delete()
    CalibrationAttempt.objects.all().delete()
    CalibrationRound.objects.all().delete()  # its assignments with it
    CalibrationCase.objects.all().delete()
    # What the drift job keeps about everyone rather than about one organization.
    ItemMonthsCounted.objects.all().delete()
    PooledSpread.objects.all().delete()
    CoachingSession.objects.all().delete()  # those on their own too
    CoachingPlan.objects.all().delete()  # its goals and comments with it
    # The organizations' readiness and alignment plans name the people who made them.
    AlignmentPlan.objects.all().delete()  # its actions with it
    ReadinessAssessment.objects.all().delete()
    CertificationEvent.objects.all().delete()
    CertificationPeriod.objects.all().delete()
    # The rows that refer to observations first, then the observations in one DELETE:
    # one by one, each with its signals (summaries, history, generations), took 20 s.
    Amendment.objects.all().delete()
    Dispute.objects.all().delete()
    CoObservation.objects.all().delete()
    summaries.raw_delete(Observation.objects.all())
    generations.touched(everyone=True)  # the raw delete sends no signal
    # Before the logins they name: deleting those would first blank each row's author.
    _forget_history()
    CoachAssignment.objects.all().delete()
    TrainerAssignment.objects.all().delete()
    Attendance.objects.all().delete()
    Event.objects.all().delete()
    Person.objects.all().delete()
    Team.objects.all().delete()
    Organization.objects.all().delete()
    get_user_model().objects.all().delete()
    # The demo dates when the shipped programs began to expect coaching sessions, and gives
    # the practitioner program, shipped with none, its deadline after hire.
    for program in Program.objects.exclude(sessions_expected_from=None):
        program.sessions_expected_from = None
        program.save(update_fields=["sessions_expected_from"])
    for program in Program.objects.filter(code="practitioner").exclude(
        deadline_days_after_hire=None
    ):
        program.deadline_days_after_hire = None
        program.save(update_fields=["deadline_days_after_hire"])
    _forget_history()  # these two saves' too


def _forget_history():
    """Every audited record's history: a later test that counts history rows (or a
    module's "nothing left") would count the world's."""
    from django.apps import apps

    for model in apps.get_models():
        history = getattr(model, "history", None)
        if hasattr(history, "bulk_history_create"):
            history.all().delete()


def make_session(practitioner, coach, held_on, plan=None, alone=False):
    """A coaching session held on `held_on`: on its own when `alone`, else under `plan` or
    the practitioner's active plan (started that day if they have none)."""
    from coaching.models import CoachingPlan, CoachingSession

    if plan is None and not alone:
        plan, _ = CoachingPlan.objects.get_or_create(
            practitioner=practitioner,
            status=CoachingPlan.Status.ACTIVE,
            defaults={"organization": practitioner.organization, "started_on": held_on},
        )
        plan.coaches.add(coach)
    return CoachingSession.objects.create(
        practitioner=practitioner,
        plan=plan,
        coach=coach,
        held_on=held_on,
        minutes=45,
        format="practice",
    )

"""Small helpers that make valid rows with as few arguments as a test needs."""

import datetime as dt
import itertools

from django.contrib.auth import get_user_model

from coaching.models import CoachAssignment
from miiwrap.people.models import Organization, Person, RoleGrant, Team

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
    return person


def make_assignment(coach, practitioner, starts_on=dt.date(2020, 2, 1), ends_on=None):
    return CoachAssignment.objects.create(
        coach=coach, practitioner=practitioner, starts_on=starts_on, ends_on=ends_on
    )

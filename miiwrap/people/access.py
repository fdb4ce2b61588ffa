"""Who is looking: the one place that turns a login into what it may see.

Every `visible_to(user)` QuerySet method starts from `viewer_for(user)`, so the
rules below are the only description of access in the project.

- Superusers and purveyor admins see every organization.
- Leaders and organization admins see their whole organization.
- Coaches see themselves and the practitioners currently assigned to them.
- Trainers (coaches holding the MiiWrap Trainer certification) also see the coaches
  currently assigned to them (coaching.TrainerAssignment), whom they observe on the
  coaching rubric; not those coaches' practitioners.
- Practitioners see themselves.
- A person whose leave date has passed sees nothing; their history stays visible
  to the people above.

Who decides certifications or administers (and so may, or must, use a second sign-in
step): superusers, purveyor admins, organization admins and coaches (certified coaches
decide their organization's practitioners).
"""

from dataclasses import dataclass, field

from django.utils import timezone


@dataclass(frozen=True)
class Viewer:
    user_id: int | None = None
    is_superuser: bool = False
    person_id: int | None = None
    organization_id: int | None = None
    team_id: int | None = None
    roles: frozenset = field(default_factory=frozenset)

    @property
    def sees_everything(self):
        return self.is_superuser or "purveyor_admin" in self.roles

    @property
    def sees_organization(self):
        return bool(self.roles & {"leader", "org_admin"})

    @property
    def is_coach(self):
        return "coach" in self.roles

    @property
    def is_practitioner(self):
        return "practitioner" in self.roles

    @property
    def uses_admin(self):
        return self.sees_everything or "org_admin" in self.roles

    @property
    def decides_or_administers(self):
        return self.uses_admin or self.is_coach

    @property
    def uses_directory(self):
        return self.sees_everything or self.sees_organization or self.is_coach


ANONYMOUS = Viewer()


def viewer_for(user):
    """The Viewer for a user, read with one query and kept on the user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    cached = getattr(user, "_miiwrap_viewer", None)
    if cached is None:
        cached = _load_viewer(user)
        user._miiwrap_viewer = cached
    return cached


def _load_viewer(user):
    from miiwrap.people.models import Person

    rows = list(
        Person.objects.filter(user_id=user.pk).values_list(
            "pk", "organization_id", "team_id", "leave_date", "roles__role"
        )
    )
    person_id, organization_id, team_id, leave_date, _ = rows[0] if rows else (None,) * 5
    if person_id is None or (leave_date is not None and leave_date < timezone.localdate()):
        return Viewer(user_id=user.pk, is_superuser=user.is_superuser)
    roles = frozenset(row[4] for row in rows if row[4])
    return Viewer(
        user_id=user.pk,
        is_superuser=user.is_superuser,
        person_id=person_id,
        organization_id=organization_id,
        team_id=team_id,
        roles=roles,
    )

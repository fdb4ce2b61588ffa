"""The admins' reminder log: what went out, what failed, and what the daily job sends next.

The Sent and Failed tabs read one joined query per page (and one count), whatever the
number of rows. The Scheduled tab asks certification.jobs.plan for the coming days, the
same reading the daily job makes, then loads the page's people in one bulk read.
"""

from dataclasses import dataclass

import django_filters
from django.db.models import Q
from django.db.models.functions import Coalesce

from certification import jobs
from certification.models import Program, Reminder
from miiwrap.notifications.models import Notification
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Organization, Person

Status = Notification.Status
TABS = {"sent": "Sent", "failed": "Failed", "scheduled": "Scheduled next"}
# How far ahead the Scheduled tab looks.
AHEAD_DAYS = 30
# What a notification row needs on the page, read in the same query.
JOINS = (
    "recipient__organization",
    "digest",
    "reminder__period__program",
    "reminder__period__person",
)
ROLE_ORDER = {role: n for n, role in enumerate(Reminder.Role.values)}


class LogFilter(django_filters.FilterSet):
    """Program, and organization for the purveyor; every choice one the viewer may pick."""

    program = django_filters.ModelChoiceFilter(
        queryset=Program.objects.all(),
        field_name="reminder__period__program",
        to_field_name="code",
        label="Program",
        empty_label="Any",
    )
    organization = django_filters.ModelChoiceFilter(
        queryset=Organization.objects.none(),
        field_name="recipient__organization",
        label="Organization",
        empty_label="Any",
    )

    class Meta:
        model = Notification
        fields = ["program", "organization"]

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, **kwargs)
        if viewer_for(user).sees_everything:
            self.filters["organization"].queryset = Organization.objects.all()
        else:
            del self.filters["organization"]
        for field in self.form.fields.values():
            field.widget.attrs["class"] = "form-select"

    def chosen(self):
        """The valid choices, for lists that are not querysets (the Scheduled tab)."""
        return self.form.cleaned_data if self.is_valid() else {}


def log(user, every_kind=False):
    """Every reminder and digest notification the admin `user` may see; with
    `every_kind`, the other emails too (feedback, decisions), for the Failed tab: any
    email that failed is one an admin may need to send again."""
    found = Notification.objects.visible_to(user)
    if every_kind:
        return found
    return found.filter(kind__in=[Notification.Kind.REMINDER, Notification.Kind.DIGEST])


def tab(show, filterset, user):
    """The rows of one tab, before paging."""
    if show == "scheduled":
        return scheduled(user, **filterset.chosen())
    return failed(filterset.qs) if show == "failed" else sent(filterset.qs)


def shown(show, rows):
    """One page's rows ready to show: reminders unpacked, or people loaded."""
    return with_people(rows) if show == "scheduled" else entries(rows)


def sent(notifications):
    """Emailed reminders and digests, and the leaders' reminders carried in a digest,
    newest first (an item dates from its digest)."""
    return (
        notifications.filter(status__in=[Status.SENT, Status.IN_DIGEST])
        .select_related(*JOINS)
        .annotate(when=Coalesce("sent_at", "digest__sent_at", "created_at"))
        .order_by("-when", "-pk")
    )


def failed(notifications):
    """What gave up (to send again), and what failed but will try again by itself."""
    return (
        notifications.filter(Q(status=Status.FAILED) | Q(status=Status.PENDING, attempts__gt=0))
        .select_related(*JOINS)
        .order_by("-created_at", "-pk")
    )


def gave_up(notifications):
    """How many stopped trying: what an admin may send again."""
    return notifications.filter(status=Status.FAILED).count()


@dataclass
class Entry:
    """One notification on the page with the reminder it carries (None for a digest)."""

    notification: Notification
    reminder: Reminder | None

    @property
    def is_retrying(self):
        return self.notification.status == Status.PENDING


def entries(notifications):
    """[Entry] for notifications read with JOINS."""
    found = []
    for notification in notifications:
        try:
            reminder = notification.reminder
        except Reminder.DoesNotExist:
            reminder = None
        found.append(Entry(notification, reminder))
    return found


# Scheduled next ----------------------------------------------------------------------------


@dataclass
class Coming:
    """A reminder the daily job will send on `due.due_on`; people are filled in per page."""

    due: jobs.Due
    person_id: int
    program_id: int
    person: Person | None = None
    recipient: Person | None = None
    program: Program | None = None

    @property
    def role(self):
        return Reminder.Role(self.due.role).label

    @property
    def in_digest(self):
        return self.due.role == Reminder.Role.LEADER


def scheduled(user, program=None, organization=None, now=None):
    """[Coming] in the next AHEAD_DAYS for periods of people `user` may see, soonest first."""
    candidates, found = jobs.plan(now=now, ahead=AHEAD_DAYS)
    by_pk = {
        c.pk: c
        for c in candidates
        if (program is None or c.program_id == program.pk)
        and (organization is None or c.organization_id == organization.pk)
    }
    people = {c.person_id for c in by_pk.values()}
    seen = set(Person.objects.visible_to(user).filter(pk__in=people).values_list("pk", flat=True))
    coming = [
        Coming(due, by_pk[due.period_id].person_id, by_pk[due.period_id].program_id)
        for due in found
        if due.period_id in by_pk and by_pk[due.period_id].person_id in seen
    ]
    coming.sort(key=lambda c: (c.due.due_on, c.due.period_id, ROLE_ORDER[c.due.role]))
    return coming


def with_people(coming):
    """Fill in the people and programs of the rows shown, in one read of people."""
    ids = {c.person_id for c in coming} | {c.due.recipient_id for c in coming}
    people = Person.objects.select_related("organization").in_bulk(ids)
    programs = Program.objects.in_bulk({c.program_id for c in coming})
    for row in coming:
        row.person = people.get(row.person_id)
        row.recipient = people.get(row.due.recipient_id)
        row.program = programs.get(row.program_id)
    return coming

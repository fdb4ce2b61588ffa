"""The audit trail: who changed a domain record, when, and what it said before.

Every audited model (observations, rubrics, programs and their rules, certification
periods, people, roles, coach and trainer assignments, drift alerts and settings) carries
`history = HistoricalRecords()`: each save() writes a history row holding the whole
record and the signed-in user (HistoryRequestMiddleware). `QuerySet.update()` and a
plain `bulk_update()` write none, so code that changes an audited record in bulk goes
through simple_history's `bulk_update_with_history` or `update_with_history` below;
a test fixture fails any other bulk write to an audited field.

`trail()` turns history rows into what a page shows: who, when, and each field's old
and new value.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import connection, models, transaction
from django.db.models import Value
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

# Bookkeeping that changes on every save and says nothing to a reader.
UNSHOWN = {"updated_at", "computed_at", "created_at", "import_key"}


def is_audited(model):
    return hasattr(model._meta, "simple_history_manager_attribute")


def tracked_names(model):
    """The names and column names of the fields an audited model's history keeps."""
    history = get_history_manager_for_model(model).model
    return {name for f in history.tracked_fields for name in (f.name, f.attname)}


@transaction.atomic
def update_with_history(queryset, *, reason="", user=None, **values):
    """`queryset.update(**values)` that leaves a history row for each row it changed.

    For conditional updates (change it only if it is still active): the rows are
    locked first, so the history rows record exactly what the update wrote. `user`
    defaults to the signed-in user of the request, if any.
    """
    model = queryset.model
    pks = list(queryset.select_for_update().values_list("pk", flat=True))
    if not pks:
        return 0
    changed = model._default_manager.filter(pk__in=pks).update(**values)
    rows = list(model._default_manager.filter(pk__in=pks))
    get_history_manager_for_model(model).bulk_history_create(
        rows, update=True, default_user=user, default_change_reason=reason
    )
    return changed


def record_created(queryset, *, reason="", user=None):
    """A "created" history row for each row of `queryset` (rows a bulk insert made, which
    writes none), as bulk_history_create would write them, but copied by the database in
    one INSERT … SELECT: no row comes to Python and back. The rows share one history date.
    `user` defaults to the signed-in user of the request, if any. Returns how many."""
    model = queryset.model
    history = get_history_manager_for_model(model).model
    if user is None:
        user = history.get_default_history_user(model())
    tracked = [f.attname for f in history.tracked_fields]
    stamped = {
        "history_date": Value(timezone.now()),
        "history_change_reason": Value(reason),
        "history_type": Value("+"),
        "history_user_id": Value(user.pk if user else None, models.IntegerField()),
    }
    rows = queryset.order_by().annotate(**stamped).values_list(*tracked, *stamped)
    sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    names = [*tracked, *stamped]
    columns = ", ".join(quote(history._meta.get_field(name).column) for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(history._meta.db_table)} ({columns}) {sql}", params)
        return cursor.rowcount


def acting_user(name):
    """The active login a command's --by names (its email or username); None when no name
    is given, and a CommandError when no active login has it."""
    if not name:
        return None
    users = get_user_model().objects.filter(is_active=True)
    found = users.filter(email__iexact=name).first() or users.filter(username=name).first()
    if found is None:
        raise CommandError(f"No active login has the email or username “{name}”.")
    return found


# Showing it ---------------------------------------------------------------------------------


@dataclass
class Change:
    field: models.Field
    old: object
    new: object

    @property
    def label(self):
        label = str(self.field.verbose_name)
        return label[:1].upper() + label[1:]


@dataclass
class Entry:
    when: object
    who: str
    kind: str
    reason: str
    subject: str = ""
    changes: list = field(default_factory=list)
    person: object = None  # who, when their login is a person's: a page links their name


KINDS = {"+": "created", "~": "changed", "-": "deleted"}


def trail(records, subject=None, hide=()):
    """Entries, newest first, from the history rows of one or more records.

    `records`: history rows (any order); `subject(row)` names the record an entry is
    about on a page that shows several; `hide`: field names not worth showing there.
    """
    records = sorted(records, key=lambda r: (r.history_date, r.history_id))
    before, entries = {}, []
    for record in records:
        key = (record.instance_type, record.id)  # a page may list several kinds of record
        previous = before.get(key)
        entry = Entry(
            when=record.history_date,
            who=_who(record),
            person=getattr(record.history_user, "person", None),
            kind=KINDS.get(record.history_type, record.history_type),
            reason=record.history_change_reason or "",
            subject=subject(record) if subject else "",
        )
        if previous is not None and record.history_type == "~":
            entry.changes = _changes(previous, record, {*UNSHOWN, *hide})
        before[key] = record
        # A save that changed nothing shown is noise; a first row with nothing before it
        # (a record older than its history) still says who touched it.
        if previous is None or entry.kind != "changed" or entry.changes or entry.reason:
            entries.append(entry)
    _name(entries)
    return entries[::-1]


def history_of(model, **filters):
    """The history rows of one kind of record, with who made them, in one query."""
    manager = get_history_manager_for_model(model)
    return manager.filter(**filters).select_related("history_user__person")


def _who(record):
    user = record.history_user
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return person.full_name if person else user.get_username()


def _changes(old, new, hide):
    """(field, old value, new value) of each shown field that changed."""
    return [
        Change(f, getattr(old, f.attname), getattr(new, f.attname))
        for f in new.tracked_fields
        if f.name not in hide and getattr(old, f.attname) != getattr(new, f.attname)
    ]


def _name(entries):
    """Shows each changed value as a reader knows it: a choice's label, a related
    record's name (read with one query per kind of record that changed)."""
    wanted = {}
    for change in (change for entry in entries for change in entry.changes):
        if isinstance(change.field, models.ForeignKey):
            ids = wanted.setdefault(change.field.related_model, set())
            ids.update(value for value in (change.old, change.new) if value is not None)
    found = {model: model._default_manager.in_bulk(ids) for model, ids in wanted.items()}
    for change in (change for entry in entries for change in entry.changes):
        f = change.field
        change.old, change.new = _show(f, change.old, found), _show(f, change.new, found)


def _show(f, value, found):
    if value is None or value == "":
        return "—"
    if isinstance(f, models.ForeignKey):
        record = found.get(f.related_model, {}).get(value)
        return str(record) if record is not None else f"#{value} (deleted)"
    if f.choices:
        return dict(f.flatchoices).get(value, value)
    if isinstance(f, models.BooleanField):
        return "yes" if value else "no"
    return value

"""Fails a test in which the project's code changes an audited field with a bulk write
that leaves no history (`QuerySet.update()`, a plain `bulk_update()`).

Such writes must go through simple_history's `bulk_update_with_history` or
`miiwrap.audit.update_with_history`. Fields an audited model leaves out of its history
(a job's bookkeeping, such as DriftAlert.checked_on) may be updated plainly. Writes made
by the tests themselves, to set up data, are not checked, nor the SET_NULL that Django's
delete() makes of the rows pointing at a deleted record (whose deletion is recorded).
"""

import functools
import os
import sys

from django.db.models import QuerySet

import miiwrap.audit
from miiwrap.audit import is_audited, tracked_names

DJANGO = os.path.dirname(sys.modules["django"].__file__)
DELETION = os.path.join(DJANGO, "db", "models", "deletion.py")
TESTS = os.path.dirname(__file__)
# The helpers that write history rows beside their bulk write.
HELPERS = (
    os.path.dirname(sys.modules["simple_history"].__file__),
    miiwrap.audit.__file__,
)


@functools.cache
def _tracked(model):
    return frozenset(tracked_names(model))


def offending_caller(model, fields, frame):
    """The file and line of the project code that writes audited `fields` of `model`
    in bulk without history; None when the write is allowed."""
    if not is_audited(model) or not _tracked(model) & set(fields):
        return None
    while frame is not None and (frame.f_code.co_filename.startswith(DJANGO) or _passes_on(frame)):
        if frame.f_code.co_filename == DELETION:
            return None
        frame = frame.f_back
    if frame is None:
        return None
    filename = frame.f_code.co_filename
    if filename.startswith(TESTS) or filename.startswith(HELPERS):
        return None
    return f"{filename}:{frame.f_lineno}"


def _passes_on(frame):
    """A project QuerySet's own update() or bulk_update() passing the write on to
    Django's: its caller is the one writing."""
    return frame.f_code.co_name in ("update", "bulk_update") and isinstance(
        frame.f_locals.get("self"), QuerySet
    )


class Guard:
    def __init__(self):
        self.found = []

    def install(self, monkeypatch):
        update, bulk_update = QuerySet.update, QuerySet.bulk_update
        guard = self

        def checked_update(queryset, **kwargs):
            guard.check(queryset.model, kwargs, sys._getframe(1))
            return update(queryset, **kwargs)

        def checked_bulk_update(queryset, objs, fields, *args, **kwargs):
            guard.check(queryset.model, fields, sys._getframe(1))
            return bulk_update(queryset, objs, fields, *args, **kwargs)

        # Named like Python's own frames ("<module>"), so that code reading the stack for
        # the project's caller (bench_dashboards' statement capture) passes over them.
        for wrapper in (checked_update, checked_bulk_update):
            wrapper.__code__ = wrapper.__code__.replace(co_name="<audit guard>")
        monkeypatch.setattr(QuerySet, "update", checked_update)
        monkeypatch.setattr(QuerySet, "bulk_update", checked_bulk_update)

    def check(self, model, fields, frame):
        where = offending_caller(model, fields, frame)
        if where:
            self.found.append(
                f"{where} changes {model.__name__} ({', '.join(sorted(fields))}) in bulk "
                "without history: use bulk_update_with_history or update_with_history."
            )

"""Fails a test in which the project's code writes rows that feed a dashboard in bulk
(`QuerySet.update()`, `bulk_update()`, `bulk_create()`: no model signals) and declares no
write to miiwrap.generations after it, so kept dashboard sections could outlive the rows
they were computed from. Writes made by the tests themselves, to set up data, are not
checked.
"""

import os
import sys

from django.db.models import QuerySet

import miiwrap.audit
from miiwrap import generations

DJANGO = os.path.dirname(sys.modules["django"].__file__)
TESTS = os.path.dirname(__file__)
# Helpers that make the bulk write for the project's code: the caller is further up.
PASSING = (
    DJANGO,
    os.path.dirname(sys.modules["simple_history"].__file__),
    miiwrap.audit.__file__,
    os.path.dirname(__file__) + os.sep + "audit_guard.py",
)


def project_caller(frame):
    """The file and line of the project code behind a bulk write; None for a test's."""
    while frame is not None and frame.f_code.co_filename.startswith(PASSING):
        frame = frame.f_back
    if frame is None or frame.f_code.co_filename.startswith(TESTS):
        return None
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


class Guard:
    def __init__(self):
        self.writes = []  # (model name, where, declarations made before it)

    def install(self, monkeypatch):
        guard = self
        originals = {
            name: getattr(QuerySet, name) for name in ("update", "bulk_update", "bulk_create")
        }

        def wrap(name):
            original = originals[name]

            def checked(queryset, *args, **kwargs):
                done = original(queryset, *args, **kwargs)  # a write refused is no write
                if queryset.model in generations.FED:
                    where = project_caller(sys._getframe(1))
                    if where:
                        guard.writes.append((queryset.model.__name__, where, generations.declared))
                return done

            checked.__code__ = checked.__code__.replace(co_name="<generation guard>")
            return checked

        for name in originals:
            monkeypatch.setattr(QuerySet, name, wrap(name))

    @property
    def found(self):
        return [
            f"{where} writes {model} in bulk and declares no write to miiwrap.generations "
            "after it: call generations.touched(...) with the organizations it wrote for."
            for model, where, before in self.writes
            if generations.declared <= before
        ]

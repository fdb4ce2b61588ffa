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

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
TESTS = os.path.dirname(os.path.abspath(__file__)) + os.sep
# The project's own modules, not what is installed beside it.
INSTALLED = ("site-packages", "dist-packages")
# Helpers of the project's that make the bulk write for their caller.
HELPERS = (os.path.abspath(miiwrap.audit.__file__),)
METHODS = ("update", "bulk_update", "bulk_create")


def project_caller(frame):
    """The file and line of the project code behind a bulk write, passing over Django, the
    libraries and the history helpers (a library writing for its own reasons, such as
    Django's SET_NULL on delete, is no one's write to declare); None for a test's own."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(TESTS):
            return None
        if (
            filename.startswith(PROJECT)
            and not any(part in filename for part in INSTALLED)
            and filename not in HELPERS
            and frame.f_code.co_name not in METHODS  # a QuerySet's own override passes on
            and os.path.exists(filename)  # code a test compiled under a made-up name is its
        ):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


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

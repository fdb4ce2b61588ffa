"""What the benchmark commands share: the check before they build anything, and pages
timed in the process as a web worker runs them."""

import gc
from contextlib import contextmanager

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def require_migrated(using=DEFAULT_DB_ALIAS):
    """A benchmark pointed at a new scratch database must say to migrate it, not end in a
    traceback about a missing table halfway through building its dataset."""
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CommandError(
            f"This database is missing {len(plan)} migrations: run manage.py migrate with the "
            "same DATABASE_URL first, then this command again."
        )


@contextmanager
def as_a_web_worker():
    """Time pages in this process as a web worker runs them: what was loaded before is
    frozen out of the garbage collector's passes (miiwrap/wsgi.py), the dataset just built
    included, which a worker would not be walking either."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()

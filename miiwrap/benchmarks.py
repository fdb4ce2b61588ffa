"""What every benchmark command checks before it builds anything."""

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

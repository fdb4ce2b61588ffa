"""Fresh planner statistics after a bulk write, on PostgreSQL."""

from django.db import connection


def analyze(*models):
    """ANALYZE the models' tables: after a bulk change PostgreSQL's planner knows what
    they hold at once, not once autovacuum comes round (later, or never where it is off).
    Nothing on other databases."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

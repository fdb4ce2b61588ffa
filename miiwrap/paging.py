"""Pages of long lists whose exact count costs more than the page itself.

Counting a million rows reads a million rows; PostgreSQL's planner already holds an
estimate of how many a query returns (from pg_class.reltuples and the column statistics
ANALYZE keeps), which EXPLAIN reads out in a millisecond. A list shows that estimate as
"about N" where it is large, and counts exactly wherever the estimate is small, on SQLite,
and whenever the page itself shows the list ends on it.
"""

import json

from django.core.paginator import Paginator
from django.db import connections

# Below this many rows (as estimated) an exact count is cheap enough to make.
ESTIMATE_FROM = 10_000


class CountedPaginator(Paginator):
    """A Paginator told its count instead of counting; `estimated` says whether the count
    is the planner's estimate."""

    def __init__(self, object_list, per_page, *, count, estimated, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count = count
        self.estimated = estimated


def estimated_count(queryset):
    """The planner's estimate of the rows `queryset` returns on PostgreSQL; None on other
    databases, which keep no such estimate."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def page_of(queryset, number, per_page, *, estimate=False):
    """The page `number` (as get_page reads it) of `queryset`. With `estimate`, a large
    list on PostgreSQL is paged by the planner's estimate (its paginator's `estimated` is
    then true) rather than counted; a short page read that way ends the list, so its count
    is made exact from it."""
    guess = estimated_count(queryset) if estimate else None
    if guess is None or guess < ESTIMATE_FROM:
        paginator = Paginator(queryset, per_page)
        paginator.estimated = False
        return paginator.get_page(number)
    paginator = CountedPaginator(queryset, per_page, count=guess, estimated=True)
    page = paginator.get_page(number)
    page.object_list = list(page.object_list)
    if 0 < len(page.object_list) < per_page:
        paginator.count = page.start_index() - 1 + len(page.object_list)
        paginator.estimated = False
        paginator.__dict__.pop("num_pages", None)
    return page

"""The admin's paginator for big tables: no COUNT(*) over millions of rows on every list page.

On PostgreSQL an unfiltered list of a big table takes its row count from the planner's estimate
(pg_class.reltuples, kept fresh by autovacuum's ANALYZE): a COUNT(*) over 4M instalments reads
the whole table, the estimate reads one row. A filtered or searched list, a small table, a
table never analysed, and every other database get the exact count, so a list of what a person
is looking for never shows a wrong total.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    # Below this the exact count is cheap, and a small list should show its true total.
    estimate_above = 100_000

    @cached_property
    def count(self) -> int:
        estimate = self._estimate()
        if estimate is not None and estimate > self.estimate_above:
            return estimate
        return super().count

    def _estimate(self) -> int | None:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None or query.where or query.distinct or query.combinator or query.is_sliced:
            return None
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [connection.ops.quote_name(queryset.model._meta.db_table)],
            )
            row = cursor.fetchone()
        # -1 (or 0): never analysed; the planner knows nothing yet.
        return row[0] if row and row[0] > 0 else None

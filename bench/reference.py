"""What the benchmark compares the sweep with: a checksum of the instalment table, and the
daily status-and-late-fee update written by hand as one SQL statement (PostgreSQL).

The reference is written from DESIGN.md ("Late fees"), not from sweep/sql.py: exact numeric
arithmetic instead of integer fen, one statement instead of one per step and chunk. When
the sweep and the reference leave identical tables, both implement the same rules.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from django.db import connection

from orders.models import UNPAID_INSTALLMENT_STATUSES, Installment, Payment
from policy.selectors import policy_in_force

# The instalment's money, status and dates: what the sweep may change, and what it must not.
# paid_at is left out: credit applied by the sweep stamps the wall-clock time, so two
# correct sweeps of the same book differ there.
CHECKSUM_FIELDS = (
    "id",
    "status",
    "due_date",
    "principal_due",
    "fee_due",
    "late_fee_due",
    "principal_paid",
    "fee_paid",
    "late_fee_paid",
    "fee_waived",
    "late_fee_waived",
    "hold_days",
    "late_fee_through",
)


@dataclass(frozen=True)
class Checksum:
    rows: int
    digest: str

    def __str__(self) -> str:
        return f"{self.rows} rows, {self.digest}"


def installments_checksum(
    *, customers: tuple[int, int] | None = None, without_credit_customers: bool = False
) -> Checksum:
    """An order-independent checksum of CHECKSUM_FIELDS over the instalments, optionally of the
    customers with ids in [lo, hi) and optionally leaving out the customers with a credit
    balance (the sweep applies credit, the status-and-fee references do not)."""
    if connection.vendor == "postgresql":
        where, params = ["TRUE"], []
        if customers:
            where.append("i.customer_id >= %s AND i.customer_id < %s")
            params += list(customers)
        if without_credit_customers:
            where.append(
                "i.customer_id NOT IN (SELECT customer_id FROM orders_payment WHERE credit_created > 0)"
            )
        row_text = (
            "ROW("
            + ", ".join(f"i.{Installment._meta.get_field(f).column}" for f in CHECKSUM_FIELDS)
            + ")::text"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT count(*),
                       COALESCE(sum(('x' || substr(md5({row_text}), 1, 15))::bit(60)::bigint), 0)
                  FROM orders_installment i
                 WHERE {" AND ".join(where)}
                """,
                params,
            )
            rows, total = cursor.fetchone()
        return Checksum(rows=rows, digest=f"{int(total):x}")
    rows = Installment.objects.order_by()
    if customers:
        rows = rows.filter(customer_id__gte=customers[0], customer_id__lt=customers[1])
    if without_credit_customers:
        rows = rows.exclude(customer_id__in=credit_customers())
    count, total = 0, 0
    for row in rows.values_list(*CHECKSUM_FIELDS).iterator(chunk_size=5000):
        count += 1
        total += int(hashlib.md5(repr(row).encode(), usedforsecurity=False).hexdigest()[:15], 16)
    return Checksum(rows=count, digest=f"{total:x}")


def credit_customers():
    """Customers with a payment that left credit balance (a queryset of ids)."""
    return Payment.objects.filter(credit_created__gt=0).values("customer_id")


def candidates_snapshot(*, on: datetime.date) -> dict[int, tuple]:
    """The instalments the sweep for `on` may change (unpaid, due by then), field by field."""
    rows = Installment.objects.filter(status__in=UNPAID_INSTALLMENT_STATUSES, due_date__lte=on).order_by()
    return {row[0]: row for row in rows.values_list(*CHECKSUM_FIELDS).iterator(chunk_size=10_000)}


def rows_changed(snapshot: dict[int, tuple]) -> int:
    """How many of the snapshot's instalments differ now."""
    ids = sorted(snapshot)
    changed = 0
    for start in range(0, len(ids), 10_000):
        batch = ids[start : start + 10_000]
        for row in Installment.objects.filter(pk__in=batch).order_by().values_list(*CHECKSUM_FIELDS):
            changed += row != snapshot[row[0]]
    return changed


# The whole day's status and late-fee work in one statement. Candidates come from the
# (status, due_date) index; each candidate's order is looked up by primary key (for its
# hold); the cap is a share of the order's principal as it stands (the sum of its
# instalments' principal: a partial return lowers it) or the fixed amount, and the room under
# it counts the late fees of all the order's instalments (paid ones too); the day that
# reaches the cap adds only what is left, oldest instalment first (a running sum per order);
# only rows that change are written.
#
# Two planner hints, because the planner misjudges this statement by two orders of magnitude
# (it takes status and due_date as independent: 93,984 candidates expected, 7,510 found at
# scale 0.1) and would otherwise hash-join all orders and all instalments:
# - the order lookup is a LATERAL subquery with OFFSET 0 (not flattened: an index lookup);
# - the UPDATE repeats the candidate condition on its target, so the target side is the
#   small index scan and not the whole table.
REFERENCE_SQL = """
WITH cand AS MATERIALIZED (
    SELECT i.id, i.order_id, i.due_date, i.sequence, i.status,
           CASE WHEN i.due_date < %(on)s THEN 'overdue' ELSE 'due' END AS new_status,
           (i.due_date < %(on)s AND o.hold = '' AND i.principal_due > i.principal_paid) AS accrues,
           round((i.principal_due - i.principal_paid) * %(rate)s, 2)
             * GREATEST(0, (%(on)s - i.due_date) - i.hold_days
                           - GREATEST(%(grace)s,
                                      COALESCE((i.late_fee_through - i.due_date) - i.hold_days, 0)))
             AS fee
      FROM orders_installment i
     CROSS JOIN LATERAL (SELECT o.hold FROM orders_order o WHERE o.id = i.order_id OFFSET 0) o
     WHERE i.status IN ('scheduled', 'due', 'overdue') AND i.due_date <= %(on)s
),
used AS (
    SELECT x.order_id,
           LEAST(%(cap_amount)s, round(sum(x.principal_due) * %(cap_rate)s, 2)) - sum(x.late_fee_due) AS room
      FROM orders_installment x
     WHERE x.order_id IN (SELECT order_id FROM cand WHERE accrues AND fee > 0)
     GROUP BY x.order_id
),
ordered AS (
    SELECT c.*,
           sum(CASE WHEN c.accrues THEN c.fee ELSE 0 END) OVER (
               PARTITION BY c.order_id ORDER BY c.due_date, c.sequence ROWS UNBOUNDED PRECEDING
           ) AS running
      FROM cand c
),
changes AS (
    SELECT c.id, c.status, c.new_status,
           CASE WHEN c.accrues AND c.fee > 0
                THEN GREATEST(0, LEAST(c.fee, u.room - (c.running - c.fee)))
                ELSE 0 END AS fee
      FROM ordered c
      LEFT JOIN used u ON u.order_id = c.order_id
)
UPDATE orders_installment i
   SET status = ch.new_status,
       late_fee_due = i.late_fee_due + ch.fee,
       late_fee_through = CASE WHEN ch.fee > 0 THEN %(on)s ELSE i.late_fee_through END
  FROM changes ch
 WHERE i.id = ch.id AND (ch.status <> ch.new_status OR ch.fee > 0)
   AND i.status IN ('scheduled', 'due', 'overdue') AND i.due_date <= %(on)s
"""


def reference_update(*, on: datetime.date) -> int:
    """Run the hand-written daily update for `on` (PostgreSQL); the number of rows it changed.
    The caller owns the transaction (the benchmark rolls it back), which SET LOCAL needs."""
    if connection.vendor != "postgresql":
        raise NotImplementedError("the SQL reference is written for PostgreSQL")
    policy = policy_in_force(on=on)
    with connection.cursor() as cursor:
        # The overestimates above also make PostgreSQL JIT-compile the statement: 2.5 s of
        # compiling for 0.3 s of work at scale 0.02. The reference is what the database can
        # do, so it runs without JIT (docs/performance.md discusses JIT for the sweep).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            REFERENCE_SQL.replace("%(on)s", "%(on)s::date"),
            {
                "on": on,
                "grace": policy.late_fee_grace_days,
                "rate": policy.late_fee_daily_rate,
                "cap_rate": policy.late_fee_cap_rate,
                "cap_amount": policy.late_fee_cap_amount,
            },
        )
        return cursor.rowcount

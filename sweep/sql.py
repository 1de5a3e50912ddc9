"""The sweep's set-based SQL, for PostgreSQL and SQLite, over one chunk of customers.

Money is computed in integer fen inside SQL: SQLite keeps decimals as binary floating
point, and integer arithmetic makes both databases round exactly alike. A rate enters as an
integer in millionths (RateField has six places), so `fen * rate_ppm + 500000` divided by a
million is the half-up rounding of DESIGN.md, done once per day's fee.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from collection.models import Bucket

UNPAID = "('scheduled', 'due', 'overdue')"


@dataclass(frozen=True)
class Dialect:
    vendor: str

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    def fen(self, column: str) -> str:
        if self.pg:
            return f"ROUND({column} * 100)::bigint"
        return f"CAST(ROUND({column} * 100) AS INTEGER)"

    def yuan(self, fen: str) -> str:
        if self.pg:
            return f"(({fen})::numeric / 100)"
        return f"ROUND(({fen}) / 100.0, 2)"

    def days(self, later: str, earlier: str) -> str:
        """Whole days from `earlier` to `later` (dates)."""
        if self.pg:
            return f"({later} - {earlier})"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def int_sum(self, expression: str) -> str:
        """SUM of integers as an integer (PostgreSQL widens a bigint sum to numeric)."""
        if self.pg:
            return f"SUM({expression})::bigint"
        return f"SUM({expression})"

    def date_param(self) -> str:
        return "%(on)s::date" if self.pg else "%(on)s"

    @property
    def greatest(self) -> str:
        return "GREATEST" if self.pg else "MAX"

    @property
    def least(self) -> str:
        return "LEAST" if self.pg else "MIN"


def bucket_case(dpd: str) -> str:
    """SQL for Bucket.for_dpd: the same boundaries, written once in collection.models."""
    whens = []
    for upper, bucket in ((0, Bucket.CURRENT), (30, Bucket.M1), (60, Bucket.M2), (90, Bucket.M3)):
        whens.append(f"WHEN {dpd} <= {upper} THEN '{bucket.value}'")
    assert Bucket.for_dpd(91) == Bucket.M4
    return f"(CASE {' '.join(whens)} ELSE '{Bucket.M4.value}' END)"


@dataclass(frozen=True)
class ChunkParams:
    on: datetime.date
    lo: int
    hi: int
    grace_days: int
    daily_rate_ppm: int
    cap_rate_ppm: int
    cap_amount_fen: int

    def as_dict(self) -> dict:
        return {
            "on": self.on.isoformat(),
            "lo": self.lo,
            "hi": self.hi,
            "grace": self.grace_days,
            "rate": self.daily_rate_ppm,
            "cap_rate": self.cap_rate_ppm,
            "cap_amount": self.cap_amount_fen,
        }


def status_updates(d: Dialect) -> list[str]:
    """Unpaid instalments due before D become overdue; due on D become due. Changed rows only."""
    on = d.date_param()
    return [
        f"""UPDATE orders_installment SET status = 'overdue'
            WHERE customer_id >= %(lo)s AND customer_id < %(hi)s
              AND status IN ('scheduled', 'due') AND due_date < {on}""",
        f"""UPDATE orders_installment SET status = 'due'
            WHERE customer_id >= %(lo)s AND customer_id < %(hi)s
              AND status = 'scheduled' AND due_date = {on}""",
    ]


def late_fee_update(d: Dialect) -> str:
    """Accrue late fees through D: simple daily interest on unpaid principal, capped per order.

    Fee days are counted in the order's own time (due date + days on hold), from the first
    day after grace up to D, minus the days already accrued (late_fee_through): so a second
    run for D adds nothing and a missed day is caught up once. The cap per order is the
    smaller of a share of the principal and a fixed amount; the day that reaches it adds
    only what is left, oldest instalment first (a running sum per order). The principal is the
    order's as it stands (a partial return lowers it), as in orders.demo.late_fee_accrue.
    """
    on, g, lst = d.date_param(), d.greatest, d.least
    dpd = d.days(on, "i.due_date") + " - i.hold_days"
    through_dpd = d.days("i.late_fee_through", "i.due_date") + " - i.hold_days"
    fen = d.fen
    return f"""
    WITH cand AS (
        SELECT i.id, i.order_id, i.due_date, i.sequence,
               {g}(0, ({dpd}) - {g}(%(grace)s, COALESCE({through_dpd}, %(grace)s))) AS fee_days,
               ({fen("i.principal_due")} - {fen("i.principal_paid")}) AS unpaid_fen
        FROM orders_installment i
        JOIN orders_order o ON o.id = i.order_id
        WHERE i.customer_id >= %(lo)s AND i.customer_id < %(hi)s
          AND i.status = 'overdue' AND o.hold = ''
          AND i.principal_due > i.principal_paid
    ),
    proposed AS (
        SELECT id, order_id, due_date, sequence,
               fee_days * ((unpaid_fen * %(rate)s + 500000) / 1000000) AS fee_fen
        FROM cand WHERE fee_days > 0
    ),
    room AS (
        SELECT o.id AS order_id,
               {lst}(%(cap_amount)s, ({d.int_sum(fen("x.principal_due"))} * %(cap_rate)s + 500000) / 1000000)
                 - {d.int_sum(fen("x.late_fee_due"))} AS room_fen
        FROM orders_order o
        JOIN orders_installment x ON x.order_id = o.id
        WHERE o.id IN (SELECT order_id FROM proposed)
        GROUP BY o.id
    ),
    capped AS (
        SELECT p.id, p.fee_fen, r.room_fen,
               SUM(p.fee_fen) OVER (
                   PARTITION BY p.order_id ORDER BY p.due_date, p.sequence
                   ROWS UNBOUNDED PRECEDING
               ) AS running_fen
        FROM proposed p JOIN room r ON r.order_id = p.order_id
    ),
    adds AS (
        SELECT id, {g}(0, {lst}(fee_fen, room_fen - (running_fen - fee_fen))) AS add_fen
        FROM capped
    )
    UPDATE orders_installment
       SET late_fee_due = {d.yuan(f"{fen('orders_installment.late_fee_due')} + adds.add_fen")},
           late_fee_through = {on}
      FROM adds
     WHERE orders_installment.id = adds.id AND adds.add_fen > 0
    """


def ageing_select(d: Dialect) -> str:
    """Per customer with unpaid overdue money not on hold: days past due of the oldest instalment."""
    on = d.date_param()
    return f"""
        SELECT i.customer_id, MAX({d.days(on, "i.due_date")} - i.hold_days) AS dpd
        FROM orders_installment i JOIN orders_order o ON o.id = i.order_id
        WHERE i.customer_id >= %(lo)s AND i.customer_id < %(hi)s
          AND i.status = 'overdue' AND o.hold = ''
        GROUP BY i.customer_id
    """

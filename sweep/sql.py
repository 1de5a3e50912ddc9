"""The sweep's set-based SQL, for PostgreSQL and SQLite, over one chunk of customers.

Money is computed in integer fen inside SQL: SQLite keeps decimals as binary floating
point, and integer arithmetic makes both databases round exactly alike. A rate enters as an
integer in millionths (RateField has six places), so `fen * rate_ppm + 500000` divided by a
million is the half-up rounding of DESIGN.md, done once per day's fee.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import models

from orders.models import UNPAID_INSTALLMENT_STATUSES, Hold, Installment, InstallmentStatus, Order


class _Names:
    """A model's table and column names as the database knows them: `table` is its db_table,
    any other attribute the column of the field of that name (a foreign key's `customer_id`)."""

    def __init__(self, model: type[models.Model]):
        self._model = model
        self.table = model._meta.db_table

    def __getattr__(self, field: str) -> str:
        return self._model._meta.get_field(field).column


def _literal(value: str) -> str:
    """A choice value as an SQL string literal (choices are code, never user input)."""
    assert "'" not in value and "\\" not in value, value
    return f"'{value}'"


I = _Names(Installment)  # noqa: E741 (the alias the SQL below gives the table)
O = _Names(Order)  # noqa: E741
UNPAID = "(" + ", ".join(_literal(status) for status in UNPAID_INSTALLMENT_STATUSES) + ")"
OVERDUE = _literal(InstallmentStatus.OVERDUE)
DUE = _literal(InstallmentStatus.DUE)
NOT_HELD = _literal(Hold.NONE)


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


@dataclass(frozen=True)
class ChunkParams:
    on: datetime.date
    lo: int
    hi: int
    grace_days: int
    daily_rate_ppm: int
    cap_rate_ppm: int
    cap_amount_fen: int
    # Days since the policy in force on D took effect: a row charged for more days than this
    # spans a change of terms and is charged day by day (see _daily_changes).
    policy_days: int = 1_000_000

    def as_dict(self) -> dict:
        return {
            "on": self.on.isoformat(),
            "lo": self.lo,
            "hi": self.hi,
            "grace": self.grace_days,
            "rate": self.daily_rate_ppm,
            "cap_rate": self.cap_rate_ppm,
            "cap_amount": self.cap_amount_fen,
            "policy_days": self.policy_days,
        }


# The instalments the day may change: unpaid and due by D, in the chunk's customers.
#
# PostgreSQL takes status and due date as independent and expects some 35,000 of them in a
# chunk of 10,000 customers where there are about 3,000 (most unpaid instalments are not due
# yet); so misled, it hash-joins the whole order table and the whole instalment table
# (2 s a chunk instead of 0.1 s). Two things keep it on the indexes: an order's hold is
# looked up per candidate by a scalar subquery (a primary-key lookup, never a join it could
# turn into a scan), and the UPDATE repeats this condition on its target, so the target
# side is the chunk's own index scan rather than the table.
def _candidate(t: str, on: str) -> str:
    return (
        f"{t}.{I.customer} >= %(lo)s AND {t}.{I.customer} < %(hi)s "
        f"AND {t}.{I.status} IN {UNPAID} AND {t}.{I.due_date} <= {on}"
    )


def _daily_changes(d: Dialect) -> str:
    """The day's change to each unpaid instalment due by D, as a CTE named `changes`
    (id, order_id, status, new_status, add_fen, by_day): the status it takes on D and the
    late fee it accrues, or by_day = 1 when its order's late fees must be charged day by day.

    Statuses: due before D is overdue, due on D is due. Late fees accrue by DESIGN.md: simple
    daily interest on the unpaid principal, for the fee days counted in the order's own time
    (due date + days on hold) from the first day after grace up to D, minus the days already
    accrued (late_fee_through): so a second run for D adds nothing and a missed day is caught
    up once. The cap per order is the smaller of a share of its principal and a fixed amount;
    the day that reaches it adds only what is left, oldest instalment first (a running sum per
    order). Orders on hold change status but accrue nothing.

    Charging several missed days at once (fee days × one day's fee) is the day-by-day rule of
    orders.ledger.late_fee_day exactly when every one of those days had the same principal,
    the same terms and room under the cap. The principal: a money event on a missed day first
    catches its customer up (orders.services.customer_catch_up), so no event falls inside a
    gap. The other two are checked here: an order with a row of more than one fee day whose
    fees together pass the room left under the cap (the cap is reached inside the gap and the
    room must be shared day by day), or whose fee days reach back before the policy in force
    on D took effect, gets by_day = 1 and add_fen = 0 on every row; the sweep then charges it
    with orders.ledger (sweep.services). Only rows with a fee count (a principal so small that
    a day's fee rounds to nothing is never charged, so its fee days only grow). A one-night
    run never has more than one fee day a row, so it never leaves SQL.
    """
    on, g, lst = d.date_param(), d.greatest, d.least
    dpd = d.days(on, f"i.{I.due_date}") + f" - i.{I.hold_days}"
    through_dpd = d.days(f"i.{I.late_fee_through}", f"i.{I.due_date}") + f" - i.{I.hold_days}"
    fen = d.fen
    principal_sum = d.int_sum(fen(f"x.{I.principal_due}"))
    late_fee_sum = d.int_sum(fen(f"x.{I.late_fee_due}"))
    return f"""
    WITH cand AS (
        SELECT i.{I.id} AS id, i.{I.order} AS order_id, i.{I.due_date} AS due_date,
               i.{I.sequence} AS sequence, i.{I.status} AS status,
               CASE WHEN i.{I.due_date} < {on} THEN {OVERDUE} ELSE {DUE} END AS new_status,
               CASE WHEN i.{I.due_date} < {on} AND i.{I.principal_due} > i.{I.principal_paid}
                         AND (SELECT o.{O.hold} FROM {O.table} o WHERE o.{O.id} = i.{I.order}) = {NOT_HELD}
                    THEN {g}(0, ({dpd}) - {g}(%(grace)s, COALESCE({through_dpd}, %(grace)s)))
                    ELSE 0 END AS fee_days,
               ({fen(f"i.{I.principal_due}")} - {fen(f"i.{I.principal_paid}")}) AS unpaid_fen
        FROM {I.table} i
        WHERE {_candidate("i", on)}
    ),
    proposed AS (
        SELECT id, order_id, due_date, sequence, status, new_status,
               fee_days,
               fee_days * ((unpaid_fen * %(rate)s + 500000) / 1000000) AS fee_fen
        FROM cand
    ),
    room AS (
        SELECT o.{O.id} AS order_id,
               {lst}(%(cap_amount)s, ({principal_sum} * %(cap_rate)s + 500000) / 1000000)
                 - {late_fee_sum} AS room_fen
        FROM {O.table} o
        JOIN {I.table} x ON x.{I.order} = o.{O.id}
        WHERE o.{O.id} IN (SELECT order_id FROM proposed WHERE fee_fen > 0)
        GROUP BY o.{O.id}
    ),
    capped AS (
        SELECT p.id, p.order_id, p.status, p.new_status, p.fee_fen, r.room_fen,
               SUM(p.fee_fen) OVER (
                   PARTITION BY p.order_id ORDER BY p.due_date, p.sequence
                   ROWS UNBOUNDED PRECEDING
               ) AS running_fen,
               SUM(p.fee_fen) OVER (PARTITION BY p.order_id) AS order_fen,
               MAX(CASE WHEN p.fee_fen > 0 THEN p.fee_days ELSE 0 END) OVER (PARTITION BY p.order_id)
                 AS order_days
        FROM proposed p LEFT JOIN room r ON r.order_id = p.order_id
    ),
    flagged AS (
        SELECT id, order_id, status, new_status, fee_fen, room_fen, running_fen,
               CASE WHEN order_days > 1 AND room_fen > 0
                         AND (order_fen > room_fen OR order_days > %(policy_days)s)
                    THEN 1 ELSE 0 END AS by_day
        FROM capped
    ),
    changes AS (
        SELECT id, order_id, status, new_status, by_day,
               CASE WHEN fee_fen > 0 AND by_day = 0
                    THEN {g}(0, {lst}(fee_fen, room_fen - (running_fen - fee_fen)))
                    ELSE 0 END AS add_fen
        FROM flagged
    )
    """


def daily_update(d: Dialect) -> str:
    """Write the day's statuses and late fees (see _daily_changes), touching only the rows that
    change (and the rows of orders to charge day by day). On PostgreSQL it returns (old status,
    new status, fee added, order, by day) per row written, for
    the chunk's counts; SQLite's RETURNING cannot name the CTE, so daily_changes_select counts
    there first."""
    on = d.date_param()
    fen = d.fen
    t = I.table
    returning = (
        " RETURNING changes.status, changes.new_status, changes.add_fen > 0, changes.order_id, changes.by_day"
        if d.pg
        else ""
    )
    return (
        _daily_changes(d)
        + f"""
    UPDATE {t}
       SET {I.status} = changes.new_status,
           {I.late_fee_due} = CASE WHEN changes.add_fen > 0
                               THEN {d.yuan(f"{fen(f'{t}.{I.late_fee_due}')} + changes.add_fen")}
                               ELSE {t}.{I.late_fee_due} END,
           {I.late_fee_through} = CASE WHEN changes.add_fen > 0 THEN {on}
                                   ELSE {t}.{I.late_fee_through} END
      FROM changes
     WHERE {t}.{I.id} = changes.id
       AND (changes.status <> changes.new_status OR changes.add_fen > 0 OR changes.by_day = 1)
       AND {_candidate(t, on)}
    """
        + returning
    )


def daily_changes_select(d: Dialect) -> str:
    """What daily_update will write, as (old status, new status, fee added, order, by day) rows."""
    return (
        _daily_changes(d)
        + """
    SELECT status, new_status, add_fen > 0, order_id, by_day FROM changes
     WHERE status <> new_status OR add_fen > 0 OR by_day = 1
    """
    )


def ageing_select(d: Dialect) -> str:
    """Per customer with overdue money: days past due of the oldest overdue instalment not on
    hold, NULL when every overdue instalment is on hold (the customer still owes: a case stays
    open, but does not age)."""
    dpd = d.days(d.date_param(), f"i.{I.due_date}") + f" - i.{I.hold_days}"
    return f"""
        SELECT i.{I.customer} AS customer_id,
               MAX(CASE WHEN o.{O.hold} = {NOT_HELD} THEN {dpd} END) AS dpd
        FROM {I.table} i JOIN {O.table} o ON o.{O.id} = i.{I.order}
        WHERE i.{I.customer} >= %(lo)s AND i.{I.customer} < %(hi)s
          AND i.{I.status} = {OVERDUE}
        GROUP BY i.{I.customer}
    """

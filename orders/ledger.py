"""Pure money rules on in-memory instalments: schedules, allocation order, status.

No database access here, so the services, the demo seeder and the property tests apply
exactly the same rule; the services add locking and persistence around it.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bnpl_admin.money import CENT, ZERO, apply_rate, split_evenly

from .models import Component, Installment, InstallmentStatus

# Within an instalment a payment pays late fee, then fee, then principal (DESIGN.md).
ALLOCATION_ORDER = (Component.LATE_FEE, Component.FEE, Component.PRINCIPAL)
PAID_FIELD = {
    Component.LATE_FEE: "late_fee_paid",
    Component.FEE: "fee_paid",
    Component.PRINCIPAL: "principal_paid",
}


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ScheduleLine:
    sequence: int
    due_date: datetime.date
    principal: Decimal
    fee: Decimal


def schedule_lines(
    *,
    principal: Decimal,
    fee_rate: Decimal,
    installments: int,
    delivered_on: datetime.date,
    trial_days: int,
) -> list[ScheduleLine]:
    """The repayment schedule of an order: parts that add up exactly to principal and fee.

    Pay later (one instalment) falls due `trial_days` after delivery; instalment plans fall
    due monthly from the delivery date.
    """
    fee = apply_rate(principal, fee_rate)
    principals = split_evenly(principal, installments)
    fees = split_evenly(fee, installments)
    if installments == 1:
        due_dates = [delivered_on + datetime.timedelta(days=trial_days)]
    else:
        due_dates = [add_months(delivered_on, k) for k in range(1, installments + 1)]
    return [
        ScheduleLine(sequence=k + 1, due_date=due_dates[k], principal=principals[k], fee=fees[k])
        for k in range(installments)
    ]


@dataclass(frozen=True)
class AllocationLine:
    installment: Installment
    component: Component
    amount: Decimal


def allocate(amount: Decimal, installments: Sequence[Installment]) -> tuple[list[AllocationLine], Decimal]:
    """Pay `amount` into `installments` (given oldest due first) and return the lines and what is left.

    The instalments' paid fields are updated in memory; the caller saves them.
    """
    if amount < ZERO:
        raise ValueError("cannot allocate a negative amount")
    left = amount
    lines: list[AllocationLine] = []
    for installment in installments:
        for component in ALLOCATION_ORDER:
            if left == ZERO:
                return lines, left
            owed = installment.outstanding(component)
            take = min(owed, left)
            if take > ZERO:
                field = PAID_FIELD[component]
                setattr(installment, field, getattr(installment, field) + take)
                lines.append(AllocationLine(installment, component, take))
                left -= take
    return lines, left


def allocation_order(installments: Iterable[Installment]) -> list[Installment]:
    """Oldest due date first; ties broken by order and sequence so the order is stable."""
    return sorted(installments, key=lambda i: (i.due_date, i.order_id, i.sequence))


def status_on(installment: Installment, on: datetime.date) -> InstallmentStatus:
    """The status an instalment should have on business date `on`, from its amounts and dates."""
    if installment.status in (
        InstallmentStatus.WRITTEN_OFF,
        InstallmentStatus.WAIVED,
        InstallmentStatus.RESTRUCTURED,
    ):
        return InstallmentStatus(installment.status)
    if installment.total_outstanding == ZERO:
        return InstallmentStatus.PAID
    if installment.due_date > on:
        return InstallmentStatus.SCHEDULED
    if installment.due_date == on:
        return InstallmentStatus.DUE
    return InstallmentStatus.OVERDUE


def prorate(amount: Decimal, numerator: Decimal, denominator: Decimal) -> Decimal:
    """amount × numerator / denominator, rounded half-up to the fen once."""
    if denominator == ZERO:
        return ZERO
    return (amount * numerator / denominator).quantize(CENT, rounding=ROUND_HALF_UP)


# --- Late fees (DESIGN.md, "Late fees"): the one day-by-day rule -----------------------------
#
# The nightly sweep's set-based SQL (sweep/sql.py) is this rule charged for several days at once;
# it routes the orders where that could differ (a caught-up gap that reaches the cap, or spans
# a policy change) here. The services, the demo seeder, the benchmark and the tests use it too.

ONE_DAY = datetime.timedelta(days=1)
LATE_FEE_STATUSES = (InstallmentStatus.SCHEDULED, InstallmentStatus.DUE, InstallmentStatus.OVERDUE)


@dataclass(frozen=True)
class LateFeeTerms:
    """The late-fee values of one policy version."""

    grace_days: int
    daily_rate: Decimal
    cap_rate: Decimal
    cap_amount: Decimal

    @classmethod
    def from_policy(cls, policy) -> LateFeeTerms:
        return cls(
            grace_days=policy.late_fee_grace_days,
            daily_rate=policy.late_fee_daily_rate,
            cap_rate=policy.late_fee_cap_rate,
            cap_amount=policy.late_fee_cap_amount,
        )

    def daily_fee(self, unpaid_principal: Decimal) -> Decimal:
        """One day's late fee on an unpaid principal, rounded half-up to the fen for that day."""
        return apply_rate(unpaid_principal, self.daily_rate)

    def cap(self, order_principal: Decimal) -> Decimal:
        """The most late fee an order may carry: min(cap rate × its principal, cap amount)."""
        return min(apply_rate(order_principal, self.cap_rate), self.cap_amount)


def days_past_due(installment: Installment, on: datetime.date) -> int:
    """Days past due on business date `on`, in the order's own time (days on hold not counted)."""
    return (on - installment.due_date).days - installment.hold_days


def late_fee_days(installment: Installment, on: datetime.date, grace_days: int) -> int:
    """The fee days the instalment has not been charged for up to `on`: past grace and after
    the last day charged (`late_fee_through`, which a closed hold moves on by its days)."""
    if installment.late_fee_through is None:
        charged_to = grace_days
    else:
        charged_to = max(grace_days, days_past_due(installment, installment.late_fee_through))
    return max(0, days_past_due(installment, on) - charged_to)


def _accrues(installment: Installment, on: datetime.date) -> bool:
    return (
        installment.status in LATE_FEE_STATUSES
        and installment.due_date < on
        and installment.principal_due > installment.principal_paid
    )


def late_fee_day(*, installments: Sequence[Installment], on: datetime.date, terms: LateFeeTerms) -> Decimal:
    """The sweep for business date `on` on one order's instalments (all of them): the late fee
    of that one day. The order must not be on hold on `on`; the caller leaves it out.

    Each unpaid instalment past due and past grace that was not yet charged for `on` adds its
    unpaid principal × the daily rate, rounded half-up; the order's late fees (paid ones
    included) never pass the cap, and the day that reaches it adds only what is left, oldest
    instalment first. An instalment charged a fee is accrued through `on`. The instalments are
    changed in memory; the amount added is returned.
    """
    ordered = sorted(installments, key=lambda i: (i.due_date, i.sequence))
    room: Decimal | None = None
    added = ZERO
    for installment in ordered:
        if not _accrues(installment, on) or late_fee_days(installment, on, terms.grace_days) == 0:
            continue
        if room is None:
            room = terms.cap(sum((i.principal_due for i in ordered), ZERO)) - sum(
                (i.late_fee_due for i in ordered), ZERO
            )
        fee = min(terms.daily_fee(installment.principal_due - installment.principal_paid), room)
        if fee <= ZERO:
            continue
        installment.late_fee_due += fee
        installment.late_fee_through = on
        room -= fee
        added += fee
    return added


def late_fee_accrue(
    *,
    installments: Sequence[Installment],
    through: datetime.date,
    terms_on: Callable[[datetime.date], LateFeeTerms],
    since: datetime.date | None = None,
) -> Decimal:
    """late_fee_day for every business date after `since` up to `through`, one day at a time,
    with the terms in force on each day: what sweeping every night would have charged, when
    nothing changed the order's money in between. Without `since`, from the earliest day any
    instalment could still be charged for. The order must not have been on hold meanwhile."""
    pending = [i for i in installments if _accrues(i, through)]
    if not pending:
        return ZERO
    if since is None:
        since = min(i.late_fee_through or i.due_date for i in pending)
    added = ZERO
    day = since + ONE_DAY
    while day <= through:
        added += late_fee_day(installments=installments, on=day, terms=terms_on(day))
        day += ONE_DAY
    return added


# --- Restructures (settlements app): what is left of an order, over a new schedule -----------

RESTRUCTURE_MONTHS = (3, 6, 12)  # the lengths of the instalment plans (models.Plan)


@dataclass(frozen=True)
class RestructureLine:
    sequence: int
    due_date: datetime.date
    principal: Decimal
    fee: Decimal
    late_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.fee + self.late_fee


def restructure_lines(
    *,
    principal: Decimal,
    fee: Decimal,
    late_fee: Decimal,
    months: int,
    start: datetime.date,
    first_sequence: int = 1,
) -> list[RestructureLine]:
    """A new monthly schedule of what is left to pay, by the schedule rule (DESIGN.md, "Money"):
    each component split evenly (rounded down to the fen, the first line takes what is left),
    due monthly from `start`. The lines add up exactly to each component."""
    if months not in RESTRUCTURE_MONTHS:
        raise ValueError(f"a restructure is over {RESTRUCTURE_MONTHS} months, not {months}")
    principals = split_evenly(principal, months)
    fees = split_evenly(fee, months)
    late_fees = split_evenly(late_fee, months)
    return [
        RestructureLine(
            sequence=first_sequence + k,
            due_date=add_months(start, k + 1),
            principal=principals[k],
            fee=fees[k],
            late_fee=late_fees[k],
        )
        for k in range(months)
    ]

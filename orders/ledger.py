"""Pure money rules on in-memory instalments: schedules, allocation order, status.

No database access here, so the services, the demo seeder and the property tests apply
exactly the same rule; the services add locking and persistence around it.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable, Sequence
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
    if installment.status in (InstallmentStatus.WRITTEN_OFF, InstallmentStatus.WAIVED):
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

"""The naive reference: the daily status and late-fee rules as a per-instalment ORM loop.

This is how the sweep would look written the obvious way: every instalment of the customers
loaded and looked at, each unpaid one given its status and late fee and saved with save()
(and so a history row and an audit event each, as every save() of an instalment writes),
with a query per instalment for the order's cap. It exists only to measure what the
set-based sweep gains; it must reach the same figures.

`changed_only=True` is a kinder loop, closer to what a careful first version would be: it
asks SQL for the unpaid instalments only and saves only those whose status or fee changes.
The benchmark reports both (docs/performance.md).
"""

from __future__ import annotations

import datetime

from django.db.models import Sum

from bnpl_admin.money import ZERO, apply_rate
from orders.models import UNPAID_INSTALLMENT_STATUSES, Installment, InstallmentStatus
from policy.selectors import policy_in_force


def naive_sweep(
    *, on: datetime.date, customer_from: int, customer_to: int, changed_only: bool = False
) -> int:
    """Statuses and late fees for `on` over the customers with ids in [customer_from,
    customer_to), instalment by instalment; the number of instalments saved."""
    policy = policy_in_force(on=on)
    grace = policy.late_fee_grace_days
    saved = 0
    rows = Installment.objects.filter(customer_id__gte=customer_from, customer_id__lt=customer_to)
    if changed_only:
        rows = rows.filter(status__in=UNPAID_INSTALLMENT_STATUSES)
    # Oldest first within an order: the day that reaches the cap gives the older the room.
    rows = rows.select_related("order").order_by("order_id", "due_date", "sequence")
    for installment in rows:
        if installment.status not in UNPAID_INSTALLMENT_STATUSES:
            continue
        if installment.due_date < on:
            status = InstallmentStatus.OVERDUE
        elif installment.due_date == on:
            status = InstallmentStatus.DUE
        else:
            status = InstallmentStatus.SCHEDULED
        fee = ZERO
        unpaid = installment.principal_due - installment.principal_paid
        if status == InstallmentStatus.OVERDUE and not installment.order.hold and unpaid > ZERO:
            days_past_due = (on - installment.due_date).days - installment.hold_days
            accrued_to = grace
            if installment.late_fee_through is not None:
                through = (installment.late_fee_through - installment.due_date).days - installment.hold_days
                accrued_to = max(grace, through)
            fee_days = max(0, days_past_due - accrued_to)
            if fee_days:
                # The order's principal as it stands (a partial return lowers it) and the late
                # fees already on it, paid instalments included.
                order = Installment.objects.filter(order_id=installment.order_id).aggregate(
                    principal=Sum("principal_due"), late_fees=Sum("late_fee_due")
                )
                cap = min(
                    policy.late_fee_cap_amount, apply_rate(order["principal"], policy.late_fee_cap_rate)
                )
                daily = apply_rate(unpaid, policy.late_fee_daily_rate)
                fee = max(ZERO, min(daily * fee_days, cap - order["late_fees"]))
        if not changed_only or status != installment.status or fee > ZERO:
            installment.status = status
            if fee > ZERO:
                installment.late_fee_due += fee
                installment.late_fee_through = on
            installment.save()
            saved += 1
    return saved

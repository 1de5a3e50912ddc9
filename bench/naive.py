"""The naive reference: the daily status and late-fee rules as a per-instalment ORM loop.

This is how the sweep would look written the obvious way: every instalment of the customers
loaded and looked at, each unpaid one given its status and late fee and saved with save()
(and so a history row and an audit event each, as every save() of an instalment writes),
with a query per order for the late-fee rule of orders.ledger, charged day by day. It exists
only to measure what the set-based sweep gains; it must reach the same figures.

`changed_only=True` is a kinder loop, closer to what a careful first version would be: it
asks SQL for the unpaid instalments only and saves only those whose status or fee changes.
The benchmark reports both (docs/performance.md).
"""

from __future__ import annotations

import datetime

from bnpl_admin.money import ZERO
from orders.ledger import LateFeeTerms, late_fee_accrue, late_fee_days
from orders.models import UNPAID_INSTALLMENT_STATUSES, Installment, InstallmentStatus
from policy.selectors import policy_in_force


def naive_sweep(
    *, on: datetime.date, customer_from: int, customer_to: int, changed_only: bool = False
) -> int:
    """Statuses and late fees for `on` over the customers with ids in [customer_from,
    customer_to), instalment by instalment; the number of instalments saved."""
    policy = policy_in_force(on=on)
    terms = LateFeeTerms.from_policy(policy)
    grace = policy.late_fee_grace_days
    saved = 0
    # What orders.ledger gives each instalment of an order, computed at its first instalment.
    charged: dict[int, tuple] = {}
    rows = Installment.objects.filter(customer_id__gte=customer_from, customer_id__lt=customer_to)
    if changed_only:
        rows = rows.filter(status__in=UNPAID_INSTALLMENT_STATUSES)
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
        fee, through = ZERO, installment.late_fee_through
        unpaid = installment.principal_due - installment.principal_paid
        if status == InstallmentStatus.OVERDUE and not installment.order.hold and unpaid > ZERO:
            if late_fee_days(installment, on, grace) and installment.pk not in charged:
                # The rule in orders.ledger, over the whole order (the cap counts every instalment,
                # paid ones too), for the days not yet charged: a query per order.
                order = list(Installment.objects.filter(order_id=installment.order_id))
                days = max(late_fee_days(i, on, grace) for i in order)
                late_fee_accrue(
                    installments=order,
                    since=on - datetime.timedelta(days=days),
                    through=on,
                    terms_on=lambda day: terms,
                )
                charged.update({i.pk: (i.late_fee_due, i.late_fee_through) for i in order})
            if installment.pk in charged:
                new_fee, through = charged[installment.pk]
                fee = new_fee - installment.late_fee_due
        if not changed_only or status != installment.status or fee > ZERO:
            installment.status = status
            if fee > ZERO:
                installment.late_fee_due += fee
                installment.late_fee_through = through
            installment.save()
            saved += 1
    return saved

"""Every read about money that matters: balances, credit, what a payment paid for."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import CreditLineStatus, Customer
from bnpl_admin.money import CENT, ZERO

from .ledger import restructure_lines
from .models import (
    OPEN_ORDER_STATUSES,
    OUTSTANDING,
    OUTSTANDING_BY_COMPONENT,
    UNPAID_INSTALLMENT_STATUSES,
    Component,
    Installment,
    InstallmentStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
)

MONEY = DecimalField(max_digits=14, decimal_places=2)


def _sum(expression, **extra) -> Coalesce:
    return Coalesce(Sum(expression, **extra), Value(ZERO), output_field=MONEY)


def _cents(value) -> Decimal:
    """An aggregate read back as exact money.

    SQLite sums and subtracts decimals in floating point and Django hands back the float's
    digits (350.00 − 340.53 comes back as 9.47000000000003), so every computed amount is
    brought back to the fen here, once. On PostgreSQL the value is exact and this is a no-op.
    """
    return Decimal(value).quantize(CENT)


def payments_with_credit(*, customer: Customer) -> list[Payment]:
    """The customer's posted payments with unapplied credit, oldest first, `credit_available` set."""
    payments = list(
        Payment.objects.filter(customer=customer, status=PaymentStatus.POSTED)
        .annotate(allocated=_sum("allocations__amount"))
        .annotate(credit_available=F("amount") - F("allocated"))
        .filter(credit_available__gt=0)
        .order_by("received_at", "id")
    )
    for payment in payments:
        payment.allocated = _cents(payment.allocated)
        payment.credit_available = _cents(payment.credit_available)
    # On SQLite a spent payment can come back with 1e-14 of "credit"; it has none.
    return [payment for payment in payments if payment.credit_available > ZERO]


def customer_credit_balance(*, customer: Customer) -> Decimal:
    """Money received and not yet applied: sum over posted payments of amount − net allocations."""
    return sum((p.credit_available for p in payments_with_credit(customer=customer)), ZERO)


def allocations_net(*, payment: Payment) -> dict[tuple[int, str], Decimal]:
    """What a payment has paid, net of earlier refunds, per (instalment id, component)."""
    net: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    rows = (
        PaymentAllocation.objects.filter(payment=payment)
        .values("installment_id", "component")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        net[(row["installment_id"], row["component"])] += _cents(row["total"])
    return {key: amount for key, amount in net.items() if amount > ZERO}


def allocation_sources(*, installment: Installment, component: str) -> list[tuple[int, Decimal]]:
    """The payments that paid a component, net, latest first: [(payment id, amount)]."""
    rows = (
        PaymentAllocation.objects.filter(installment=installment, component=component)
        .values("payment_id")
        .annotate(total=Sum("amount"))
        .filter(total__gt=0)
        .order_by("-payment_id")
    )
    sources = [(row["payment_id"], _cents(row["total"])) for row in rows]
    return [(payment_id, amount) for payment_id, amount in sources if amount > ZERO]


def outstanding_principal(*, customer: Customer) -> Decimal:
    """Principal of the customer's open orders not yet repaid: what the credit line carries."""
    scheduled = Installment.objects.filter(
        order__customer=customer, order__status__in=OPEN_ORDER_STATUSES
    ).aggregate(due=_sum("principal_due"), paid=_sum("principal_paid"))
    # Orders not yet delivered have no schedule: their whole amount counts.
    undelivered = Order.objects.filter(
        customer=customer, status__in=OPEN_ORDER_STATUSES, installments__isnull=True
    ).aggregate(total=_sum("amount"))["total"]
    return _cents(undelivered) + _cents(scheduled["due"]) - _cents(scheduled["paid"])


def credit_available(*, customer: Customer) -> Decimal:
    """Limit minus outstanding principal of open orders; never below zero; zero when not active."""
    line = getattr(customer, "credit_line", None)
    if line is None or line.status != CreditLineStatus.ACTIVE:
        return ZERO
    return max(line.limit - outstanding_principal(customer=customer), ZERO)


def customer_balance(*, customer: Customer) -> dict[str, Decimal]:
    """What the customer owes now, by component, and their credit balance."""
    totals = Installment.objects.filter(customer=customer, status__in=UNPAID_INSTALLMENT_STATUSES).aggregate(
        principal=_sum(OUTSTANDING_BY_COMPONENT[Component.PRINCIPAL]),
        fee=_sum(OUTSTANDING_BY_COMPONENT[Component.FEE]),
        late_fee=_sum(OUTSTANDING_BY_COMPONENT[Component.LATE_FEE]),
        overdue=_sum(OUTSTANDING, filter=Q(status=InstallmentStatus.OVERDUE)),
    )
    totals = {name: _cents(amount) for name, amount in totals.items()}
    totals["credit_balance"] = customer_credit_balance(customer=customer)
    return totals


# Where else a customer's books are kept up: the nightly sweep, an app above this one, adds
# its record here when it loads (sweep.apps.SweepConfig.ready), so orders needs no import of it.
# Each source answers the last business date it has done for the customer, or None.
BooksSource = Callable[[Customer], "datetime.date | None"]
_books_sources: list[BooksSource] = []


def books_source_add(source: BooksSource) -> None:
    """Adds a source of books_through (once; adding it again changes nothing)."""
    if source not in _books_sources:
        _books_sources.append(source)


def books_through(*, customer: Customer) -> datetime.date | None:
    """The last business date whose sweep work is done for this customer: the latest sweep
    that covered them (or ran before they existed; sweep.selectors.customer_swept_through), or
    a money event's catch-up, whichever is later. None when no sweep has ever run: then there
    are no nightly books to keep up."""
    dates = [customer.books_through, *(source(customer) for source in _books_sources)]
    dates = [d for d in dates if d is not None]
    return max(dates) if dates else None


# --- Settlements and restructures (the settlements app) -------------------------------------

# The books a settlement or restructure works on: unpaid instalments of delivered orders that
# are not on hold (a return or a dispute pauses collection on its order, DESIGN.md).
SETTLEABLE = Q(status__in=UNPAID_INSTALLMENT_STATUSES, order__status=OrderStatus.DELIVERED, order__hold="")


def customer_settleable_balance(*, customer: Customer) -> dict[str, Decimal]:
    """What a settlement or restructure of this customer works on now, by component
    (principal, fee, late_fee) and in all (total); orders on hold are left out."""
    totals = Installment.objects.filter(SETTLEABLE, customer=customer).aggregate(
        principal=_sum(OUTSTANDING_BY_COMPONENT[Component.PRINCIPAL]),
        fee=_sum(OUTSTANDING_BY_COMPONENT[Component.FEE]),
        late_fee=_sum(OUTSTANDING_BY_COMPONENT[Component.LATE_FEE]),
    )
    totals = {name: _cents(amount) for name, amount in totals.items()}
    totals["total"] = totals["principal"] + totals["fee"] + totals["late_fee"]
    return totals


def order_restructure_plan(*, order: Order, months: int, on: datetime.date) -> tuple[list, list]:
    """What order_restructure would do, without writing: (the unpaid instalments it closes,
    the new schedule's lines). The instalments are the caller's (locked, for a restructure)."""
    unpaid = list(
        Installment.objects.filter(order=order, status__in=UNPAID_INSTALLMENT_STATUSES).order_by("sequence")
    )
    last = order.installments.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    lines = restructure_lines(
        principal=sum((i.outstanding(Component.PRINCIPAL) for i in unpaid), ZERO),
        fee=sum((i.outstanding(Component.FEE) for i in unpaid), ZERO),
        late_fee=sum((i.outstanding(Component.LATE_FEE) for i in unpaid), ZERO),
        months=months,
        start=on,
        first_sequence=last + 1,
    )
    return unpaid, lines


def settleable_orders(*, customer: Customer) -> list[Order]:
    """The customer's orders a restructure works on: delivered, not on hold, with money left."""
    return list(
        Order.objects.filter(
            pk__in=Installment.objects.filter(SETTLEABLE, customer=customer).values("order_id")
        ).order_by("pk")
    )


def customer_orders(*, customer: Customer, limit: int) -> list[Order]:
    """The customer's orders, newest first, at most `limit`, in one query."""
    return list(
        Order.objects.filter(customer=customer)
        .select_related("merchant")
        .order_by("-placed_at", "-id")[:limit]
    )

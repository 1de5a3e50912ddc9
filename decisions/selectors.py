"""Reads of the decisions app: what the rules read (a fixed number of queries), the review queue."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Customer
from bnpl_admin.dates import business_date
from bnpl_admin.money import CENT, ZERO
from orders.models import (
    OPEN_ORDER_STATUSES,
    OUTSTANDING,
    UNPAID_INSTALLMENT_STATUSES,
    Installment,
    Merchant,
    Order,
    OrderStatus,
)

from .models import OrderDecision
from .rules import Inputs

MONEY = DecimalField(max_digits=14, decimal_places=2)
DAY = datetime.timedelta(hours=24)
WEEK = datetime.timedelta(days=7)
BURDEN_DAYS = 30


def _sum(expression, **extra) -> Coalesce:
    return Coalesce(Sum(expression, **extra), Value(ZERO), output_field=MONEY)


def _cents(value) -> Decimal:
    # SQLite sums decimals in floating point (see orders.selectors._cents).
    return Decimal(value).quantize(CENT)


def decision_inputs(
    *,
    customer: Customer,
    amount: Decimal,
    merchant: Merchant,
    placed_at: datetime.datetime,
    exclude_order_id: int | None = None,
) -> Inputs:
    """Everything the rules read, in three queries whatever the customer's book: the customer with
    their line, one pass over their orders, one over their instalments.

    Available credit is orders.selectors.credit_available's rule (limit minus the principal of
    open orders not yet repaid; zero unless the line is active), computed inside these passes so
    the count stays fixed; tests/decisions check the two agree. An order being decided (linked)
    is left out of everything: it is the order in question, not history.
    """
    customer = Customer.objects.select_related("credit_line").get(pk=customer.pk)
    line = getattr(customer, "credit_line", None)

    orders = Order.objects.filter(customer_id=customer.pk)
    installments = Installment.objects.filter(customer_id=customer.pk)
    if exclude_order_id is not None:
        orders = orders.exclude(pk=exclude_order_id)
        installments = installments.exclude(order_id=exclude_order_id)

    credited = ~Q(status=OrderStatus.DECLINED) & Q(placed_at__lte=placed_at)
    in_24h = credited & Q(placed_at__gt=placed_at - DAY)
    in_7d = credited & Q(placed_at__gt=placed_at - WEEK)
    open_ = Q(status__in=OPEN_ORDER_STATUSES)
    unscheduled = ~Exists(Installment.objects.filter(order_id=OuterRef("pk")))
    o = orders.aggregate(
        orders_24h=Count("pk", filter=in_24h),
        amount_24h=_sum("amount", filter=in_24h),
        orders_7d=Count("pk", filter=in_7d),
        amount_7d=_sum("amount", filter=in_7d),
        prior=Count("pk", filter=credited),
        open_plans=Count("pk", filter=open_),
        unscheduled=_sum("amount", filter=open_ & Q(unscheduled)),
    )
    horizon = business_date(placed_at) + datetime.timedelta(days=BURDEN_DAYS)
    i = installments.aggregate(
        open_due=_sum("principal_due", filter=Q(order__status__in=OPEN_ORDER_STATUSES)),
        open_paid=_sum("principal_paid", filter=Q(order__status__in=OPEN_ORDER_STATUSES)),
        burden=_sum(OUTSTANDING, filter=Q(status__in=UNPAID_INSTALLMENT_STATUSES, due_date__lte=horizon)),
    )
    outstanding = _cents(o["unscheduled"]) + _cents(i["open_due"]) - _cents(i["open_paid"])
    limit = line.limit if line is not None else ZERO
    active = line is not None and line.status == "active"
    return Inputs(
        amount=amount,
        customer_status=customer.status,
        line_status=line.status if line is not None else "",
        grade=line.grade if line is not None else "",
        score=line.score if line is not None else None,
        limit=limit,
        outstanding_principal=outstanding,
        available_credit=max(limit - outstanding, ZERO) if active else ZERO,
        orders_24h=o["orders_24h"],
        amount_24h=_cents(o["amount_24h"]),
        orders_7d=o["orders_7d"],
        amount_7d=_cents(o["amount_7d"]),
        prior_orders=o["prior"],
        open_plans=o["open_plans"],
        burden_30d=_cents(i["burden"]),
        merchant_risky=merchant.is_risky,
    )


def review_queue(*, user) -> QuerySet:
    """Referred orders waiting for an analyst, oldest first, with what the queue shows beside them.

    Every risk analyst sees every referral (the queue is shared); the view's permission decides
    who opens it at all.
    """
    open_installments = (
        Installment.objects.filter(customer_id=OuterRef("customer_id"), order__status__in=OPEN_ORDER_STATUSES)
        .values("customer_id")
        .annotate(total=Sum(F("principal_due") - F("principal_paid")))
        .values("total")
    )
    unscheduled_orders = (
        Order.objects.filter(customer_id=OuterRef("customer_id"), status__in=OPEN_ORDER_STATUSES)
        .filter(~Exists(Installment.objects.filter(order_id=OuterRef("pk"))))
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return (
        OrderDecision.objects.waiting_for_review()
        .select_related("customer", "customer__credit_line", "merchant", "order")
        .annotate(
            # The customer's exposure now: principal of open orders not yet repaid (what the
            # credit line carries, orders.selectors.outstanding_principal).
            exposure=Coalesce(
                Subquery(open_installments, output_field=MONEY), Value(ZERO), output_field=MONEY
            )
            + Coalesce(Subquery(unscheduled_orders, output_field=MONEY), Value(ZERO), output_field=MONEY)
        )
        .order_by("requested_at", "id")
    )


def decision_detail(*, pk: int) -> OrderDecision:
    return OrderDecision.objects.select_related(
        "customer", "customer__credit_line", "merchant", "order", "policy", "decided_by", "reviewed_by"
    ).get(pk=pk)


def customer_decisions(*, customer: Customer, limit: int) -> list[OrderDecision]:
    """The customer's order decisions, newest first, at most `limit`, in one query. An analyst's
    what-if from the try-an-order form (a trial) is not a decision about the customer's orders
    and is left out."""
    return list(
        OrderDecision.objects.filter(customer=customer, is_trial=False)
        .select_related("order", "merchant", "reviewed_by")
        .order_by("-requested_at", "-id")[:limit]
    )

"""Reads of settlements, restructures and write-offs: previews of their terms and the approval queue."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet

from bnpl_admin.money import ZERO, apply_rate
from collection.models import CollectionCase
from orders.ledger import RestructureLine
from orders.models import Order
from orders.selectors import customer_settleable_balance, order_restructure_plan, settleable_orders
from policy.selectors import policy_in_force

from .models import APPROVE_PERMISSION, PROPOSE_PERMISSION, ArrangementRequest, ArrangementStatus


@dataclass
class SettlementPreview:
    """What a settlement would leave to pay: owed, forgiven and left, per component."""

    owed: dict[str, Decimal]
    discounts: dict[str, Decimal]
    principal_discount_max: Decimal

    @property
    def left(self) -> dict[str, Decimal]:
        return {
            name: self.owed[name] - self.discounts.get(name, ZERO)
            for name in ("principal", "fee", "late_fee")
        }

    @property
    def owed_total(self) -> Decimal:
        return self.owed["principal"] + self.owed["fee"] + self.owed["late_fee"]

    @property
    def discount_total(self) -> Decimal:
        return sum(self.discounts.values(), ZERO)

    @property
    def left_total(self) -> Decimal:
        return self.owed_total - self.discount_total


@dataclass
class RestructurePreview:
    """The new schedule of each order a restructure would spread over N months."""

    months: int
    orders: list[tuple[Order, list[RestructureLine]]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.total for _order, lines in self.orders for line in lines), ZERO)


def principal_discount_max(*, principal_owed: Decimal, on: datetime.date) -> Decimal:
    """The most principal a settlement may forgive: the policy's share of the unpaid principal."""
    return apply_rate(principal_owed, policy_in_force(on=on).settlement_principal_discount_max_rate)


def settlement_preview(
    *,
    customer,
    on: datetime.date,
    late_fee_discount: Decimal = ZERO,
    fee_discount: Decimal = ZERO,
    principal_discount: Decimal = ZERO,
) -> SettlementPreview:
    owed = customer_settleable_balance(customer=customer)
    return SettlementPreview(
        owed=owed,
        discounts={"principal": principal_discount, "fee": fee_discount, "late_fee": late_fee_discount},
        principal_discount_max=principal_discount_max(principal_owed=owed["principal"], on=on),
    )


def restructure_preview(*, customer, months: int, on: datetime.date) -> RestructurePreview:
    preview = RestructurePreview(months=months)
    for order in settleable_orders(customer=customer):
        _unpaid, lines = order_restructure_plan(order=order, months=months, on=on)
        preview.orders.append((order, lines))
    return preview


def arrangements_visible_to(*, user) -> QuerySet[ArrangementRequest]:
    """The requests a user may see: of the cases they may see, for who proposes or decides them."""
    if not (user.has_perm(APPROVE_PERMISSION) or user.has_perm(PROPOSE_PERMISSION)):
        return ArrangementRequest.objects.none()
    return ArrangementRequest.objects.filter(case__in=CollectionCase.objects.visible_to(user))


def approval_queue(*, user) -> QuerySet[ArrangementRequest]:
    """The approval queue: pending requests first, oldest first, then the decided, newest first."""
    from django.db.models import Case, IntegerField, Value, When

    return (
        arrangements_visible_to(user=user)
        .select_related("case", "customer", "requested_by", "decided_by")
        .annotate(
            pending_first=Case(
                When(status=ArrangementStatus.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("pending_first", "requested_at", "id")
    )


def case_pending_arrangement(*, case) -> ArrangementRequest | None:
    return ArrangementRequest.objects.filter(case=case, status=ArrangementStatus.PENDING).first()

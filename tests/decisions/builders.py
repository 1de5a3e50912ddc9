"""Builders of the decisions tests: a customer's book shaped for one rule at a time."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.roles import Role
from orders.models import Channel, Plan
from orders.services import order_place
from tests.factories import CustomerFactory, MerchantFactory, UserFactory

_refs = iter(range(1, 10**9))


def analyst(username: str = "analyst"):
    return UserFactory(username=username, roles=[Role.RISK_ANALYST])


def placed(customer, amount: str | Decimal = "100.00", *, at: datetime.datetime | None = None, merchant=None):
    """An approved order (placed through orders.services.order_place), not yet shipped."""
    return order_place(
        customer=customer,
        merchant=merchant or MerchantFactory(name="日常好物"),
        external_reference=f"DEC-{next(_refs)}",
        amount=Decimal(amount),
        plan=Plan.PAY_LATER,
        channel=Channel.SHORT_VIDEO,
        item_summary="T恤",
        placed_at=at or timezone.now() - datetime.timedelta(days=30),
    )


def seasoned_customer(**line):
    """A customer with one earlier order (so the first-order cap does not apply), grade A, ¥20,000."""
    customer = CustomerFactory(**{f"credit_line__{k}": v for k, v in line.items()})
    placed(customer, "100.00", at=timezone.now() - datetime.timedelta(days=60))
    return customer

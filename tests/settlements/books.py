"""Builders for the settlements tests: an overdue book made through the services, people by role."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Customer
from accounts.roles import Role
from bnpl_admin.money import ZERO
from collection.models import CollectionCase
from collection.services import case_open
from orders.models import Component, Installment, Plan
from orders.services import customer_catch_up
from tests.factories import CustomerFactory, UserFactory, delivered_order


def person(role: Role, **kwargs):
    return UserFactory(roles=[role], **kwargs)


def overdue_case(
    *,
    agent=None,
    amount: str = "1000.00",
    plan: Plan = Plan.INSTALMENTS_3,
    days_ago: int = 100,
    customer: Customer | None = None,
    late_fees: bool = True,
) -> CollectionCase:
    """A customer whose order was delivered `days_ago` days ago and never paid, with the late fees
    of every day since (caught up day by day, as the sweep would have charged them), and an open
    case assigned to `agent`."""
    today = timezone.localdate()
    customer = customer or CustomerFactory()
    delivered_on = today - datetime.timedelta(days=days_ago)
    delivered_order(customer=customer, amount=Decimal(amount), plan=plan, delivered_on=delivered_on)
    if late_fees:
        # As if the sweep had run up to delivery: the catch-up charges each day since, by the rule.
        Customer.objects.filter(pk=customer.pk).update(books_through=delivered_on)
        customer.refresh_from_db()
        customer_catch_up(customer=customer, on=today)
    existing = CollectionCase.objects.filter(customer=customer, closed_at__isnull=True).first()
    return existing or case_open(customer=customer, agent=agent, reason="test")


def owed(customer) -> dict[str, Decimal]:
    """What the customer owes now, per component, summed in Python from the rows."""
    rows = list(Installment.objects.filter(customer=customer, status__in=["scheduled", "due", "overdue"]))
    return {
        component: sum((i.outstanding(component) for i in rows), ZERO)
        for component in (Component.PRINCIPAL, Component.FEE, Component.LATE_FEE)
    }

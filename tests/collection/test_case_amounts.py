"""A case's stored amount overdue (CollectionCase.amount_overdue) is what the books say, always.

The queue sorts and filters on it, so it is stored; it is set by the sweep for every open case
and, through orders.signals.books_changed, in the transaction of every orders service that
changes what a customer owes. tests/sweep/test_path_independence.py checks it after every
event of random books; these tests name each service.
"""

from __future__ import annotations

import datetime
import inspect
from decimal import Decimal

import pytest
from django.db import transaction

import orders.services
from accounts.roles import Role
from bnpl_admin.dates import business_date
from collection.models import CollectionCase
from collection.selectors import amount_overdue
from orders.models import Component, Installment, InstallmentStatus, Payment
from orders.services import (
    customer_discounts_apply,
    customer_write_off,
    fee_waive,
    order_restructure,
    order_return,
    payment_post,
    payment_reverse,
)
from sweep.services import sweep_run
from tests.factories import CustomerFactory, UserFactory, delivered_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue():
    """A customer 75 days into a 3-instalment order of ¥3,000, swept today: a case with arrears."""
    customer = CustomerFactory()
    order = delivered_order(
        customer=customer, amount="3000.00", delivered_on=business_date() - datetime.timedelta(days=75)
    )
    assert sweep_run(on=business_date(), snapshot=False).status == "done"
    return customer, order, CollectionCase.objects.open().get(customer=customer)


@pytest.fixture
def people():
    return (
        UserFactory(username="amounts-agent", roles=[Role.COLLECTIONS_AGENT]),
        UserFactory(username="amounts-manager", roles=[Role.COLLECTIONS_MANAGER]),
    )


def _stored(case) -> Decimal:
    """The stored figure, checked against the books' own sum."""
    case = CollectionCase.objects.annotate(owed=amount_overdue()).get(pk=case.pk)
    assert case.amount_overdue == case.owed, (case.amount_overdue, case.owed)
    return case.amount_overdue


def _now():
    from django.utils import timezone

    return timezone.now() - datetime.timedelta(minutes=1)


def test_the_sweep_stores_what_the_case_owes(overdue):
    customer, _order, case = overdue
    owed = sum(
        (
            i.amount_outstanding
            for i in Installment.objects.with_outstanding().filter(
                customer=customer, status=InstallmentStatus.OVERDUE
            )
        ),
        Decimal("0.00"),
    )
    assert owed > 0 and _stored(case) == owed


def test_a_payment_and_its_reversal_move_the_figure_at_once(overdue, people):
    customer, _order, case = overdue
    before = _stored(case)
    payment = payment_post(
        customer=customer, amount=Decimal("100.00"), reference="AMT-1", received_at=_now()
    ).payment
    assert _stored(case) == before - Decimal("100.00")
    payment_reverse(payment=payment, reason="bounced", by=people[1])
    assert _stored(case) == before


def test_a_waiver_a_return_and_a_discount_move_it(overdue, people):
    customer, order, case = overdue
    agent, manager = people
    before = _stored(case)
    first = order.installments.get(sequence=1)
    late_fee = first.outstanding(Component.LATE_FEE)
    assert late_fee > 0
    fee_waive(
        installment=first,
        component=Component.LATE_FEE,
        amount=late_fee,
        reason="goodwill",
        approved_by=manager,
        requested_by=agent,
    )
    assert _stored(case) == before - late_fee
    order_return(order=order, amount=Decimal("1000.00"), reason="one item back")
    after_return = _stored(case)
    assert after_return <= before - late_fee
    customer_discounts_apply(
        customer=customer,
        discounts={Component.PRINCIPAL: Decimal("10.00")},
        reason="settlement",
        approved_by=manager,
        requested_by=agent,
    )
    _stored(case)


def test_a_restructure_and_a_write_off_clear_the_arrears(overdue, people):
    _customer, order, case = overdue
    _agent, manager = people
    assert _stored(case) > 0
    order_restructure(order=order, months=6, by=manager, reason="hardship")
    assert _stored(case) == Decimal("0.00")

    other_customer = CustomerFactory()
    delivered_order(
        customer=other_customer, amount="900.00", delivered_on=business_date() - datetime.timedelta(days=75)
    )
    assert sweep_run(on=business_date(), snapshot=False, again=True).status == "done"
    other = CollectionCase.objects.open().get(customer=other_customer)
    assert _stored(other) > 0
    customer_write_off(customer=other_customer, by=manager, reason="uncollectable")
    assert _stored(other) == Decimal("0.00")


def test_a_service_that_fails_leaves_the_figure_as_it_was(overdue):
    customer, _order, case = overdue
    before = _stored(case)
    with pytest.raises(RuntimeError), transaction.atomic():
        payment_post(customer=customer, amount=Decimal("50.00"), reference="AMT-2", received_at=_now())
        assert _stored(case) == before - Decimal("50.00")
        raise RuntimeError("the caller's transaction fails after the payment")
    assert _stored(case) == before and not Payment.objects.filter(external_reference="AMT-2").exists()


def test_every_orders_service_that_catches_a_customer_up_publishes_the_change():
    """A money service catches the customer's books up before it changes them; each one must also
    publish books_changed (orders.services._changes_books), or the cases' figure goes stale."""

    def publishes(function) -> bool:
        while function is not None:
            if getattr(function, "changes_books", False):
                return True
            function = getattr(function, "__wrapped__", None)
        return False

    money_services = [
        name
        for name, function in vars(orders.services).items()
        if inspect.isfunction(function)
        and not name.startswith("_")
        and name != "customer_catch_up"
        and function.__module__ == orders.services.__name__
        and "customer_catch_up(" in inspect.getsource(inspect.unwrap(function))
    ]
    assert len(money_services) >= 10, money_services
    assert [name for name in money_services if not publishes(vars(orders.services)[name])] == []

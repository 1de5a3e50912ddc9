"""Returns: principal cut from the last instalment back, fees in proportion, overpaid money back as credit."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from bnpl_admin.errors import DomainError
from bnpl_admin.money import ZERO
from orders import selectors
from orders.models import (
    AllocationKind,
    Component,
    Installment,
    InstallmentStatus,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    PaymentAllocation,
    Plan,
)
from orders.services import OrderError, order_place, order_return
from tests.factories import CustomerFactory, MerchantFactory, delivered_order, posted_payment

D = Decimal
DELIVERED = datetime.date(2025, 1, 10)
PAID_ON = datetime.date(2025, 2, 12)  # instalment 1 (due 10 Feb) is payable


def _schedule(order) -> list[tuple[str, str]]:
    return [(str(i.principal_due), str(i.fee_due)) for i in order.installments.order_by("sequence")]


@pytest.fixture
def order(db):
    return delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=DELIVERED)


def test_design_example_partial_return_cuts_from_the_last_instalment_back(order):
    customer = order.customer
    assert str(selectors.credit_available(customer=customer)) == "19000.00"

    order_return(order=order, amount=D("400.00"), reason="one of two items returned")

    assert _schedule(order) == [("333.34", "6.00"), ("266.66", "4.80"), ("0.00", "0.00")]
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert str(selectors.credit_available(customer=customer)) == "19400.00"
    assert str(selectors.customer_balance(customer=customer)["principal"]) == "600.00"
    assert str(selectors.customer_credit_balance(customer=customer)) == "0.00"
    assert not PaymentAllocation.objects.exists()
    event = OrderEvent.objects.get(order=order, type=OrderEventType.RETURNED)
    assert (event.payload["amount"], event.payload["full"], event.payload["refunded"]) == (
        "400.00",
        False,
        "0.00",
    )


def test_a_full_return_closes_the_order_as_returned_and_cancels_unpaid_late_fees(order):
    Installment.objects.filter(order=order, sequence=1).update(late_fee_due=D("1.19"))

    order_return(order=order, amount=D("1000.00"), reason="whole order returned")

    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert order.closed_at is not None
    assert [
        (str(i.principal_due), str(i.fee_due), str(i.late_fee_due)) for i in order.installments.all()
    ] == [("0.00", "0.00", "0.00")] * 3
    assert str(selectors.credit_available(customer=order.customer)) == "20000.00"
    balance = selectors.customer_balance(customer=order.customer)
    assert [str(balance[k]) for k in ("principal", "fee", "late_fee")] == ["0.00", "0.00", "0.00"]


def test_a_return_after_payment_turns_the_overpaid_part_into_credit(order):
    payment = posted_payment(customer=order.customer, amount="339.34", on=PAID_ON)

    # 800.00 returned: instalments 3 and 2 lose all their principal, instalment 1 keeps 200.00,
    # its fee cut in proportion to 3.60. 133.34 of principal and 2.40 of fee were paid too much.
    order_return(order=order, amount=D("800.00"), reason="two of three items returned")

    assert _schedule(order) == [("200.00", "3.60"), ("0.00", "0.00"), ("0.00", "0.00")]
    refunds = PaymentAllocation.objects.filter(kind=AllocationKind.REFUND).order_by("component")
    assert [(r.payment_id, r.component, str(r.amount)) for r in refunds] == [
        (payment.pk, Component.FEE, "-2.40"),
        (payment.pk, Component.PRINCIPAL, "-133.34"),
    ]
    assert str(selectors.customer_credit_balance(customer=order.customer)) == "135.74"
    first = order.installments.get(sequence=1)
    assert (str(first.principal_paid), str(first.fee_paid), first.status) == (
        "200.00",
        "3.60",
        InstallmentStatus.PAID,
    )
    # Nothing is owed any more on what was kept: the order is complete.
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert sum(a.amount for a in payment.allocations.all()) + D("135.74") == payment.amount


def test_a_full_return_after_part_payment_gives_back_everything_paid_as_credit(order):
    posted_payment(customer=order.customer, amount="339.34", on=PAID_ON)

    order_return(order=order, amount=D("1000.00"), reason="faulty")

    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert str(selectors.customer_credit_balance(customer=order.customer)) == "339.34"
    assert all(i.principal_paid == ZERO and i.fee_paid == ZERO for i in order.installments.all())


def test_a_fully_paid_order_can_still_be_returned_in_full(db):
    order = delivered_order(amount="500.00", plan=Plan.PAY_LATER, delivered_on=DELIVERED)
    posted_payment(customer=order.customer, amount="500.00", on=datetime.date(2025, 1, 24))
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED

    order_return(order=order, amount=D("500.00"), reason="returned within the trial window")

    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert str(selectors.customer_credit_balance(customer=order.customer)) == "500.00"
    statuses = list(
        order.events.filter(type=OrderEventType.STATUS_CHANGED).values_list("payload__new", flat=True)
    )
    assert statuses[-1] == OrderStatus.RETURNED


def test_refunds_come_from_the_latest_payment_first(db):
    order = delivered_order(amount="500.00", plan=Plan.PAY_LATER, delivered_on=DELIVERED)
    older = posted_payment(customer=order.customer, amount="300.00", on=datetime.date(2025, 1, 25))
    newer = posted_payment(customer=order.customer, amount="150.00", on=datetime.date(2025, 1, 26))

    order_return(order=order, amount=D("250.00"), reason="part returned")  # 450.00 paid, 250.00 owed

    refunds = PaymentAllocation.objects.filter(kind=AllocationKind.REFUND)
    assert sorted((r.payment_id, str(r.amount)) for r in refunds) == sorted(
        [(newer.pk, "-150.00"), (older.pk, "-50.00")]
    )
    credit = {p.pk: str(p.credit_available) for p in selectors.payments_with_credit(customer=order.customer)}
    assert credit == {older.pk: "50.00", newer.pk: "150.00"}


def test_a_return_above_the_principal_left_is_refused_and_changes_nothing(order):
    order_return(order=order, amount=D("400.00"))
    before = _schedule(order)

    with pytest.raises(OrderError) as error:
        order_return(order=order, amount=D("600.01"))

    assert error.value.code == "too_much"
    assert _schedule(order) == before
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    # What is left can still be returned to the fen.
    order_return(order=order, amount=D("600.00"))
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED


@pytest.mark.parametrize("amount", ["0.00", "-1.00", "1.001"])
def test_a_return_of_a_bad_amount_is_refused(order, amount):
    with pytest.raises(DomainError):
        order_return(order=order, amount=D(amount))
    assert _schedule(order) == [("333.34", "6.00"), ("333.33", "6.00"), ("333.33", "6.00")]


def test_an_order_not_yet_delivered_cannot_be_returned(db):
    order = order_place(
        customer=CustomerFactory(),
        merchant=MerchantFactory(),
        external_reference="DY-NOT-DELIVERED",
        amount=D("100.00"),
        plan=Plan.PAY_LATER,
        channel="livestream",
        item_summary="耳机 earphones",
        placed_at=timezone.now(),
    )
    with pytest.raises(OrderError) as error:
        order_return(order=order, amount=D("100.00"))
    assert error.value.code == "not_delivered"

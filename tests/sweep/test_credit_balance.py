"""The sweep pays from credit balance on due dates: overpayments and refunds from returns, once."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from orders import selectors
from orders.models import AllocationKind, InstallmentStatus, PaymentAllocation, Plan
from orders.services import order_return
from sweep.services import sweep_run
from tests.factories import CustomerFactory, delivered_order, posted_payment

pytestmark = pytest.mark.django_db

D = Decimal
DELIVERED = datetime.date(2025, 1, 10)  # 3 instalments due 10 Feb, 10 Mar, 10 Apr


def _sweep(on: datetime.date) -> dict:
    run = sweep_run(on=on, chunk_size=2)
    assert run.status == "done"
    return run.totals


def test_an_overpayment_pays_the_next_instalment_on_its_due_date_and_only_once():
    order = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=DELIVERED)
    CustomerFactory.create_batch(3)  # other customers, in other chunks, with nothing to pay
    first, second, _ = order.installments.order_by("sequence")
    # On its due date: 339.34 pays instalment 1, 10.66 is left as credit.
    posted_payment(customer=order.customer, amount="350.00", on=first.due_date)

    assert _sweep(datetime.date(2025, 3, 9))["credit_applied"] == 0  # nothing else due yet
    assert _sweep(second.due_date)["credit_applied"] == 2  # fee 6.00, principal 4.66

    second.refresh_from_db()
    assert (str(second.fee_paid), str(second.principal_paid), second.status) == (
        "6.00",
        "4.66",
        InstallmentStatus.DUE,
    )
    assert str(selectors.customer_credit_balance(customer=order.customer)) == "0.00"
    assert _sweep(second.due_date + datetime.timedelta(days=1))["credit_applied"] == 0


def test_money_a_return_gives_back_pays_what_falls_due():
    paid_up = delivered_order(amount="500.00", plan=Plan.PAY_LATER, delivered_on=DELIVERED)
    customer = paid_up.customer
    [single] = paid_up.installments.all()
    posted_payment(customer=customer, amount="500.00", on=single.due_date)
    later = delivered_order(
        customer=customer, amount="900.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 2, 15)
    )
    first = later.installments.order_by("sequence").first()
    # On 20 February, 200.00 of the paid-up order goes back: that money becomes credit.
    with time_machine.travel(datetime.datetime(2025, 2, 20, 12, tzinfo=datetime.UTC), tick=False):
        order_return(order=paid_up, amount=D("200.00"), reason="one item returned")
    assert str(selectors.customer_credit_balance(customer=customer)) == "200.00"

    assert _sweep(first.due_date - datetime.timedelta(days=1))["credit_applied"] == 0
    assert _sweep(first.due_date)["credit_applied"] > 0

    spent = PaymentAllocation.objects.filter(kind=AllocationKind.CREDIT)
    assert {a.installment_id for a in spent} == {first.pk}
    assert {a.business_date for a in spent} == {first.due_date}
    first.refresh_from_db()
    assert selectors.customer_credit_balance(customer=customer) == D("200.00") - (
        first.principal_paid + first.fee_paid
    )

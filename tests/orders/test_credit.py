"""The credit decision's money side: what is available, and the reasons an order is declined."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import CreditLineStatus, CustomerStatus, Grade
from orders import selectors
from orders.models import OrderEvent, OrderEventType, OrderStatus, Plan
from orders.services import order_place, order_return
from tests.factories import CustomerFactory, MerchantFactory, delivered_order, posted_payment

D = Decimal
_refs = iter(range(1, 10**6))


def _place(customer, amount, plan=Plan.INSTALMENTS_3):
    return order_place(
        customer=customer,
        merchant=MerchantFactory(name="抖音小店 Demo"),
        external_reference=f"DY-CREDIT-{next(_refs)}",
        amount=D(amount),
        plan=plan,
        channel="livestream",
        item_summary="空气炸锅 air fryer",
        placed_at=timezone.now(),
    )


@pytest.fixture
def customer(db):
    return CustomerFactory(credit_line__limit=D("5000.00"), credit_line__grade=Grade.C)


def test_available_credit_is_the_limit_less_the_open_principal_not_yet_repaid(customer):
    delivered = delivered_order(
        customer=customer, amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 10)
    )
    posted_payment(customer=customer, amount="339.34", on=datetime.date(2025, 2, 10))  # 333.34 of principal
    approved = _place(customer, "500.00")  # not delivered yet: counts in full
    repaid = delivered_order(
        customer=customer, amount="200.00", plan=Plan.PAY_LATER, delivered_on=datetime.date(2025, 1, 1)
    )
    posted_payment(customer=customer, amount="200.00", on=datetime.date(2025, 1, 15))
    declined = _place(customer, "9999.00")
    repaid.refresh_from_db()
    assert (approved.status, repaid.status, declined.status) == (
        OrderStatus.APPROVED,
        OrderStatus.COMPLETED,
        OrderStatus.DECLINED,
    )
    assert delivered.status == OrderStatus.DELIVERED

    # 5,000.00 − (1,000.00 − 333.34) − 500.00; fees, completed and declined orders do not count.
    assert str(selectors.outstanding_principal(customer=customer)) == "1166.66"
    assert str(selectors.credit_available(customer=customer)) == "3833.34"


def test_a_return_gives_its_principal_back_to_the_line(customer):
    order = delivered_order(customer=customer, amount="1000.00", plan=Plan.INSTALMENTS_6)
    assert str(selectors.credit_available(customer=customer)) == "4000.00"
    order_return(order=order, amount=D("250.00"))
    assert str(selectors.credit_available(customer=customer)) == "4250.00"


def test_an_order_up_to_the_available_limit_is_approved_and_one_fen_more_is_declined(customer):
    delivered_order(customer=customer, amount="1000.00")
    over = _place(customer, "4000.01")
    assert over.status == OrderStatus.DECLINED
    assert over.decline_reasons == ["over_available_limit"]
    assert OrderEvent.objects.get(order=over).type == OrderEventType.DECLINED
    # The declined order takes nothing from the line.
    assert str(selectors.credit_available(customer=customer)) == "4000.00"

    exact = _place(customer, "4000.00")
    assert exact.status == OrderStatus.APPROVED
    assert exact.decline_reasons == []
    assert str(selectors.credit_available(customer=customer)) == "0.00"
    assert _place(customer, "0.01", plan=Plan.PAY_LATER).decline_reasons == ["over_available_limit"]


@pytest.mark.parametrize(("amount", "plan"), [("0.02", Plan.INSTALMENTS_3), ("0.11", Plan.INSTALMENTS_12)])
def test_an_amount_that_cannot_give_each_instalment_a_fen_is_refused(customer, amount, plan):
    from bnpl_admin.errors import DomainError

    with pytest.raises(DomainError) as refused:
        _place(customer, amount, plan=plan)
    assert refused.value.code == "too_small"  # the message is in the reader's language
    assert not customer.orders.exists()


def test_grade_e_gets_no_credit_whatever_the_limit(db):
    customer = CustomerFactory(credit_line__limit=D("20000.00"), credit_line__grade=Grade.E)
    order = _place(customer, "10.00", plan=Plan.PAY_LATER)
    assert (order.status, order.decline_reasons) == (OrderStatus.DECLINED, ["grade_no_credit"])


@pytest.mark.parametrize("status", [CreditLineStatus.FROZEN, CreditLineStatus.CLOSED])
def test_an_order_on_a_line_that_is_not_active_is_declined_and_nothing_is_available(customer, status):
    line = customer.credit_line
    line.status, line.status_reason = status, "1 DPD on DY-ORDER-1"
    line.save()

    order = _place(customer, "10.00", plan=Plan.PAY_LATER)

    assert (order.status, order.decline_reasons) == (OrderStatus.DECLINED, ["credit_line_not_active"])
    # A frozen line lends nothing, whatever its limit (selectors.credit_available's own contract).
    assert str(selectors.credit_available(customer=customer)) == "0.00"


def test_a_customer_without_a_credit_line_is_declined(db):
    customer = CustomerFactory(credit_line=None)
    order = _place(customer, "10.00")
    assert order.decline_reasons == ["credit_line_not_active"]
    assert str(selectors.credit_available(customer=customer)) == "0.00"


def test_a_restricted_customer_is_declined(customer):
    customer.status = CustomerStatus.RESTRICTED
    customer.save()
    assert _place(customer, "10.00").decline_reasons == ["customer_not_active"]


def test_the_order_fee_is_the_plan_rate_of_the_principal_rounded_half_up(customer):
    # 555.55 × 1.8% = 9.9999 → 10.00; 555.55 × 7.2% = 39.9996 → 40.00; pay later is free.
    assert str(_place(customer, "555.55", plan=Plan.INSTALMENTS_3).fee_amount) == "10.00"
    assert str(_place(customer, "555.55", plan=Plan.INSTALMENTS_12).fee_amount) == "40.00"
    assert str(_place(customer, "555.55", plan=Plan.PAY_LATER).fee_amount) == "0.00"
    # Exactly half a fen goes up, not to the even fen: 2.50 × 1.8% = 0.045 → 0.05 (not 0.04).
    assert str(_place(customer, "2.50").fee_amount) == "0.05"
    assert str(_place(customer, "0.25").fee_amount) == "0.00"  # 0.0045

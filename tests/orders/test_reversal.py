"""Reversing a payment: new negative entries that undo it exactly, statuses back by date, nothing deleted."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from bnpl_admin.money import ZERO
from orders import selectors
from orders.ledger import add_months
from orders.models import (
    AllocationKind,
    Component,
    InstallmentStatus,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    PaymentAllocation,
    PaymentStatus,
    Plan,
)
from orders.services import PaymentError, credit_balance_apply, payment_reverse
from tests.factories import CustomerFactory, UserFactory, delivered_order, posted_payment

D = Decimal


@pytest.fixture
def book(db):
    """A customer, on today's business date, with:

    - order A, ¥1,000.00 in 3 delivered 40 days ago: A1 overdue, A2 and A3 not yet due;
    - order B, ¥500.00 pay later delivered 14 days ago: B1 due today.
    """
    today = timezone.localdate()
    customer = CustomerFactory()
    order_a = delivered_order(
        customer=customer,
        amount="1000.00",
        plan=Plan.INSTALMENTS_3,
        delivered_on=today - datetime.timedelta(days=40),
    )
    order_b = delivered_order(
        customer=customer,
        amount="500.00",
        plan=Plan.PAY_LATER,
        delivered_on=today - datetime.timedelta(days=14),
    )
    a1, a2, _a3 = order_a.installments.order_by("sequence")
    (b1,) = order_b.installments.all()
    assert a1.due_date < today == b1.due_date < a2.due_date
    return {"today": today, "customer": customer, "a": order_a, "b": order_b, "a1": a1, "a2": a2, "b1": b1}


def test_reversal_undoes_a_payment_and_the_credit_it_funded_later(book):
    customer, today = book["customer"], book["today"]
    a1, a2, b1 = book["a1"], book["a2"], book["b1"]
    # 1,000.00 pays A1 (339.34) and B1 (500.00); 160.66 is credit, spent when A2 falls due.
    payment = posted_payment(customer=customer, amount="1000.00", on=today)
    assert str(payment.credit_created) == "160.66"
    book["b"].refresh_from_db()
    assert book["b"].status == OrderStatus.COMPLETED
    credit_balance_apply(customer=customer, on=a2.due_date)
    a2.refresh_from_db()
    assert (str(a2.fee_paid), str(a2.principal_paid)) == ("6.00", "154.66")
    rows_before = list(PaymentAllocation.objects.order_by("id").values_list("pk", "amount", "kind"))
    assert len(rows_before) == 5
    ops = UserFactory()

    reversed_payment = payment_reverse(payment=payment, reason="Alipay chargeback 2025-0001", by=ops)

    # Nothing was deleted or changed; one negative reversal entry per positive entry.
    assert (
        list(
            PaymentAllocation.objects.filter(pk__in=[r[0] for r in rows_before])
            .order_by("id")
            .values_list("pk", "amount", "kind")
        )
        == rows_before
    )
    reversals = PaymentAllocation.objects.filter(kind=AllocationKind.REVERSAL).select_related("installment")
    assert sorted((r.installment.pk, r.component, str(r.amount)) for r in reversals) == sorted(
        [
            (a1.pk, Component.FEE, "-6.00"),
            (a1.pk, Component.PRINCIPAL, "-333.34"),
            (b1.pk, Component.PRINCIPAL, "-500.00"),
            (a2.pk, Component.FEE, "-6.00"),
            (a2.pk, Component.PRINCIPAL, "-154.66"),
        ]
    )
    assert {r.business_date for r in reversals} == {today}
    assert sum(a.amount for a in payment.allocations.all()) == ZERO
    assert reversed_payment.status == PaymentStatus.REVERSED
    assert (reversed_payment.reversed_by, reversed_payment.reversal_reason) == (
        ops,
        "Alipay chargeback 2025-0001",
    )
    assert reversed_payment.reversed_at is not None

    # Every instalment owes again, with the status its due date gives it today.
    for installment, status in (
        (a1, InstallmentStatus.OVERDUE),
        (b1, InstallmentStatus.DUE),
        (a2, "scheduled"),
    ):
        installment.refresh_from_db()
        assert (installment.principal_paid, installment.fee_paid, installment.paid_at) == (ZERO, ZERO, None)
        assert installment.status == status
    book["b"].refresh_from_db()
    assert book["b"].status == OrderStatus.DELIVERED
    assert book["b"].closed_at is None
    assert OrderEvent.objects.filter(order=book["b"], type=OrderEventType.PAYMENT_REVERSED).count() == 1
    # The reversed payment leaves no credit behind, and the customer owes everything again.
    assert str(selectors.customer_credit_balance(customer=customer)) == "0.00"
    balance = selectors.customer_balance(customer=customer)
    assert (str(balance["principal"]), str(balance["fee"])) == ("1500.00", "18.00")
    assert str(selectors.credit_available(customer=customer)) == "18500.00"


def test_reversing_twice_is_refused_and_changes_nothing(book):
    payment = posted_payment(customer=book["customer"], amount="339.34", on=book["today"])
    ops = UserFactory()
    payment_reverse(payment=payment, reason="duplicate debit", by=ops)
    count = PaymentAllocation.objects.count()

    with pytest.raises(PaymentError) as error:
        payment_reverse(payment=payment, reason="duplicate debit", by=ops)

    assert error.value.code == "already_reversed"
    assert PaymentAllocation.objects.count() == count == 4
    book["a1"].refresh_from_db()
    assert book["a1"].principal_paid == ZERO


def test_a_reversal_needs_a_reason(book):
    payment = posted_payment(customer=book["customer"], amount="339.34", on=book["today"])
    with pytest.raises(PaymentError):
        payment_reverse(payment=payment, reason="  ", by=UserFactory())
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.POSTED
    assert PaymentAllocation.objects.count() == 2


def test_reversing_one_payment_leaves_the_customers_other_payments_alone(book):
    first = posted_payment(customer=book["customer"], amount="200.00", on=book["today"])
    second = posted_payment(customer=book["customer"], amount="139.34", on=book["today"])
    payment_reverse(payment=first, reason="card dispute", by=UserFactory())
    a1 = book["a1"]
    a1.refresh_from_db()
    # The second payment keeps what it paid: 139.34 of principal (the fee went with the first).
    assert (str(a1.fee_paid), str(a1.principal_paid), a1.status) == (
        "0.00",
        "139.34",
        InstallmentStatus.OVERDUE,
    )
    assert sum(a.amount for a in second.allocations.all()) == D("139.34")


def test_reversing_a_payment_partly_refunded_by_a_return_undoes_only_what_it_still_pays(book):
    from orders.services import order_return

    customer = book["customer"]
    payment = posted_payment(customer=customer, amount="500.00", on=book["today"])  # A1 339.34, B1 160.66
    order_return(order=book["b"], amount=D("400.00"), reason="size too small")
    b1 = book["b1"]
    b1.refresh_from_db()
    assert (str(b1.principal_due), str(b1.principal_paid)) == ("100.00", "100.00")
    assert str(selectors.customer_credit_balance(customer=customer)) == "60.66"

    payment_reverse(payment=payment, reason="chargeback", by=UserFactory())

    b1.refresh_from_db()
    assert (str(b1.principal_paid), b1.status) == ("0.00", InstallmentStatus.DUE)
    assert sum(a.amount for a in payment.allocations.all()) == ZERO
    assert str(selectors.customer_credit_balance(customer=customer)) == "0.00"


def test_book_dates_are_what_the_fixture_says():
    # Guards the fixture's arithmetic on month ends: 40 days back plus one month is always past.
    for offset in range(0, 400):
        today = datetime.date(2024, 1, 1) + datetime.timedelta(days=offset)
        delivered = today - datetime.timedelta(days=40)
        assert add_months(delivered, 1) < today < add_months(delivered, 2)

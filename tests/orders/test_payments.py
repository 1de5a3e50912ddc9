"""Posting payments: once per provider reference, bad input refused, and safe when two arrive at once."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection

from bnpl_admin.errors import DomainError
from orders import selectors
from orders.models import (
    AllocationKind,
    Component,
    Installment,
    Order,
    OrderEvent,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Plan,
)
from orders.services import PaymentError, payment_post
from tests.factories import CustomerFactory, delivered_order, noon

D = Decimal
DELIVERED = datetime.date(2025, 1, 10)  # 1,000.00 in 3: due 10 Feb, 10 Mar, 10 Apr
PAID_ON = datetime.date(2025, 3, 15)  # two instalments overdue: 678.67 payable


def _book(customer) -> tuple:
    """Everything posting may write for a customer, to compare before and after."""
    return (
        list(Payment.objects.filter(customer=customer).values_list("external_reference", "amount")),
        list(PaymentAllocation.objects.filter(payment__customer=customer).values_list("pk", flat=True)),
        list(
            Installment.objects.filter(customer=customer)
            .order_by("pk")
            .values_list("principal_paid", "fee_paid", "late_fee_paid", "status")
        ),
        OrderEvent.objects.filter(order__customer=customer).count(),
    )


@pytest.fixture
def order(db) -> Order:
    return delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=DELIVERED)


# --- Idempotency -------------------------------------------------------------------------------


def test_the_same_reference_twice_is_one_payment_and_one_set_of_allocations(order):
    customer = order.customer
    first, replayed = payment_post(
        customer=customer, amount=D("400.00"), reference="ALI-1", received_at=noon(PAID_ON)
    )
    assert not replayed
    after_first = _book(customer)

    again, replayed = payment_post(
        customer=customer, amount=D("400.00"), reference=" ALI-1 ", received_at=noon(PAID_ON), method="wechat"
    )

    assert again.pk == first.pk
    assert replayed  # the caller learns it without checking first
    assert _book(customer) == after_first
    assert Payment.objects.filter(external_reference="ALI-1").count() == 1
    assert sum(a.amount for a in first.allocations.all()) == D("400.00")
    installments = list(order.installments.order_by("sequence"))
    assert [(str(i.fee_paid), str(i.principal_paid)) for i in installments] == [
        ("6.00", "333.34"),
        ("6.00", "54.66"),
        ("0.00", "0.00"),
    ]


@pytest.mark.parametrize(
    ("amount", "other_customer"),
    [pytest.param("400.01", False, id="other-amount"), pytest.param("400.00", True, id="other-customer")],
)
def test_a_known_reference_with_another_amount_or_customer_is_refused_and_changes_nothing(
    order, amount, other_customer
):
    payment_post(customer=order.customer, amount=D("400.00"), reference="ALI-2", received_at=noon(PAID_ON))
    who = CustomerFactory() if other_customer else order.customer
    before, before_other = _book(order.customer), _book(who)

    with pytest.raises(PaymentError) as error:
        payment_post(customer=who, amount=D(amount), reference="ALI-2", received_at=noon(PAID_ON))

    assert error.value.code == "reference_conflict"
    assert (_book(order.customer), _book(who)) == (before, before_other)


@pytest.mark.parametrize(
    ("amount", "reference", "method"),
    [
        pytest.param(D("0"), "ALI-3", "alipay", id="zero"),
        pytest.param(D("0.00"), "ALI-3", "alipay", id="zero-cents"),
        pytest.param(D("-10.00"), "ALI-3", "alipay", id="negative"),
        pytest.param(D("10.005"), "ALI-3", "alipay", id="three-decimals"),
        pytest.param("ten", "ALI-3", "alipay", id="not-a-number"),
        pytest.param(D("10.00"), "", "alipay", id="empty-reference"),
        pytest.param(D("10.00"), "   ", "alipay", id="blank-reference"),
        pytest.param(D("10.00"), "ALI-3", "cash", id="unknown-method"),
    ],
)
def test_bad_input_is_a_domain_error_and_writes_nothing(order, amount, reference, method):
    before = _book(order.customer)
    with pytest.raises(DomainError):
        payment_post(
            customer=order.customer,
            amount=amount,
            reference=reference,
            received_at=noon(PAID_ON),
            method=method,
        )
    assert _book(order.customer) == before
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", [0.1, 10.5, 339.34])
def test_a_float_is_never_taken_for_money(order, amount):
    # 10.5 happens to be exact in binary; it is refused all the same, as a float, not for its digits.
    with pytest.raises(DomainError):
        payment_post(customer=order.customer, amount=amount, reference="ALI-4", received_at=noon(PAID_ON))
    assert not Payment.objects.exists()


def test_every_method_the_provider_sends_is_accepted(order):
    for n, method in enumerate(PaymentMethod.values):
        payment, _replayed = payment_post(
            customer=order.customer,
            amount=D("1.00"),
            reference=f"M-{n}",
            received_at=noon(PAID_ON),
            method=method,
        )
        assert payment.method == method


# --- Concurrency (PostgreSQL: row locks are real) ----------------------------------------------


def _run_together(*calls):
    """Start each call in its own thread at the same instant; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # collected and asserted on by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a posting thread hung"
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_two_payments_for_one_customer_at_the_same_moment_are_both_allocated_exactly(postgres_only):
    order = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=DELIVERED)
    customer = order.customer

    def post(reference, amount):
        return lambda: (
            payment_post(
                customer=customer, amount=D(amount), reference=reference, received_at=noon(PAID_ON)
            ).payment.pk
        )

    (_a, _b), errors = _run_together(post("WX-A", "300.00"), post("WX-B", "500.00"))

    assert errors == []
    payments = list(Payment.objects.filter(customer=customer))
    assert sorted(str(p.amount) for p in payments) == ["300.00", "500.00"]
    for payment in payments:
        allocated = sum(a.amount for a in payment.allocations.filter(kind=AllocationKind.PAYMENT))
        assert allocated + payment.credit_created == payment.amount
    # 678.67 was payable (instalments 1 and 2); 800.00 arrived: 121.33 is credit, whoever came first.
    installments = list(order.installments.order_by("sequence"))
    assert [(str(i.fee_paid), str(i.principal_paid), i.status) for i in installments] == [
        ("6.00", "333.34", "paid"),
        ("6.00", "333.33", "paid"),
        ("0.00", "0.00", "scheduled"),
    ]
    for installment in installments:
        for component, field in ((Component.FEE, "fee_paid"), (Component.PRINCIPAL, "principal_paid")):
            rows = installment.allocations.filter(component=component)
            assert sum(a.amount for a in rows) == getattr(installment, field)
    assert sum(a.amount for a in PaymentAllocation.objects.all()) == D("678.67")
    assert str(sum(p.credit_created for p in payments)) == "121.33"
    assert str(selectors.customer_credit_balance(customer=customer)) == "121.33"
    assert str(selectors.customer_balance(customer=customer)["principal"]) == "333.33"


@pytest.mark.django_db(transaction=True)
def test_the_same_reference_posted_twice_at_the_same_moment_is_one_payment(postgres_only):
    order = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=DELIVERED)

    def post():
        return payment_post(
            customer=order.customer, amount=D("339.34"), reference="WX-SAME", received_at=noon(PAID_ON)
        )

    results, errors = _run_together(post, post)

    assert errors == []
    assert Payment.objects.count() == 1
    assert results[0].payment.pk == results[1].payment.pk == Payment.objects.get().pk
    # One of them posted it; the other was told it replayed that payment.
    assert sorted(result.replayed for result in results) == [False, True]
    assert [(a.component, str(a.amount)) for a in PaymentAllocation.objects.order_by("id")] == [
        (Component.FEE, "6.00"),
        (Component.PRINCIPAL, "333.34"),
    ]
    assert str(order.installments.get(sequence=1).principal_paid) == "333.34"


@pytest.mark.django_db(transaction=True)
def test_the_same_reference_for_two_customers_at_the_same_moment_posts_one_and_refuses_the_other(
    postgres_only,
):
    first = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=DELIVERED)
    second = delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=DELIVERED)

    def post(customer):
        return lambda: (
            payment_post(
                customer=customer, amount=D("100.00"), reference="WX-CLASH", received_at=noon(PAID_ON)
            ).payment.pk
        )

    results, errors = _run_together(post(first.customer), post(second.customer))

    assert len(errors) == 1 and isinstance(errors[0], PaymentError), errors
    assert errors[0].code == "reference_conflict"
    payment = Payment.objects.get()
    assert payment.pk in results
    assert sum(a.amount for a in PaymentAllocation.objects.all()) == D("100.00")
    assert {a.installment.customer_id for a in PaymentAllocation.objects.all()} == {payment.customer_id}

"""Where each yuan of a payment goes: DESIGN.md's allocation example, the order rule, and its invariants."""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnpl_admin.money import ZERO
from orders import selectors
from orders.ledger import ALLOCATION_ORDER, PAID_FIELD, allocate, allocation_order
from orders.models import (
    AllocationKind,
    Component,
    Installment,
    InstallmentStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Plan,
)
from orders.services import credit_balance_apply, payment_reverse
from tests.factories import CustomerFactory, UserFactory, delivered_order, noon, posted_payment

D = Decimal
DUE_FIELD = {
    Component.LATE_FEE: ("late_fee_due", "late_fee_waived"),
    Component.FEE: ("fee_due", "fee_waived"),
    Component.PRINCIPAL: ("principal_due", None),
}


def _lines(payment: Payment) -> list[tuple[int, str, str, str]]:
    return [
        (a.installment.sequence, a.component, str(a.amount), a.kind)
        for a in payment.allocations.select_related("installment").order_by("id")
    ]


def _installments(order) -> list[Installment]:
    return list(order.installments.order_by("sequence"))


# --- DESIGN.md's worked example ----------------------------------------------------------------


@pytest.mark.django_db
def test_design_example_payment_then_credit_on_the_next_due_date():
    # ¥1,000.00 in 3 delivered 10 Jan: instalment 1 due 10 Feb, instalment 2 due 10 Mar.
    order = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 10)
    )
    first, second, third = _installments(order)
    assert (first.due_date, second.due_date) == (datetime.date(2025, 2, 10), datetime.date(2025, 3, 10))
    # What the nightly sweep would have left through 20 March's example: 1.19 of late fees, overdue.
    first.late_fee_due = D("1.19")
    first.status = InstallmentStatus.OVERDUE
    first.save()
    customer = order.customer

    payment = posted_payment(customer=customer, amount="350.00", on=datetime.date(2025, 2, 20))

    assert _lines(payment) == [
        (1, Component.LATE_FEE, "1.19", AllocationKind.PAYMENT),
        (1, Component.FEE, "6.00", AllocationKind.PAYMENT),
        (1, Component.PRINCIPAL, "333.34", AllocationKind.PAYMENT),
    ]
    assert str(payment.credit_created) == "9.47"
    assert str(selectors.customer_credit_balance(customer=customer)) == "9.47"
    first.refresh_from_db()
    assert first.status == InstallmentStatus.PAID
    assert first.paid_at == noon(datetime.date(2025, 2, 20))
    second.refresh_from_db()
    assert (second.fee_paid, second.principal_paid, second.status) == (
        ZERO,
        ZERO,
        InstallmentStatus.SCHEDULED,
    )

    # The day before instalment 2 falls due the credit waits.
    assert credit_balance_apply(customer=customer, on=datetime.date(2025, 3, 9)) == []
    applied = credit_balance_apply(customer=customer, on=second.due_date)

    assert [(a.installment_id, a.component, str(a.amount), a.kind) for a in applied] == [
        (second.pk, Component.FEE, "6.00", AllocationKind.CREDIT),
        (second.pk, Component.PRINCIPAL, "3.47", AllocationKind.CREDIT),
    ]
    assert {a.payment_id for a in applied} == {payment.pk}
    assert {a.business_date for a in applied} == {second.due_date}
    assert str(selectors.customer_credit_balance(customer=customer)) == "0.00"
    second.refresh_from_db()
    assert (str(second.fee_paid), str(second.principal_paid)) == ("6.00", "3.47")
    assert second.status == InstallmentStatus.DUE
    balance = selectors.customer_balance(customer=customer)
    assert {k: str(v) for k, v in balance.items()} == {
        "principal": "663.19",  # 329.86 + 333.33
        "fee": "6.00",
        "late_fee": "0.00",
        "overdue": "0.00",
        "credit_balance": "0.00",
    }
    # Spent credit is not spent twice.
    assert credit_balance_apply(customer=customer, on=third.due_date) == []
    assert sum(a.amount for a in payment.allocations.all()) == D("350.00")


@pytest.mark.django_db
def test_oldest_due_date_first_across_orders_then_late_fee_fee_principal():
    customer = CustomerFactory()
    # C1 due 5 Feb (oldest), B1 (pay later) due 8 Feb, A1 due 20 Feb; C2 due 5 Mar is not yet due.
    order_c = delivered_order(
        customer=customer, amount="600.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 5)
    )
    order_b = delivered_order(
        customer=customer, amount="500.00", plan=Plan.PAY_LATER, delivered_on=datetime.date(2025, 1, 25)
    )
    order_a = delivered_order(
        customer=customer, amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 20)
    )
    c1, c2, _c3 = _installments(order_c)
    (b1,) = _installments(order_b)
    a1, _a2, _a3 = _installments(order_a)
    assert (c1.due_date, b1.due_date, a1.due_date) == (
        datetime.date(2025, 2, 5),
        datetime.date(2025, 2, 8),
        datetime.date(2025, 2, 20),
    )
    Installment.objects.filter(pk=c1.pk).update(late_fee_due=D("2.00"))
    Installment.objects.filter(pk=a1.pk).update(late_fee_due=D("0.50"))

    first = posted_payment(customer=customer, amount="700.00", on=datetime.date(2025, 2, 25))
    assert [(a.installment_id, a.component, str(a.amount)) for a in first.allocations.order_by("id")] == [
        (c1.pk, Component.LATE_FEE, "2.00"),
        (c1.pk, Component.FEE, "3.60"),
        (c1.pk, Component.PRINCIPAL, "200.00"),
        (b1.pk, Component.PRINCIPAL, "494.40"),
    ]
    assert str(first.credit_created) == "0.00"

    second = posted_payment(customer=customer, amount="20.00", on=datetime.date(2025, 2, 26))
    assert [(a.installment_id, a.component, str(a.amount)) for a in second.allocations.order_by("id")] == [
        (b1.pk, Component.PRINCIPAL, "5.60"),
        (a1.pk, Component.LATE_FEE, "0.50"),
        (a1.pk, Component.FEE, "6.00"),
        (a1.pk, Component.PRINCIPAL, "7.90"),
    ]
    order_b.refresh_from_db()
    assert order_b.status == "completed"
    c2.refresh_from_db()
    assert (c2.fee_paid, c2.principal_paid) == (ZERO, ZERO)


@pytest.mark.django_db
def test_a_payment_before_anything_is_due_is_all_credit_until_the_first_due_date():
    order = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 10)
    )
    payment = posted_payment(customer=order.customer, amount="400.00", on=datetime.date(2025, 1, 15))
    assert payment.allocations.count() == 0
    assert str(payment.credit_created) == "400.00"
    assert str(selectors.customer_credit_balance(customer=order.customer)) == "400.00"

    credit_balance_apply(customer=order.customer, on=datetime.date(2025, 2, 10))
    assert _lines(payment) == [
        (1, Component.FEE, "6.00", AllocationKind.CREDIT),
        (1, Component.PRINCIPAL, "333.34", AllocationKind.CREDIT),
    ]
    assert str(selectors.customer_credit_balance(customer=order.customer)) == "60.66"


@pytest.mark.django_db
def test_credit_is_spent_oldest_payment_first():
    order = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 10)
    )
    older = posted_payment(customer=order.customer, amount="100.00", on=datetime.date(2025, 1, 12))
    newer = posted_payment(customer=order.customer, amount="300.00", on=datetime.date(2025, 1, 13))
    credit_balance_apply(customer=order.customer, on=datetime.date(2025, 2, 10))
    assert _lines(older) == [
        (1, Component.FEE, "6.00", AllocationKind.CREDIT),
        (1, Component.PRINCIPAL, "94.00", AllocationKind.CREDIT),
    ]
    assert _lines(newer) == [(1, Component.PRINCIPAL, "239.34", AllocationKind.CREDIT)]
    assert str(selectors.customer_credit_balance(customer=order.customer)) == "60.66"


# --- The pure rule, many examples -------------------------------------------------------------

fen = st.integers(min_value=0, max_value=100_000).map(lambda n: D(n).scaleb(-2))


@st.composite
def open_installments(draw) -> list[Installment]:
    rows = []
    for k in range(draw(st.integers(min_value=0, max_value=8))):
        principal, fee, late_fee = draw(fen), draw(fen), draw(fen)
        fee_waived = draw(st.sampled_from([ZERO, fee]))
        late_fee_waived = draw(st.sampled_from([ZERO, late_fee]))
        rows.append(
            Installment(
                order_id=draw(st.integers(1, 3)),
                sequence=k + 1,
                due_date=datetime.date(2025, 1, 1) + datetime.timedelta(days=draw(st.integers(0, 90))),
                principal_due=principal,
                fee_due=fee,
                late_fee_due=late_fee,
                principal_paid=draw(st.sampled_from([ZERO, principal, (principal / 2).quantize(D("0.01"))])),
                fee_paid=ZERO if fee_waived else draw(st.sampled_from([ZERO, fee])),
                late_fee_paid=ZERO,
                fee_waived=fee_waived,
                late_fee_waived=late_fee_waived,
            )
        )
    return rows


@settings(max_examples=200, deadline=None)
@given(rows=open_installments(), amount=fen)
def test_allocate_pays_in_order_exactly_and_never_beyond_what_is_owed(rows, amount):
    ordered = allocation_order(rows)
    before = {id(i): {c: i.outstanding(c) for c in Component} for i in ordered}
    paid_before = {id(i): {c: getattr(i, PAID_FIELD[c]) for c in Component} for i in ordered}

    lines, left = allocate(amount, ordered)

    assert sum((line.amount for line in lines), ZERO) + left == amount
    assert ZERO <= left <= amount
    assert all(line.amount > ZERO for line in lines)
    # Lines follow the instalments in order and, within one, late fee → fee → principal.
    position = [(ordered.index(line.installment), ALLOCATION_ORDER.index(line.component)) for line in lines]
    assert position == sorted(position) and len(set(position)) == len(position)
    for installment in ordered:
        for component in Component:
            taken = sum(
                (x.amount for x in lines if x.installment is installment and x.component == component), ZERO
            )
            assert (
                getattr(installment, PAID_FIELD[component]) == paid_before[id(installment)][component] + taken
            )
            assert taken <= before[id(installment)][component]
            assert installment.outstanding(component) >= ZERO
    # Every line but the last clears its component; money is left only when nothing is owed.
    for line in lines[:-1]:
        assert line.installment.outstanding(line.component) == ZERO
    if left > ZERO:
        assert all(i.total_outstanding == ZERO for i in ordered)
    # Nothing is skipped: a component before the last line owes nothing now.
    if lines:
        last = position[-1]
        for idx, installment in enumerate(ordered):
            for c_idx, component in enumerate(ALLOCATION_ORDER):
                if (idx, c_idx) < last:
                    assert installment.outstanding(component) == ZERO


def test_allocate_refuses_a_negative_amount():
    with pytest.raises(ValueError):
        allocate(D("-0.01"), [])


# --- Through the database: random books, random payments --------------------------------------

BASE = datetime.date(2025, 1, 1)

order_specs = st.lists(
    st.tuples(
        st.integers(min_value=12, max_value=300_000).map(lambda n: D(n).scaleb(-2)),
        st.sampled_from(list(Plan)),
        st.integers(min_value=0, max_value=40),  # delivered this many days after BASE
        st.lists(st.integers(min_value=0, max_value=500).map(lambda n: D(n).scaleb(-2)), max_size=3),
    ),
    min_size=1,
    max_size=2,
)
events = st.lists(
    st.one_of(
        st.tuples(
            st.just("pay"),
            st.integers(min_value=1, max_value=200),
            st.integers(min_value=1, max_value=150_000).map(lambda n: D(n).scaleb(-2)),
        ),
        st.tuples(st.just("credit"), st.integers(min_value=1, max_value=200), st.just(ZERO)),
        # Reverse the n-th payment posted so far (if there is one still posted).
        st.tuples(st.just("reverse"), st.integers(min_value=1, max_value=200), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=8,
)


def _check_book(customer, *, on: datetime.date) -> None:
    payments = list(Payment.objects.filter(customer=customer))
    allocations = list(PaymentAllocation.objects.filter(payment__customer=customer))
    unapplied = {p.pk: p.credit_available for p in selectors.payments_with_credit(customer=customer)}
    for payment in payments:
        mine = [a for a in allocations if a.payment_id == payment.pk]
        by_kind = defaultdict(lambda: ZERO)
        for a in mine:
            by_kind[a.kind] += a.amount
        assert by_kind[AllocationKind.PAYMENT] + payment.credit_created == payment.amount
        if payment.status == PaymentStatus.REVERSED:
            # Undone in full: nothing of it is left anywhere, and it has no credit to spend.
            assert sum((a.amount for a in mine), ZERO) == ZERO
            assert payment.pk not in unapplied
            continue
        credit_left = payment.credit_created - by_kind[AllocationKind.CREDIT]
        assert ZERO <= credit_left <= payment.amount
        assert unapplied.get(payment.pk, ZERO) == credit_left
        assert all(c.as_tuple().exponent == -2 for c in unapplied.values()), unapplied
        assert sum((a.amount for a in mine), ZERO) + unapplied.get(payment.pk, ZERO) == payment.amount
    posted = {p.pk for p in payments if p.status == PaymentStatus.POSTED}
    assert selectors.customer_credit_balance(customer=customer) == sum(
        (p.credit_created for p in payments if p.pk in posted), ZERO
    ) - sum(
        (a.amount for a in allocations if a.kind == AllocationKind.CREDIT and a.payment_id in posted), ZERO
    )

    for installment in Installment.objects.filter(customer=customer):
        for component in Component:
            paid = getattr(installment, PAID_FIELD[component])
            assert paid == sum(
                (
                    a.amount
                    for a in allocations
                    if a.installment_id == installment.pk and a.component == component
                ),
                ZERO,
            )
            due_field, waived_field = DUE_FIELD[component]
            ceiling = getattr(installment, due_field) - (
                getattr(installment, waived_field) if waived_field else 0
            )
            assert ZERO <= paid <= ceiling
        touched = any(a.installment_id == installment.pk for a in allocations)
        if touched:
            assert (installment.status == InstallmentStatus.PAID) == (installment.total_outstanding == ZERO)
            assert (installment.paid_at is not None) == (installment.status == InstallmentStatus.PAID)


def _check_order_of(
    new: list[PaymentAllocation], customer, *, on: datetime.date, credit_left: Decimal
) -> None:
    """The allocations an event made follow the rule, and money stays as credit only if nothing is payable."""
    rows = {i.pk: i for i in Installment.objects.filter(customer=customer)}
    keys = [
        (rows[a.installment_id].due_date, rows[a.installment_id].order_id, rows[a.installment_id].sequence)
        for a in new
    ]
    positions = [(k, ALLOCATION_ORDER.index(a.component)) for k, a in zip(keys, new, strict=True)]
    assert positions == sorted(positions)
    assert all(rows[a.installment_id].due_date <= on for a in new)
    if credit_left > ZERO:
        assert all(i.total_outstanding == ZERO for i in rows.values() if i.due_date <= on)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=order_specs, script=events)
def test_random_books_and_payments_keep_every_yuan_accounted_for(specs, script):
    customer = CustomerFactory()
    for amount, plan, delivered_after, late_fees in specs:
        order = delivered_order(
            customer=customer,
            amount=amount,
            plan=plan,
            delivered_on=BASE + datetime.timedelta(days=delivered_after),
        )
        for installment, late_fee in zip(_installments(order), late_fees, strict=False):
            Installment.objects.filter(pk=installment.pk).update(late_fee_due=late_fee)

    staff = UserFactory()
    for kind, day, amount in sorted(script, key=lambda e: e[1]):
        on = BASE + datetime.timedelta(days=day)
        seen = set(PaymentAllocation.objects.filter(payment__customer=customer).values_list("pk", flat=True))
        if kind == "reverse":
            payments = list(Payment.objects.filter(customer=customer).order_by("id"))
            if amount < len(payments) and payments[amount].status == PaymentStatus.POSTED:
                payment_reverse(payment=payments[amount], reason="provider chargeback", by=staff)
                new = PaymentAllocation.objects.filter(payment__customer=customer).exclude(pk__in=seen)
                assert {a.kind for a in new} <= {AllocationKind.REVERSAL}
            _check_book(customer, on=on)
            continue
        if kind == "pay":
            payment = posted_payment(customer=customer, amount=amount, on=on)
            assert payment.amount == amount
            credit_left = payment.credit_created
        else:
            credit_balance_apply(customer=customer, on=on)
            credit_left = selectors.customer_credit_balance(customer=customer)
        new = list(
            PaymentAllocation.objects.filter(payment__customer=customer).exclude(pk__in=seen).order_by("id")
        )
        assert all(a.business_date == on for a in new)
        _check_order_of(new, customer, on=on, credit_left=credit_left)
        _check_book(customer, on=on)

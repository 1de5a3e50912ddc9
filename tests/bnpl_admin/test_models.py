"""Invariants the database itself keeps, and the rule that no float ever holds money."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from collection.models import CaseStatus, CollectionCase
from orders.models import AllocationKind, Component, Installment, Payment, PaymentAllocation, Plan
from tests.factories import CollectionCaseFactory, CustomerFactory, delivered_order, posted_payment
from tests.registry import PROJECT_MODELS, PROJECT_PACKAGES

D = Decimal
REPO = Path(__file__).resolve().parents[2]
# The sources of every app (tests.registry) and of the project package.
SOURCE_DIRS = (*PROJECT_PACKAGES, "bnpl_admin")


def _refused(write) -> None:
    """The write is rejected by the database (in a savepoint, so the test can go on)."""
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


# --- One open collection case per customer ---------------------------------------------------


@pytest.mark.django_db
def test_a_second_open_case_for_a_customer_is_refused_by_the_database():
    case = CollectionCaseFactory()
    # bulk_create skips model validation: the database alone must refuse it.
    _refused(lambda: CollectionCase.objects.bulk_create([CollectionCase(customer=case.customer)]))
    _refused(lambda: CollectionCase.objects.create(customer=case.customer, status=CaseStatus.PROMISED))
    assert CollectionCase.objects.filter(customer=case.customer).count() == 1


@pytest.mark.django_db
def test_a_closed_case_and_an_open_case_for_one_customer_are_fine():
    customer = CustomerFactory()
    for _ in range(2):
        CollectionCaseFactory(customer=customer, status=CaseStatus.RESOLVED, closed_at=timezone.now())
    CollectionCaseFactory(customer=customer)
    CollectionCaseFactory()  # another customer's open case
    assert CollectionCase.objects.filter(customer=customer).open().count() == 1


@pytest.mark.django_db
def test_reopening_a_closed_case_while_another_is_open_is_refused():
    customer = CustomerFactory()
    closed = CollectionCaseFactory(customer=customer, status=CaseStatus.RESOLVED, closed_at=timezone.now())
    CollectionCaseFactory(customer=customer)
    _refused(
        lambda: CollectionCase.objects.filter(pk=closed.pk).update(status=CaseStatus.OPEN, closed_at=None)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "closed"),
    [(CaseStatus.RESOLVED, False), (CaseStatus.WRITTEN_OFF, False), (CaseStatus.OPEN, True)],
)
def test_a_case_is_closed_exactly_when_its_status_is_a_closed_one(status, closed):
    customer = CustomerFactory()
    _refused(
        lambda: CollectionCase.objects.create(
            customer=customer, status=status, closed_at=timezone.now() if closed else None
        )
    )


# --- Instalments and payments ------------------------------------------------------------------


@pytest.fixture
def installment(db) -> Installment:
    order = delivered_order(
        amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2025, 1, 10)
    )
    return order.installments.get(sequence=1)  # 333.34 + 6.00


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"principal_paid": D("333.35")}, id="principal-paid-above-due"),
        pytest.param({"fee_paid": D("6.01")}, id="fee-paid-above-due"),
        pytest.param({"fee_paid": D("5.00"), "fee_waived": D("1.01")}, id="fee-paid-plus-waived-above-due"),
        pytest.param({"late_fee_paid": D("0.01")}, id="late-fee-paid-with-none-due"),
        pytest.param(
            {"late_fee_due": D("1.19"), "late_fee_waived": D("1.20")}, id="late-fee-waived-above-due"
        ),
        pytest.param({"principal_paid": D("-0.01")}, id="negative-paid"),
        pytest.param({"fee_due": D("-6.00")}, id="negative-due"),
        pytest.param({"fee_waived": D("-1.00")}, id="negative-waiver"),
    ],
)
def test_the_database_refuses_an_instalment_paid_beyond_what_it_owes(installment, changes):
    _refused(lambda: Installment.objects.filter(pk=installment.pk).update(**changes))
    for field, value in changes.items():
        setattr(installment, field, value)
    _refused(installment.save)


@pytest.mark.django_db
def test_an_instalment_paid_and_waived_exactly_to_its_due_is_accepted(installment):
    Installment.objects.filter(pk=installment.pk).update(
        principal_paid=D("333.34"), fee_paid=D("4.00"), fee_waived=D("2.00")
    )
    installment.refresh_from_db()
    assert installment.total_outstanding == 0


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [D("0.00"), D("-0.01"), D("-100.00")])
def test_a_payment_must_be_more_than_zero(amount):
    customer = CustomerFactory()
    _refused(
        lambda: Payment.objects.create(
            customer=customer,
            amount=amount,
            received_at=timezone.now(),
            method="alipay",
            external_reference="BAD-AMOUNT",
        )
    )


@pytest.mark.django_db
def test_a_payment_reference_is_unique_and_credit_is_within_the_amount():
    customer = CustomerFactory()
    fields = {"customer": customer, "received_at": timezone.now(), "method": "alipay"}
    Payment.objects.create(amount=D("10.00"), external_reference="REF-1", **fields)
    _refused(lambda: Payment.objects.create(amount=D("10.00"), external_reference="REF-1", **fields))
    _refused(
        lambda: Payment.objects.create(
            amount=D("10.00"), credit_created=D("10.01"), external_reference="REF-2", **fields
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        (AllocationKind.PAYMENT, D("0.00")),
        (AllocationKind.PAYMENT, D("-1.00")),
        (AllocationKind.CREDIT, D("-1.00")),
        (AllocationKind.REVERSAL, D("1.00")),
        (AllocationKind.REFUND, D("1.00")),
    ],
)
def test_an_allocation_is_never_zero_and_its_sign_matches_its_kind(installment, kind, amount):
    payment = posted_payment(customer=installment.customer, amount="1.00", on=datetime.date(2025, 1, 20))
    _refused(
        lambda: PaymentAllocation.objects.create(
            payment=payment,
            installment=installment,
            component=Component.PRINCIPAL,
            amount=amount,
            kind=kind,
            business_date=datetime.date(2025, 1, 20),
        )
    )


# --- No float holds money ----------------------------------------------------------------------

MONEY_NAME = re.compile(r"(^|_)(amount|limit)$|_(due|paid|waived)$|^credit_")
NOT_MONEY = {"days_past_due"}  # a count of days that happens to end in _due


def _project_fields():
    for model in PROJECT_MODELS:
        for field in model._meta.concrete_fields:
            yield model, field


def test_no_model_field_in_the_project_is_a_float():
    floats = [f"{m._meta.label}.{f.name}" for m, f in _project_fields() if isinstance(f, models.FloatField)]
    assert floats == []


def test_every_money_field_is_a_decimal_with_two_places():
    money = [
        (m, f)
        for m, f in _project_fields()
        if MONEY_NAME.search(f.name) and f.name not in NOT_MONEY and not f.is_relation
    ]
    wrong = [
        f"{m._meta.label}.{f.name} ({type(f).__name__}, {getattr(f, 'decimal_places', None)} places)"
        for m, f in money
        if not (isinstance(f, models.DecimalField) and f.decimal_places == 2)
    ]
    assert wrong == []
    # The check must actually see the money columns it is meant to guard.
    seen = {f"{m._meta.label}.{f.name}" for m, f in money}
    assert {
        "accounts.CreditLine.limit",
        "orders.Order.amount",
        "orders.Order.fee_amount",
        "orders.Installment.principal_due",
        "orders.Installment.late_fee_paid",
        "orders.Installment.fee_waived",
        "orders.Payment.amount",
        "orders.Payment.credit_created",
        "orders.PaymentAllocation.amount",
        "orders.Waiver.amount",
        "policy.Policy.late_fee_cap_amount",
    } <= seen


def _project_sources():
    for directory in SOURCE_DIRS:
        for path in sorted((REPO / directory).rglob("*.py")):
            if "tests" not in path.relative_to(REPO).parts:
                yield path


# Statistics, not money: the risk app's characteristics (counts, shares, ratios), their fitting
# by logistic regression (numpy, scikit-learn) and the comparison of a value with its bins. No
# amount of money is computed there: limits come from the grade bands' Decimal amounts.
FLOAT_ALLOWED = {"risk/characteristics.py", "risk/fitting.py", "risk/scoring.py"}


def test_no_float_in_the_project_sources():
    offending = []
    for path in _project_sources():
        if str(path.relative_to(REPO)) in FLOAT_ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\bfloat\(|FloatField", line):
                offending.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offending == []
    assert len(list(_project_sources())) > 20  # the walk found the apps

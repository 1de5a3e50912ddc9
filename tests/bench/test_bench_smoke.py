"""The benchmark at a tiny scale: the book obeys the ledger's rules, and the naive loop, the SQL
reference and the sweep reach the same instalment table. Correctness only, never timings."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F, Q, Sum

from accounts.models import CreditLine, Customer
from bench.book import book_build
from bench.reference import installments_checksum
from bench.run import measure_naive, measure_reminders, measure_sql_reference, measure_sweep, sample_range
from collection.models import CollectionCase
from orders.models import Installment, InstallmentStatus, Order, Payment, PaymentAllocation
from policy.models import Policy

# Built and swept outside a test transaction: the PostgreSQL loader copies on its own
# connections and VACUUMs. The flush after it puts the base data back (post_migrate).
pytestmark = pytest.mark.django_db(transaction=True)

ON = datetime.date(2026, 3, 20)
YESTERDAY = ON - datetime.timedelta(days=1)
SCALE = 0.0001  # 25 customers, 100 orders, about 400 instalments
SEED = 3


@pytest.fixture
def book():
    return book_build(scale=SCALE, on=ON, seed=SEED)


def test_the_book_is_a_consistent_ledger_as_swept_yesterday(book):
    assert Policy.objects.exists()
    assert (book.customers, book.orders) == (25, 100)
    assert Installment.objects.count() == book.installments > 300
    assert Customer.objects.count() == CreditLine.objects.count() == book.customers
    # The mix the benchmark needs: paid history, overdue customers with late fees, work for today.
    assert book.mix["customers_overdue"] >= 1
    assert book.mix["installments_overdue_with_late_fee"] >= 1
    assert book.mix["installments_paid_late"] >= 1
    statuses = set(Installment.objects.values_list("status", flat=True))
    assert {"paid", "overdue", "scheduled"} <= statuses

    # Statuses as the sweep for yesterday left them.
    assert not Installment.objects.filter(status="overdue", due_date__gte=YESTERDAY).exists()
    assert not Installment.objects.filter(status="scheduled", due_date__lte=YESTERDAY).exists()
    assert not Installment.objects.filter(late_fee_through__gt=YESTERDAY).exists()
    paid = Installment.objects.filter(status=InstallmentStatus.PAID)
    assert not paid.exclude(
        principal_paid=F("principal_due"), fee_paid=F("fee_due"), late_fee_paid=F("late_fee_due")
    ).exists()
    # Every payment is fully allocated or left as credit balance, to the fen.
    for payment in Payment.objects.annotate(allocated=Sum("allocations__amount")):
        assert (payment.allocated or Decimal("0.00")) + payment.credit_created == payment.amount
    # The stored paid totals are the sums of the allocations.
    for installment in Installment.objects.filter(principal_paid__gt=0)[:50]:
        total = PaymentAllocation.objects.filter(installment=installment).aggregate(s=Sum("amount"))["s"]
        assert total == installment.principal_paid + installment.fee_paid + installment.late_fee_paid
    # Orders: the parts add up to the principal, and late fees never pass the cap.
    policy = Policy.objects.get()
    for order in Order.objects.annotate(
        principal=Sum("installments__principal_due"), late=Sum("installments__late_fee_due")
    ):
        assert order.principal == order.amount
        assert order.late <= min(policy.late_fee_cap_amount, order.amount * policy.late_fee_cap_rate)
    # One open case and a frozen line per customer with overdue money not on hold.
    overdue = set(
        Installment.objects.filter(status="overdue", order__hold="").values_list("customer_id", flat=True)
    )
    open_cases = CollectionCase.objects.filter(closed_at__isnull=True)
    assert set(open_cases.values_list("customer_id", flat=True)) == overdue
    assert set(CreditLine.objects.filter(status="frozen").values_list("customer_id", flat=True)) == overdue
    assert not Installment.objects.filter(Q(principal_paid__gt=F("principal_due"))).exists()


def test_naive_loop_sql_reference_and_sweep_agree_and_a_second_sweep_changes_nothing(book):
    before = installments_checksum()
    sample = sample_range(target=book.installments // 2)
    naive = measure_naive(on=ON, sample=sample)
    kinder = measure_naive(on=ON, sample=sample, changed_only=True)
    reference = measure_sql_reference(on=ON)
    # The references were rolled back.
    assert installments_checksum() == before
    # The plain loop saves every unpaid instalment it looks at; the kinder one only changes.
    assert naive["saved"] > kinder["saved"] >= 1
    assert naive["checksum"] == kinder["checksum"]

    _, run = measure_sweep(on=ON, chunk_size=7)
    after = installments_checksum()
    assert run.status == "done" and run.chunk_count == 4
    assert after != before
    assert installments_checksum(customers=sample[:2], without_credit_customers=True) == naive["checksum"]
    if connection.vendor == "postgresql":
        assert reference["rows"] >= kinder["saved"]
        assert installments_checksum(without_credit_customers=True) == reference["checksum"]
    else:
        assert reference is None  # the SQL reference is written for PostgreSQL

    measure_sweep(on=ON, chunk_size=7)  # the run is done: nothing to do
    assert installments_checksum() == after
    measure_sweep(on=ON, chunk_size=7, again=True)  # every chunk once more
    assert installments_checksum() == after


def test_the_reminder_hook_measures_or_says_why_not(book):
    outcome = measure_reminders(on=ON)
    if outcome["measured"]:
        assert outcome["reminders"] is not None
    else:
        assert "reminders" in outcome["why"]

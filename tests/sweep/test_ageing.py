"""The sweep ages customers into buckets, opens and closes cases, and freezes credit lines."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import translation

from accounts.models import CreditLineStatus
from collection.models import Bucket, CaseEvent, CaseStatus, CollectionCase
from orders.models import Plan
from orders.services import payment_post
from sweep.models import PortfolioSnapshot
from sweep.services import sweep_run
from tests.factories import delivered_order, noon

pytestmark = pytest.mark.django_db

DUE = datetime.date(2026, 3, 10)


def sweep(on, again=False):
    run = sweep_run(on=on, chunk_size=3, again=again)
    assert run.status == "done"
    return run


def at(dpd: int) -> datetime.date:
    return DUE + datetime.timedelta(days=dpd)


@pytest.fixture
def late_order():
    return delivered_order(amount="1000.00", plan=Plan.INSTALMENTS_3, delivered_on=datetime.date(2026, 2, 10))


def open_case(customer):
    return CollectionCase.objects.get(customer=customer, closed_at__isnull=True)


def test_nothing_happens_before_the_due_date(late_order):
    sweep(at(-1))
    assert not CollectionCase.objects.exists()
    assert late_order.customer.credit_line.status == CreditLineStatus.ACTIVE


def test_one_day_late_opens_an_m1_case_and_freezes_the_line(late_order):
    sweep(at(1))
    case = open_case(late_order.customer)
    assert (case.days_past_due, case.bucket, case.status) == (1, Bucket.M1, CaseStatus.OPEN)
    line = late_order.customer.credit_line
    line.refresh_from_db()
    assert line.status == CreditLineStatus.FROZEN
    # Written in the business's language (LANGUAGE_CODE), as the sweep runs without a reader.
    with translation.override(settings.LANGUAGE_CODE):
        assert line.status_reason == translation.gettext(
            "Overdue: %(days)d days past due (sweep %(date)s)"
        ) % {
            "days": 1,
            "date": at(1).isoformat(),
        }
    # The freeze is audited like a change by a person.
    assert line.history.first().status == CreditLineStatus.FROZEN
    assert CaseEvent.objects.filter(case=case, type="opened").count() == 1


@pytest.mark.parametrize(
    ("dpd", "bucket"), [(30, Bucket.M1), (31, Bucket.M2), (60, Bucket.M2), (61, Bucket.M3), (91, Bucket.M4)]
)
def test_buckets_follow_days_past_due(late_order, dpd, bucket):
    sweep(at(1))
    sweep(at(dpd))
    case = open_case(late_order.customer)
    assert (case.days_past_due, case.bucket) == (dpd, bucket)
    assert CollectionCase.objects.filter(customer=late_order.customer).count() == 1


def test_days_past_due_count_from_the_oldest_unpaid_instalment(late_order):
    # By 20 April instalment 1 (10 March) and instalment 2 (10 April) are both overdue.
    sweep(datetime.date(2026, 4, 20))
    assert open_case(late_order.customer).days_past_due == 41


def test_paying_everything_overdue_resolves_the_case_but_keeps_the_freeze(late_order):
    sweep(at(5))
    owed = late_order.installments.get(sequence=1)
    total = owed.principal_due + owed.fee_due + owed.late_fee_due
    payment_post(customer=late_order.customer, amount=total, reference="ALI-RESOLVE", received_at=noon(at(5)))
    sweep(at(6))
    case = CollectionCase.objects.get(customer=late_order.customer)
    assert case.status == CaseStatus.RESOLVED and case.closed_at is not None
    line = late_order.customer.credit_line
    line.refresh_from_db()
    assert line.status == CreditLineStatus.FROZEN  # only a person unfreezes


def test_partial_payment_keeps_the_case_open_and_lowers_the_daily_fee(late_order):
    sweep(at(4))
    inst = late_order.installments.get(sequence=1)
    assert inst.late_fee_due == Decimal("0.17")
    # Pays the late fee, the fee and 233.34 of principal: 100.00 principal stays unpaid.
    payment_post(
        customer=late_order.customer, amount=Decimal("239.51"), reference="ALI-PART", received_at=noon(at(4))
    )
    sweep(at(5))
    inst.refresh_from_db()
    assert inst.principal_due - inst.principal_paid == Decimal("100.00")
    assert inst.late_fee_due == Decimal("0.22")  # 0.17 + 0.05 (0.05% of 100.00)
    assert open_case(late_order.customer).days_past_due == 5


def test_snapshot_counts_customers_by_bucket(late_order):
    delivered_order(amount="500.00", plan=Plan.PAY_LATER, delivered_on=at(35))  # due at(49): current
    sweep(at(40))
    snap = {s.bucket: s for s in PortfolioSnapshot.objects.filter(business_date=at(40))}
    assert snap[Bucket.M2].customers == 1
    assert snap[Bucket.CURRENT].customers == 1
    assert snap[Bucket.M2].principal_outstanding == Decimal("1000.00")
    # By 19 April: instalment 1 with 37 fee days × 0.17 = 6.29, instalment 2 (due 10 April,
    # 9 days past due) with 6 fee days × 0.17 = 1.02, each with its fee.
    first = Decimal("333.34") + Decimal("6.00") + Decimal("6.29")
    second = Decimal("333.33") + Decimal("6.00") + Decimal("1.02")
    assert snap[Bucket.M2].overdue_amount == first + second
    assert snap[Bucket.CURRENT].principal_outstanding == Decimal("500.00")


def test_a_run_finished_by_the_workers_publishes_its_snapshot_once_committed(
    late_order, monkeypatch, django_capture_on_commit_callbacks
):
    from sweep import tasks
    from sweep.services import sweep_chunk_run, sweep_finish, sweep_plan

    published = []
    monkeypatch.setattr(tasks.portfolio_snapshot, "delay", lambda on: published.append(on))
    run = sweep_plan(on=at(40), chunk_size=3)
    for chunk_id in run.chunks.values_list("id", flat=True):
        sweep_chunk_run(chunk_id=chunk_id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert sweep_finish(run_id=run.pk)
    # The snapshot, and the work chained after the sweep (bnpl_admin.signals.sweep_done: promises).
    assert published == [at(40).isoformat()] and len(callbacks) == 2
    # The snapshot is the task's work, not the run's; finishing again publishes nothing more.
    assert not PortfolioSnapshot.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_finish(run_id=run.pk)
    assert published == [at(40).isoformat()]
    tasks.portfolio_snapshot(at(40).isoformat())
    assert PortfolioSnapshot.objects.filter(business_date=at(40)).count() == len(Bucket)


def test_run_sweep_takes_the_snapshot_itself_once(late_order):
    sweep(at(40))
    assert PortfolioSnapshot.objects.filter(business_date=at(40)).count() == len(Bucket)
    PortfolioSnapshot.objects.all().delete()
    sweep(at(40))  # the run is done: nothing runs, no snapshot is taken again
    assert not PortfolioSnapshot.objects.exists()
    sweep(at(40), again=True)
    assert PortfolioSnapshot.objects.filter(business_date=at(40)).count() == len(Bucket)

"""Settlements, restructures and write-offs: maker–checker, the principal limit, money moved
exactly through the orders services, the write-off proposal after the sweep, recoveries."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import Role
from bnpl_admin.money import ZERO, apply_rate
from bnpl_admin.signals import sweep_done
from collection.models import CaseEvent, CaseEventType, CaseStatus, CollectionCase
from orders.ledger import restructure_lines
from orders.models import (
    AllocationKind,
    Component,
    Installment,
    InstallmentStatus,
    OrderStatus,
    PaymentAllocation,
    Plan,
    Waiver,
)
from orders.reconciliation import ledger_mismatches
from policy.models import Policy
from settlements.models import ArrangementKind, ArrangementRequest, ArrangementStatus
from settlements.services import (
    ArrangementError,
    arrangement_approve,
    arrangement_cancel,
    arrangement_propose,
    arrangement_reject,
    write_offs_propose,
)
from tests.factories import posted_payment
from tests.settlements.books import overdue_case, owed, person

pytestmark = pytest.mark.django_db

SETTLEMENT, RESTRUCTURE = ArrangementKind.SETTLEMENT, ArrangementKind.RESTRUCTURE


@pytest.fixture
def agent():
    return person(Role.COLLECTIONS_AGENT)


@pytest.fixture
def manager():
    return person(Role.COLLECTIONS_MANAGER)


@pytest.fixture
def checker():
    return person(Role.COLLECTIONS_MANAGER)


def _events(case) -> list[str]:
    return list(case.events.order_by("id").values_list("type", flat=True))


# --- Maker–checker ----------------------------------------------------------------------------


def test_nobody_approves_their_own_request(manager, checker):
    case = overdue_case(agent=manager)
    request = arrangement_propose(case=case, by=manager, kind=SETTLEMENT, fee_discount="5.00")

    with pytest.raises(ArrangementError) as refused:
        arrangement_approve(request=request, by=manager, reason="mine")
    assert refused.value.code == "own_request"
    with pytest.raises(ArrangementError):
        arrangement_reject(request=request, by=manager, reason="mine")
    request.refresh_from_db()
    assert request.status == ArrangementStatus.PENDING
    assert not Waiver.objects.exists()

    # And the database refuses it whatever path writes it.
    with pytest.raises(IntegrityError), transaction.atomic():
        ArrangementRequest.objects.filter(pk=request.pk).update(
            status=ArrangementStatus.APPROVED, decided_by=manager, decided_at=timezone.now()
        )

    arrangement_approve(request=request, by=checker, reason="goodwill")
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_reason) == (
        ArrangementStatus.APPROVED,
        checker,
        "goodwill",
    )


def test_only_managers_decide_and_only_agents_and_managers_propose(agent, checker):
    case = overdue_case(agent=agent)
    field_agent = person(Role.FIELD_AGENT)
    with pytest.raises(ArrangementError):
        arrangement_propose(case=case, by=field_agent, kind=SETTLEMENT, fee_discount="1.00")
    request = arrangement_propose(case=case, by=agent, kind=SETTLEMENT, fee_discount="1.00")
    other_agent = person(Role.COLLECTIONS_AGENT)
    with pytest.raises(ArrangementError) as refused:
        arrangement_approve(request=request, by=other_agent, reason="ok")
    assert refused.value.code == "not_allowed"


def test_a_case_has_one_request_waiting_at_a_time(agent):
    case = overdue_case(agent=agent)
    arrangement_propose(case=case, by=agent, kind=SETTLEMENT, fee_discount="1.00")
    with pytest.raises(ArrangementError):
        arrangement_propose(case=case, by=agent, kind=RESTRUCTURE, months=3)
    assert ArrangementRequest.objects.count() == 1


# --- Settlements ----------------------------------------------------------------------------------


def test_principal_discount_is_limited_by_the_policy(agent):
    case = overdue_case(agent=agent, amount="1000.00")
    principal = owed(case.customer)[Component.PRINCIPAL]
    limit = apply_rate(principal, Decimal("0.2"))  # the default policy's share
    assert limit == Decimal("200.00")

    with pytest.raises(ArrangementError) as refused:
        arrangement_propose(case=case, by=agent, kind=SETTLEMENT, principal_discount=limit + Decimal("0.01"))
    assert refused.value.code == "over_limit"
    assert not ArrangementRequest.objects.exists()

    request = arrangement_propose(case=case, by=agent, kind=SETTLEMENT, principal_discount=limit)
    assert request.principal_discount == limit


def test_the_limit_is_checked_again_when_approved(agent, checker):
    case = overdue_case(agent=agent, amount="1000.00")
    request = arrangement_propose(case=case, by=agent, kind=SETTLEMENT, principal_discount="150.00")
    Policy.objects.update(settlement_principal_discount_max_rate=Decimal("0.1"))  # a stricter limit meanwhile
    with pytest.raises(ArrangementError) as refused:
        arrangement_approve(request=request, by=checker, reason="ok")
    assert refused.value.code == "over_limit"
    assert not Waiver.objects.exists()


def test_approving_a_settlement_waives_exactly_its_discounts(agent, checker):
    case = overdue_case(agent=agent, amount="1000.00", days_ago=100)
    customer = case.customer
    before = owed(customer)
    assert before[Component.LATE_FEE] > ZERO  # late fees were charged
    discounts = {
        Component.LATE_FEE: before[Component.LATE_FEE],
        Component.FEE: Decimal("7.50"),  # more than one instalment's fee of 6.00: two waivers
        Component.PRINCIPAL: Decimal("123.45"),
    }
    request = arrangement_propose(
        case=case,
        by=agent,
        kind=SETTLEMENT,
        late_fee_discount=discounts[Component.LATE_FEE],
        fee_discount=discounts[Component.FEE],
        principal_discount=discounts[Component.PRINCIPAL],
        reason="hardship",
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.SETTLEMENT_PENDING

    arrangement_approve(request=request, by=checker, reason="hardship confirmed")

    after = owed(customer)
    for component, discount in discounts.items():
        assert before[component] - after[component] == discount, component
        waived = sum(Waiver.objects.filter(component=component).values_list("amount", flat=True), ZERO)
        assert waived == discount
    waiver = Waiver.objects.filter(component=Component.FEE).first()
    assert (waiver.requested_by, waiver.approved_by) == (agent, checker)
    # The fee discount comes off the latest instalment first.
    fee_waivers = list(Waiver.objects.filter(component=Component.FEE).order_by("installment__sequence"))
    assert [(w.installment.sequence, w.amount) for w in fee_waivers] == [
        (2, Decimal("1.50")),
        (3, Decimal("6.00")),
    ]
    assert ledger_mismatches() == []
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED
    assert CaseEventType.SETTLEMENT_PROPOSED in _events(case)
    assert CaseEventType.SETTLEMENT_APPROVED in _events(case)


def test_a_settlement_that_leaves_nothing_resolves_the_case(agent, checker):
    Policy.objects.update(settlement_principal_discount_max_rate=Decimal("1"))
    case = overdue_case(agent=agent, amount="300.00")
    left = owed(case.customer)
    request = arrangement_propose(
        case=case,
        by=agent,
        kind=SETTLEMENT,
        late_fee_discount=left[Component.LATE_FEE],
        fee_discount=left[Component.FEE],
        principal_discount=left[Component.PRINCIPAL],
    )
    arrangement_approve(request=request, by=checker, reason="deceased customer")
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED and case.closed_at is not None
    assert all(v == ZERO for v in owed(case.customer).values())
    order = case.customer.orders.get()
    assert order.status == OrderStatus.COMPLETED
    assert ledger_mismatches() == []


def test_a_discount_above_what_is_owed_when_approved_is_refused(agent, checker):
    case = overdue_case(agent=agent, amount="1000.00")
    fees = owed(case.customer)[Component.FEE]
    request = arrangement_propose(case=case, by=agent, kind=SETTLEMENT, fee_discount=fees)
    posted_payment(customer=case.customer, amount="50.00")  # pays late fees and fees meanwhile
    with pytest.raises(ArrangementError) as refused:
        arrangement_approve(request=request, by=checker, reason="ok")
    assert refused.value.code == "too_much"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    amount=st.decimals(min_value=Decimal("30.00"), max_value=Decimal("20000.00"), places=2),
    plan=st.sampled_from([Plan.PAY_LATER, Plan.INSTALMENTS_3, Plan.INSTALMENTS_6, Plan.INSTALMENTS_12]),
    days_ago=st.integers(min_value=20, max_value=200),
    paid=st.decimals(min_value=Decimal("0.00"), max_value=Decimal("500.00"), places=2),
    shares=st.tuples(*(st.fractions(min_value=0, max_value=1) for _ in range(3))),
)
def test_settlements_over_random_books_move_money_to_the_fen(
    agent, checker, amount, plan, days_ago, paid, shares
):
    case = overdue_case(agent=agent, amount=str(amount), plan=plan, days_ago=days_ago)
    if paid > ZERO:
        posted_payment(customer=case.customer, amount=paid)
    before = owed(case.customer)
    if sum(before.values(), ZERO) == ZERO:
        return
    limit = apply_rate(before[Component.PRINCIPAL], Decimal("0.2"))
    late, fee, principal = (
        (Decimal(share.numerator) * bound / share.denominator).quantize(
            Decimal("0.01"), rounding="ROUND_DOWN"
        )
        for share, bound in zip(
            shares, (before[Component.LATE_FEE], before[Component.FEE], limit), strict=True
        )
    )
    if late + fee + principal == ZERO:
        return
    request = arrangement_propose(
        case=case,
        by=agent,
        kind=SETTLEMENT,
        late_fee_discount=late,
        fee_discount=fee,
        principal_discount=principal,
    )
    arrangement_approve(request=request, by=checker, reason="random")
    after = owed(case.customer)
    assert before[Component.LATE_FEE] - after[Component.LATE_FEE] == late
    assert before[Component.FEE] - after[Component.FEE] == fee
    assert before[Component.PRINCIPAL] - after[Component.PRINCIPAL] == principal
    assert ledger_mismatches() == []


# --- Restructures -------------------------------------------------------------------------------


@given(
    principal=st.decimals(min_value=Decimal("0.00"), max_value=Decimal("100000.00"), places=2),
    fee=st.decimals(min_value=Decimal("0.00"), max_value=Decimal("5000.00"), places=2),
    late_fee=st.decimals(min_value=Decimal("0.00"), max_value=Decimal("200.00"), places=2),
    months=st.sampled_from([3, 6, 12]),
    start=st.dates(min_value=datetime.date(2020, 1, 1), max_value=datetime.date(2030, 12, 31)),
)
def test_a_new_schedule_adds_up_exactly_and_the_first_line_is_never_smaller(
    principal, fee, late_fee, months, start
):
    lines = restructure_lines(principal=principal, fee=fee, late_fee=late_fee, months=months, start=start)
    assert len(lines) == months
    assert sum(line.principal for line in lines) == principal
    assert sum(line.fee for line in lines) == fee
    assert sum(line.late_fee for line in lines) == late_fee
    assert all(lines[0].principal >= line.principal for line in lines)
    assert [line.due_date for line in lines] == sorted({line.due_date for line in lines})
    assert lines[0].due_date > start


def test_approving_a_restructure_spreads_what_is_left_over_the_new_schedule(agent, checker):
    case = overdue_case(agent=agent, amount="1000.00", days_ago=70)
    customer = case.customer
    posted_payment(customer=customer, amount="100.00")
    before = owed(customer)
    order = customer.orders.get()
    old_ids = set(order.installments.values_list("pk", flat=True))

    request = arrangement_propose(case=case, by=agent, kind=RESTRUCTURE, months=6)
    arrangement_approve(request=request, by=checker, reason="lost job, can pay monthly")

    new = list(Installment.objects.filter(order=order).exclude(pk__in=old_ids).order_by("sequence"))
    assert len(new) == 6
    assert [i.sequence for i in new] == [4, 5, 6, 7, 8, 9]
    assert sum(i.principal_due for i in new) == before[Component.PRINCIPAL]
    assert sum(i.fee_due for i in new) == before[Component.FEE]
    assert sum(i.late_fee_due for i in new) == before[Component.LATE_FEE]
    assert all(i.status == InstallmentStatus.SCHEDULED for i in new)
    assert new[0].due_date > timezone.localdate()
    old = Installment.objects.filter(pk__in=old_ids)
    for installment in old:
        assert installment.total_outstanding == ZERO
        assert installment.status in (InstallmentStatus.RESTRUCTURED, InstallmentStatus.PAID)
    assert owed(customer) == before  # the same debt, over a new schedule
    assert ledger_mismatches() == []
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.events.filter(type="restructured").exists()
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED


def test_a_restructure_is_over_three_six_or_twelve_months(agent):
    case = overdue_case(agent=agent)
    for months in (None, 0, 4, 24):
        with pytest.raises(ArrangementError):
            arrangement_propose(case=case, by=agent, kind=RESTRUCTURE, months=months)


def test_rejecting_needs_a_reason_and_sends_the_case_back_to_work(agent, checker):
    case = overdue_case(agent=agent)
    request = arrangement_propose(case=case, by=agent, kind=RESTRUCTURE, months=3)
    with pytest.raises(ArrangementError):
        arrangement_reject(request=request, by=checker, reason="  ")
    arrangement_reject(request=request, by=checker, reason="can pay in full")
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED
    assert _events(case)[-2:] == [CaseEventType.SETTLEMENT_REJECTED, CaseEventType.STATUS_CHANGED]
    assert not Installment.objects.filter(status=InstallmentStatus.RESTRUCTURED).exists()


def test_the_requester_may_cancel_their_own_request(agent):
    case = overdue_case(agent=agent)
    request = arrangement_propose(case=case, by=agent, kind=SETTLEMENT, fee_discount="2.00")
    with pytest.raises(ArrangementError):
        arrangement_cancel(request=request, by=person(Role.COLLECTIONS_AGENT))
    arrangement_cancel(request=request, by=agent, reason="customer paid")
    request.refresh_from_db()
    case.refresh_from_db()
    assert (request.status, case.status) == (ArrangementStatus.CANCELLED, CaseStatus.CONTACTED)


# --- Write-offs -----------------------------------------------------------------------------------


def _at_dpd(case, dpd: int) -> CollectionCase:
    CollectionCase.objects.filter(pk=case.pk).update(days_past_due=dpd)  # the sweep's ageing
    case.refresh_from_db()
    return case


def test_the_write_off_proposal_is_made_once_at_the_threshold(agent):
    today = timezone.localdate()
    at = _at_dpd(overdue_case(agent=agent, days_ago=200), 180)
    below = _at_dpd(overdue_case(agent=agent, days_ago=200), 179)

    assert write_offs_propose(on=today) == 1
    assert write_offs_propose(on=today) == 0  # idempotent: a redelivered task proposes nothing new

    request = ArrangementRequest.objects.get()
    assert (request.case, request.kind, request.requested_by, request.days_past_due) == (
        at,
        ArrangementKind.WRITE_OFF,
        None,
        180,
    )
    at.refresh_from_db()
    below.refresh_from_db()
    assert at.status == CaseStatus.WRITE_OFF_PROPOSED
    assert below.status == CaseStatus.OPEN
    assert CaseEvent.objects.filter(case=at, type=CaseEventType.WRITE_OFF_PROPOSED).count() == 1


def test_the_threshold_is_a_dated_policy_value(agent):
    case = _at_dpd(overdue_case(agent=agent, days_ago=200), 150)
    Policy.objects.update(write_off_proposal_dpd=150)
    assert write_offs_propose(on=timezone.localdate()) == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.WRITE_OFF_PROPOSED


def test_the_sweep_being_done_publishes_the_proposal_task(monkeypatch, django_capture_on_commit_callbacks):
    from settlements import tasks

    published = []
    monkeypatch.setattr(tasks.write_offs_propose_task, "delay", lambda day: published.append(day))
    day = datetime.date(2026, 3, 1)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_done.send(sender=None, business_date=day, run_id=1)
    assert published == ["2026-03-01"]


def test_an_approved_write_off_writes_off_the_orders_and_closes_the_case(manager):
    case = _at_dpd(overdue_case(agent=manager, days_ago=200), 185)
    write_offs_propose(on=timezone.localdate())
    request = ArrangementRequest.objects.get()
    # Proposed by the sweep: any manager may decide it.
    arrangement_approve(request=request, by=manager, reason="no contact for six months")

    order = case.customer.orders.get()
    assert order.status == OrderStatus.WRITTEN_OFF
    assert set(order.installments.values_list("status", flat=True)) == {InstallmentStatus.WRITTEN_OFF}
    case.refresh_from_db()
    assert (case.status, case.is_open) == (CaseStatus.WRITTEN_OFF, False)
    assert CaseEventType.WRITE_OFF_APPROVED in _events(case)
    assert ledger_mismatches() == []


def test_a_rejected_write_off_sends_the_case_back_to_work(manager):
    case = _at_dpd(overdue_case(agent=manager, days_ago=200), 185)
    write_offs_propose(on=timezone.localdate())
    arrangement_reject(request=ArrangementRequest.objects.get(), by=manager, reason="visit first")
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED
    assert case.customer.orders.get().status == OrderStatus.DELIVERED


def test_money_received_after_a_write_off_is_recorded_as_a_recovery(manager):
    case = _at_dpd(overdue_case(agent=manager, amount="300.00", days_ago=200), 185)
    write_offs_propose(on=timezone.localdate())
    arrangement_approve(request=ArrangementRequest.objects.get(), by=manager, reason="written off")
    written_off = owed_written_off = sum(
        (i.total_outstanding for i in Installment.objects.filter(customer=case.customer)), ZERO
    )
    assert written_off > ZERO

    payment = posted_payment(customer=case.customer, amount=owed_written_off + Decimal("10.00"))

    allocations = PaymentAllocation.objects.filter(payment=payment)
    assert {a.kind for a in allocations} == {AllocationKind.RECOVERY}
    assert sum(a.amount for a in allocations) == owed_written_off
    assert payment.credit_created == Decimal("10.00")
    assert set(Installment.objects.filter(customer=case.customer).values_list("status", flat=True)) == {
        InstallmentStatus.WRITTEN_OFF
    }
    assert all(i.total_outstanding == ZERO for i in Installment.objects.filter(customer=case.customer))
    assert ledger_mismatches() == []

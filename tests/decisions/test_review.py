"""Reviews of referred orders by an analyst, and the scheduled decline of those left waiting."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.roles import Role
from decisionlog.models import DecisionKind, DecisionLogEntry
from decisions import rules
from decisions.models import OrderDecision, Outcome, ReviewOutcome
from decisions.services import DecisionError, order_decide, order_review, order_reviews_expire
from decisions.tasks import expire_reviews
from orders.models import OrderStatus
from tests.decisions.builders import analyst, placed, seasoned_customer
from tests.factories import MerchantFactory, UserFactory, delivered_order

pytestmark = pytest.mark.django_db


def referral(*, order=None, at=None) -> OrderDecision:
    customer = order.customer if order is not None else seasoned_customer()
    decision = order_decide(
        customer=customer,
        amount=order.amount if order is not None else Decimal("300.00"),
        merchant=MerchantFactory(name="风险商户", is_risky=True),
        channel="livestream",
        order=order,
        placed_at=at,
    )
    assert decision.outcome == Outcome.REFER
    return decision


def test_an_analyst_approves_a_referral_with_a_note_and_it_is_logged():
    decision = referral()
    user = analyst()
    order_review(decision=decision, by=user, outcome=ReviewOutcome.APPROVED, note="收入稳定，同意")
    decision.refresh_from_db()
    assert decision.review_outcome == ReviewOutcome.APPROVED and decision.reviewed_by == user
    assert decision.reviewed_at is not None and decision.final_outcome == Outcome.APPROVE
    entry = DecisionLogEntry.objects.filter(kind=DecisionKind.ORDER_REVIEW).get()
    assert entry.actor == user and entry.content["outcome"] == "approved"
    assert entry.content["note"] == "收入稳定，同意"


def test_approving_a_linked_order_leaves_it_approved():
    customer = seasoned_customer()
    order = placed(customer, "300.00", at=timezone.now())
    decision = referral(order=order)
    order_review(decision=decision, by=analyst(), outcome=ReviewOutcome.APPROVED, note="ok")
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED


def test_declining_a_linked_order_cancels_it_through_the_orders_service():
    customer = seasoned_customer()
    order = placed(customer, "300.00", at=timezone.now())
    decision = referral(order=order)
    order_review(decision=decision, by=analyst(), outcome=ReviewOutcome.DECLINED, note="多头借贷")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.events.filter(type="status_changed", payload__new="cancelled").exists()
    entry = DecisionLogEntry.objects.filter(kind=DecisionKind.ORDER_REVIEW).get()
    assert entry.content["order_status"] == "cancelled"


def test_declining_a_delivered_order_records_the_decision_only():
    order = delivered_order(customer=seasoned_customer(), amount="300.00")
    decision = referral(order=order)
    order_review(decision=decision, by=analyst(), outcome=ReviewOutcome.DECLINED, note="late")
    order.refresh_from_db()
    decision.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED and decision.final_outcome == Outcome.DECLINE


def test_a_referral_is_reviewed_once():
    decision = referral()
    order_review(decision=decision, by=analyst(), outcome=ReviewOutcome.APPROVED, note="ok")
    with pytest.raises(DecisionError):
        order_review(decision=decision, by=analyst("second"), outcome=ReviewOutcome.DECLINED, note="no")
    decision.refresh_from_db()
    assert decision.review_outcome == ReviewOutcome.APPROVED


@pytest.mark.parametrize(
    ("who", "outcome", "note"),
    [
        ("agent", ReviewOutcome.APPROVED, "ok"),
        ("analyst", ReviewOutcome.EXPIRED, "ok"),
        ("analyst", "maybe", "ok"),
        ("analyst", ReviewOutcome.APPROVED, "   "),
        ("analyst", ReviewOutcome.APPROVED, "x" * 501),
    ],
)
def test_a_review_needs_an_analyst_an_outcome_and_a_note(who, outcome, note):
    decision = referral()
    by = analyst() if who == "analyst" else UserFactory(roles=[Role.COLLECTIONS_AGENT])
    with pytest.raises(DecisionError):
        order_review(decision=decision, by=by, outcome=outcome, note=note)
    decision.refresh_from_db()
    assert decision.review_outcome == ""


def test_an_approved_or_declined_decision_is_not_reviewed():
    decision = order_decide(
        customer=seasoned_customer(), amount=Decimal("10.00"), merchant=MerchantFactory(), channel="mall"
    )
    with pytest.raises(DecisionError):
        order_review(decision=decision, by=analyst(), outcome=ReviewOutcome.DECLINED, note="no")


def test_a_referral_left_past_the_policys_hours_is_declined_once_with_its_reason():
    start = timezone.now()
    customer = seasoned_customer()
    order = placed(customer, "300.00", at=start)
    linked = referral(order=order, at=start)
    fresh = referral(at=start + datetime.timedelta(hours=2))
    reviewed = referral(at=start)
    order_review(decision=reviewed, by=analyst(), outcome=ReviewOutcome.APPROVED, note="ok")

    with time_machine.travel(start + datetime.timedelta(hours=24), tick=False):
        assert order_reviews_expire() == 0  # exactly 24 hours: not yet past them
    with time_machine.travel(start + datetime.timedelta(hours=24, seconds=1), tick=False):
        assert expire_reviews.apply().get() == 1
        assert expire_reviews.apply().get() == 0  # a repeat declines nothing twice
    linked.refresh_from_db()
    fresh.refresh_from_db()
    order.refresh_from_db()
    assert linked.review_outcome == ReviewOutcome.EXPIRED and linked.final_outcome == Outcome.DECLINE
    assert linked.review_note == str(rules.REASON_LABELS[rules.REVIEW_EXPIRED]) and linked.reviewed_by is None
    assert order.status == OrderStatus.CANCELLED
    assert fresh.review_outcome == ""
    expired = DecisionLogEntry.objects.filter(kind=DecisionKind.ORDER_REVIEW, content__outcome="expired")
    assert expired.count() == 1
    assert expired.get().content["reason_codes"] == [rules.REVIEW_EXPIRED]


def test_the_expiry_task_has_a_beat_schedule():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="decisions.expire_reviews")
    assert task.enabled and task.crontab.minute == "*/15"

"""order_decide on a real book: what it reads, what it stores, what it logs, and how fast."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import CreditLineStatus, CustomerStatus, Grade
from accounts.services import credit_line_freeze
from bnpl_admin.dates import business_date
from decisionlog.models import DecisionKind, DecisionLogEntry
from decisions import rules
from decisions.models import OrderDecision, Outcome
from decisions.services import DecisionError, order_decide
from orders.models import Channel
from orders.selectors import credit_available
from policy.selectors import policy_in_force
from tests.decisions.builders import analyst, placed, seasoned_customer
from tests.factories import CustomerFactory, MerchantFactory, delivered_order, posted_payment

pytestmark = pytest.mark.django_db


def decide(customer, amount="500.00", **kwargs) -> OrderDecision:
    if "merchant" not in kwargs:
        kwargs["merchant"] = MerchantFactory(name="日常好物")
    kwargs.setdefault("channel", Channel.LIVESTREAM)
    return order_decide(customer=customer, amount=Decimal(amount), **kwargs)


def test_an_order_that_passes_every_rule_is_approved_and_stored_with_its_inputs_and_policy():
    customer = seasoned_customer()
    decision = decide(customer)
    assert decision.outcome == Outcome.APPROVE and decision.reason_codes == []
    policy = policy_in_force(on=business_date())
    assert decision.policy == policy and decision.policy_effective_from == policy.effective_from
    assert decision.inputs["available_credit"] == "19900.00"
    assert decision.inputs["prior_orders"] == 1
    assert decision.inputs["thresholds"]["first_order_cap"] == "1000.00"
    assert not decision.is_trial and decision.order is None


def test_the_decision_is_appended_to_the_decision_log_in_the_same_transaction():
    customer = seasoned_customer()
    user = analyst()
    decision = decide(customer, by=user, trial=True)
    entry = DecisionLogEntry.objects.get()
    assert entry.kind == DecisionKind.ORDER_DECISION
    assert entry.subject == f"decisions.orderdecision:{decision.pk}"
    assert entry.actor == user
    assert entry.content["outcome"] == "approve" and entry.content["trial"] is True
    assert entry.content["customer"] == customer.platform_user_id
    assert entry.content["inputs"]["available_credit"] == "19900.00"


def test_a_refused_decision_leaves_neither_a_row_nor_a_log_entry():
    customer = seasoned_customer()
    order = placed(customer)
    decide(customer, order=order, amount=order.amount)
    with pytest.raises(DecisionError):
        decide(customer, order=order, amount=order.amount)
    assert OrderDecision.objects.count() == 1 and DecisionLogEntry.objects.count() == 1


def test_available_credit_is_the_orders_apps_rule():
    customer = seasoned_customer()
    order = delivered_order(customer=customer, amount="3000.00")
    posted_payment(customer=customer, amount="1006.00")  # the first instalment, principal and fee
    placed(customer, "250.00", at=timezone.now() - datetime.timedelta(days=3))
    decision = decide(customer)
    assert Decimal(decision.inputs["available_credit"]) == credit_available(customer=customer)
    # ¥100 earlier, ¥3,000 delivered (the payment waits as credit for its due date), ¥250 placed.
    assert Decimal(decision.inputs["outstanding_principal"]) == Decimal("3350.00")
    assert order.installments.count() == 3


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (
            lambda c: credit_line_freeze(credit_line=c.credit_line, reason="1 DPD", by=analyst()),
            rules.CREDIT_LINE_NOT_ACTIVE,
        ),
        (
            lambda c: type(c.credit_line).objects.filter(pk=c.credit_line.pk).update(grade=Grade.E),
            rules.GRADE_NO_CREDIT,
        ),
        (
            lambda c: type(c).objects.filter(pk=c.pk).update(status=CustomerStatus.RESTRICTED),
            rules.CUSTOMER_NOT_ACTIVE,
        ),
        (
            lambda c: (
                type(c.credit_line).objects.filter(pk=c.credit_line.pk).update(status=CreditLineStatus.CLOSED)
            ),
            rules.CREDIT_LINE_NOT_ACTIVE,
        ),
    ],
)
def test_a_line_or_customer_that_may_not_borrow_is_declined(make, code):
    customer = seasoned_customer()
    make(customer)
    decision = decide(customer)
    assert decision.outcome == Outcome.DECLINE and code in decision.reason_codes


def test_more_than_the_available_credit_is_declined_to_the_fen():
    customer = seasoned_customer(limit=Decimal("1100.00"))
    assert decide(customer, "1000.00").outcome == Outcome.APPROVE  # 1,100 − 100 outstanding
    assert decide(customer, "1000.01").reason_codes == [rules.OVER_AVAILABLE_CREDIT]


def test_velocity_counts_earlier_orders_in_the_windows_but_not_declined_ones_nor_the_order_itself():
    customer = seasoned_customer()
    now = timezone.now()
    for hours in (1, 5):
        placed(customer, "100.00", at=now - datetime.timedelta(hours=hours))
    # Three a day is the threshold: this order would be the third, allowed.
    assert decide(customer, "100.00").outcome == Outcome.APPROVE
    third = placed(customer, "100.00", at=now - datetime.timedelta(hours=23))
    # Deciding the third order itself leaves it out of its own window.
    assert decide(customer, "100.00", order=third).outcome == Outcome.APPROVE
    decision = decide(customer, "100.00")
    assert decision.outcome == Outcome.REFER and decision.reason_codes == [rules.VELOCITY_24H_ORDERS]
    assert decision.inputs["orders_24h"] == 3


def test_velocity_by_amount_in_seven_days():
    customer = seasoned_customer()
    placed(customer, "9000.00", at=timezone.now() - datetime.timedelta(days=6))
    placed(customer, "5000.00", at=timezone.now() - datetime.timedelta(days=2))
    assert decide(customer, "1000.00").outcome == Outcome.APPROVE  # 15,000 in all: at the line
    assert rules.VELOCITY_7D_AMOUNT in decide(customer, "1000.01").reason_codes


def test_a_flagged_merchant_is_referred():
    customer = seasoned_customer()
    merchant = MerchantFactory(name="直播间特卖", is_risky=True)
    decision = decide(customer, merchant=merchant)
    assert (decision.outcome, decision.reason_codes) == (Outcome.REFER, [rules.MERCHANT_RISK_FLAG])


def test_a_new_customers_first_order_is_capped():
    customer = CustomerFactory()
    assert decide(customer, "1000.00").outcome == Outcome.APPROVE
    decision = decide(customer, "1000.01")
    assert decision.reason_codes == [rules.FIRST_ORDER_CAP] and decision.outcome == Outcome.REFER


def test_open_plans_and_the_share_of_the_limit_used_refer():
    customer = seasoned_customer(limit=Decimal("5000.00"))
    for _ in range(3):
        placed(customer, "1000.00", at=timezone.now() - datetime.timedelta(days=20))
    # Four open plans (¥3,100 used of ¥5,000, 62 %): approved.
    assert decide(customer, "100.00").outcome == Outcome.APPROVE
    placed(customer, "1000.00", at=timezone.now() - datetime.timedelta(days=20))
    decision = decide(customer, "100.00")
    assert decision.reason_codes == [rules.OPEN_PLANS, rules.LIMIT_SHARE_USED]
    assert decision.inputs["open_plans"] == 5 and decision.inputs["limit_share_used"] == "0.8200"


def test_the_instalments_due_in_the_next_30_days_refer():
    customer = seasoned_customer()
    # A pay-later order of ¥3,000 delivered today falls due in 14 days: ¥3,000 due within 30.
    delivered_order(customer=customer, amount="3000.00", plan="pay_later")
    assert decide(customer, "100.00").outcome == Outcome.APPROVE
    delivered_order(customer=customer, amount="0.01", plan="pay_later")
    decision = decide(customer, "100.00")
    assert decision.reason_codes == [rules.BURDEN_30D] and decision.inputs["burden_30d"] == "3000.01"


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": Decimal("0")},
        {"amount": Decimal("-1")},
        {"amount": Decimal("1.001")},
        {"amount": Decimal("NaN")},
        {"amount": 10.5},
        {"amount": Decimal("1e15")},
        {"channel": "tv"},
        {"placed_at": datetime.datetime(2026, 1, 1, 12)},
    ],
)
def test_bad_input_is_a_domain_error(bad):
    customer = seasoned_customer()
    arguments = {
        "customer": customer,
        "amount": Decimal("10.00"),
        "merchant": MerchantFactory(),
        "channel": "mall",
    }
    with pytest.raises(DecisionError):
        order_decide(**{**arguments, **bad})
    assert not OrderDecision.objects.exists()


def test_a_trial_needs_an_analyst():
    customer = seasoned_customer()
    with pytest.raises(DecisionError):
        decide(customer, trial=True)
    from tests.factories import UserFactory

    with pytest.raises(DecisionError):
        decide(customer, trial=True, by=UserFactory())


def _queries(customer, merchant) -> int:
    with CaptureQueriesContext(connection) as queries:
        decide(customer, merchant=merchant)
    return len(queries)


def test_the_query_count_is_fixed_whatever_the_book():
    small = seasoned_customer()
    big = seasoned_customer()
    for days in range(1, 13):
        delivered_order(
            customer=big, amount="100.00", delivered_on=business_date() - datetime.timedelta(days=days * 9)
        )
        placed(big, "50.00", at=timezone.now() - datetime.timedelta(hours=days * 13))
    merchant = MerchantFactory(name="日常好物")
    decide(small, merchant=merchant)  # the decision log's head row exists from here on
    assert [_queries(small, merchant), _queries(big, merchant)] == [DECIDE_QUERIES] * 2


# The policy, the customer with their line, one pass over the orders and one over the
# instalments; the decision's insert and the log's head read, head lock, entry and head update;
# and the savepoints of the service, the insert and the append (6, inside a test's transaction).
DECIDE_QUERIES = 15

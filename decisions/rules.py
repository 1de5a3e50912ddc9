"""The order decision's rules as a pure function of its inputs, and the reason codes it gives.

Declines are what DESIGN.md says must always hold (an active line, a grade that allows credit, an
amount within the available credit); referrals are the thresholds of the policy in force, over
which an analyst looks before the shopper gets more credit ("guide rational consumption").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from accounts.models import CreditLineStatus, CustomerStatus, Grade

from .models import Outcome

# Reason codes: stable machine names (stored, logged, exported), each with its plain words.
CUSTOMER_NOT_ACTIVE = "customer_not_active"
CREDIT_LINE_NOT_ACTIVE = "credit_line_not_active"
GRADE_NO_CREDIT = "grade_no_credit"
OVER_AVAILABLE_CREDIT = "over_available_credit"
VELOCITY_24H_ORDERS = "velocity_24h_orders"
VELOCITY_24H_AMOUNT = "velocity_24h_amount"
VELOCITY_7D_ORDERS = "velocity_7d_orders"
VELOCITY_7D_AMOUNT = "velocity_7d_amount"
MERCHANT_RISK_FLAG = "merchant_risk_flag"
FIRST_ORDER_CAP = "first_order_cap"
OPEN_PLANS = "open_plans"
LIMIT_SHARE_USED = "limit_share_used"
BURDEN_30D = "burden_30d"
REVIEW_EXPIRED = "review_expired"

REASON_LABELS = {
    CUSTOMER_NOT_ACTIVE: _("The customer's account is not active."),
    CREDIT_LINE_NOT_ACTIVE: _("The credit line is frozen, closed or missing."),
    GRADE_NO_CREDIT: _("The customer's grade allows no credit."),
    OVER_AVAILABLE_CREDIT: _("The amount is more than the available credit."),
    VELOCITY_24H_ORDERS: _("Too many orders in the last 24 hours."),
    VELOCITY_24H_AMOUNT: _("Too much spent in the last 24 hours."),
    VELOCITY_7D_ORDERS: _("Too many orders in the last 7 days."),
    VELOCITY_7D_AMOUNT: _("Too much spent in the last 7 days."),
    MERCHANT_RISK_FLAG: _("The merchant is flagged as risky."),
    FIRST_ORDER_CAP: _("A new customer's first order is above the first-order cap."),
    OPEN_PLANS: _("The customer already has many open plans."),
    LIMIT_SHARE_USED: _("The customer already uses most of the credit limit."),
    BURDEN_30D: _("The instalments due in the next 30 days are high."),
    REVIEW_EXPIRED: _("No analyst reviewed the referred order in time."),
}

DECLINE_CODES = (CUSTOMER_NOT_ACTIVE, CREDIT_LINE_NOT_ACTIVE, GRADE_NO_CREDIT, OVER_AVAILABLE_CREDIT)
REFER_CODES = (
    VELOCITY_24H_ORDERS,
    VELOCITY_24H_AMOUNT,
    VELOCITY_7D_ORDERS,
    VELOCITY_7D_AMOUNT,
    MERCHANT_RISK_FLAG,
    FIRST_ORDER_CAP,
    OPEN_PLANS,
    LIMIT_SHARE_USED,
    BURDEN_30D,
)


def reason_label(code: str) -> str:
    return str(REASON_LABELS.get(code, code))


@dataclass(frozen=True)
class Thresholds:
    """The policy values the rules compare with (policy.models.Policy's decision_* fields)."""

    velocity_24h_orders: int
    velocity_24h_amount: Decimal
    velocity_7d_orders: int
    velocity_7d_amount: Decimal
    first_order_cap: Decimal
    max_open_plans: int
    max_limit_share: Decimal
    max_burden_30d: Decimal

    @classmethod
    def from_policy(cls, policy) -> Thresholds:
        return cls(
            velocity_24h_orders=policy.decision_velocity_24h_orders,
            velocity_24h_amount=policy.decision_velocity_24h_amount,
            velocity_7d_orders=policy.decision_velocity_7d_orders,
            velocity_7d_amount=policy.decision_velocity_7d_amount,
            first_order_cap=policy.decision_first_order_cap,
            max_open_plans=policy.decision_max_open_plans,
            max_limit_share=policy.decision_max_limit_share,
            max_burden_30d=policy.decision_max_burden_30d,
        )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Inputs:
    """What the rules read about the customer and the order (decisions.selectors.decision_inputs)."""

    amount: Decimal
    customer_status: str
    line_status: str  # "" when the customer has no credit line
    grade: str
    score: int | None
    limit: Decimal
    outstanding_principal: Decimal
    available_credit: Decimal
    # Earlier orders that got credit (not declined), in the windows before this one.
    orders_24h: int
    amount_24h: Decimal
    orders_7d: int
    amount_7d: Decimal
    prior_orders: int
    open_plans: int
    burden_30d: Decimal
    merchant_risky: bool

    @property
    def limit_share_used(self) -> Decimal:
        if self.limit <= 0:
            return Decimal(1)
        return (self.outstanding_principal / self.limit).quantize(Decimal("0.0001"))

    def as_dict(self) -> dict:
        return {**asdict(self), "limit_share_used": self.limit_share_used}


def decide(inputs: Inputs, thresholds: Thresholds) -> tuple[str, list[str]]:
    """(outcome, reason codes): decline when any decline rule fails, else refer when any
    threshold is passed, else approve. Every failed rule of the deciding kind is named."""
    declines = []
    if inputs.customer_status != CustomerStatus.ACTIVE:
        declines.append(CUSTOMER_NOT_ACTIVE)
    if inputs.line_status != CreditLineStatus.ACTIVE:
        declines.append(CREDIT_LINE_NOT_ACTIVE)
    if inputs.grade == Grade.E:
        declines.append(GRADE_NO_CREDIT)
    if inputs.amount > inputs.available_credit:
        declines.append(OVER_AVAILABLE_CREDIT)
    if declines:
        return Outcome.DECLINE, declines

    t = thresholds
    referrals = []
    # This order would be the (n + 1)th in the window: more than the threshold is referred.
    if inputs.orders_24h + 1 > t.velocity_24h_orders:
        referrals.append(VELOCITY_24H_ORDERS)
    if inputs.amount_24h + inputs.amount > t.velocity_24h_amount:
        referrals.append(VELOCITY_24H_AMOUNT)
    if inputs.orders_7d + 1 > t.velocity_7d_orders:
        referrals.append(VELOCITY_7D_ORDERS)
    if inputs.amount_7d + inputs.amount > t.velocity_7d_amount:
        referrals.append(VELOCITY_7D_AMOUNT)
    if inputs.merchant_risky:
        referrals.append(MERCHANT_RISK_FLAG)
    if inputs.prior_orders == 0 and inputs.amount > t.first_order_cap:
        referrals.append(FIRST_ORDER_CAP)
    if inputs.open_plans >= t.max_open_plans:
        referrals.append(OPEN_PLANS)
    if inputs.limit_share_used > t.max_limit_share:
        referrals.append(LIMIT_SHARE_USED)
    if inputs.burden_30d > t.max_burden_30d:
        referrals.append(BURDEN_30D)
    if referrals:
        return Outcome.REFER, referrals
    return Outcome.APPROVE, []

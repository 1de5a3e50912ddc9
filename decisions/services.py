"""Every write of the decisions app: deciding an order, reviewing a referral, expiring old ones.

Each write stores its row and appends its decision log entry (decisionlog) in one transaction,
so the log holds exactly the decisions the table holds.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from bnpl_admin.dates import business_date, moment_in_bounds
from bnpl_admin.errors import DomainError
from bnpl_admin.money import MONEY_MAX, ZERO, money_in_bounds, to_money
from decisionlog.models import DecisionKind
from decisionlog.services import canonical_content, decision_log_append, subject_of
from orders.models import ORDER_TRANSITIONS, Channel, Merchant, Order, OrderStatus
from orders.services import order_transition
from policy.selectors import policy_in_force

from . import rules, selectors
from .models import REVIEW_PERMISSION, TRY_PERMISSION, OrderDecision, Outcome, ReviewOutcome

NOTE_MAX_LENGTH = OrderDecision._meta.get_field("review_note").max_length
# How many waiting referrals one run of the expiry task declines; the next run takes the rest.
EXPIRE_BATCH = 500


class DecisionError(DomainError):
    pass


def _amount(value) -> Decimal:
    try:
        amount = to_money(value)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise DecisionError(
            _("The amount must be in yuan with at most two decimals."), code="bad_amount"
        ) from exc
    if amount <= ZERO:
        raise DecisionError(_("The amount must be more than zero."), code="bad_amount")
    if not money_in_bounds(amount):
        raise DecisionError(
            _("The amount must be at most ¥%(max)s.") % {"max": f"{MONEY_MAX:,}"}, code="bad_amount"
        )
    return amount


def _checked(*, customer, merchant, channel, placed_at, order) -> None:
    if not isinstance(customer, Customer) or customer.pk is None:
        raise DecisionError(_("No such customer."), code="no_customer")
    if not isinstance(merchant, Merchant) or merchant.pk is None:
        raise DecisionError(_("No such merchant."), code="no_merchant")
    if channel not in Channel.values:
        raise DecisionError(_("Unknown channel %(channel)r.") % {"channel": channel}, code="bad_channel")
    if (
        not isinstance(placed_at, datetime.datetime)
        or timezone.is_naive(placed_at)
        or not moment_in_bounds(placed_at)
    ):
        raise DecisionError(_("The order time must be a date and time with its time zone."), code="bad_time")
    if order is not None and (
        not isinstance(order, Order) or order.pk is None or order.customer_id != customer.pk
    ):
        raise DecisionError(_("The order is not this customer's."), code="bad_order")


@transaction.atomic
def order_decide(
    *,
    customer: Customer,
    amount: Decimal,
    merchant: Merchant,
    channel: str,
    placed_at: datetime.datetime | None = None,
    order: Order | None = None,
    by=None,
    trial: bool = False,
) -> OrderDecision:
    """Decide an order: approve, decline or refer, with reason codes (decisions.rules), stored with
    the inputs the rules read and the policy version that set the thresholds.

    `order` links the decision to an order already recorded (the platform's call, the demo);
    `trial` marks an analyst's what-if from the try-an-order form, so dashboards can leave it
    out. A fixed number of queries, whatever the customer's book (tests/decisions pin it).
    """
    placed_at = placed_at or timezone.now()
    amount = _amount(amount)
    _checked(customer=customer, merchant=merchant, channel=channel, placed_at=placed_at, order=order)
    if trial and (by is None or not by.has_perm(TRY_PERMISSION)):
        raise DecisionError(_("You may not try orders."), code="forbidden")
    policy = policy_in_force(on=business_date(placed_at))
    thresholds = rules.Thresholds.from_policy(policy)
    inputs = selectors.decision_inputs(
        customer=customer,
        amount=amount,
        merchant=merchant,
        placed_at=placed_at,
        exclude_order_id=order.pk if order is not None else None,
    )
    outcome, reasons = rules.decide(inputs, thresholds)
    snapshot = canonical_content({**inputs.as_dict(), "thresholds": thresholds.as_dict()})
    try:
        with transaction.atomic():
            decision = OrderDecision.objects.create(
                order=order,
                customer=customer,
                amount=amount,
                channel=channel,
                merchant=merchant,
                requested_at=placed_at,
                outcome=outcome,
                reason_codes=reasons,
                inputs=snapshot,
                policy=policy,
                policy_effective_from=policy.effective_from,
                is_trial=trial,
                decided_by=by,
            )
    except IntegrityError as exc:  # the order's one-to-one: decided once
        raise DecisionError(_("This order already has a decision."), code="decided") from exc
    decision_log_append(
        kind=DecisionKind.ORDER_DECISION,
        subject=subject_of(decision),
        actor=by,
        content={
            "customer": customer.platform_user_id,
            "order": order.external_reference if order is not None else None,
            "amount": amount,
            "merchant": merchant.pk,
            "channel": channel,
            "requested_at": placed_at,
            "outcome": outcome,
            "reason_codes": reasons,
            "inputs": snapshot,
            "policy_effective_from": policy.effective_from,
            "trial": trial,
        },
    )
    return decision


def _order_decline(decision: OrderDecision, *, by, reason: str) -> str | None:
    """A declined referral's order, cancelled when its status allows it (an approved or shipped
    order may be cancelled; one delivered or closed is left as it is, and the decision alone
    records the decline). Returns the order's new status, or None when it did not change."""
    if decision.order_id is None:
        return None
    order = Order.objects.select_for_update().get(pk=decision.order_id)
    if OrderStatus.CANCELLED not in ORDER_TRANSITIONS[OrderStatus(order.status)]:
        return None
    order_transition(order=order, to=OrderStatus.CANCELLED, by=by, reason=reason)
    return order.status


def _waiting(decision: OrderDecision) -> OrderDecision:
    locked = OrderDecision.objects.select_for_update().filter(pk=getattr(decision, "pk", None)).first()
    if locked is None:
        raise DecisionError(_("No such decision."), code="no_decision")
    if locked.outcome != Outcome.REFER:
        raise DecisionError(_("Only a referred order is reviewed."), code="not_referred")
    if locked.review_outcome:
        raise DecisionError(
            _("This referral was already reviewed: %(outcome)s.")
            % {"outcome": locked.get_review_outcome_display()},
            code="reviewed",
        )
    return locked


@transaction.atomic
def order_review(*, decision: OrderDecision, by, outcome: str, note: str) -> OrderDecision:
    """An analyst approves or declines a referred order, with a note. A declined order that is
    linked and still cancellable is cancelled (orders.services.order_transition); an approved
    one needs no change: orders are recorded as approved and the platform holds a referred one
    until this decision (orders has no "waiting" status)."""
    if by is None or not by.has_perm(REVIEW_PERMISSION):
        raise DecisionError(_("You may not review referred orders."), code="forbidden")
    if outcome not in (ReviewOutcome.APPROVED, ReviewOutcome.DECLINED):
        raise DecisionError(_("Approve or decline the order."), code="bad_outcome")
    note = (note or "").strip()
    if not note:
        raise DecisionError(_("Write a note on why."), code="no_note")
    if len(note) > NOTE_MAX_LENGTH:
        raise DecisionError(
            _("The note is at most %(n)d characters.") % {"n": NOTE_MAX_LENGTH}, code="long_note"
        )
    decision = _waiting(decision)
    decision.review_outcome = outcome
    decision.reviewed_by = by
    decision.reviewed_at = timezone.now()
    decision.review_note = note
    decision.save(update_fields=["review_outcome", "reviewed_by", "reviewed_at", "review_note"])
    order_status = None
    if outcome == ReviewOutcome.DECLINED:
        order_status = _order_decline(decision, by=by, reason=note)
    decision_log_append(
        kind=DecisionKind.ORDER_REVIEW,
        subject=subject_of(decision),
        actor=by,
        content={
            "outcome": outcome,
            "note": note,
            "reason_codes": decision.reason_codes,
            "order": decision.order.external_reference if decision.order_id else None,
            "order_status": order_status,
        },
    )
    return decision


def order_reviews_expire(*, now: datetime.datetime | None = None, limit: int = EXPIRE_BATCH) -> int:
    """Decline the referrals left unreviewed longer than the policy's hours (reason code
    review_expired). Each is claimed with a conditional update, so two runs at once, or a run
    repeated, decline each referral once. Returns how many this run declined."""
    now = now or timezone.now()
    hours = policy_in_force(on=business_date(now)).decision_review_hours
    cutoff = now - datetime.timedelta(hours=hours)
    due = list(
        OrderDecision.objects.waiting_for_review()
        .filter(requested_at__lt=cutoff)
        .order_by("requested_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    note = str(rules.REASON_LABELS[rules.REVIEW_EXPIRED])
    declined = 0
    for pk in due:
        with transaction.atomic():
            claimed = OrderDecision.objects.filter(
                pk=pk, outcome=Outcome.REFER, review_outcome=ReviewOutcome.NONE
            ).update(review_outcome=ReviewOutcome.EXPIRED, reviewed_at=now, review_note=note)
            if not claimed:
                continue  # reviewed, or taken by another run, since the list was read
            decision = OrderDecision.objects.select_related("order").get(pk=pk)
            order_status = _order_decline(decision, by=None, reason=rules.REVIEW_EXPIRED)
            decision_log_append(
                kind=DecisionKind.ORDER_REVIEW,
                subject=subject_of(decision),
                content={
                    "outcome": ReviewOutcome.EXPIRED,
                    "reason_codes": [rules.REVIEW_EXPIRED],
                    "waited_hours": hours,
                    "order": decision.order.external_reference if decision.order_id else None,
                    "order_status": order_status,
                },
            )
            declined += 1
    return declined

"""Every write of settlements, restructures and write-offs (maker–checker).

An agent proposes a settlement or a restructure on a case; the nightly sweep proposes a
write-off at the policy's threshold; a manager who did not make the request approves it, which
moves the money through the orders services in the same transaction, or rejects it. Locks are
taken as everywhere: the customer first, then the case, then the request.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer
from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError
from bnpl_admin.money import ZERO, money_in_bounds, to_money
from collection.models import CASE_TRANSITIONS, CaseEvent, CaseEventType, CaseStatus, CollectionCase
from collection.services import case_transition, statuses_that_may_become
from orders.ledger import RESTRUCTURE_MONTHS
from orders.models import Component
from orders.selectors import customer_balance, customer_settleable_balance, settleable_orders
from orders.services import customer_discounts_apply, customer_write_off, order_restructure
from policy.selectors import policy_in_force

from .models import (
    APPROVE_PERMISSION,
    PROPOSE_PERMISSION,
    ArrangementKind,
    ArrangementRequest,
    ArrangementStatus,
)
from .selectors import principal_discount_max, restructure_preview

REASON_MAX_LENGTH = 200

# The case status a pending request of each kind holds its case in.
PENDING_CASE_STATUS = {
    ArrangementKind.SETTLEMENT: CaseStatus.SETTLEMENT_PENDING,
    ArrangementKind.RESTRUCTURE: CaseStatus.SETTLEMENT_PENDING,
    ArrangementKind.WRITE_OFF: CaseStatus.WRITE_OFF_PROPOSED,
}
EVENTS = {
    ArrangementKind.SETTLEMENT: (
        CaseEventType.SETTLEMENT_PROPOSED,
        CaseEventType.SETTLEMENT_APPROVED,
        CaseEventType.SETTLEMENT_REJECTED,
    ),
    ArrangementKind.RESTRUCTURE: (
        CaseEventType.SETTLEMENT_PROPOSED,
        CaseEventType.SETTLEMENT_APPROVED,
        CaseEventType.SETTLEMENT_REJECTED,
    ),
    ArrangementKind.WRITE_OFF: (
        CaseEventType.WRITE_OFF_PROPOSED,
        CaseEventType.WRITE_OFF_APPROVED,
        CaseEventType.WRITE_OFF_REJECTED,
    ),
}


class ArrangementError(DomainError):
    pass


def _lock(case: CollectionCase) -> CollectionCase:
    """Lock the case's customer, then the case (the project's lock order), and return the case."""
    if not isinstance(case, CollectionCase) or case.pk is None:
        raise ArrangementError(_("No such case."), code="no_case")
    Customer.objects.select_for_update().only("pk").get(pk=case.customer_id)
    return CollectionCase.objects.select_for_update().select_related("customer").get(pk=case.pk)


def _amount(value, *, what: str) -> Decimal:
    try:
        amount = to_money(value if value not in (None, "") else ZERO)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise ArrangementError(
            _("%(what)s must be an amount in yuan with at most two decimals.") % {"what": what},
            code="bad_amount",
        ) from exc
    if not money_in_bounds(amount):
        raise ArrangementError(_("%(what)s is too large.") % {"what": what}, code="bad_amount")
    if amount < ZERO:
        raise ArrangementError(_("A discount cannot be negative."), code="negative")
    return amount


def _reason(text: str, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ArrangementError(_("Give a reason."), code="no_reason")
    if len(text) > REASON_MAX_LENGTH:
        raise ArrangementError(
            _("A reason is at most %(max)d characters.") % {"max": REASON_MAX_LENGTH}, code="long_reason"
        )
    return text


def settlement_terms_check(
    *,
    owed: dict[str, Decimal],
    late_fee_discount: Decimal,
    fee_discount: Decimal,
    principal_discount: Decimal,
    on,
) -> None:
    """A settlement's discounts against what is owed now and the policy's principal limit."""
    if late_fee_discount + fee_discount + principal_discount <= ZERO:
        raise ArrangementError(
            _("A settlement forgives something: give at least one discount."), code="no_discount"
        )
    for amount, name, label in (
        (late_fee_discount, "late_fee", Component.LATE_FEE.label),
        (fee_discount, "fee", Component.FEE.label),
        (principal_discount, "principal", Component.PRINCIPAL.label),
    ):
        if amount > owed[name]:
            raise ArrangementError(
                _("The discount on %(component)s is ¥%(amount)s, but only ¥%(owed)s is unpaid.")
                % {"component": label, "amount": amount, "owed": owed[name]},
                code="too_much",
            )
    limit = principal_discount_max(principal_owed=owed["principal"], on=on)
    if principal_discount > limit:
        raise ArrangementError(
            _(
                "At most ¥%(limit)s of principal may be forgiven "
                "(%(rate)s of the unpaid principal, by the policy)."
            )
            % {
                "limit": limit,
                "rate": f"{policy_in_force(on=on).settlement_principal_discount_max_rate * 100:.2f}%",
            },
            code="over_limit",
        )


def restructure_terms_check(*, customer, months, on) -> None:
    if months not in RESTRUCTURE_MONTHS:
        raise ArrangementError(_("A restructure is over 3, 6 or 12 months."), code="bad_months")
    preview = restructure_preview(customer=customer, months=months, on=on)
    if not preview.orders:
        raise ArrangementError(
            _("Nothing is left to pay on orders that can be restructured."), code="nothing_owed"
        )
    for _order, lines in preview.orders:
        if any(line.total <= ZERO for line in lines):
            raise ArrangementError(
                _("What is left on an order is too little to spread over %(months)s months.")
                % {"months": months},
                code="too_small",
            )


def _terms_payload(request: ArrangementRequest) -> dict:
    payload = {"request": request.pk, "kind": request.kind}
    if request.kind == ArrangementKind.SETTLEMENT:
        payload.update(
            late_fee=str(request.late_fee_discount),
            fee=str(request.fee_discount),
            principal=str(request.principal_discount),
        )
    elif request.kind == ArrangementKind.RESTRUCTURE:
        payload["months"] = request.months
    else:
        payload["dpd"] = request.days_past_due
    return payload


@transaction.atomic
def arrangement_propose(
    *,
    case: CollectionCase,
    by,
    kind: str,
    late_fee_discount: Decimal | str = ZERO,
    fee_discount: Decimal | str = ZERO,
    principal_discount: Decimal | str = ZERO,
    months: int | None = None,
    reason: str = "",
) -> ArrangementRequest:
    """Propose a settlement (discounts) or a restructure (months) on a case, for a manager to decide.

    The case waits as "settlement pending"; its event says what was proposed."""
    if by is None or not by.has_perm(PROPOSE_PERMISSION):
        raise ArrangementError(_("You may not propose settlements or restructures."), code="not_allowed")
    if kind not in (ArrangementKind.SETTLEMENT, ArrangementKind.RESTRUCTURE):
        raise ArrangementError(_("Propose a settlement or a restructure."), code="bad_kind")
    kind = ArrangementKind(kind)
    reason = _reason(reason, required=False)
    late_fee_discount = _amount(late_fee_discount, what=_("The late fees forgiven"))
    fee_discount = _amount(fee_discount, what=_("The fees forgiven"))
    principal_discount = _amount(principal_discount, what=_("The principal forgiven"))
    case = _lock(case)
    if not case.is_open:
        raise ArrangementError(_("This case is closed."), code="case_closed")
    if CaseStatus.SETTLEMENT_PENDING not in CASE_TRANSITIONS[CaseStatus(case.status)]:
        raise ArrangementError(
            _("A case that is %(status)s cannot take a settlement or restructure now.")
            % {"status": case.get_status_display()},
            code="bad_status",
        )
    if ArrangementRequest.objects.filter(case=case, status=ArrangementStatus.PENDING).exists():
        raise ArrangementError(_("This case already has a request waiting for a decision."), code="pending")
    on = business_date()
    owed = customer_settleable_balance(customer=case.customer)
    if owed["total"] <= ZERO:
        raise ArrangementError(
            _("Nothing is left to pay on orders that can be settled."), code="nothing_owed"
        )
    if kind == ArrangementKind.SETTLEMENT:
        settlement_terms_check(
            owed=owed,
            late_fee_discount=late_fee_discount,
            fee_discount=fee_discount,
            principal_discount=principal_discount,
            on=on,
        )
        months = None
    else:
        restructure_terms_check(customer=case.customer, months=months, on=on)
        late_fee_discount = fee_discount = principal_discount = ZERO
    request = ArrangementRequest(
        kind=kind,
        case=case,
        customer=case.customer,
        requested_by=by,
        reason=reason,
        late_fee_discount=late_fee_discount,
        fee_discount=fee_discount,
        principal_discount=principal_discount,
        months=months,
        principal_owed=owed["principal"],
        fee_owed=owed["fee"],
        late_fee_owed=owed["late_fee"],
        days_past_due=case.days_past_due,
    )
    request._history_user = by
    request.save()
    # The case's own event (below) says what was proposed; the status change needs no reason.
    case_transition(case=case, to=CaseStatus.SETTLEMENT_PENDING, by=by)
    CaseEvent.objects.create(
        case=case, type=EVENTS[kind][0], actor=by, payload={**_terms_payload(request), "reason": reason}
    )
    return request


def _lock_pending(request: ArrangementRequest, *, by) -> tuple[ArrangementRequest, CollectionCase]:
    if not isinstance(request, ArrangementRequest) or request.pk is None:
        raise ArrangementError(_("No such request."), code="no_request")
    if by is None or not by.has_perm(APPROVE_PERMISSION):
        raise ArrangementError(_("Only a collections manager may decide these requests."), code="not_allowed")
    case = _lock(request.case)
    request = ArrangementRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ArrangementStatus.PENDING:
        raise ArrangementError(
            _("This request was already decided (%(status)s).") % {"status": request.get_status_display()},
            code="decided",
        )
    if request.requested_by_id is not None and request.requested_by_id == by.pk:
        raise ArrangementError(_("Nobody decides a request they made themselves."), code="own_request")
    return request, case


def _decide(request: ArrangementRequest, *, status, by, reason: str, outcome: dict | None = None) -> None:
    request.status = status
    request.decided_by, request.decided_at = by, timezone.now()
    request.decision_reason = reason
    if outcome is not None:
        request.outcome = outcome
    request._history_user = by
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "outcome"])


def _case_back(case: CollectionCase, *, kind: str, by) -> None:
    """A case whose request is decided goes on being worked (contacted), if the map lets it."""
    if case.is_open and case.status == PENDING_CASE_STATUS[kind]:
        case_transition(case=case, to=CaseStatus.CONTACTED, by=by)


@transaction.atomic
def arrangement_approve(*, request: ArrangementRequest, by, reason: str) -> ArrangementRequest:
    """Approve a pending request, moving the money in this transaction through the orders services:
    a settlement's discounts as waivers (the requester asked, the approver approved), a
    restructure's new schedules, a write-off's orders written off. The case goes on as contacted,
    or resolved when nothing is left to pay; a write-off closes it as written off."""
    reason = _reason(reason, required=True)
    request, case = _lock_pending(request, by=by)
    if not case.is_open:
        raise ArrangementError(_("This case is closed: reject the request instead."), code="case_closed")
    kind = ArrangementKind(request.kind)
    on = business_date()
    outcome: dict = {}
    note = f"{kind} {request.pk}: {reason}"[:200]
    if kind == ArrangementKind.SETTLEMENT:
        # Checked again: payments and the nightly late fees may have changed what is owed.
        settlement_terms_check(
            owed=customer_settleable_balance(customer=case.customer),
            late_fee_discount=request.late_fee_discount,
            fee_discount=request.fee_discount,
            principal_discount=request.principal_discount,
            on=on,
        )
        waivers = customer_discounts_apply(
            customer=case.customer,
            discounts={
                Component.LATE_FEE: request.late_fee_discount,
                Component.FEE: request.fee_discount,
                Component.PRINCIPAL: request.principal_discount,
            },
            reason=note,
            approved_by=by,
            requested_by=request.requested_by,
        )
        outcome["waivers"] = [w.pk for w in waivers]
    elif kind == ArrangementKind.RESTRUCTURE:
        restructure_terms_check(customer=case.customer, months=request.months, on=on)
        outcome["orders"] = {}
        for order in settleable_orders(customer=case.customer):
            created = order_restructure(order=order, months=request.months, by=by, reason=note)
            outcome["orders"][str(order.pk)] = [i.pk for i in created]
    else:
        orders = customer_write_off(customer=case.customer, by=by, reason=note)
        outcome["orders"] = [o.pk for o in orders]
    _decide(request, status=ArrangementStatus.APPROVED, by=by, reason=reason, outcome=outcome)
    CaseEvent.objects.create(
        case=case, type=EVENTS[kind][1], actor=by, payload={**_terms_payload(request), "reason": reason}
    )
    if kind == ArrangementKind.WRITE_OFF:
        case_transition(case=case, to=CaseStatus.WRITTEN_OFF, by=by)
    else:
        left = customer_balance(customer=case.customer)
        nothing_left = left["principal"] + left["fee"] + left["late_fee"] <= ZERO
        to = CaseStatus.RESOLVED if nothing_left else CaseStatus.CONTACTED
        case_transition(case=case, to=to, by=by)
    return request


@transaction.atomic
def arrangement_reject(*, request: ArrangementRequest, by, reason: str) -> ArrangementRequest:
    """Reject a pending request with a reason; no money moves, the case goes on being worked."""
    reason = _reason(reason, required=True)
    request, case = _lock_pending(request, by=by)
    kind = ArrangementKind(request.kind)
    _decide(request, status=ArrangementStatus.REJECTED, by=by, reason=reason)
    CaseEvent.objects.create(
        case=case, type=EVENTS[kind][2], actor=by, payload={**_terms_payload(request), "reason": reason}
    )
    _case_back(case, kind=kind, by=by)
    return request


@transaction.atomic
def arrangement_cancel(*, request: ArrangementRequest, by, reason: str = "") -> ArrangementRequest:
    """The requester withdraws their own pending request (a manager rejects instead)."""
    reason = _reason(reason, required=False)
    if not isinstance(request, ArrangementRequest) or request.pk is None:
        raise ArrangementError(_("No such request."), code="no_request")
    case = _lock(request.case)
    request = ArrangementRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ArrangementStatus.PENDING:
        raise ArrangementError(
            _("This request was already decided (%(status)s).") % {"status": request.get_status_display()},
            code="decided",
        )
    if by is None or request.requested_by_id != by.pk:
        raise ArrangementError(_("Only the person who made a request may cancel it."), code="not_allowed")
    request.status = ArrangementStatus.CANCELLED
    request.decided_at = timezone.now()
    request.decision_reason = reason
    request._history_user = by
    request.save(update_fields=["status", "decided_at", "decision_reason"])
    _case_back(case, kind=request.kind, by=by)
    return request


# --- Write-offs proposed at the threshold (after the nightly sweep) ---------------------------


def write_off_candidates(*, on: datetime.date) -> list[int]:
    """Ids of the open cases at or over the policy's write-off threshold on `on` that may become
    "write-off proposed" and have no request waiting."""
    threshold = policy_in_force(on=on).write_off_proposal_dpd
    return list(
        CollectionCase.objects.open()
        .filter(
            days_past_due__gte=threshold,
            status__in=statuses_that_may_become(CaseStatus.WRITE_OFF_PROPOSED),
        )
        .exclude(arrangements__status=ArrangementStatus.PENDING)
        .order_by("id")
        .values_list("id", flat=True)
    )


def write_off_propose(*, case: CollectionCase, on: datetime.date) -> ArrangementRequest | None:
    """Propose the write-off of one case at the threshold, once: a case that moved meanwhile, or
    already has a request waiting, is left alone (None)."""
    threshold = policy_in_force(on=on).write_off_proposal_dpd
    with transaction.atomic():
        case = _lock(case)
        if (
            not case.is_open
            or case.days_past_due < threshold
            or CaseStatus.WRITE_OFF_PROPOSED not in CASE_TRANSITIONS[CaseStatus(case.status)]
            or ArrangementRequest.objects.filter(case=case, status=ArrangementStatus.PENDING).exists()
        ):
            return None
        owed = customer_balance(customer=case.customer)
        request = ArrangementRequest(
            kind=ArrangementKind.WRITE_OFF,
            case=case,
            customer=case.customer,
            requested_by=None,
            reason="",  # the terms say why: the days past due at the threshold
            principal_owed=owed["principal"],
            fee_owed=owed["fee"],
            late_fee_owed=owed["late_fee"],
            days_past_due=case.days_past_due,
        )
        try:
            with transaction.atomic():
                request.save()
        except IntegrityError:  # another proposal won the race for the one pending request
            return None
        case_transition(case=case, to=CaseStatus.WRITE_OFF_PROPOSED, by=None)
        CaseEvent.objects.create(
            case=case,
            type=CaseEventType.WRITE_OFF_PROPOSED,
            payload={
                **_terms_payload(request),
                "by": "sweep",
                "date": on.isoformat(),
                "threshold": threshold,
            },
        )
        return request


def write_offs_propose(*, on: datetime.date) -> int:
    """Propose a write-off for every case at or over the threshold without one (idempotent:
    running it again proposes nothing new). Each case in its own transaction. Returns how many."""
    proposed = 0
    for case in CollectionCase.objects.filter(pk__in=write_off_candidates(on=on)).order_by("id"):
        if write_off_propose(case=case, on=on) is not None:
            proposed += 1
    return proposed

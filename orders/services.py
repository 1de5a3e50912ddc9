"""Every write that moves money or changes an order: placing, delivering, posting, reversing, returning.

Locks are always taken in one order, customer first, then its instalments, so two services
working on one customer queue up instead of deadlocking (STYLE.md, Saleor).
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from accounts.models import CreditLineStatus, Customer, CustomerStatus, Grade
from bnpl_admin.dates import DATE_MAX, DATE_MIN, moment_in_bounds
from bnpl_admin.dates import business_date as _business_date
from bnpl_admin.errors import DomainError
from bnpl_admin.money import CENT, MONEY_MAX, ZERO, apply_rate, money_in_bounds, to_money
from policy.selectors import policy_in_force

from . import selectors
from .ledger import (
    LATE_FEE_STATUSES,
    PAID_FIELD,
    RESTRUCTURE_MONTHS,
    LateFeeTerms,
    allocate,
    allocation_order,
    late_fee_accrue,
    prorate,
    schedule_lines,
    status_on,
)
from .models import (
    ORDER_TRANSITIONS,
    PLAN_INSTALLMENTS,
    UNPAID_INSTALLMENT_STATUSES,
    AllocationKind,
    Component,
    Installment,
    InstallmentStatus,
    ManualPaymentRequest,
    ManualPaymentStatus,
    Merchant,
    Order,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
    Plan,
    Waiver,
)
from .signals import books_changed, payment_posted, payment_reversed

# Clocks of the provider and of this server may differ a little.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
REFERENCE_MAX_LENGTH = Payment._meta.get_field("external_reference").max_length


class OrderError(DomainError):
    pass


class PaymentError(DomainError):
    pass


def _money(value: Decimal | int | str, *, what: str) -> Decimal:
    try:
        amount = to_money(value)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise DomainError(
            _("%(what)s must be an amount in yuan with at most two decimals.") % {"what": what}
        ) from exc
    if amount <= ZERO:
        raise DomainError(_("%(what)s must be more than zero.") % {"what": what})
    if not money_in_bounds(amount):
        raise DomainError(
            _("%(what)s must be at most ¥%(max)s.") % {"what": what, "max": f"{MONEY_MAX:,}"},
            code="too_large",
        )
    return amount


def _known_customer(customer) -> Customer:
    """The customer a service was handed, checked to be a saved one, before anything is written."""
    if not isinstance(customer, Customer) or customer.pk is None:
        raise DomainError(_("No such customer."), code="no_customer")
    return customer


def _lock_customer(customer: Customer) -> Customer:
    locked = Customer.objects.select_for_update().filter(pk=_known_customer(customer).pk).first()
    if locked is None:
        # Deleted since the caller loaded it (or never there): a clear refusal, not DoesNotExist.
        raise DomainError(_("No such customer."), code="no_customer")
    return locked


def _moment(value, *, what: str) -> datetime.datetime:
    """An aware datetime that the database and the business time zone can both represent."""
    if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
        raise DomainError(
            _("%(what)s must be a date and time with its time zone.") % {"what": what}, code="bad_time"
        )
    if not moment_in_bounds(value):
        raise DomainError(
            _("%(what)s must be between %(first)s and %(last)s.")
            % {"what": what, "first": f"{DATE_MIN:%Y-%m-%d}", "last": f"{DATE_MAX:%Y-%m-%d}"},
            code="bad_time",
        )
    return value


def _event(order: Order, type_: OrderEventType, *, actor=None, **payload) -> OrderEvent:
    return OrderEvent.objects.create(order=order, type=type_, actor=actor, payload=payload)


def _changes_books(service):
    """Publish orders.signals.books_changed for the customer a money service worked on, once it
    has returned and still inside its transaction (put it under @transaction.atomic): the
    figures other apps derive from the books change with them, or not at all."""

    @functools.wraps(service)
    def publishing(*args, **kwargs):
        result = service(*args, **kwargs)
        books_changed.send(sender=Installment, customer_ids=[_customer_id_of(kwargs)])
        return result

    publishing.changes_books = True  # tests/collection/test_case_amounts.py checks every money service
    return publishing


def _customer_id_of(arguments: dict) -> int:
    """The customer of a money service's keyword arguments (customer, order, installment or payment)."""
    if arguments.get("customer") is not None:
        return arguments["customer"].pk
    for name in ("order", "installment", "payment"):
        if arguments.get(name) is not None:
            return arguments[name].customer_id
    raise TypeError("a money service names its customer, order, instalment or payment")


def order_transition(*, order: Order, to: OrderStatus, by=None, reason: str = "") -> Order:
    """Move an order along ORDER_TRANSITIONS and record it; the only place status changes."""
    if to not in ORDER_TRANSITIONS[OrderStatus(order.status)]:
        raise OrderError(
            _("An order that is %(status)s cannot become %(to)s.")
            % {"status": order.get_status_display(), "to": to.label},
            code="bad_transition",
        )
    previous = order.status
    order.status = to
    if to in (OrderStatus.COMPLETED, OrderStatus.RETURNED, OrderStatus.CANCELLED, OrderStatus.WRITTEN_OFF):
        order.closed_at = timezone.now()
    elif to == OrderStatus.DELIVERED:
        order.closed_at = None
    order.save(update_fields=["status", "closed_at"])
    _event(order, OrderEventType.STATUS_CHANGED, actor=by, old=previous, new=to, reason=reason)
    return order


# --- Catching up: a money event on a night the sweep missed ---------------------------------


@transaction.atomic
def customer_catch_up(*, customer: Customer, on: datetime.date) -> None:
    """Do for one customer the sweep work of the business dates after
    selectors.books_through() up to `on`, before a money event dated `on` changes their books
    (DESIGN.md: the book must not depend on which nights the sweep ran).

    Sweeping every night, a payment, waiver, return, reversal or hold received on day D finds
    the credit balance applied and the late fees accrued through D (the sweep for D runs at
    00:30 on D), and allocates against that. When nights were missed, this replays them first:
    the credit balance is applied once (what it pays on each due date, oldest first, is the
    same as paying it all now, before any of those days' late fees), then late fees day by day
    with orders.ledger.late_fee_day on the principal as it stands, which no event changed in
    between (each event catches up first). Statuses are set as the sweep for `on` would.
    Ageing, cases and freezes stay with the sweep: they are what the sweep saw.
    The caller holds the customer's lock.
    """
    on = min(on, _business_date())  # the sweep never runs ahead of today, nor does this
    last = selectors.books_through(customer=customer)
    if last is None or last >= on:
        return
    if selectors.payments_with_credit(customer=customer):
        credit_balance_apply(customer=customer, on=on)
    held = set(Order.objects.filter(customer=customer).exclude(hold="").values_list("pk", flat=True))
    by_order: dict[int, list[Installment]] = defaultdict(list)
    for installment in Installment.objects.select_for_update().filter(customer=customer).order_by("pk"):
        by_order[installment.order_id].append(installment)
    terms: dict[datetime.date, LateFeeTerms] = {}

    def terms_on(day: datetime.date) -> LateFeeTerms:
        if day not in terms:
            terms[day] = LateFeeTerms.from_policy(policy_in_force(on=day))
        return terms[day]

    changed = []
    for order_id, installments in by_order.items():
        before = {i.pk: (i.late_fee_due, i.late_fee_through, i.status) for i in installments}
        if order_id not in held:
            late_fee_accrue(installments=installments, since=last, through=on, terms_on=terms_on)
        for installment in installments:
            if installment.status in LATE_FEE_STATUSES:
                installment.status = status_on(installment, on)
            if before[installment.pk] != (
                installment.late_fee_due,
                installment.late_fee_through,
                installment.status,
            ):
                changed.append(installment)
    # The sweep's work, written as the sweep writes it: without a history row per instalment.
    Installment.objects.bulk_update(changed, ["late_fee_due", "late_fee_through", "status"])
    Customer.objects.filter(pk=customer.pk).update(books_through=on)


# --- Orders --------------------------------------------------------------------------------


@transaction.atomic
def order_place(
    *,
    customer: Customer,
    merchant: Merchant,
    external_reference: str,
    amount: Decimal,
    plan: Plan,
    channel: str,
    item_summary: str,
    placed_at: datetime.datetime | None = None,
) -> Order:
    """Record an order and run the basic credit decision: approved, or declined with reasons.

    The full decision engine (velocity, affordability, referral) comes with the risk console;
    these are the checks DESIGN.md says must always pass.
    """
    amount = _money(amount, what=_("The order amount"))
    placed_at = placed_at or timezone.now()
    if plan not in PLAN_INSTALLMENTS:
        raise OrderError(_("Unknown plan %(plan)r.") % {"plan": plan}, code="bad_plan")
    if amount < CENT * PLAN_INSTALLMENTS[Plan(plan)]:
        # Every instalment must carry at least a fen, or it could never be paid.
        raise OrderError(_("The amount is too small for this plan."), code="too_small")
    if Order.objects.filter(external_reference=external_reference).exists():
        raise OrderError(
            _("Order %(reference)s already exists.") % {"reference": external_reference}, code="duplicate"
        )
    customer = _lock_customer(customer)
    policy = policy_in_force(on=_business_date(placed_at))
    fee_rate = policy.fee_rate_for(PLAN_INSTALLMENTS[Plan(plan)])

    reasons = []
    line = getattr(customer, "credit_line", None)
    if customer.status != CustomerStatus.ACTIVE:
        reasons.append("customer_not_active")
    if line is None or line.status != CreditLineStatus.ACTIVE:
        reasons.append("credit_line_not_active")
    elif line.grade == Grade.E:
        reasons.append("grade_no_credit")
    elif amount > selectors.credit_available(customer=customer):
        reasons.append("over_available_limit")

    order = Order.objects.create(
        customer=customer,
        merchant=merchant,
        external_reference=external_reference,
        amount=amount,
        plan=plan,
        fee_rate=fee_rate,
        fee_amount=apply_rate(amount, fee_rate),
        channel=channel,
        item_summary=item_summary,
        placed_at=placed_at,
        status=OrderStatus.DECLINED if reasons else OrderStatus.APPROVED,
        decline_reasons=reasons,
    )
    if reasons:
        _event(order, OrderEventType.DECLINED, reasons=reasons)
    else:
        _event(order, OrderEventType.PLACED, amount=str(amount), plan=plan)
    return order


@transaction.atomic
def order_ship(*, order: Order, shipped_at: datetime.datetime | None = None, by=None) -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    order_transition(order=order, to=OrderStatus.SHIPPED, by=by)
    order.shipped_at = shipped_at or timezone.now()
    order.save(update_fields=["shipped_at"])
    return order


@transaction.atomic
def order_deliver(
    *, order: Order, delivered_at: datetime.datetime | None = None, by=None
) -> list[Installment]:
    """Mark the order delivered and build its repayment schedule: the trial window starts now."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.installments.exists():
        raise OrderError(_("This order already has a repayment schedule."), code="has_schedule")
    delivered_at = delivered_at or timezone.now()
    order_transition(order=order, to=OrderStatus.DELIVERED, by=by)
    order.delivered_at = delivered_at
    order.save(update_fields=["delivered_at"])
    delivered_on = _business_date(delivered_at)
    policy = policy_in_force(on=delivered_on)
    lines = schedule_lines(
        principal=order.amount,
        fee_rate=order.fee_rate,
        installments=order.installment_count,
        delivered_on=delivered_on,
        trial_days=policy.pay_later_trial_days,
    )
    installments = bulk_create_with_history(
        [
            Installment(
                order=order,
                customer_id=order.customer_id,
                sequence=line.sequence,
                due_date=line.due_date,
                principal_due=line.principal,
                fee_due=line.fee,
                status=InstallmentStatus.SCHEDULED,
            )
            for line in lines
        ],
        Installment,
        default_user=by,
        default_change_reason="schedule built at delivery",
    )
    _event(
        order,
        OrderEventType.DELIVERED,
        actor=by,
        installments=len(installments),
        first_due=lines[0].due_date.isoformat(),
    )
    return installments


# --- Payments ------------------------------------------------------------------------------


def _payable_installments(customer: Customer, on: datetime.date) -> list[Installment]:
    """The customer's unpaid instalments due on or before `on`, locked, oldest due first."""
    rows = (
        Installment.objects.select_for_update()
        .filter(customer=customer, status__in=UNPAID_INSTALLMENT_STATUSES, due_date__lte=on)
        .order_by("due_date", "order_id", "sequence")
    )
    return allocation_order(rows)


def _save_allocations(
    *,
    payment: Payment,
    lines,
    kind: AllocationKind,
    on: datetime.date,
    at: datetime.datetime,
    actor=None,
) -> list[PaymentAllocation]:
    """Persist allocation lines and the instalments they changed, and close paid-up orders."""
    if not lines:
        return []
    allocations = PaymentAllocation.objects.bulk_create(
        PaymentAllocation(
            payment=payment,
            installment=line.installment,
            component=line.component,
            amount=line.amount,
            kind=kind,
            business_date=on,
        )
        for line in lines
    )
    touched = {line.installment.pk: line.installment for line in lines}.values()
    _save_installments(touched, on=on, at=at)
    by_order: dict[int, list] = defaultdict(list)
    for line in lines:
        by_order[line.installment.order_id].append(
            [line.installment.sequence, line.component, str(line.amount)]
        )
    for order in Order.objects.select_for_update().filter(pk__in=by_order):
        _event(
            order,
            OrderEventType.PAYMENT_ALLOCATED,
            actor=actor,
            payment=payment.external_reference,
            kind=kind,
            lines=by_order[order.pk],
        )
        _order_settle(order, actor=actor)
    return allocations


def _save_installments(installments: Iterable[Installment], *, on, at) -> None:
    for installment in installments:
        new_status = status_on(installment, on)
        if new_status == InstallmentStatus.PAID and installment.paid_at is None:
            installment.paid_at = at
        elif new_status != InstallmentStatus.PAID:
            installment.paid_at = None
        installment.status = new_status
        # save(), not a bulk update: each change to money is recorded in the history table.
        installment.save(
            update_fields=[
                "principal_due",
                "fee_due",
                "late_fee_due",
                "principal_paid",
                "fee_paid",
                "late_fee_paid",
                "fee_waived",
                "late_fee_waived",
                "status",
                "paid_at",
            ]
        )


def _order_settle(order: Order, *, actor=None) -> None:
    """Complete a delivered order with nothing left to pay; reopen a completed one that owes again."""
    # A restructured instalment is closed: what it owed moved to the order's new instalments.
    owes = order.installments.exclude(
        status__in=(InstallmentStatus.PAID, InstallmentStatus.RESTRUCTURED)
    ).exists()
    if order.status == OrderStatus.DELIVERED and not owes:
        order_transition(order=order, to=OrderStatus.COMPLETED, by=actor, reason="paid in full")
    elif order.status == OrderStatus.COMPLETED and owes:
        order_transition(order=order, to=OrderStatus.DELIVERED, by=actor, reason="owes again")


class PaymentPosting(NamedTuple):
    """What payment_post did: the payment, and whether its reference was already posted
    (replayed: nothing changed), so a caller says so without checking first."""

    payment: Payment
    replayed: bool


@transaction.atomic
@_changes_books
def payment_post(
    *,
    customer: Customer,
    amount: Decimal,
    reference: str,
    received_at: datetime.datetime,
    method: str = PaymentMethod.ALIPAY,
    posted_by=None,
) -> PaymentPosting:
    """Post a payment once per provider reference and allocate it (DESIGN.md, "Money").

    Posting a reference that is already known returns the payment recorded for it, replayed,
    and changes nothing; the same reference with another customer or amount is an error.
    A new payment is published (orders.signals.payment_posted) inside this transaction.
    """
    customer = _known_customer(customer)
    amount = _money(amount, what=_("The payment amount"))
    received_at = _moment(received_at, what=_("The time of receipt"))
    if received_at > timezone.now() + FUTURE_TOLERANCE:
        raise PaymentError(_("A payment cannot be received in the future."), code="future")
    reference = (reference or "").strip()
    if not reference:
        raise PaymentError(_("A payment needs the provider's reference."), code="no_reference")
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise PaymentError(
            _("A provider reference is at most %(max)d characters.") % {"max": REFERENCE_MAX_LENGTH},
            code="long_reference",
        )
    if method not in PaymentMethod.values:
        raise PaymentError(_("Unknown payment method %(method)r.") % {"method": method}, code="bad_method")

    customer = _lock_customer(customer)
    customer_catch_up(customer=customer, on=_business_date(received_at))
    existing = Payment.objects.filter(external_reference=reference).first()
    if existing is not None:
        return PaymentPosting(_same_payment_or_error(existing, customer=customer, amount=amount), True)

    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                customer=customer,
                amount=amount,
                received_at=received_at,
                method=method,
                external_reference=reference,
                posted_by=posted_by,
            )
    except IntegrityError:
        # Another transaction posted this reference for another customer meanwhile.
        existing = Payment.objects.get(external_reference=reference)
        return PaymentPosting(_same_payment_or_error(existing, customer=customer, amount=amount), True)

    on = _business_date(received_at)
    lines, left = allocate(amount, _payable_installments(customer, on))
    _save_allocations(
        payment=payment,
        lines=lines,
        kind=AllocationKind.PAYMENT,
        on=on,
        at=received_at,
        actor=posted_by,
    )
    # What the customer's live books did not take pays their written-off debts, as recoveries.
    left = _recoveries_allocate(payment=payment, customer=customer, amount=left, on=on, at=received_at)
    payment.credit_created = left
    payment.save(update_fields=["credit_created"])
    # Subscribers write in this transaction (the reminders app's receipt, an outbox row): it
    # exists exactly when the payment does, and its delivery is published once committed.
    payment_posted.send(sender=Payment, payment=payment)
    return PaymentPosting(payment, False)


def _same_payment_or_error(existing: Payment, *, customer: Customer, amount: Decimal) -> Payment:
    if existing.customer_id != customer.pk or existing.amount != amount:
        raise PaymentError(
            _("Reference %(reference)s was already posted for another customer or amount (¥%(amount)s).")
            % {"reference": existing.external_reference, "amount": existing.amount},
            code="reference_conflict",
        )
    return existing


# --- Payments typed in by hand: above the policy's thresholds, a second person approves -------


def manual_payment_approval_reasons(*, amount: Decimal, received_at: datetime.datetime) -> list[dict]:
    """Why a payment typed in by hand needs a second person, by today's policy; [] when it does not.

    Kept as codes and values, not sentences, so each reader sees them in their own language
    (ManualPaymentRequest.approval_reasons_text)."""
    today = _business_date()
    policy = policy_in_force(on=today)
    reasons = []
    if amount > policy.manual_payment_approval_above:
        reasons.append({"code": "amount_above", "limit": str(policy.manual_payment_approval_above)})
    days_back = (today - _business_date(received_at)).days
    if days_back > policy.manual_payment_approval_days_back:
        limit = policy.manual_payment_approval_days_back
        reasons.append({"code": "days_back", "days": days_back, "limit": limit})
    return reasons


@transaction.atomic
def manual_payment_submit(
    *,
    customer: Customer,
    amount: Decimal,
    reference: str,
    received_at: datetime.datetime,
    method: str,
    by,
    reason: str = "",
) -> PaymentPosting | ManualPaymentRequest:
    """A payment typed in by a staff member: posted at once (what payment_post did), or, above
    the policy's thresholds, a request that waits for another person's approval
    (manual_payment_approve)."""
    customer = _known_customer(customer)
    amount = _money(amount, what=_("The payment amount"))
    received_at = _moment(received_at, what=_("The time of receipt"))
    reasons = manual_payment_approval_reasons(amount=amount, received_at=received_at)
    if not reasons:
        return payment_post(
            customer=customer,
            amount=amount,
            reference=reference,
            received_at=received_at,
            method=method,
            posted_by=by,
        )
    return manual_payment_request(
        customer=customer,
        amount=amount,
        reference=reference,
        received_at=received_at,
        method=method,
        requested_by=by,
        reason=reason,
        approval_reasons=reasons,
    )


@transaction.atomic
def manual_payment_request(
    *,
    customer: Customer,
    amount: Decimal,
    reference: str,
    received_at: datetime.datetime,
    method: str,
    requested_by,
    reason: str = "",
    approval_reasons: list[str] | None = None,
) -> ManualPaymentRequest:
    """Record a payment typed in by hand as waiting for a second person; nothing is posted yet.

    The same request sent again (one reference, waiting) is that request; a reference already
    posted, or waiting with another customer or amount, is refused.
    """
    customer = _lock_customer(customer)
    amount = _money(amount, what=_("The payment amount"))
    received_at = _moment(received_at, what=_("The time of receipt"))
    if received_at > timezone.now() + FUTURE_TOLERANCE:
        raise PaymentError(_("A payment cannot be received in the future."), code="future")
    reference = (reference or "").strip()
    if not reference or len(reference) > REFERENCE_MAX_LENGTH:
        raise PaymentError(
            _("A payment needs the provider's reference (at most %(max)d characters).")
            % {"max": REFERENCE_MAX_LENGTH},
            code="no_reference",
        )
    if method not in PaymentMethod.values:
        raise PaymentError(_("Unknown payment method %(method)r.") % {"method": method}, code="bad_method")
    if requested_by is None or getattr(requested_by, "pk", None) is None:
        raise PaymentError(_("A request names the person who makes it."), code="no_requester")
    if Payment.objects.filter(external_reference=reference).exists():
        raise PaymentError(
            _("Reference %(reference)s was already posted.") % {"reference": reference},
            code="reference_conflict",
        )
    waiting = ManualPaymentRequest.objects.filter(
        reference=reference, status=ManualPaymentStatus.PENDING
    ).first()
    if waiting is not None:
        if (waiting.customer_id, waiting.amount) != (customer.pk, amount):
            raise PaymentError(
                _("Reference %(reference)s is already waiting for approval for another customer or amount.")
                % {"reference": reference},
                code="reference_conflict",
            )
        return waiting
    return ManualPaymentRequest.objects.create(
        customer=customer,
        amount=amount,
        reference=reference,
        received_at=received_at,
        method=method,
        reason=(reason or "").strip()[:200],
        approval_reasons=approval_reasons
        or manual_payment_approval_reasons(amount=amount, received_at=received_at),
        requested_by=requested_by,
    )


def _lock_pending(request: ManualPaymentRequest, *, by) -> ManualPaymentRequest:
    if not isinstance(request, ManualPaymentRequest) or request.pk is None:
        raise PaymentError(_("No such manual payment request."), code="no_request")
    _lock_customer(request.customer)
    request = ManualPaymentRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ManualPaymentStatus.PENDING:
        raise PaymentError(
            _("This request was already decided (%(status)s).") % {"status": request.get_status_display()},
            code="decided",
        )
    if by is None or not by.has_perm("orders.approve_manualpaymentrequest"):
        raise PaymentError(_("You may not decide manual payment requests."), code="not_allowed")
    if by.pk == request.requested_by_id:
        raise PaymentError(
            _("Nobody decides a manual payment they asked for themselves."), code="own_request"
        )
    return request


@transaction.atomic
def manual_payment_approve(*, request: ManualPaymentRequest, by) -> Payment:
    """Approve a waiting manual payment: it is posted, in this transaction, by payment_post."""
    request = _lock_pending(request, by=by)
    # A reference the provider posted meanwhile (same customer and amount) is that payment,
    # replayed, not a second one: the request records it as what it approved.
    payment, _replayed = payment_post(
        customer=request.customer,
        amount=request.amount,
        reference=request.reference,
        received_at=request.received_at,
        method=request.method,
        posted_by=by,
    )
    request.status = ManualPaymentStatus.APPROVED
    request.decided_by, request.decided_at = by, timezone.now()
    request.payment = payment
    request.save(update_fields=["status", "decided_by", "decided_at", "payment"])
    return payment


@transaction.atomic
def manual_payment_reject(*, request: ManualPaymentRequest, by, note: str) -> ManualPaymentRequest:
    """Reject a waiting manual payment, with a note; nothing is posted."""
    note = (note or "").strip()
    if not note:
        raise PaymentError(_("A rejection needs a note."), code="no_reason")
    request = _lock_pending(request, by=by)
    request.status = ManualPaymentStatus.REJECTED
    request.decided_by, request.decided_at = by, timezone.now()
    request.decision_note = note[:200]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return request


@transaction.atomic
@_changes_books
def credit_balance_apply(*, customer: Customer, on: datetime.date) -> list[PaymentAllocation]:
    """Apply the customer's credit balance to instalments due on or before `on`.

    Credit is spent oldest payment first, through the same allocation rule as a payment,
    as recorded allocations of the payments that funded it.
    """
    customer = _lock_customer(customer)
    sources = selectors.payments_with_credit(customer=customer)
    if not sources:
        return []
    installments = _payable_installments(customer, on)
    at = timezone.now()
    created = []
    for payment in sources:
        lines, _left = allocate(payment.credit_available, installments)
        created += _save_allocations(payment=payment, lines=lines, kind=AllocationKind.CREDIT, on=on, at=at)
    return created


@transaction.atomic
@_changes_books
def payment_reverse(*, payment: Payment, reason: str, by) -> Payment:
    """Undo a payment with new negative allocations; nothing is deleted. The reversal is published
    (orders.signals.payment_reversed) inside this transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise PaymentError(_("A reversal needs a reason."), code="no_reason")
    customer_catch_up(customer=_lock_customer(payment.customer), on=_business_date())
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == PaymentStatus.REVERSED:
        raise PaymentError(_("This payment has already been reversed."), code="already_reversed")

    net = selectors.allocations_net(payment=payment)
    installments = {
        i.pk: i
        for i in Installment.objects.select_for_update().filter(
            pk__in={installment_id for installment_id, _ in net}
        )
    }
    on, at = _business_date(), timezone.now()
    reversal_rows = []
    for (installment_id, component), amount in net.items():
        installment = installments[installment_id]
        field = PAID_FIELD[Component(component)]
        setattr(installment, field, getattr(installment, field) - amount)
        reversal_rows.append(
            PaymentAllocation(
                payment=payment,
                installment=installment,
                component=component,
                amount=-amount,
                kind=AllocationKind.REVERSAL,
                business_date=on,
            )
        )
    PaymentAllocation.objects.bulk_create(reversal_rows)
    _save_installments(installments.values(), on=on, at=at)

    payment.status = PaymentStatus.REVERSED
    payment.reversed_at = at
    payment.reversed_by = by
    payment.reversal_reason = reason
    payment.save(update_fields=["status", "reversed_at", "reversed_by", "reversal_reason"])
    for order in Order.objects.select_for_update().filter(pk__in={i.order_id for i in installments.values()}):
        _event(
            order,
            OrderEventType.PAYMENT_REVERSED,
            actor=by,
            payment=payment.external_reference,
            reason=reason,
        )
        _order_settle(order, actor=by)
    # Subscribers act in this transaction (collections re-decides the promises the payment kept):
    # the ledger and what it decided change together, or not at all.
    payment_reversed.send(sender=Payment, payment=payment, by=by)
    return payment


# --- Waivers and returns -------------------------------------------------------------------


@transaction.atomic
@_changes_books
def fee_waive(
    *,
    installment: Installment,
    component: Component,
    amount: Decimal,
    reason: str,
    approved_by,
    requested_by,
    token: uuid.UUID | None = None,
) -> Waiver:
    """Forgive part of a fee or late fee: a Waiver entry with a reason, who asked and who approved.

    The requester is never the approver (maker–checker). A waiver asked for with a token that
    already made one is that waiver again, and nothing changes: a form submitted twice.
    """
    amount = _money(amount, what=_("The waived amount"))
    if requested_by is None or getattr(requested_by, "pk", None) is None:
        raise DomainError(_("A waiver names the person who asked for it."), code="no_requester")
    if requested_by.pk == approved_by.pk:
        raise DomainError(_("Nobody approves a waiver they asked for themselves."), code="own_request")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("A waiver needs a reason."), code="no_reason")
    if component not in (Component.FEE, Component.LATE_FEE):
        raise DomainError(_("Only fees and late fees can be waived."), code="bad_component")
    component = Component(component)
    if not approved_by.has_perm("orders.waive_fee"):
        raise DomainError(_("The approver may not waive fees."), code="not_allowed")
    customer = _lock_customer(installment.customer)
    if token is not None:
        # After the customer's lock: a second submission waits for the first and finds it here.
        done = Waiver.objects.filter(request_token=token).first()
        if done is not None:
            if (done.installment_id, done.component, done.amount) != (installment.pk, component, amount):
                raise DomainError(_("This form was already used for another waiver."), code="token_reused")
            return done
    customer_catch_up(customer=customer, on=_business_date())
    installment = Installment.objects.select_for_update().get(pk=installment.pk)
    owed = installment.outstanding(component)
    if amount > owed:
        raise DomainError(
            _("Only ¥%(amount)s of this %(component)s is unpaid.")
            % {"amount": owed, "component": component.label},
            code="too_much",
        )
    field = "fee_waived" if component == Component.FEE else "late_fee_waived"
    setattr(installment, field, getattr(installment, field) + amount)
    installment.status = status_on(installment, _business_date())
    if installment.status == InstallmentStatus.PAID and installment.paid_at is None:
        installment.paid_at = timezone.now()
    installment.save(update_fields=[field, "status", "paid_at"])
    try:
        with transaction.atomic():
            waiver = Waiver.objects.create(
                installment=installment,
                component=component,
                amount=amount,
                reason=reason,
                requested_by=requested_by,
                approved_by=approved_by,
                request_token=token,
            )
    except IntegrityError:
        # The token made a waiver for another customer meanwhile (their lock is not ours).
        raise DomainError(_("This form was already used for another waiver."), code="token_reused") from None
    _event(
        installment.order,
        OrderEventType.FEE_WAIVED,
        actor=approved_by,
        sequence=installment.sequence,
        component=component,
        amount=str(amount),
        reason=reason,
    )
    _order_settle(installment.order, actor=approved_by)
    return waiver


@transaction.atomic
@_changes_books
def order_return(*, order: Order, amount: Decimal, by=None, reason: str = "") -> Order:
    """Record a return of goods worth `amount`: principal is cut from the last instalment back.

    Each instalment's fee is cut in the same proportion as its principal. What had already
    been paid above the new amounts goes back to the customer's credit balance as refund
    allocations. A return of the whole principal closes the order as returned and cancels
    its unpaid late fees.
    """
    amount = _money(amount, what=_("The returned amount"))
    customer_catch_up(customer=_lock_customer(order.customer), on=_business_date())
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status not in (OrderStatus.DELIVERED, OrderStatus.COMPLETED):
        raise OrderError(_("Only a delivered order can be returned."), code="not_delivered")
    installments = list(Installment.objects.select_for_update().filter(order=order).order_by("-sequence"))
    principal_left = sum((i.principal_due for i in installments), ZERO)
    if amount > principal_left:
        raise OrderError(
            _("At most ¥%(amount)s of principal is left on this order.") % {"amount": principal_left},
            code="too_much",
        )
    full = amount == principal_left
    remaining = amount
    for installment in installments:
        if remaining == ZERO:
            break
        cut = min(remaining, installment.principal_due)
        old_principal = installment.principal_due
        installment.principal_due = old_principal - cut
        installment.fee_due = prorate(installment.fee_due, installment.principal_due, old_principal)
        remaining -= cut
    if full:
        for installment in installments:
            installment.late_fee_due = max(installment.late_fee_paid + installment.late_fee_waived, ZERO)

    on, at = _business_date(), timezone.now()
    adjustments = []
    for installment in installments:
        # A waiver cannot forgive more fee than is now charged: take back the excess with
        # an adjustment entry, so the waived total still equals its entries.
        excess = installment.fee_waived - installment.fee_due
        if excess > ZERO:
            installment.fee_waived -= excess
            adjustments.append(
                Waiver(
                    installment=installment,
                    component=Component.FEE,
                    amount=-excess,
                    reason=f"Return of ¥{amount} cut the fee below what was waived",
                    requested_by=by,
                    approved_by=by,
                )
            )
    Waiver.objects.bulk_create(adjustments)
    refunds = _refund_overpaid(installments, on=on)
    _save_installments(installments, on=on, at=at)
    _event(
        order,
        OrderEventType.RETURNED,
        actor=by,
        amount=str(amount),
        full=full,
        reason=reason,
        refunded=str(sum((r.amount for r in refunds), ZERO)),
    )
    if full:
        if order.status == OrderStatus.COMPLETED:
            # A paid-up order returned in full: ORDER_TRANSITIONS has no Completed → Returned
            # edge, so reopen it first; the timeline then shows both steps.
            order_transition(order=order, to=OrderStatus.DELIVERED, by=by, reason="reopened for a return")
        order_transition(order=order, to=OrderStatus.RETURNED, by=by, reason=reason)
    else:
        _order_settle(order, actor=by)
    return order


def _refund_overpaid(installments: list[Installment], *, on) -> list[PaymentAllocation]:
    """Turn what was paid above an instalment's new dues into refund allocations (credit)."""
    rows = []
    for installment in installments:
        for component, due, paid_field in (
            (Component.PRINCIPAL, installment.principal_due, "principal_paid"),
            (Component.FEE, installment.fee_due - installment.fee_waived, "fee_paid"),
        ):
            excess = getattr(installment, paid_field) - max(due, ZERO)
            if excess <= ZERO:
                continue
            setattr(installment, paid_field, getattr(installment, paid_field) - excess)
            # Refund from the latest payments first: the oldest money stays where it went.
            funded = selectors.allocation_sources(installment=installment, component=component)
            for payment_id, net in funded:
                take = min(net, excess)
                rows.append(
                    PaymentAllocation(
                        payment_id=payment_id,
                        installment=installment,
                        component=component,
                        amount=-take,
                        kind=AllocationKind.REFUND,
                        business_date=on,
                    )
                )
                excess -= take
                if excess == ZERO:
                    break
    return PaymentAllocation.objects.bulk_create(rows)


# --- Holds: returns and disputes pause an order ---------------------------------------------


@transaction.atomic
@_changes_books
def order_hold_open(*, order: Order, kind: str, by=None, on: datetime.date | None = None) -> Order:
    """Pause an order for a return or a dispute: no late fees, no reminders, no ageing."""
    from .models import Hold

    if kind not in (Hold.RETURN, Hold.DISPUTE):
        raise OrderError(_("A hold is either a return or a dispute."), code="bad_hold")
    on = on or _business_date()
    customer_catch_up(customer=_lock_customer(order.customer), on=on)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status not in (OrderStatus.DELIVERED, OrderStatus.COMPLETED):
        raise OrderError(_("Only a delivered order can be put on hold."), code="not_delivered")
    if order.hold:
        raise OrderError(
            _("This order is already on hold (%(hold)s).") % {"hold": order.get_hold_display()},
            code="on_hold",
        )
    order.hold, order.hold_since = kind, on
    order.save(update_fields=["hold", "hold_since"])
    _event(order, OrderEventType.HOLD_OPENED, actor=by, kind=kind, since=order.hold_since.isoformat())
    return order


@transaction.atomic
@_changes_books
def order_hold_close(*, order: Order, by=None, on: datetime.date | None = None, outcome: str = "") -> Order:
    """Resume an order from where it stopped: each unpaid instalment's days past due and
    late-fee clock move on by the days it spent past due while the order was on hold."""
    from .models import Hold

    on = on or _business_date()
    customer_catch_up(customer=_lock_customer(order.customer), on=on)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not order.hold:
        raise OrderError(_("This order is not on hold."), code="not_on_hold")
    if on < order.hold_since:
        raise OrderError(_("A hold cannot close before it opened."), code="bad_date")
    paused = []
    for installment in Installment.objects.select_for_update().filter(
        order=order, status__in=UNPAID_INSTALLMENT_STATUSES, due_date__lt=on
    ):
        days = (on - max(order.hold_since, installment.due_date)).days
        installment.hold_days += days
        if installment.late_fee_through is not None:
            installment.late_fee_through += datetime.timedelta(days=days)
        installment.save(update_fields=["hold_days", "late_fee_through"])
        paused.append([installment.sequence, days])
    kind, since = order.hold, order.hold_since
    order.hold, order.hold_since = Hold.NONE, None
    order.save(update_fields=["hold", "hold_since"])
    _event(
        order,
        OrderEventType.HOLD_CLOSED,
        actor=by,
        kind=kind,
        since=since.isoformat(),
        until=on.isoformat(),
        paused=paused,
        outcome=outcome,
    )
    return order


# --- Settlements, restructures and write-offs (the settlements app calls these) --------------
#
# A manager's approval of a settlement waives fees, late fees and part of the principal; of a
# restructure it closes the unpaid instalments of each order and spreads what was left over a
# new schedule; of a write-off it writes the orders off. Money received later for a
# written-off instalment is allocated to it as a recovery (payment_post, _recoveries_allocate).


def _settleable_installments(customer: Customer) -> list[Installment]:
    """The customer's instalments a settlement works on (selectors.SETTLEABLE), locked,
    latest due first: discounts are taken from the last instalment back, as a partial return
    cuts principal, so a discount never cures the oldest arrears; a payment does."""
    rows = Installment.objects.select_for_update().filter(selectors.SETTLEABLE, customer=customer)
    return sorted(rows, key=lambda i: (i.due_date, i.order_id, i.sequence), reverse=True)


def _requester_and_approver(*, requested_by, approved_by) -> None:
    if requested_by is None or getattr(requested_by, "pk", None) is None:
        raise DomainError(_("A waiver names the person who asked for it."), code="no_requester")
    if approved_by is None or getattr(approved_by, "pk", None) is None:
        raise DomainError(_("A waiver names the person who approved it."), code="no_approver")
    if requested_by.pk == approved_by.pk:
        raise DomainError(_("Nobody approves a waiver they asked for themselves."), code="own_request")
    if not approved_by.has_perm("orders.waive_fee"):
        raise DomainError(_("The approver may not waive fees."), code="not_allowed")


@transaction.atomic
@_changes_books
def principal_waive(
    *, installment: Installment, amount: Decimal, reason: str, approved_by, requested_by
) -> Waiver:
    """Forgive part of an instalment's unpaid principal (an approved settlement): a Waiver entry
    of component principal, with who asked and who approved, that lowers the principal due.

    Principal due is lowered (as a partial return lowers it), not kept with a waived total
    beside it, so every rule that reads unpaid principal (late fees in the sweep's SQL, credit
    used) sees the discount without a change. The order's late-fee cap follows its principal."""
    amount = _money(amount, what=_("The waived amount"))
    _requester_and_approver(requested_by=requested_by, approved_by=approved_by)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("A waiver needs a reason."), code="no_reason")
    customer = _lock_customer(installment.customer)
    customer_catch_up(customer=customer, on=_business_date())
    installment = Installment.objects.select_for_update().get(pk=installment.pk)
    owed = installment.outstanding(Component.PRINCIPAL)
    if amount > owed:
        raise DomainError(
            _("Only ¥%(amount)s of this %(component)s is unpaid.")
            % {"amount": owed, "component": Component.PRINCIPAL.label},
            code="too_much",
        )
    installment.principal_due -= amount
    installment.status = status_on(installment, _business_date())
    if installment.status == InstallmentStatus.PAID and installment.paid_at is None:
        installment.paid_at = timezone.now()
    installment.save(update_fields=["principal_due", "status", "paid_at"])
    waiver = Waiver.objects.create(
        installment=installment,
        component=Component.PRINCIPAL,
        amount=amount,
        reason=reason[:200],
        requested_by=requested_by,
        approved_by=approved_by,
    )
    _event(
        installment.order,
        OrderEventType.FEE_WAIVED,
        actor=approved_by,
        sequence=installment.sequence,
        component=Component.PRINCIPAL,
        amount=str(amount),
        reason=reason,
    )
    _order_settle(installment.order, actor=approved_by)
    return waiver


@transaction.atomic
@_changes_books
def customer_discounts_apply(
    *,
    customer: Customer,
    discounts: dict[str, Decimal],
    reason: str,
    approved_by,
    requested_by,
) -> list[Waiver]:
    """Waive a settlement's discounts (an amount per component, for the customer as a whole)
    from the latest due instalment back: late fees and fees through fee_waive, principal through
    principal_waive, one waiver per instalment and component. Exact to the fen: the waivers of a
    component add up to its discount; a discount above what is unpaid is refused."""
    customer = _lock_customer(customer)
    customer_catch_up(customer=customer, on=_business_date())
    installments = _settleable_installments(customer)
    plan = []
    for component in (Component.LATE_FEE, Component.FEE, Component.PRINCIPAL):
        left = to_money(discounts.get(component, ZERO) or ZERO)
        if left < ZERO:
            raise DomainError(_("A discount cannot be negative."), code="negative")
        owed = sum((i.outstanding(component) for i in installments), ZERO)
        if left > owed:
            raise DomainError(
                _("The discount on %(component)s is ¥%(amount)s, but only ¥%(owed)s is unpaid.")
                % {"component": component.label, "amount": left, "owed": owed},
                code="too_much",
            )
        for installment in installments:
            take = min(left, installment.outstanding(component))
            if take > ZERO:
                plan.append((installment, component, take))
                left -= take
    waivers = []
    for installment, component, amount in plan:
        if component == Component.PRINCIPAL:
            waivers.append(
                principal_waive(
                    installment=installment,
                    amount=amount,
                    reason=reason,
                    approved_by=approved_by,
                    requested_by=requested_by,
                )
            )
        else:
            waivers.append(
                fee_waive(
                    installment=installment,
                    component=component,
                    amount=amount,
                    reason=reason,
                    approved_by=approved_by,
                    requested_by=requested_by,
                )
            )
    return waivers


def restructure_months_check(months) -> int:
    if months not in RESTRUCTURE_MONTHS:
        raise OrderError(
            _("A restructure is over 3, 6 or 12 months."),
            code="bad_months",
        )
    return months


@transaction.atomic
@_changes_books
def order_restructure(*, order: Order, months: int, by, reason: str) -> list[Installment]:
    """Spread what is left to pay on an order over a new schedule of `months` monthly
    instalments (an approved restructure), exact to the fen.

    Each unpaid instalment is closed (its dues cut to what was paid or waived, status
    restructured); what was left of each component (principal, fee, late fee) is split over
    the new instalments by the schedule rule (ledger.restructure_lines), due monthly from
    today. The order's totals of principal and late fee are unchanged, so its late-fee cap is
    too. Returns the new instalments."""
    restructure_months_check(months)
    reason = (reason or "").strip()
    customer = _lock_customer(order.customer)
    on = _business_date()
    customer_catch_up(customer=customer, on=on)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != OrderStatus.DELIVERED:
        raise OrderError(
            _("Only a delivered order with money left to pay can be restructured."), code="not_owing"
        )
    if order.hold:
        raise OrderError(
            _("This order is on hold (%(hold)s): it cannot be restructured.")
            % {"hold": order.get_hold_display()},
            code="on_hold",
        )
    list(Installment.objects.select_for_update().filter(order=order))  # lock them, in one order
    unpaid, lines = selectors.order_restructure_plan(order=order, months=months, on=on)
    if not unpaid:
        raise OrderError(
            _("Only a delivered order with money left to pay can be restructured."), code="not_owing"
        )
    if any(line.total <= ZERO for line in lines):
        raise OrderError(
            _("What is left (¥%(amount)s) is too little to spread over %(months)s months.")
            % {"amount": sum((line.total for line in lines), ZERO), "months": months},
            code="too_small",
        )
    closed = []
    for installment in unpaid:
        closed.append(
            [
                installment.sequence,
                str(installment.outstanding(Component.PRINCIPAL)),
                str(installment.outstanding(Component.FEE)),
                str(installment.outstanding(Component.LATE_FEE)),
            ]
        )
        installment.principal_due = installment.principal_paid
        installment.fee_due = installment.fee_paid + installment.fee_waived
        installment.late_fee_due = installment.late_fee_paid + installment.late_fee_waived
        installment.status = InstallmentStatus.RESTRUCTURED
        installment.paid_at = None
        if by is not None:
            installment._history_user = by
        installment._change_reason = "restructured"
        installment.save(update_fields=["principal_due", "fee_due", "late_fee_due", "status", "paid_at"])
    created = bulk_create_with_history(
        [
            Installment(
                order=order,
                customer_id=order.customer_id,
                sequence=line.sequence,
                due_date=line.due_date,
                principal_due=line.principal,
                fee_due=line.fee,
                late_fee_due=line.late_fee,
                status=InstallmentStatus.SCHEDULED,
            )
            for line in lines
        ],
        Installment,
        default_user=by,
        default_change_reason="schedule restructured",
    )
    _event(
        order,
        OrderEventType.RESTRUCTURED,
        actor=by,
        months=months,
        reason=reason,
        closed=closed,
        new=[[line.sequence, line.due_date.isoformat(), str(line.total)] for line in lines],
    )
    return created


@transaction.atomic
@_changes_books
def customer_write_off(*, customer: Customer, by, reason: str) -> list[Order]:
    """Write off every delivered order of the customer that still owes money (an approved
    write-off): the order and its unpaid instalments become written off, their amounts kept as
    they are, so what is still owed stays visible and later money is a recovery."""
    customer = _lock_customer(customer)
    customer_catch_up(customer=customer, on=_business_date())
    owing = Installment.objects.filter(customer=customer, status__in=UNPAID_INSTALLMENT_STATUSES)
    orders = list(
        Order.objects.select_for_update()
        .filter(pk__in=owing.values("order_id"), status=OrderStatus.DELIVERED)
        .order_by("pk")
    )
    for order in orders:
        for installment in Installment.objects.select_for_update().filter(
            order=order, status__in=UNPAID_INSTALLMENT_STATUSES
        ):
            installment.status = InstallmentStatus.WRITTEN_OFF
            if by is not None:
                installment._history_user = by
            installment._change_reason = "written off"
            installment.save(update_fields=["status"])
        order_transition(order=order, to=OrderStatus.WRITTEN_OFF, by=by, reason=reason)
    return orders


def _recoveries_allocate(*, payment: Payment, customer: Customer, amount: Decimal, on, at) -> Decimal:
    """Allocate what a payment has left after the customer's live instalments to their
    written-off ones, oldest due first, as recovery allocations; returns what is still left
    (the credit balance). The caller holds the customer's lock."""
    if amount <= ZERO:
        return amount
    written_off = allocation_order(
        Installment.objects.select_for_update().filter(
            customer=customer, status=InstallmentStatus.WRITTEN_OFF
        )
    )
    if not written_off:
        return amount
    lines, left = allocate(amount, written_off)
    _save_allocations(
        payment=payment, lines=lines, kind=AllocationKind.RECOVERY, on=on, at=at, actor=payment.posted_by
    )
    return left

"""Merchants, orders, their repayment schedules (instalments), payments and where each yuan went.

Money lives in two kinds of rows: instalment components (what is owed) and payment
allocations (what was paid, to which component). The *_paid and *_waived columns of an
instalment are stored totals of those entries, kept by the services and checked by
`manage.py reconcile_ledgers`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Customer
from bnpl_admin.events import Event
from bnpl_admin.money import ZERO, MoneyField, RateField


class Merchant(models.Model):
    name = models.CharField(_("merchant name"), max_length=120, unique=True)
    category = models.CharField(_("category"), max_length=60, db_index=True)
    is_risky = models.BooleanField(_("risk flag"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords(
        verbose_name=_("historical merchant"), verbose_name_plural=_("historical merchants")
    )

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    SHORT_VIDEO = "short_video", _("Short video")
    LIVESTREAM = "livestream", _("Livestream")
    MALL = "mall", _("Mall")


class Plan(models.TextChoices):
    PAY_LATER = "pay_later", _("Pay later (one payment)")
    INSTALMENTS_3 = "instalments_3", _("3 monthly instalments")
    INSTALMENTS_6 = "instalments_6", _("6 monthly instalments")
    INSTALMENTS_12 = "instalments_12", _("12 monthly instalments")


PLAN_INSTALLMENTS = {
    Plan.PAY_LATER: 1,
    Plan.INSTALMENTS_3: 3,
    Plan.INSTALMENTS_6: 6,
    Plan.INSTALMENTS_12: 12,
}


class OrderStatus(models.TextChoices):
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    RETURNED = "returned", _("Returned")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    WRITTEN_OFF = "written_off", _("Written off")


# The order lifecycle: services change status only along these edges (orders.services).
ORDER_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.APPROVED: {OrderStatus.SHIPPED, OrderStatus.CANCELLED},
    OrderStatus.DECLINED: set(),
    OrderStatus.SHIPPED: {OrderStatus.DELIVERED, OrderStatus.CANCELLED},
    OrderStatus.DELIVERED: {OrderStatus.COMPLETED, OrderStatus.RETURNED, OrderStatus.WRITTEN_OFF},
    OrderStatus.RETURNED: set(),
    # A reversed payment reopens an order; paid goods can still be returned.
    OrderStatus.COMPLETED: {OrderStatus.DELIVERED, OrderStatus.RETURNED},
    OrderStatus.CANCELLED: set(),
    OrderStatus.WRITTEN_OFF: set(),
}
# Orders whose principal still counts against the credit line.
OPEN_ORDER_STATUSES = (OrderStatus.APPROVED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


class Hold(models.TextChoices):
    NONE = "", _("None")
    RETURN = "return", _("Return in progress")
    DISPUTE = "dispute", _("Dispute open")


class Order(models.Model):
    """A purchase paid later. The schedule is built at delivery, when the trial window starts."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders"
    )
    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="orders"
    )
    external_reference = models.CharField(_("platform order id"), max_length=64, unique=True)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    item_summary = models.CharField(_("items"), max_length=200)
    amount = MoneyField(_("principal"))
    plan = models.CharField(_("plan"), max_length=16, choices=Plan.choices)
    fee_rate = RateField(
        _("fee rate"), help_text=_("The plan's fee rate in force when the order was placed.")
    )
    fee_amount = MoneyField(_("fee"), default=ZERO)
    status = models.CharField(
        _("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.APPROVED, db_index=True
    )
    decline_reasons = models.JSONField(_("decline reasons"), default=list, blank=True)
    hold = models.CharField(_("hold"), max_length=8, choices=Hold.choices, default=Hold.NONE, blank=True)
    hold_since = models.DateField(_("on hold since"), null=True, blank=True)
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now, db_index=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    history = HistoricalRecords(
        verbose_name=_("historical order"), verbose_name_plural=_("historical orders")
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        indexes = [models.Index(fields=["customer", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="order_amount_positive",
                violation_error_message=_("The order amount must be more than zero."),
            ),
            models.CheckConstraint(
                condition=Q(fee_amount__gte=0),
                name="order_fee_not_negative",
                violation_error_message=_("The order's fee cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_reference} ¥{self.amount}"

    @property
    def installment_count(self) -> int:
        return PLAN_INSTALLMENTS[Plan(self.plan)]

    @property
    def is_on_hold(self) -> bool:
        return bool(self.hold)


class InstallmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DUE = "due", _("Due")
    OVERDUE = "overdue", _("Overdue")
    PAID = "paid", _("Paid")
    WAIVED = "waived", _("Waived")
    WRITTEN_OFF = "written_off", _("Written off")
    # Closed by a restructure: what was left on it moved to the order's new instalments.
    RESTRUCTURED = "restructured", _("Restructured")


UNPAID_INSTALLMENT_STATUSES = (
    InstallmentStatus.SCHEDULED,
    InstallmentStatus.DUE,
    InstallmentStatus.OVERDUE,
)


class Component(models.TextChoices):
    """The parts of an instalment, in the order a payment pays them (DESIGN.md)."""

    LATE_FEE = "late_fee", _("Late fee")
    FEE = "fee", _("Fee")
    PRINCIPAL = "principal", _("Principal")


# What is left to pay, per component and in all: the one definition, as database
# expressions for querysets and sums (Installment.objects.owing(), customer_balance, the
# portfolio snapshot). Installment.outstanding() is the same rule for a row in memory.
OUTSTANDING_BY_COMPONENT = {
    Component.LATE_FEE: F("late_fee_due") - F("late_fee_waived") - F("late_fee_paid"),
    Component.FEE: F("fee_due") - F("fee_waived") - F("fee_paid"),
    Component.PRINCIPAL: F("principal_due") - F("principal_paid"),
}
OUTSTANDING = (
    OUTSTANDING_BY_COMPONENT[Component.PRINCIPAL]
    + OUTSTANDING_BY_COMPONENT[Component.FEE]
    + OUTSTANDING_BY_COMPONENT[Component.LATE_FEE]
)


class InstallmentQuerySet(models.QuerySet):
    def with_outstanding(self):
        """Each row with `amount_outstanding`, what is left to pay on it (to show or sort by)."""
        return self.annotate(amount_outstanding=OUTSTANDING)

    def owing(self):
        """Rows with something left to pay."""
        return self.alias(amount_outstanding=OUTSTANDING).filter(amount_outstanding__gt=0)


class Installment(models.Model):
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="installments"
    )
    # Denormalised from the order (never changes): the sweep and payment posting work per
    # customer over millions of rows and should not need a join to find them.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="installments"
    )
    sequence = models.PositiveSmallIntegerField(_("instalment number"))
    due_date = models.DateField(_("due date"))
    principal_due = MoneyField(_("principal due"))
    fee_due = MoneyField(_("fee due"), default=ZERO)
    late_fee_due = MoneyField(_("late fee due"), default=ZERO)
    principal_paid = MoneyField(_("principal paid"), default=ZERO)
    fee_paid = MoneyField(_("fee paid"), default=ZERO)
    late_fee_paid = MoneyField(_("late fee paid"), default=ZERO)
    fee_waived = MoneyField(_("fee waived"), default=ZERO)
    late_fee_waived = MoneyField(_("late fee waived"), default=ZERO)
    hold_days = models.PositiveIntegerField(
        _("days on hold"),
        default=0,
        help_text=_(
            "Days its order spent on hold (return or dispute) after this fell due: "
            "days past due and late fees do not count them."
        ),
    )
    late_fee_through = models.DateField(
        _("late fees accrued through"),
        null=True,
        blank=True,
        help_text=_("Late fees have been accrued through this date."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=InstallmentStatus.choices, default=InstallmentStatus.SCHEDULED
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    objects = InstallmentQuerySet.as_manager()
    history = HistoricalRecords(
        verbose_name=_("historical instalment"), verbose_name_plural=_("historical instalments")
    )

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["order_id", "sequence"]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            # Status first: the sweep asks for one status (or the unpaid ones) over a range of
            # customers, which this answers with one range scan per status; a customer's own
            # rows by status are three short probes (a customer's whole list has the FK index).
            models.Index(fields=["status", "customer", "due_date"], name="installment_status_cust_idx"),
            # The admin list's date drill-down reads the first and last due date of the book.
            models.Index(fields=["due_date"], name="installment_due_date_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "sequence"],
                name="installment_unique_seq",
                violation_error_message=_("This order already has an instalment with this number."),
            ),
            models.CheckConstraint(
                condition=Q(principal_due__gte=0) & Q(fee_due__gte=0) & Q(late_fee_due__gte=0),
                name="installment_dues_not_negative",
                violation_error_message=_("An amount due cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(principal_paid__gte=0)
                & Q(principal_paid__lte=F("principal_due"))
                & Q(fee_paid__gte=0)
                & Q(fee_waived__gte=0)
                & Q(fee_paid__lte=F("fee_due") - F("fee_waived"))
                & Q(late_fee_paid__gte=0)
                & Q(late_fee_waived__gte=0)
                & Q(late_fee_paid__lte=F("late_fee_due") - F("late_fee_waived")),
                name="installment_paid_within_due",
                violation_error_message=_("A paid or waived amount cannot be negative or more than is due."),
            ),
        ]

    def __str__(self) -> str:
        return _("%(order)s #%(sequence)s due %(date)s") % {
            "order": self.order.external_reference,
            "sequence": self.sequence,
            "date": f"{self.due_date:%Y-%m-%d}",
        }

    def outstanding(self, component: Component) -> object:
        """What is left to pay of one component: OUTSTANDING_BY_COMPONENT for a row in memory."""
        if component == Component.LATE_FEE:
            return self.late_fee_due - self.late_fee_waived - self.late_fee_paid
        if component == Component.FEE:
            return self.fee_due - self.fee_waived - self.fee_paid
        return self.principal_due - self.principal_paid

    @property
    def total_outstanding(self):
        return sum((self.outstanding(c) for c in Component), ZERO)

    @property
    def total_due(self):
        return self.principal_due + self.fee_due + self.late_fee_due


class PaymentMethod(models.TextChoices):
    ALIPAY = "alipay", _("Alipay")
    WECHAT = "wechat", _("WeChat Pay")
    BANK_CARD = "bank_card", _("Bank card")
    PLATFORM_WALLET = "wallet", _("Platform wallet")


class PaymentStatus(models.TextChoices):
    POSTED = "posted", _("Posted")
    REVERSED = "reversed", _("Reversed")


class Payment(models.Model):
    """Money received from the payment provider, posted once per provider reference.

    Every yuan of a payment is either allocated (the net of its allocations) or is credit
    balance waiting for the next due instalment: amount = net allocations + unapplied credit.
    """

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="payments"
    )
    amount = MoneyField(_("amount"))
    received_at = models.DateTimeField(_("received at"), db_index=True)
    method = models.CharField(_("payment method"), max_length=12, choices=PaymentMethod.choices)
    external_reference = models.CharField(_("provider reference"), max_length=64, unique=True)
    status = models.CharField(
        _("status"), max_length=8, choices=PaymentStatus.choices, default=PaymentStatus.POSTED
    )
    credit_created = MoneyField(
        _("credit balance created"),
        default=ZERO,
        help_text=_("What was left after allocation when the payment was posted."),
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reversed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reversal_reason = models.CharField(_("reversal reason"), max_length=200, blank=True)

    history = HistoricalRecords(
        verbose_name=_("historical payment"), verbose_name_plural=_("historical payments")
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("post_payment", "Can post a payment by hand"),
            ("reverse_payment", "Can reverse a payment"),
        ]
        indexes = [
            models.Index(fields=["customer", "status", "received_at"]),
            # The sweep looks for credit balance in each range of customers every night: the
            # few payments that ever left credit, found without reading the others.
            models.Index(
                fields=["customer"], condition=Q(credit_created__gt=0), name="payment_credit_customer_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="payment_amount_positive",
                violation_error_message=_("A payment's amount must be more than zero."),
            ),
            models.CheckConstraint(
                condition=Q(credit_created__gte=0) & Q(credit_created__lte=F("amount")),
                name="payment_credit_within_amount",
                violation_error_message=_(
                    "The credit a payment leaves is between zero and the payment's amount."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_reference} ¥{self.amount}"


class AllocationKind(models.TextChoices):
    PAYMENT = "payment", _("From the payment when posted")
    CREDIT = "credit", _("From credit balance on a due date")
    REVERSAL = "reversal", _("Undone by a payment reversal")
    REFUND = "refund", _("Returned to credit balance by a return")
    # Money received after its instalment was written off (orders.services, write-offs).
    RECOVERY = "recovery", _("Recovered after a write-off")


class PaymentAllocation(models.Model):
    """Which component of which instalment a part of a payment went to (negative to undo)."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="allocations"
    )
    installment = models.ForeignKey(
        Installment, verbose_name=_("instalment"), on_delete=models.PROTECT, related_name="allocations"
    )
    component = models.CharField(_("component"), max_length=10, choices=Component.choices)
    amount = MoneyField(_("amount"))
    kind = models.CharField(_("kind"), max_length=8, choices=AllocationKind.choices)
    business_date = models.DateField(_("business date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        ordering = ["id"]
        indexes = [
            # The admin list's date drill-down (first and last business date, then one day).
            models.Index(fields=["business_date"], name="allocation_business_date_idx"),
            # Refunds return money to credit balance; the sweep finds their payments nightly.
            models.Index(
                fields=["payment"], condition=Q(kind="refund"), name="allocation_refund_payment_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0),
                name="allocation_not_zero",
                violation_error_message=_("An allocation's amount cannot be zero."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["payment", "credit", "recovery"], amount__gt=0)
                    | Q(kind__in=["reversal", "refund"], amount__lt=0)
                ),
                name="allocation_sign_matches_kind",
                violation_error_message=_(
                    "Payments, credits and recoveries allocate amounts above zero; "
                    "reversals and refunds below zero."
                ),
            ),
        ]

    def __str__(self) -> str:
        return _("%(payment)s → instalment %(installment)s, %(component)s") % {
            "payment": self.payment.external_reference,
            "installment": self.installment_id,
            "component": self.get_component_display(),
        }


class Waiver(models.Model):
    """A fee, late fee or principal forgiven: an entry with a reason and an approver, never an edit.

    A principal waiver (an approved settlement, orders.services.principal_waive) lowers the
    instalment's principal due by its amount, as a partial return does."""

    installment = models.ForeignKey(
        Installment, verbose_name=_("instalment"), on_delete=models.PROTECT, related_name="waivers"
    )
    component = models.CharField(
        _("component"),
        max_length=10,
        choices=[
            (Component.LATE_FEE, Component.LATE_FEE.label),
            (Component.FEE, Component.FEE.label),
            (Component.PRINCIPAL, Component.PRINCIPAL.label),
        ],
    )
    amount = MoneyField(_("amount"))
    reason = models.CharField(_("reason"), max_length=200)
    # Empty only on a system adjustment (a return that cut a waived fee); a person's waiver
    # always names who asked and who approved (orders.services.fee_waive).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The token of the form that asked for it: the same form submitted twice is one waiver.
    request_token = models.UUIDField(_("request token"), null=True, blank=True, unique=True, editable=False)

    class Meta:
        verbose_name = _("waiver")
        verbose_name_plural = _("waivers")
        ordering = ["-created_at"]
        permissions = [("waive_fee", "Can waive fees and late fees")]
        constraints = [
            # Negative only for an adjustment that takes back part of an earlier waiver.
            models.CheckConstraint(
                condition=~Q(amount=0),
                name="waiver_amount_not_zero",
                violation_error_message=_("A waiver's amount cannot be zero."),
            ),
        ]

    def __str__(self) -> str:
        return _("¥%(amount)s of %(component)s on instalment %(installment)s") % {
            "amount": self.amount,
            "component": self.get_component_display(),
            "installment": self.installment_id,
        }


class OrderEventType(models.TextChoices):
    PLACED = "placed", _("Placed")
    DECLINED = "declined", _("Declined")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered, schedule built")
    PAYMENT_ALLOCATED = "payment_allocated", _("Payment allocated")
    PAYMENT_REVERSED = "payment_reversed", _("Payment reversed")
    FEE_WAIVED = "fee_waived", _("Fee waived")
    RETURNED = "returned", _("Goods returned")
    HOLD_OPENED = "hold_opened", _("Hold opened")
    HOLD_CLOSED = "hold_closed", _("Hold closed")
    COMPLETED = "completed", _("Completed")
    REOPENED = "reopened", _("Reopened")
    STATUS_CHANGED = "status_changed", _("Status changed")
    RESTRUCTURED = "restructured", _("Schedule restructured")


class OrderEvent(Event):
    """The order's timeline, written by the services (Saleor's events pattern)."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("event"), max_length=20, choices=OrderEventType.choices)

    class Meta(Event.Meta):
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return _("Order %(order)s: %(event)s") % {"order": self.order_id, "event": self.get_type_display()}


class ManualPaymentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved and posted")
    REJECTED = "rejected", _("Rejected")


class ManualPaymentRequest(models.Model):
    """A payment typed in by hand that a second person must approve before it posts (maker–checker).

    Made by orders.services.manual_payment_submit when the amount or the age of the receipt is
    above the policy's thresholds; posted with payment_post when another person approves it.
    """

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="manual_payment_requests"
    )
    amount = MoneyField(_("amount"))
    reference = models.CharField(_("provider reference"), max_length=64)
    received_at = models.DateTimeField(_("received at"))
    method = models.CharField(_("payment method"), max_length=12, choices=PaymentMethod.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    approval_reasons = models.JSONField(_("why it needs approval"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=ManualPaymentStatus.choices, default=ManualPaymentStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="manual_request",
    )

    history = HistoricalRecords(
        verbose_name=_("historical manual payment request"),
        verbose_name_plural=_("historical manual payment requests"),
    )

    class Meta:
        verbose_name = _("manual payment request")
        verbose_name_plural = _("manual payment requests")
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_manualpaymentrequest", "Can approve or reject manual payments")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="manual_payment_amount_positive",
                violation_error_message=_("A manual payment's amount must be more than zero."),
            ),
            # One request waiting per provider reference: the same form sent twice is one request.
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(status="pending"),
                name="manual_payment_one_pending_per_ref",
                violation_error_message=_("A request with this reference is already waiting for a decision."),
            ),
            # The person who decides is never the one who asked.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="manual_payment_decided_by_another",
                violation_error_message=_(
                    "The person who decides a request cannot be the one who asked for it."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ¥{self.amount} ({self.get_status_display()})"

    def approval_reasons_text(self) -> str:
        """Why the request waits for a second person, in the reader's language."""
        texts = []
        for reason in self.approval_reasons:
            code = reason.get("code") if isinstance(reason, dict) else None
            if code == "amount_above":
                texts.append(_("the amount is above ¥%(limit)s") % reason)
            elif code == "days_back":
                texts.append(_("received %(days)s days ago, more than %(limit)s") % reason)
            else:  # a reason written before the codes, kept as it was
                texts.append(str(reason))
        return "; ".join(texts)

    approval_reasons_text.short_description = _("why it needs approval")

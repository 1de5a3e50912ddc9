"""Reminders to customers: one row per (instalment or payment, kind, channel), then delivered.

A Reminder row is the outbox: it is written, with its unique key, in the transaction that
decides to send it, and a delivery task later claims it (queued → sending) and records the
outcome. The key is handed to the channel's backend so a re-delivery after a crash is
recognised there too (OutboxMessage's unique key, the SMS gateway's idempotency key).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

RECEIPT = "receipt"


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# The lifecycle; reminders.services changes status only along these edges.
TRANSITIONS: dict[str, set[str]] = {
    Status.QUEUED: {Status.SENDING, Status.CANCELLED},
    # sending → queued: a retry after a transient error, a closed contact window, or a
    # claim whose worker died (the lease ran out).
    Status.SENDING: {Status.SENT, Status.QUEUED, Status.FAILED, Status.CANCELLED},
    Status.FAILED: {Status.QUEUED},  # resent by staff
    Status.SENT: set(),
    Status.CANCELLED: set(),
}
# Reminders that count against the customer's daily cap.
ACTIVE_STATUSES = (Status.QUEUED, Status.SENDING, Status.SENT)


class CancelReason(models.TextChoices):
    NONE = "", "—"
    PAID = "paid", _("Instalment paid")
    ON_HOLD = "on_hold", _("Order on hold (return or dispute)")
    NO_ADDRESS = "no_address", _("No address for the channel")
    DAILY_CAP = "daily_cap", _("Customer's daily cap reached")
    REVERSED = "reversed", _("Payment reversed")
    # After-due reminders pause while the customer holds a promise to pay (reminders.selectors).
    PAUSED = "paused", _("Paused by a promise to pay")


class Stage(models.TextChoices):
    BEFORE_DUE = "before_due", _("Before the due date")
    DUE_TODAY = "due_today", _("On the due date")
    OVERDUE = "overdue", _("Past due")
    RECEIPT = "receipt", _("Payment received")


def kind_for_offset(offset: int) -> str:
    """The kind of a reminder `offset` days from the due date: T-3, T0, T+7."""
    return "T0" if offset == 0 else f"T{offset:+d}"


def stage_for_offset(offset: int | None) -> Stage:
    if offset is None:
        return Stage.RECEIPT
    if offset < 0:
        return Stage.BEFORE_DUE
    return Stage.DUE_TODAY if offset == 0 else Stage.OVERDUE


# The selection builds the same key in SQL from this prefix (reminders.services).
INSTALLMENT_KEY_PREFIX = "inst:"


def installment_key(installment_id: int, kind: str, channel: str) -> str:
    return f"{INSTALLMENT_KEY_PREFIX}{installment_id}:{kind}:{channel}"


def payment_key(payment_id: int, kind: str, channel: str) -> str:
    return f"pay:{payment_id}:{kind}:{channel}"


class Reminder(models.Model):
    # (instalment, kind, channel) or (payment, kind, channel), spelled out: unique, and the
    # idempotency key every backend receives.
    key = models.CharField(_("key"), max_length=64, unique=True)
    kind = models.CharField(
        _("kind"), max_length=10, help_text=_("T-3 … T+n days from the due date, or receipt.")
    )
    offset_days = models.SmallIntegerField(
        _("days from due date"),
        null=True,
        blank=True,
        help_text=_("Days from the due date (negative: before); empty for receipts."),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    customer = models.ForeignKey(
        "accounts.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="reminders"
    )
    installment = models.ForeignKey(
        "orders.Installment",
        verbose_name=_("instalment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reminders",
    )
    payment = models.ForeignKey(
        "orders.Payment",
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reminders",
    )
    business_date = models.DateField(
        _("business date"), help_text=_("The business date whose selection created it.")
    )
    send_on = models.DateField(
        _("send on"),
        help_text=_(
            "The customer's local day it goes out: as planned, moved when it has to wait, and the day "
            "it was sent (the daily cap counts by it)."
        ),
    )
    not_before = models.DateTimeField(
        _("not before"), help_text=_("Not sent before: the contact window in the customer's zone.")
    )
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    cancel_reason = models.CharField(
        _("cancel reason"), max_length=12, choices=CancelReason.choices, default="", blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Delivery is at least once: counted, committed, just before each hand-over to the
    # backend, so more than one means the gateway may have had it more than once (with the
    # same key, which it must use to drop the copy: docs/architecture.md, "Reminders").
    sends = models.PositiveSmallIntegerField(
        _("sends"),
        default=0,
        help_text=_("How many times it was handed to the gateway (more than one: a repeat)."),
    )
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    published_at = models.DateTimeField(
        _("published at"),
        null=True,
        blank=True,
        help_text=_("When a delivery task for it was last published."),
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # What was (last) handed to the backend; filled at delivery, with the amount then due.
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message text"), blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords(
        verbose_name=_("historical reminder"),
        verbose_name_plural=_("historical reminders"),
        excluded_fields=["claim_token", "published_at"],
    )

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["business_date"]),
            models.Index(fields=["send_on", "customer"]),
            # Small partial indexes for the two sweeps of the dispatcher.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="queued"), name="reminder_queued_due"
            ),
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="reminder_sending_since"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(installment__isnull=False, payment__isnull=True)
                | Q(installment__isnull=True, payment__isnull=False),
                name="reminder_for_installment_or_payment",
                violation_error_message=_(
                    "A reminder is about either an instalment or a payment, not both and not neither."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values),
                name="reminder_status_known",
                violation_error_message=_("This is not a known reminder status."),
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def stage(self) -> Stage:
        return stage_for_offset(self.offset_days)


class OutboxMessage(models.Model):
    """What the outbox backend 'sent': stored once per reminder key (local runs and tests)."""

    key = models.CharField(_("key"), max_length=64, unique=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.key

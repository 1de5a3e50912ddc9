"""Order decisions: what the decision rules said about an order, why, on what inputs, and its review.

A row is written only by decisions.services (order_decide, order_review, order_reviews_expire),
each write with its decision log entry (decisionlog) in the same transaction; that hash chain,
with the actor of every entry, is the audit of these rows, so they keep no simple_history table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from bnpl_admin.money import MoneyField
from orders.models import Channel, Merchant, Order
from policy.models import Policy

TRY_PERMISSION = "decisions.try_orderdecision"
REVIEW_PERMISSION = "decisions.review_orderdecision"


class Outcome(models.TextChoices):
    APPROVE = "approve", _("Approve")
    DECLINE = "decline", _("Decline")
    REFER = "refer", _("Refer to an analyst")


class ReviewOutcome(models.TextChoices):
    NONE = "", _("Waiting for review")
    APPROVED = "approved", _("Approved by an analyst")
    DECLINED = "declined", _("Declined by an analyst")
    EXPIRED = "expired", _("Declined: review expired")


class OrderDecisionQuerySet(models.QuerySet):
    def waiting_for_review(self):
        return self.filter(outcome=Outcome.REFER, review_outcome=ReviewOutcome.NONE)


class OrderDecision(models.Model):
    # Nullable: the try-an-order form and the platform's call before it accepts an order decide
    # without one; the platform links it once the order exists.
    order = models.OneToOneField(
        Order,
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decision",
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="order_decisions"
    )
    amount = MoneyField(_("amount"))
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="order_decisions"
    )
    requested_at = models.DateTimeField(_("requested at"))
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    reason_codes = models.JSONField(_("reason codes"), default=list, blank=True)
    # What the rules read (available credit, velocity counts, burden, ...) and the thresholds
    # they compared it with: the decision can be explained later without replaying the book.
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    policy = models.ForeignKey(
        Policy, verbose_name=_("policy version"), on_delete=models.PROTECT, related_name="+"
    )
    policy_effective_from = models.DateField(_("policy effective from"))
    is_trial = models.BooleanField(
        _("trial"),
        default=False,
        help_text=_("Tried by an analyst on the try-an-order form, not a real order."),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tried by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_outcome = models.CharField(
        _("review outcome"),
        max_length=8,
        choices=ReviewOutcome.choices,
        default=ReviewOutcome.NONE,
        blank=True,
    )
    review_note = models.CharField(_("review note"), max_length=500, blank=True)

    objects = OrderDecisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("order decision")
        verbose_name_plural = _("order decisions")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("try_orderdecision", "Can try an order against the decision rules"),
            ("review_orderdecision", "Can review referred orders"),
        ]
        indexes = [
            # The next issue's dashboards: decisions by day, by outcome, channel and merchant.
            models.Index(fields=["requested_at"], name="decision_requested_idx"),
            models.Index(fields=["outcome", "requested_at"], name="decision_outcome_idx"),
            models.Index(fields=["channel", "requested_at"], name="decision_channel_idx"),
            models.Index(fields=["merchant", "requested_at"], name="decision_merchant_idx"),
            models.Index(fields=["customer", "requested_at"], name="decision_customer_idx"),
            # The review queue and the expiry task: referrals still waiting, oldest first.
            models.Index(
                fields=["requested_at"],
                name="decision_waiting_idx",
                condition=Q(outcome="refer", review_outcome=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="decision_amount_positive",
                violation_error_message=_("The amount must be more than zero."),
            ),
            models.CheckConstraint(
                condition=Q(review_outcome="") | Q(outcome="refer"),
                name="decision_review_only_of_referrals",
                violation_error_message=_("Only a referred order is reviewed."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ¥{self.amount} {self.get_outcome_display()}"

    @property
    def final_outcome(self) -> str:
        """What the order gets in the end: the rules' outcome, or the review's for a referral."""
        if self.outcome != Outcome.REFER:
            return self.outcome
        if self.review_outcome == ReviewOutcome.APPROVED:
            return Outcome.APPROVE
        if self.review_outcome in (ReviewOutcome.DECLINED, ReviewOutcome.EXPIRED):
            return Outcome.DECLINE
        return Outcome.REFER

"""Settlements, restructures and write-offs: a request one person makes and another decides."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Customer
from bnpl_admin.money import ZERO, MoneyField
from collection.models import CollectionCase


class ArrangementKind(models.TextChoices):
    SETTLEMENT = "settlement", _("Settlement")
    RESTRUCTURE = "restructure", _("Restructure")
    WRITE_OFF = "write_off", _("Write-off")


class ArrangementStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


# The lengths a restructure may have: the instalment plans' (orders.ledger.RESTRUCTURE_MONTHS).
RESTRUCTURE_MONTH_CHOICES = [(3, _("3 months")), (6, _("6 months")), (12, _("12 months"))]

APPROVE_PERMISSION = "settlements.approve_arrangementrequest"
PROPOSE_PERMISSION = "settlements.add_arrangementrequest"


class ArrangementRequest(models.Model):
    """A proposed settlement (discounts on late fees, fees and, within the policy's limit, on
    principal), restructure (what is left over a new schedule of N months) or write-off, for a
    case's customer. Written only by settlements.services: an agent (or the sweep, for a
    write-off) proposes; a manager other than the requester approves or rejects."""

    kind = models.CharField(_("kind"), max_length=12, choices=ArrangementKind.choices)
    case = models.ForeignKey(
        CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT, related_name="arrangements"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="arrangements"
    )
    # Empty only for a write-off the sweep proposed at the threshold.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ArrangementStatus.choices, default=ArrangementStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("decision reason"), max_length=200, blank=True)

    # The terms. A settlement: what it forgives of each component, for the customer as a whole.
    late_fee_discount = MoneyField(_("late fees forgiven"), default=ZERO)
    fee_discount = MoneyField(_("fees forgiven"), default=ZERO)
    principal_discount = MoneyField(_("principal forgiven"), default=ZERO)
    # A restructure: the new schedule's number of monthly instalments.
    months = models.PositiveSmallIntegerField(
        _("months"), null=True, blank=True, choices=RESTRUCTURE_MONTH_CHOICES
    )
    # What the customer owed when it was proposed (shown to the checker beside the terms).
    principal_owed = MoneyField(_("principal owed"), default=ZERO)
    fee_owed = MoneyField(_("fees owed"), default=ZERO)
    late_fee_owed = MoneyField(_("late fees owed"), default=ZERO)
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    # What the approval did (waivers, new instalments, orders written off), for the record.
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)

    history = HistoricalRecords(
        verbose_name=_("historical arrangement request"),
        verbose_name_plural=_("historical arrangement requests"),
    )

    class Meta:
        verbose_name = _("arrangement request")
        verbose_name_plural = _("arrangement requests")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("approve_arrangementrequest", "Can approve or reject settlements, restructures and write-offs"),
        ]
        indexes = [
            # The approval queue: the pending requests, oldest first.
            models.Index(fields=["status", "requested_at"], name="arrangement_status_at_idx"),
        ]
        constraints = [
            # One request waiting per case: a second proposal (or the sweep's, again) is refused.
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status="pending"),
                name="arrangement_one_pending_per_case",
                violation_error_message=_("This case already has a request waiting for a decision."),
            ),
            # Nobody decides a request they made themselves (maker–checker).
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | Q(requested_by__isnull=True)
                | ~Q(decided_by=F("requested_by")),
                name="arrangement_decided_by_another",
                violation_error_message=_(
                    "The person who decides a request cannot be the one who asked for it."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="arrangement_decided_iff_not_pending",
                violation_error_message=_("A decided request has a decision time; a pending one has none."),
            ),
            models.CheckConstraint(
                condition=Q(late_fee_discount__gte=0, fee_discount__gte=0, principal_discount__gte=0),
                name="arrangement_discounts_not_negative",
                violation_error_message=_("A discount cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(
                    kind="settlement",
                    months__isnull=True,
                    requested_by__isnull=False,
                )
                | Q(
                    kind="restructure",
                    months__in=[3, 6, 12],
                    requested_by__isnull=False,
                    late_fee_discount=0,
                    fee_discount=0,
                    principal_discount=0,
                )
                | Q(
                    kind="write_off",
                    months__isnull=True,
                    late_fee_discount=0,
                    fee_discount=0,
                    principal_discount=0,
                ),
                name="arrangement_terms_match_kind",
                violation_error_message=_(
                    "A settlement has discounts, a restructure a number of months (3, 6 or 12), "
                    "a write-off neither."
                ),
            ),
        ]

    def __str__(self) -> str:
        return _("%(kind)s %(id)s · case %(case)s · %(status)s") % {
            "kind": self.get_kind_display(),
            "id": self.pk,
            "case": self.case_id,
            "status": self.get_status_display(),
        }

    @property
    def owed(self):
        return self.principal_owed + self.fee_owed + self.late_fee_owed

    @property
    def discount(self):
        return self.principal_discount + self.fee_discount + self.late_fee_discount

    @property
    def is_pending(self) -> bool:
        return self.status == ArrangementStatus.PENDING

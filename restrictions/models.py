"""Restrictions of credit lines: freeze, unfreeze and close, each with a reason code and text.

A `Restriction` row records one line's change (by hand or by a bulk job); a `RestrictionJob` is a
bulk action over the lines a filter selects, previewed before it runs, run by a Celery task in
batches, and approved by a second analyst above the policy's threshold (maker–checker).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import CreditLine, CreditLineStatus, Customer
from bnpl_admin.money import ZERO, MoneyField

PERMISSION_RESTRICT = "restrictions.add_restriction"
PERMISSION_BULK = "restrictions.add_restrictionjob"
PERMISSION_VIEW_JOBS = "restrictions.view_restrictionjob"
PERMISSION_APPROVE = "restrictions.approve_restrictionjob"


class RestrictionAction(models.TextChoices):
    FREEZE = "freeze", _("Freeze")
    UNFREEZE = "unfreeze", _("Unfreeze")
    CLOSE = "close", _("Close")


# The statuses a line must be in for the action to change it, and the status it leaves it in.
# A line in any other status is skipped (already frozen, or closed: closed is final).
ACTION_FROM = {
    RestrictionAction.FREEZE: (CreditLineStatus.ACTIVE,),
    RestrictionAction.UNFREEZE: (CreditLineStatus.FROZEN,),
    RestrictionAction.CLOSE: (CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN),
}
ACTION_TO = {
    RestrictionAction.FREEZE: CreditLineStatus.FROZEN,
    RestrictionAction.UNFREEZE: CreditLineStatus.ACTIVE,
    RestrictionAction.CLOSE: CreditLineStatus.CLOSED,
}


class RestrictionReason(models.TextChoices):
    ARREARS = "arrears", _("Serious arrears")
    POOR_GRADE = "poor_grade", _("Grade does not allow credit")
    MERCHANT_RISK = "merchant_risk", _("Bought from a flagged merchant")
    FRAUD_SUSPECTED = "fraud_suspected", _("Suspected fraud")
    IDENTITY = "identity", _("Identity not confirmed")
    CUSTOMER_REQUEST = "customer_request", _("At the customer's request")
    DECEASED = "deceased", _("Customer deceased")
    REVIEW_CLEARED = "review_cleared", _("Review cleared: restriction lifted")
    OTHER = "other", _("Other (see the text)")


class RestrictionJobStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class RestrictionJob(models.Model):
    """A bulk restriction: the filter, the action and reason, the preview's counts, and progress."""

    filter_spec = models.JSONField(_("filter"))
    action = models.CharField(_("action"), max_length=8, choices=RestrictionAction.choices)
    reason_code = models.CharField(_("reason code"), max_length=20, choices=RestrictionReason.choices)
    reason_text = models.CharField(_("reason text"), max_length=150)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # What the preview counted: lines the action would change, and their available credit.
    preview_lines = models.PositiveIntegerField(_("lines previewed"), default=0)
    preview_available = MoneyField(_("available credit previewed"), default=ZERO)
    preview_skipped = models.PositiveIntegerField(_("lines already in that state"), default=0)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RestrictionJobStatus.choices,
        default=RestrictionJobStatus.PREVIEWED,
    )
    # Progress: lines looked at (of total) and lines changed; the cursor is the last credit
    # line id done, so a retried task resumes after it.
    total = models.PositiveIntegerField(_("lines to do"), default=0)
    done = models.PositiveIntegerField(_("lines done"), default=0)
    changed = models.PositiveIntegerField(_("lines changed"), default=0)
    cursor = models.PositiveBigIntegerField(_("last line done"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("restriction job")
        verbose_name_plural = _("restriction jobs")
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_restrictionjob", "Can approve another analyst's bulk restriction")]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("requested_by")),
                name="restrictionjob_not_own_approval",
                violation_error_message=_("Nobody approves their own bulk restriction."),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_action_display()} {self.get_status_display()}"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == RestrictionJobStatus.DONE else 0
        return min(100, int(self.done * 100 / self.total))

    @property
    def in_progress(self) -> bool:
        return self.status in (RestrictionJobStatus.QUEUED, RestrictionJobStatus.RUNNING)


class Restriction(models.Model):
    """One credit line's change by a restriction: written with the line's history row and its
    decision log entry, never edited."""

    credit_line = models.ForeignKey(
        CreditLine, verbose_name=_("credit line"), on_delete=models.PROTECT, related_name="restrictions"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="restrictions"
    )
    action = models.CharField(_("action"), max_length=8, choices=RestrictionAction.choices)
    reason_code = models.CharField(_("reason code"), max_length=20, choices=RestrictionReason.choices)
    reason_text = models.CharField(_("reason text"), max_length=150, blank=True)
    from_status = models.CharField(_("from"), max_length=8, choices=CreditLineStatus.choices)
    to_status = models.CharField(_("to"), max_length=8, choices=CreditLineStatus.choices)
    available_before = MoneyField(_("available credit before"), default=ZERO)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), db_index=True)
    job = models.ForeignKey(
        RestrictionJob,
        verbose_name=_("bulk job"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="restrictions",
    )
    decision_sequence = models.PositiveBigIntegerField(_("decision log entry"), null=True, blank=True)

    class Meta:
        verbose_name = _("restriction")
        verbose_name_plural = _("restrictions")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A job changes each line at most once, however often its task is retried.
            models.UniqueConstraint(
                fields=["job", "credit_line"],
                condition=Q(job__isnull=False),
                name="restriction_once_per_job",
                violation_error_message=_("This job has already changed this credit line."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.credit_line_id} ({self.reason_code})"

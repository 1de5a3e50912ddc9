"""The decision log: an append-only hash chain of every credit decision.

Each entry carries the SHA-256 of its canonical content and the hash of the entry before it, so
an entry edited, removed or reordered in the database breaks the chain at that point
(`manage.py verify_decision_log` names it). Entries are written only by
`decisionlog.services.decision_log_append`, one at a time under a lock on the chain's head row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class DecisionKind(models.TextChoices):
    ORDER_DECISION = "order_decision", _("Order decision")
    ORDER_REVIEW = "order_review", _("Order review")
    SCORE = "score", _("Score")
    LIMIT_CHANGE = "limit_change", _("Limit change")
    RESTRICTION = "restriction", _("Restriction")
    SCORECARD_ACTIVATION = "scorecard_activation", _("Scorecard activation")


class ChainHead(models.Model):
    """The one row every append locks: it serialises appends into one chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(_("entries"), default=0)
    head_hash = models.CharField(_("head hash"), max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("decision log head")
        verbose_name_plural = _("decision log heads")

    def __str__(self) -> str:
        return f"#{self.sequence} {self.head_hash[:12]}"


class DecisionLogEntry(models.Model):
    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    recorded_at = models.DateTimeField(_("recorded at"), db_index=True)
    kind = models.CharField(_("kind"), max_length=24, choices=DecisionKind.choices)
    # What the decision is about, as "<app>.<model>:<pk>" (e.g. "accounts.customer:42").
    subject = models.CharField(_("subject"), max_length=80, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    content = models.JSONField(_("content"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    previous_hash = models.CharField(_("previous hash"), max_length=64)
    entry_hash = models.CharField(_("entry hash"), max_length=64)

    class Meta:
        verbose_name = _("decision log entry")
        verbose_name_plural = _("decision log entries")
        ordering = ["sequence"]
        indexes = [models.Index(fields=["kind", "recorded_at"], name="decisionlog_kind_at_idx")]
        constraints = [
            # Unique as a constraint, not `unique=True`: on PostgreSQL a unique CharField also gets
            # a varchar_pattern_ops index for LIKE, which no query uses (hashes are looked up
            # whole) and which cost about a third of each append in nightly rescoring.
            models.UniqueConstraint(
                fields=["entry_hash"],
                name="decisionlog_entry_hash_unique",
                violation_error_message=_("The decision log already holds an entry with this hash."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.get_kind_display()} {self.subject}"


class VerificationStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    OK = "ok", _("Chain intact")
    BROKEN = "broken", _("Chain broken")
    FAILED = "failed", _("Failed")


class ChainVerification(models.Model):
    """One run of `decision_log_verify`, on demand from the console (a Celery task) or by the
    command: its result is what the verification page shows."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=VerificationStatus.choices, default=VerificationStatus.RUNNING
    )
    entries = models.PositiveBigIntegerField(_("entries checked"), default=0)
    head_hash = models.CharField(_("head hash"), max_length=64, blank=True)
    # The first entry found broken, and why (decisionlog.services.BreakReason).
    broken_sequence = models.PositiveBigIntegerField(_("first broken entry"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=24, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    seconds = models.DecimalField(_("seconds"), max_digits=9, decimal_places=3, null=True, blank=True)

    class Meta:
        verbose_name = _("decision log verification")
        verbose_name_plural = _("decision log verifications")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.requested_at:%Y-%m-%d %H:%M} {self.status}"

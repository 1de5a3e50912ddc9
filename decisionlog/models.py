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
    entry_hash = models.CharField(_("entry hash"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("decision log entry")
        verbose_name_plural = _("decision log entries")
        ordering = ["sequence"]
        indexes = [models.Index(fields=["kind", "recorded_at"], name="decisionlog_kind_at_idx")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.get_kind_display()} {self.subject}"

"""Sweep runs and their chunks (the progress and the lock of the nightly sweep), and daily snapshots."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bnpl_admin.money import ZERO, MoneyField
from collection.models import Bucket


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed (resume with run_sweep)")


class ChunkStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SweepRun(models.Model):
    """One sweep per business date: the row is the lock, its chunks are the work."""

    business_date = models.DateField(_("business date"), unique=True)
    status = models.CharField(_("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    policy = models.ForeignKey(
        "policy.Policy", verbose_name=_("policy"), on_delete=models.PROTECT, related_name="+"
    )
    chunk_size = models.PositiveIntegerField(_("chunk size"), help_text=_("Customers per chunk."))
    chunk_count = models.PositiveIntegerField(_("chunks"), default=0)
    triggered_by = models.CharField(_("triggered by"), max_length=40, blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    totals = models.JSONField(_("totals"), default=dict, blank=True)

    class Meta:
        verbose_name = _("sweep run")
        verbose_name_plural = _("sweep runs")
        ordering = ["-business_date"]

    def __str__(self) -> str:
        return _("Sweep %(date)s (%(status)s)") % {
            "date": f"{self.business_date:%Y-%m-%d}",
            "status": self.get_status_display(),
        }

    @property
    def progress(self) -> str:
        done = sum(1 for c in self.chunks.all() if c.status == ChunkStatus.DONE)
        return f"{done}/{self.chunk_count}"


class SweepChunk(models.Model):
    """The customers with ids in [customer_from, customer_to): done in one transaction, or not at all."""

    run = models.ForeignKey(
        SweepRun, verbose_name=_("sweep run"), on_delete=models.CASCADE, related_name="chunks"
    )
    number = models.PositiveIntegerField(_("chunk number"))
    customer_from = models.BigIntegerField(_("from customer id"))
    customer_to = models.BigIntegerField(_("to customer id (not included)"))
    status = models.CharField(
        _("status"), max_length=8, choices=ChunkStatus.choices, default=ChunkStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The lease (sweep.watchdog): when a worker last took the chunk, committed before its work
    # starts, and when its task was last published. A pending chunk that nobody took or
    # published within SWEEP_CHUNK_LEASE_SECONDS is published again by the watchdog.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    milliseconds = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    stats = models.JSONField(_("statistics"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("sweep chunk")
        verbose_name_plural = _("sweep chunks")
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "number"],
                name="sweepchunk_unique_number",
                violation_error_message=_("This sweep run already has a chunk with this number."),
            ),
            models.CheckConstraint(
                condition=Q(customer_to__gt=models.F("customer_from")),
                name="sweepchunk_range_not_empty",
                violation_error_message=_("A chunk's range of customers cannot be empty."),
            ),
        ]

    def __str__(self) -> str:
        return _("%(date)s chunk %(number)s") % {
            "date": f"{self.run.business_date:%Y-%m-%d}",
            "number": self.number,
        }


class PortfolioSnapshot(models.Model):
    """The book by ageing bucket at the end of a business date's sweep (the dashboards read it)."""

    business_date = models.DateField(_("business date"))
    bucket = models.CharField(_("bucket"), max_length=8, choices=Bucket.choices)
    customers = models.PositiveIntegerField(_("number of customers"), default=0)
    principal_outstanding = MoneyField(_("principal outstanding"), default=ZERO)
    overdue_amount = MoneyField(_("overdue amount"), default=ZERO)
    # auto_now: when the row was last written (update_or_create), not when it was first made.
    created_at = models.DateTimeField(_("written at"), auto_now=True)

    class Meta:
        verbose_name = _("portfolio snapshot")
        verbose_name_plural = _("portfolio snapshots")
        ordering = ["-business_date", "bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_date", "bucket"],
                name="snapshot_unique_date_bucket",
                violation_error_message=_("There is already a snapshot for this date and bucket."),
            )
        ]

    def __str__(self) -> str:
        return _("%(date)s %(bucket)s: %(customers)s customers") % {
            "date": f"{self.business_date:%Y-%m-%d}",
            "bucket": self.get_bucket_display(),
            "customers": self.customers,
        }

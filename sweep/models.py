"""Sweep runs and their chunks (the progress and the lock of the nightly sweep), and daily snapshots."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bnpl_admin.money import ZERO, MoneyField


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

    business_date = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    policy = models.ForeignKey("policy.Policy", on_delete=models.PROTECT, related_name="+")
    chunk_size = models.PositiveIntegerField(help_text=_("Customers per chunk."))
    chunk_count = models.PositiveIntegerField(default=0)
    triggered_by = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    totals = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-business_date"]

    def __str__(self) -> str:
        return f"Sweep {self.business_date:%Y-%m-%d} ({self.get_status_display()})"

    @property
    def progress(self) -> str:
        done = sum(1 for c in self.chunks.all() if c.status == ChunkStatus.DONE)
        return f"{done}/{self.chunk_count}"


class SweepChunk(models.Model):
    """The customers with ids in [customer_from, customer_to): done in one transaction, or not at all."""

    run = models.ForeignKey(SweepRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    customer_from = models.BigIntegerField()
    customer_to = models.BigIntegerField()
    status = models.CharField(
        max_length=8, choices=ChunkStatus.choices, default=ChunkStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    milliseconds = models.PositiveIntegerField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="sweepchunk_unique_number"),
            models.CheckConstraint(
                condition=Q(customer_to__gt=models.F("customer_from")),
                name="sweepchunk_range_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run.business_date:%Y-%m-%d} chunk {self.number}"


class PortfolioSnapshot(models.Model):
    """The book by ageing bucket at the end of a business date's sweep (the dashboards read it)."""

    business_date = models.DateField()
    bucket = models.CharField(max_length=8)
    customers = models.PositiveIntegerField(default=0)
    principal_outstanding = MoneyField(default=ZERO)
    overdue_amount = MoneyField(default=ZERO)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-business_date", "bucket"]
        constraints = [
            models.UniqueConstraint(fields=["business_date", "bucket"], name="snapshot_unique_date_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.business_date:%Y-%m-%d} {self.bucket}: {self.customers}"

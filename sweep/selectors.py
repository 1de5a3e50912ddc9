"""Reads about the sweep's progress: what the operations check and the home page warn about."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from accounts.models import Customer

from .models import ChunkStatus, RunStatus, SweepChunk, SweepRun


def sweep_due_date(*, now: datetime.datetime) -> datetime.date:
    """The latest business date whose sweep should be done by `now`: today's from
    SWEEP_DONE_BY_HOUR (TIME_ZONE) on, yesterday's before it."""
    local = timezone.localtime(now, timezone.get_default_timezone())
    today = local.date()
    return today if local.hour >= settings.SWEEP_DONE_BY_HOUR else today - datetime.timedelta(days=1)


def sweep_overdue(*, now: datetime.datetime) -> datetime.date | None:
    """The date whose sweep is late (not done, nor caught up by a later done run), or None.
    A book with no customers has nothing to sweep."""
    due = sweep_due_date(now=now)
    if SweepRun.objects.filter(business_date__gte=due, status=RunStatus.DONE).exists():
        return None
    if not Customer.objects.exists():
        return None
    return due


def chunks_stuck(*, now: datetime.datetime) -> int:
    """Pending chunks of open runs that no worker has taken within the lease (since the run
    started, or since their last claim): the watchdog should have had them run by now."""
    cutoff = now - datetime.timedelta(seconds=settings.SWEEP_CHUNK_LEASE_SECONDS)
    return (
        SweepChunk.objects.filter(status=ChunkStatus.PENDING)
        .exclude(run__status=RunStatus.DONE)
        .filter(Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True, run__started_at__lt=cutoff))
        .count()
    )


def customer_swept_through(customer: Customer) -> datetime.date | None:
    """The latest business date whose sweep is done for this customer: its chunk covering them
    is done, or the whole run is done and ran before they existed (no chunk covers them).
    orders.selectors.books_through asks it (added in SweepConfig.ready)."""
    covering = SweepChunk.objects.filter(customer_from__lte=customer.pk, customer_to__gt=customer.pk)
    dates = [
        covering.filter(status=ChunkStatus.DONE).aggregate(on=Max("run__business_date"))["on"],
        SweepRun.objects.filter(status=RunStatus.DONE)
        .exclude(Exists(covering.filter(run=OuterRef("pk"))))
        .aggregate(on=Max("business_date"))["on"],
    ]
    dates = [d for d in dates if d is not None]
    return max(dates) if dates else None

"""The sweep's watchdog: open runs are worked oldest first, lost chunks are published again, runs close.

Nothing here decides whether a chunk's work is done twice: the chunk claim in
`services.sweep_chunk_run` (a row lock, and the status checked under it) stays the only
guard. The watchdog only makes sure that every chunk with work left has a task on its way:
a chunk nobody has taken or published within the lease (`SWEEP_CHUNK_LEASE_SECONDS`) was
lost with a worker (SIGKILL, OOM) or with the broker's queue, and is published again; a
task that reaches a chunk a live worker still holds finds it locked and does nothing.

Dates are worked oldest first: a sweep for an earlier date is refused once a later date has
done work (`services._refuse_superseded`), so a later run's chunks are published only when
every earlier run is closed, or can no longer be run.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bnpl_admin.dates import business_date

from . import services
from .models import ChunkStatus, RunStatus, SweepChunk, SweepRun

logger = logging.getLogger(__name__)


def chunk_lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.SWEEP_CHUNK_LEASE_SECONDS)


@dataclass
class Watch:
    """What one pass did: runs closed, chunks published (again), runs left waiting for an earlier one."""

    closed: list[int] = field(default_factory=list)
    published: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    given_up: list[int] = field(default_factory=list)  # chunks a later date has caught up

    def as_dict(self) -> dict:
        return {
            "closed": self.closed,
            "published": self.published,
            "waiting": self.waiting,
            "given_up": self.given_up,
        }


def _quiet(cutoff: datetime.datetime) -> Q:
    """Nobody took the chunk, and no task for it was published, since `cutoff`."""
    return (Q(claimed_at__isnull=True) | Q(claimed_at__lt=cutoff)) & (
        Q(published_at__isnull=True) | Q(published_at__lt=cutoff)
    )


def _retryable() -> Q:
    """A chunk with work left: pending, or failed with attempts left."""
    return Q(status=ChunkStatus.PENDING) | Q(
        status=ChunkStatus.FAILED, attempts__lt=settings.SWEEP_CHUNK_MAX_ATTEMPTS
    )


def _give_up_superseded(run: SweepRun) -> list[int]:
    """Mark failed the chunks of `run` a later date's done chunks cover: they would be refused
    when they start (a sweep never undoes what a later date computed), and the later run
    already caught up their work. They stop counting as work left."""
    later = list(
        SweepChunk.objects.filter(run__business_date__gt=run.business_date, status=ChunkStatus.DONE)
        .order_by()
        .values_list("customer_from", "customer_to", "run__business_date")
    )
    if not later:
        return []
    given_up = []
    for chunk in run.chunks.filter(_retryable()).exclude(error__startswith="superseded:"):
        covering = [d for lo, hi, d in later if lo < chunk.customer_to and hi > chunk.customer_from]
        if covering:
            message = _("The sweep for the later date %(later)s has already run and caught up this work.") % {
                "later": max(covering).isoformat()
            }
            SweepChunk.objects.filter(
                pk=chunk.pk, status__in=[ChunkStatus.PENDING, ChunkStatus.FAILED]
            ).update(status=ChunkStatus.FAILED, error=f"superseded: {message}")
            given_up.append(chunk.pk)
    return given_up


def _publish_quiet_chunks(run: SweepRun, now: datetime.datetime, *, every: bool = False) -> list[int]:
    """Publish a task for each chunk of `run` with work left that has gone quiet past the lease
    (`every`: each one with work left, as a start asked for by beat or a person does).

    On PostgreSQL a chunk a live worker is running is locked, and skipped here; on SQLite the
    worker's transaction holds the database's write lock, so this waits for it."""
    cutoff = now - chunk_lease()
    with transaction.atomic():
        ids = list(
            SweepChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(run=run)
            .filter(_retryable())
            .exclude(error__startswith="superseded:")
            .filter(Q() if every else _quiet(cutoff))
            .order_by("number")
            .values_list("pk", flat=True)
        )
        if ids:
            SweepChunk.objects.filter(pk__in=ids).update(published_at=now)
            _publish_chunks(ids)
    return ids


def _publish_chunks(ids: list[int]) -> None:
    from bnpl_admin.celery import task_queues_declare

    from .tasks import sweep_chunk

    def publish() -> None:
        task_queues_declare()
        for pk in ids:
            sweep_chunk.apply_async(args=[pk])

    # robust: with the broker down the chunks stay quiet and the next pass publishes them.
    transaction.on_commit(publish, robust=True)


def sweep_watch(*, now: datetime.datetime | None = None, republish: bool = False) -> Watch:
    """One pass over the runs that are not done, oldest date first.

    A run with work left gets its quiet chunks published (`republish`: all its chunks with
    work left, lease or not) and holds back every later run; a run with none is closed
    (`services.sweep_finish`: done, or failed if a chunk failed for good). Safe to run at any
    time and any number of times at once."""
    now = now or timezone.now()
    watch = Watch()
    runs = list(
        SweepRun.objects.exclude(status=RunStatus.DONE)
        .filter(business_date__lte=business_date(now))
        .order_by("business_date")
    )
    for index, run in enumerate(runs):
        watch.given_up += _give_up_superseded(run)
        if run.chunks.filter(_retryable()).exclude(error__startswith="superseded:").exists():
            published = _publish_quiet_chunks(run, now, every=republish)
            watch.published += published
            if published and not republish:
                logger.warning("sweep watchdog: published %s chunk(s) of %s again", len(published), run)
            watch.waiting += [later.pk for later in runs[index + 1 :]]
            break
        # Nothing left to run: the chunk that finished last, or sweep.finish, may have been lost.
        if run.chunks.filter(status=ChunkStatus.PENDING).exists():
            # Pending but superseded: closed as failed, a later date has caught its work up.
            run.chunks.filter(status=ChunkStatus.PENDING).update(status=ChunkStatus.FAILED)
        services.sweep_finish(run_id=run.pk)
        if SweepRun.objects.filter(pk=run.pk).exclude(status=run.status).exists():
            watch.closed.append(run.pk)
    return watch


def sweep_start(
    *, on: datetime.date, chunk_size: int, triggered_by: str = "celery"
) -> tuple[SweepRun, Watch]:
    """Plan the run for `on` and start work: on the oldest date not done first, so a missed or
    interrupted night is caught up before `on` (sweep_plan's refusals apply as ever). Every
    chunk with work left of that date is published, as a start always has: a chunk a live
    worker holds ignores the extra task."""
    run = services.sweep_plan(on=on, chunk_size=chunk_size, triggered_by=triggered_by)
    return run, sweep_watch(republish=True)


def sweep_chunk_work(*, chunk_id: int) -> dict | None:
    """Run one chunk (the task `sweep.chunk`); when its run has nothing pending any more, the
    watchdog's pass closes it and starts the next date's run at once."""
    try:
        return services.sweep_chunk_run(chunk_id=chunk_id)
    finally:
        run_id = SweepChunk.objects.filter(pk=chunk_id).values_list("run_id", flat=True).first()
        if (
            run_id is not None
            and not SweepChunk.objects.filter(run_id=run_id, status=ChunkStatus.PENDING).exists()
        ):
            sweep_watch()

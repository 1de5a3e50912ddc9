"""Celery tasks of the sweep: thin wrappers that load ids and call sweep.services."""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.db import OperationalError
from django.utils.translation import gettext as _

from bnpl_admin.dates import business_date
from bnpl_admin.errors import DomainError

from . import services, watchdog
from .models import RunStatus

logger = logging.getLogger(__name__)


def _date(value: str | None) -> datetime.date:
    if not value:
        return business_date()
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise DomainError(
            _("%(value)r is not a business date like 2026-03-20.") % {"value": value}, code="bad_date"
        ) from None


def _chunk_size(value) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise DomainError(
            _("The chunk size must be a whole number of at least 1, not %(value)r.") % {"value": value},
            code="bad_chunk_size",
        )
    return size


def _refused(task: str, exc: DomainError, **arguments) -> dict:
    # The arguments of a beat task can be edited in the admin: a refusal is logged for the
    # operators (and Sentry) instead of raising into Celery's retry machinery.
    logger.error("%s refused %s: %s", task, arguments, exc.message)
    return {"refused": exc.message}


@shared_task(name="sweep.start")
def sweep_start(on: str | None = None, chunk_size: int = services.DEFAULT_CHUNK_SIZE) -> dict:
    """Plan the run for a date (today by default) and publish the chunks of the oldest date not
    done: an earlier night left unfinished is resumed first, this one follows (sweep.watchdog)."""
    try:
        run, watch = watchdog.sweep_start(on=_date(on), chunk_size=_chunk_size(chunk_size))
    except DomainError as exc:
        return _refused("sweep.start", exc, on=on, chunk_size=chunk_size)
    if run.status == RunStatus.DONE:
        return {"run": run.pk, "status": "already done"}
    return {"run": run.pk, **watch.as_dict()}


@shared_task(name="sweep.watchdog")
def sweep_watchdog() -> dict:
    """Every few minutes (beat): publish chunks lost with a worker or the broker, close runs."""
    return watchdog.sweep_watch().as_dict()


@shared_task(
    name="sweep.chunk",
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def sweep_chunk(self, chunk_id: int) -> dict:
    """Run one chunk. A chunk that fails is left marked failed for the admin; the watchdog tries
    it again (SWEEP_CHUNK_MAX_ATTEMPTS) and then closes the run as failed."""
    try:
        stats = watchdog.sweep_chunk_work(chunk_id=chunk_id)
    except OperationalError:
        raise
    except Exception as exc:  # recorded on the chunk by the service
        return {"chunk": chunk_id, "failed": f"{type(exc).__name__}: {exc}"}
    return {"chunk": chunk_id, "stats": stats}


@shared_task(name="sweep.finish", bind=True, max_retries=120)
def sweep_finish(self, run_id: int) -> dict:
    """Close the run; if a chunk is still held by another worker, look again shortly. (The
    watchdog closes runs itself; this task is kept for messages already queued.)"""
    if not services.sweep_finish(run_id=run_id):
        raise self.retry(countdown=15)
    return {"run": run_id, "status": "finished"}


@shared_task(name="sweep.snapshot")
def portfolio_snapshot(on: str | None = None) -> int:
    """Refresh the portfolio snapshot for a date (beat runs it after the sweep)."""
    try:
        return len(services.portfolio_snapshot(on=_date(on)))
    except DomainError as exc:
        _refused("sweep.snapshot", exc, on=on)
        return 0

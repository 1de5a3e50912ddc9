"""Celery tasks of the risk app: thin wrappers around risk.services."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.db import IntegrityError, OperationalError

from bnpl_admin.dates import business_date

from . import services


@shared_task(name="risk.rescore")
def rescore(on: str | None = None, batch_size: int = services.DEFAULT_BATCH_SIZE) -> dict:
    """Plan the rescoring of every customer with the active version as of `on` (the sweep's
    business date) and publish one risk.rescore_batch per batch of customers, for the workers to
    run in parallel. Idempotent: planning again publishes the batches again, and a batch already
    scored writes nothing new."""
    day = datetime.date.fromisoformat(on) if on else business_date()
    plan = services.rescore_plan(on=day, batch_size=batch_size)
    for first_id, last_id in plan.batches:
        rescore_batch.delay(day.isoformat(), plan.version_id, first_id, last_id, plan.planned_at)
    return plan.as_dict()


@shared_task(
    name="risk.rescore_batch",
    # A lost connection or a deadlock: the batch was rolled back, run it again. A unique
    # violation on the scores: another worker ran the same batch (a redelivered message) and
    # committed first; run again, this one then finds the batch scored and skips it.
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def rescore_batch(on: str, version_id: int, first_id: int, last_id: int, plan: str = "") -> dict:
    """Score the customers first_id <= id <= last_id with the version as of `on` and apply or queue
    their limit changes, in one transaction. Idempotent: customers already scored by the version
    on that date are skipped."""
    return services.rescore_batch(
        on=datetime.date.fromisoformat(on),
        version_id=version_id,
        first_id=first_id,
        last_id=last_id,
        plan=plan,
    ).as_dict()

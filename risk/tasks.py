"""Celery tasks of the risk app: thin wrappers around risk.services."""

from __future__ import annotations

import datetime

from celery import shared_task

from bnpl_admin.dates import business_date

from . import services


@shared_task(name="risk.rescore")
def rescore(on: str | None = None) -> dict:
    """Score every customer with the active version as of `on` (the sweep's business date) and
    apply or queue the limit changes. Idempotent: a rerun for the same date writes nothing new."""
    day = datetime.date.fromisoformat(on) if on else business_date()
    return services.customers_rescore(on=day).as_dict()

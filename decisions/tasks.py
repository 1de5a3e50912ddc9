"""Celery tasks of the decisions app: thin, idempotent, calling decisions.services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="decisions.expire_reviews")
def expire_reviews() -> int:
    """Beat runs this every 15 minutes (decisions.schedules); a repeat declines nothing twice."""
    return services.order_reviews_expire()

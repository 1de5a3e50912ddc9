"""Thin Celery tasks of the collections workbench: read the arguments, call a service."""

from __future__ import annotations

import datetime
import logging

from celery import shared_task

from bnpl_admin.dates import business_date

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="collections.promises_decide")
def promises_decide_task(on: str | None = None) -> dict:
    """Decide the promises to pay for the sweep of business date `on` (today by default); published
    after each sweep run (collection.receivers). Idempotent: run twice, it decides nothing twice."""
    try:
        day = datetime.date.fromisoformat(on) if on else business_date()
    except (TypeError, ValueError):
        logger.error("collections.promises_decide refused the date %r", on)
        return {"refused": f"not a business date: {on!r}"}
    decided = services.promises_decide(on=day)
    return {"date": day.isoformat(), **{str(status): n for status, n in decided.items()}}


@shared_task(name="collections.cases_assign_by_rules")
def cases_assign_by_rules_task(business_date: str) -> dict:
    """Published after each sweep (CollectionConfig.ready); idempotent, so a second delivery or a
    second sweep run for the date assigns nothing more."""
    from .assignment import cases_assign_by_rules

    return cases_assign_by_rules(on=datetime.date.fromisoformat(business_date))

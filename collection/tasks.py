"""Thin Celery tasks of the collections workbench: load arguments, call a service."""

from __future__ import annotations

import datetime

from celery import shared_task

from .assignment import cases_assign_by_rules


@shared_task(name="collections.cases_assign_by_rules")
def cases_assign_by_rules_task(business_date: str) -> dict:
    """Published after each sweep (CollectionConfig.ready); idempotent, so a second delivery or a
    second sweep run for the date assigns nothing more."""
    return cases_assign_by_rules(on=datetime.date.fromisoformat(business_date))

"""Thin Celery tasks for settlements: call a service, nothing else."""

from __future__ import annotations

import datetime

from celery import shared_task

from .services import write_offs_propose


@shared_task(name="settlements.write_offs_propose")
def write_offs_propose_task(business_date: str) -> dict:
    """After the nightly sweep: propose a write-off for every case at the threshold without one.
    Idempotent: a case proposed already (or moved on) is left alone, so a redelivery is harmless."""
    return {"proposed": write_offs_propose(on=datetime.date.fromisoformat(business_date))}

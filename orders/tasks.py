"""Thin Celery tasks for orders: call a service, nothing else."""

from __future__ import annotations

from celery import shared_task

from .reconciliation import ledgers_reconcile


@shared_task(name="orders.reconcile_ledgers")
def reconcile_ledgers_task() -> dict:
    """Nightly after the sweep (beat): check stored totals against entries, record the result."""
    mismatches = ledgers_reconcile()
    return {"mismatches": len(mismatches)}

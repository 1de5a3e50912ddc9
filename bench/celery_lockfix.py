"""The Celery app with bench.lockfix applied: `celery -A bench.celery_lockfix worker` (benchmark only)."""

from bench.lockfix import apply
from bnpl_admin.celery import app

apply()

__all__ = ["app"]

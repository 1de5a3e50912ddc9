"""Work chained after the nightly sweep: rescoring, published as its own task."""

from __future__ import annotations

from functools import partial

from django.db import transaction


def rescore_after_sweep(sender, *, business_date, run_id=None, **kwargs) -> None:
    """Publish risk.rescore for the sweep's business date once the sender's transaction commits."""
    from .tasks import rescore

    transaction.on_commit(partial(rescore.delay, business_date.isoformat()), robust=True)

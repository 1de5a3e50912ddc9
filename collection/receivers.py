"""Work of the collections app chained after other apps' news (bnpl_admin.signals)."""

from __future__ import annotations

from django.db import transaction

from bnpl_admin.signals import sweep_done


def promises_decide_after_sweep(sender, *, business_date, **kwargs) -> None:
    """After a night's sweep, decide the promises due before its date: a task of its own,
    published once the sweep's work is committed (robust: with the broker down the sweep is still
    done; the next night's task decides the promises this one would have)."""
    from .tasks import promises_decide_task

    on = business_date.isoformat()
    transaction.on_commit(lambda: promises_decide_task.delay(on), robust=True)


def connect() -> None:
    sweep_done.connect(promises_decide_after_sweep, dispatch_uid="collections.promises_decide")

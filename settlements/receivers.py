"""What the settlements app does when other apps have news: after the nightly sweep, propose write-offs."""

from __future__ import annotations

from django.db import transaction


def sweep_done_propose_write_offs(sender, *, business_date, run_id=None, **kwargs) -> None:
    """Publish the write-off proposals of the swept date as their own task (never inline, so a slow
    follower never delays the others), once whatever sent this has committed."""
    from .tasks import write_offs_propose_task

    day = business_date.isoformat()
    transaction.on_commit(lambda: write_offs_propose_task.delay(day), robust=True)

"""Thin Celery tasks for reminders: load ids, call a service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="reminders.dispatch")
def reminders_dispatch_task() -> dict:
    """Every 15 minutes (django-celery-beat): select today's reminders and publish what is due."""
    done = services.reminders_dispatch()
    return {
        "date": done.selection.on.isoformat(),
        "queued": done.selection.queued,
        "capped": done.selection.capped,
        "recovered": done.recovered,
        "published": done.published,
    }


# acks_late (settings): a worker killed mid-delivery leaves the message to be delivered again;
# the claim in the service makes the second run a no-op if the first one got through.
@shared_task(name="reminders.deliver", ignore_result=True)
def reminder_deliver_task(reminder_id: int) -> None:
    services.reminder_deliver(reminder_id=reminder_id, retry_by_task=True)

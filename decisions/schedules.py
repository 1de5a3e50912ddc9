"""The decisions app's beat schedule (a django-celery-beat row, editable in the admin)."""

from __future__ import annotations

from bnpl_admin.beat import beat_schedules_ensure

SCHEDULES = [
    # name, task, minute, hour (in TIME_ZONE): referred orders left unreviewed past the policy's
    # hours are declined; every 15 minutes, so none waits much longer than the policy says.
    ("Expire unreviewed referred orders", "decisions.expire_reviews", "*/15", "*"),
]


def schedules_ensure(apps, *args, **kwargs) -> None:
    """Create the schedules that are missing; leave ones staff have edited alone."""
    beat_schedules_ensure(apps, SCHEDULES)

"""Declared beat schedules (django-celery-beat rows), created where they are missing.

Each app that runs on beat lists its schedules (`sweep.schedules`, `decisions.schedules`) and
calls this from a migration and after every migrate; a schedule staff have edited is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings


def beat_schedules_ensure(apps, schedules: Iterable[tuple[str, str, str, str]]) -> None:
    """Create the (name, task, minute, hour in TIME_ZONE) schedules that are missing."""
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in schedules:
        if task_model.objects.filter(name=name).exists():
            continue
        crontab, _ = crontab_model.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        task_model.objects.create(name=name, task=task, crontab=crontab, enabled=True)

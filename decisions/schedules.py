"""The decisions app's beat schedule (a django-celery-beat row, editable in the admin)."""

from __future__ import annotations

from django.conf import settings

SCHEDULES = [
    # name, task, minute, hour (in TIME_ZONE): referred orders left unreviewed past the policy's
    # hours are declined; every 15 minutes, so none waits much longer than the policy says.
    ("Expire unreviewed referred orders", "decisions.expire_reviews", "*/15", "*"),
]


def schedules_ensure(apps, *args, **kwargs) -> None:
    """Create the schedules that are missing; leave ones staff have edited alone."""
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in SCHEDULES:
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

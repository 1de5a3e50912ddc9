"""The sweep's beat schedules (django-celery-beat rows, editable in the admin afterwards)."""

from django.conf import settings

SCHEDULES = [
    # name, task, minute, hour (in TIME_ZONE)
    ("Nightly overdue sweep", "sweep.start", "30", "0"),
    ("Portfolio snapshot after the sweep", "sweep.snapshot", "30", "2"),
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

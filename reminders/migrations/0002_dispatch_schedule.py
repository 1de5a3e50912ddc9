"""The beat schedule for reminders: `reminders.dispatch` every 15 minutes (django-celery-beat rows)."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "reminders: dispatch every 15 minutes"


def create_schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    changed_model = apps.get_model("django_celery_beat", "PeriodicTasks")
    # IntervalSchedule has no unique key: reuse an existing 15-minute row rather than add one.
    every_15 = interval_model.objects.filter(every=15, period="minutes").order_by("id").first()
    if every_15 is None:
        every_15 = interval_model.objects.create(every=15, period="minutes")
    task_model.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "reminders.dispatch",
            "interval": every_15,
            "enabled": True,
            "description": "Select today's reminders, recover interrupted deliveries and publish what is due.",
        },
    )
    # Tells a running beat (DatabaseScheduler) to reload its schedule.
    changed_model.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

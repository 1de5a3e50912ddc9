"""Beat schedule (editable in the admin): referred orders left unreviewed are declined every 15 minutes."""

from django.db import migrations
from django.utils import timezone

NAMES = ["Expire unreviewed referred orders"]


def create_schedules(apps, schema_editor):
    from decisions.schedules import schedules_ensure

    schedules_ensure(apps)
    # Tells a running beat (DatabaseScheduler) to reload its schedule.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0002_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]

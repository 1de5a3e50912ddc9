"""Beat schedules (editable in the admin): the sweep watchdog every 5 minutes, the ledger
reconciliation at 02:00 after the sweep."""

from django.db import migrations
from django.utils import timezone

NAMES = ["Sweep watchdog", "Nightly ledger reconciliation"]


def create_schedules(apps, schema_editor):
    from sweep.schedules import schedules_ensure

    schedules_ensure(apps)
    # Tells a running beat (DatabaseScheduler) to reload its schedule.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sweep", "0006_chunk_lease"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]

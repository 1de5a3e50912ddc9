"""Beat schedules (editable in the admin): the sweep at 00:30 and the snapshot after it."""

from django.db import migrations


def create_schedules(apps, schema_editor):
    from sweep.schedules import schedules_ensure

    schedules_ensure(apps)


def remove_schedules(apps, schema_editor):
    from sweep.schedules import SCHEDULES

    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[name for name, *_ in SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sweep", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]

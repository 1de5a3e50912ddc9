"""Apply accounts.roles again: operations admins no longer change role groups (they are declared in code)."""

from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_verbose_names"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

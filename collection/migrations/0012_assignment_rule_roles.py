"""Give the roles the assignment rules and the manager view (accounts.roles)."""

from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    dependencies = [
        ("collections", "0011_assignment_rules"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

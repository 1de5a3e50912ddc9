from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    """Agents and managers record and read contacts; operations admins read them (accounts.roles)."""

    dependencies = [
        ("collections", "0006_contact_attempts"),
        ("accounts", "0008_constraint_messages"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

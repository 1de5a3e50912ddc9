from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    """Agents propose settlements and restructures, managers also decide them, operations admins
    read them (accounts.roles)."""

    dependencies = [
        ("settlements", "0001_arrangement_requests"),
        ("accounts", "0008_constraint_messages"),
        ("orders", "0012_restructure_write_off_recovery"),
        ("collections", "0009_case_lifecycle_and_promises"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    """Risk analysts try orders, review referrals and read decisions (accounts.roles)."""

    dependencies = [
        ("decisions", "0001_initial"),
        ("accounts", "0008_constraint_messages"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

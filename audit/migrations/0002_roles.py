"""Give the roles of accounts.roles the audit trail's permission (audit.view_auditevent)."""

from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("accounts", "0003_historicaluser_groups_and_more"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

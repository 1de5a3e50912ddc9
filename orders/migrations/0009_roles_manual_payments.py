from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    """Operations admins view and decide manual payment requests (accounts.roles)."""

    dependencies = [
        ("orders", "0008_manual_payment_request"),
        ("accounts", "0005_verbose_names"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

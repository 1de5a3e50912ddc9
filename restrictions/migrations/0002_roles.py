"""Apply accounts.roles again: risk analysts restrict credit lines (one at a time and in bulk,
approving each other's big jobs) and read the decision log; operations admins read it too."""

from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    dependencies = [
        ("restrictions", "0001_initial"),
        ("decisionlog", "0002_chain_verification"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

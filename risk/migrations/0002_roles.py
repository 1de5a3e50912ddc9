from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    """The risk console's permissions: analysts work scorecards and approvals, operations admins read."""

    dependencies = [
        ("risk", "0001_initial"),
        ("policy", "0009_risk_limit_policy"),
        ("accounts", "0008_constraint_messages"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

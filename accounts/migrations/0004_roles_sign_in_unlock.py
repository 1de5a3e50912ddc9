"""Give the roles of accounts.roles django-axes' permissions (operations admins lift sign-in lockouts)."""

from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_historicaluser_groups_and_more"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

from django.db import migrations

from accounts.roles import roles_sync


class Migration(migrations.Migration):
    """Agents request home visits, managers decide and see them all, field agents make their own
    (accounts.roles, "Home visits")."""

    dependencies = [
        ("visits", "0001_visits"),
        ("accounts", "0009_customer_coordinates"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]

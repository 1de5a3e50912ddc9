from django.db import migrations

from bnpl_admin.migration_operations import fillfactor


class Migration(migrations.Migration):
    """The sweep updates overdue instalments every night (status, late fee, accrual date)."""

    dependencies = [("orders", "0003_sweep_credit_indexes")]

    operations = [fillfactor("orders_installment", 90)]

from django.db import migrations

from bnpl_admin.migration_operations import fillfactor


class Migration(migrations.Migration):
    """The sweep ages every open case every night (days past due, bucket)."""

    dependencies = [("collections", "0001_initial")]

    operations = [fillfactor("collections_collectioncase", 90)]

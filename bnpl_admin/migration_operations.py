"""Migration operations shared by the apps."""

from __future__ import annotations

from django.db import migrations


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL and is a no-op elsewhere (SQLite in development and
    tests): storage settings such as a table's fillfactor have no SQLite equivalent."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def fillfactor(table: str, percent: int) -> PostgreSQLOnly:
    """Leave (100 - percent) % of each page of `table` free, so that an update of a row (the
    nightly sweep's) finds room on the row's own page: a HOT update, which writes no new index
    entries. Applies to pages written from now on (a VACUUM FULL or a reload rewrites old ones)."""
    return PostgreSQLOnly(
        sql=f"ALTER TABLE {table} SET (fillfactor = {int(percent)})",
        reverse_sql=f"ALTER TABLE {table} RESET (fillfactor)",
    )

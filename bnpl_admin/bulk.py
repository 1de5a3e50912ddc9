"""Bulk updates of many rows, each with its own values, in one statement on PostgreSQL."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal

from django.db import connections, router
from django.db.models import Model


def bulk_update_rows(objs: Sequence[Model], fields: Sequence[str]) -> int:
    """Write `fields` of each of `objs` (same model) to its row; the number of rows updated.

    Django's bulk_update builds a `CASE WHEN id = … THEN …` per object and field in Python,
    which costs seconds for the sweep's ten thousands of rows. Like bulk_update, this sends no
    signals and writes no history. See bulk_update_values.
    """
    if not objs:
        return 0
    model = type(objs[0])
    attnames = [model._meta.get_field(name).attname for name in fields]
    rows = [(obj.pk, *(getattr(obj, a) for a in attnames)) for obj in objs]
    return bulk_update_values(model, fields, rows)


def bulk_update_values(model: type[Model], fields: Sequence[str], rows: Sequence[tuple]) -> int:
    """Set `fields` of `model`'s rows from `rows`, each (pk, value of each field, …); the number
    of rows updated.

    On PostgreSQL this is one `UPDATE … FROM jsonb_to_recordset(%s)`: the values travel as one
    JSON document, which the driver passes as a single string (quoting arrays of ten thousand
    values for client-side binding costs more than the update). Elsewhere (SQLite) it is
    bulk_update on instances carrying only the pk and these fields.
    """
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        objs = []
        for pk, *values in rows:
            obj = model(pk=pk)
            for field, value in zip(columns, values, strict=True):
                setattr(obj, field.attname, value)
            objs.append(obj)
        return model._default_manager.bulk_update(objs, list(fields), batch_size=500)

    pk = meta.pk
    quote = connection.ops.quote_name
    keys = [pk.column, *(f.column for f in columns)]

    def prepared(row: tuple) -> dict:
        values = [pk.get_db_prep_value(row[0], connection)]
        values += [f.get_db_prep_save(v, connection) for f, v in zip(columns, row[1:], strict=True)]
        return dict(zip(keys, values, strict=True))

    document = json.dumps([prepared(row) for row in rows], default=_json_value, ensure_ascii=False)
    record = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in [pk, *columns])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    table = quote(meta.db_table)
    statement = (
        f"UPDATE {table} SET {assignments} FROM jsonb_to_recordset(%s::jsonb) AS v({record}) "
        f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [document])
        return cursor.rowcount


def _json_value(value):
    """JSON for what the database adapter would take: exact decimals and times as text, which
    jsonb_to_recordset reads with each column type's own input function."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go into a bulk update")

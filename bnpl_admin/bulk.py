"""Bulk updates of many rows, each with its own values, in one statement on PostgreSQL."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal

from django.db import connections, models, router
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


# Fields whose get_db_prep_save hands a str, int or bool (or None) on unchanged: such a value
# goes to COPY as it is (the call costs more than the COPY for the hundreds of thousands of
# cells of a rescoring night's history rows and audit events). Exact classes: a subclass may
# prepare its values otherwise.
_PLAIN_FIELDS = frozenset(
    {
        models.AutoField,
        models.BigAutoField,
        models.BigIntegerField,
        models.BooleanField,
        models.CharField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.SmallIntegerField,
        models.TextField,
    }
)
_PLAIN_VALUES = frozenset({str, int, bool, type(None)})


def _plain(field) -> bool:
    if field.is_relation and (field.many_to_one or field.one_to_one):
        field = field.target_field  # a foreign key's value is its target's
    return type(field) in _PLAIN_FIELDS


def bulk_insert_rows(objs: Sequence[Model], *, batch_size: int = 2000) -> int:
    """Insert `objs` (same model, new) and set their primary keys; the number inserted.

    On PostgreSQL the ids are drawn from the table's sequence in one statement and the rows
    go in by COPY: Django's bulk_create quotes every value of every array it sends, which costs
    more than the insert for the nightly rescoring's hundreds of thousands of rows (risk
    scores and their decision log entries). Elsewhere (SQLite) it is bulk_create. Like
    bulk_create, this sends no signals and writes no history.
    """
    if not objs:
        return 0
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=batch_size)
        return len(objs)
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(table), pk.column, len(objs)],
        )
        for obj, (new_id,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = new_id
        columns = ", ".join(quote(f.column) for f in [pk, *fields])
        cells = [(f.attname, f.get_db_prep_save, _plain(f)) for f in fields]
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                row = [obj.pk]
                for attname, prepare, plain in cells:
                    value = getattr(obj, attname)
                    if not (plain and type(value) in _PLAIN_VALUES):
                        value = prepare(value, connection)
                    row.append(value)
                copy.write_row(row)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return len(objs)


class JsonText(str):
    """A value already encoded as JSON text, for a JSON field of bulk_insert_values: it goes to
    the database as it is instead of being encoded again (nightly rescoring encodes a score's
    points once for the score row and its decision log entry)."""

    __slots__ = ()


def _decoded(value):
    return json.loads(value) if isinstance(value, JsonText) else value


def bulk_insert_values(model: type[Model], fields: Sequence[str], rows: Sequence[tuple]) -> list[int]:
    """Insert rows of `model`, each a tuple of values of `fields` (attribute names, e.g.
    "customer_id"), and return their new primary keys in order: bulk_insert_rows without making
    a model instance per row. Values go as they are (JSON fields take dicts and lists, or a
    JsonText already encoded)."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    if connection.vendor != "postgresql":
        objs = [model(**{name: _decoded(v) for name, v in zip(fields, row, strict=True)}) for row in rows]
        model._default_manager.bulk_create(objs, batch_size=500)
        return [obj.pk for obj in objs]
    from django.db.models import JSONField
    from psycopg.types.json import Jsonb

    columns = [
        meta.get_field(name[:-3] if name.endswith("_id") and name != "id" else name) for name in fields
    ]
    as_json = [isinstance(f, JSONField) for f in columns]
    pk = meta.pk
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, len(rows)],
        )
        ids = [new_id for (new_id,) in cursor.fetchall()]
        names = ", ".join(quote(f.column) for f in [pk, *columns])
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for new_id, row in zip(ids, rows, strict=True):
                # COPY's text format takes JSON text as it is: a JsonText is not encoded again.
                copy.write_row(
                    [
                        new_id,
                        *(
                            (v if isinstance(v, JsonText) else Jsonb(v)) if j else v
                            for v, j in zip(row, as_json, strict=True)
                        ),
                    ]
                )
    return ids

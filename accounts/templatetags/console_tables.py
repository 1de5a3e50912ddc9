"""The console table's cells, written in Python (templates/console/table.html).

The template loop wrote each cell with two lookups of the column's td attributes, a filter and a
`with`: for a page of 50 rows and 12 columns, 600 times through the template engine, most of the
request once the queries are an index read (docs/performance.md, the workbench pages). The tag
writes the same HTML: the column's td attributes, the cell's text as its title (a cut value is
read whole on hover) unless the column wraps, and the cell rendered as `{{ cell }}` renders it.

The cells themselves: django-tables2 works out, for every cell, how to read the column's value
(a choice field's display, the accessor) and which arguments its render method takes
(`inspect.signature`), each the same for every row of a column. `_Cells` works them out once per
table render and then reads and renders each cell as `BoundRow.get_cell` does; a column it does
not cover the same way (a nested or callable accessor, a link, many-to-many values, attributes
computed from the record) goes through `get_cell` itself. tests/lists/test_every_list.py
compares the two on every console list.
"""

from __future__ import annotations

import inspect
from functools import partialmethod

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.base import render_value_in_context
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.html import conditional_escape, escape, strip_tags
from django.utils.safestring import SafeData, mark_safe
from django_tables2.columns import ManyToManyColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.utils import signature

register = template.Library()


@register.simple_tag(takes_context=True)
def console_cells(context, row) -> str:
    cells = []
    fixed = row.table.__dict__.setdefault("_console_td", {})  # per table render: column -> td
    for column, cell in _Cells.of(row.table).items(row):
        td_html, wraps = fixed.get(column.name) or _td(column, fixed)
        title = "" if wraps else _title(cell)
        cells.append(f"<td {td_html}{title}>{_rendered(cell, context)}</td>")
    return mark_safe("".join(cells))  # every part escaped, or markup a column made safe


def _title(cell) -> str:
    """As {% with text=cell|striptags %} title="{{ text }}": the text of the cell (safe when the
    cell is), escaped, as an attribute; nothing when the cell has no text."""
    value = str(cell)
    text = strip_tags(value) if "<" in value else value
    if not text:
        return ""
    return f' title="{text if isinstance(cell, SafeData) else escape(text)}"'


def _rendered(cell, context) -> str:
    """As format_html wrote `{{ cell }}` into the td: a string escaped unless it is safe; anything
    else as the template shows it (localized), then escaped unless safe."""
    if isinstance(cell, str):
        return cell if isinstance(cell, SafeData) else escape(cell)
    return conditional_escape(render_value_in_context(cell, context))


def reference_cells(row) -> list:
    """The cells as django-tables2 renders them (tests compare `_Cells` with this)."""
    return [cell for _column, cell in row.items()]


class _Cells:
    """How to render each visible column's cells, worked out on a table's first row."""

    def __init__(self, table):
        self.columns = list(table.columns)  # the visible bound columns, in order
        self.plans: dict[str, _Plan | None] = {}

    @classmethod
    def of(cls, table) -> _Cells:
        cells = table.__dict__.get("_console_cells")
        if cells is None:
            cells = table.__dict__["_console_cells"] = cls(table)
        return cells

    def items(self, row):
        record = row.record
        for column in self.columns:
            if column.name not in self.plans:
                self.plans[column.name] = _Plan.for_column(column, record)
            plan = self.plans[column.name]
            cell = plan.render(row, record) if plan else row.get_cell(column.name)
            # As BoundRow.items: a column's attributes may be computed from the current cell.
            column.current_value = cell
            column.current_record = record
            yield column, cell


class _Plan:
    """One column's cells: the value read straight off the record (or its choice's display)
    and the render method called with the arguments it names."""

    def __init__(self, column, *, display: str | None, wants: tuple[str, ...] | None):
        self.column = column
        self.name = column.accessor
        self.display = display
        self.wants = wants
        self.attname = ""
        self.labels: dict | None = None  # a choice field's labels in the active language
        self.empty_values = column.column.empty_values

    @classmethod
    def for_column(cls, column, record) -> _Plan | None:
        accessor = str(column.accessor)
        if (
            not isinstance(record, models.Model)
            or "__" in accessor
            or "." in accessor
            or column.link
            or isinstance(column.column, (BaseLinkColumn, ManyToManyColumn))
            or callable(getattr(record, accessor, None))
        ):
            return None
        display = None
        try:
            field = record._meta.get_field(accessor)
        except FieldDoesNotExist:
            field = None
        if field is not None and getattr(field, "choices", ()) and hasattr(record, f"get_{accessor}_display"):
            display = f"get_{accessor}_display"
        arguments, catch_all = signature(column.render)
        plan = cls(column, display=display, wants=None if catch_all else arguments)
        if display and _is_django_display(type(record), display):
            # Django's get_FOO_display builds the choices' dict on every call: once here.
            plan.attname = field.attname
            plan.labels = {make_hashable(value): force_str(label) for value, label in field.flatchoices}
        return plan

    def render(self, row, record):
        if self.labels is not None:
            value = getattr(record, self.attname)
            key = make_hashable(value)
            value = self.labels[key] if key in self.labels else force_str(value, strings_only=True)
        elif self.display:
            value = getattr(record, self.display)()
        else:
            value = getattr(record, self.name, None)
        if value in self.empty_values:
            return self.column.default
        available = {
            "value": value,
            "record": record,
            "column": self.column.column,
            "bound_column": self.column,
            "bound_row": row,
            "table": row.table,
        }
        if self.wants is None:
            return self.column.render(**available)
        if any(name not in available for name in self.wants):
            return None
        return self.column.render(**{name: available[name] for name in self.wants})


def _is_django_display(model: type, name: str) -> bool:
    """Whether the model's get_FOO_display is Django's own (not a method of the model's)."""
    found = inspect.getattr_static(model, name, None)
    return isinstance(found, partialmethod) and found.func is models.Model._get_FIELD_display


def _td(column, fixed: dict) -> tuple[str, bool]:
    """The column's td attributes as HTML and whether it wraps. django-tables2 computes them for
    each cell, since an attribute may be a function of the record; a column whose attributes
    are all plain values gets them once per table render."""
    td = column.attrs["td"]
    found = (td.as_html(), "wrap" in (td.get("class") or ""))
    attrs = {**column._table.attrs, **column.column.attrs}
    if not any(callable(value) for part in attrs.values() for value in _values(part)):
        fixed[column.name] = found
    return found


def _values(part) -> list:
    return list(part.values()) if isinstance(part, dict) else [part]

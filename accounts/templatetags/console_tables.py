"""The console table's cells, written in Python (templates/console/table.html).

The template loop wrote each cell with two lookups of the column's td attributes, a filter and a
`with`: for a page of 50 rows and 12 columns, 600 times through the template engine, most of the
request once the queries are an index read (docs/performance.md, the workbench pages). The tag
writes the same HTML: the column's td attributes, the cell's text as its title (a cut value is
read whole on hover) unless the column wraps, and the cell rendered as `{{ cell }}` renders it.
"""

from __future__ import annotations

from django import template
from django.template.base import render_value_in_context
from django.utils.html import format_html, strip_tags
from django.utils.safestring import SafeData, mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def console_cells(context, row) -> str:
    cells = []
    fixed = row.table.__dict__.setdefault("_console_td", {})  # per table render: column -> td
    for column, cell in row.items():
        td_html, wraps = fixed.get(column.name) or _td(column, fixed)
        # As {% with text=cell|striptags %}: the text of the cell, safe when the cell is.
        text = strip_tags(str(cell))
        if isinstance(cell, SafeData):
            text = mark_safe(text)  # strip_tags of markup already safe
        title = format_html(' title="{}"', text) if text and not wraps else ""
        cells.append(format_html("<td {}{}>{}</td>", td_html, title, render_value_in_context(cell, context)))
    return mark_safe("".join(cells))  # each part built by format_html


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

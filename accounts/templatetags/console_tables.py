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
    for column, cell in row.items():
        td = column.attrs["td"]  # computed per cell: a column's attrs may depend on the record
        # As {% with text=cell|striptags %}: the text of the cell, safe when the cell is.
        text = strip_tags(str(cell))
        if isinstance(cell, SafeData):
            text = mark_safe(text)  # strip_tags of markup already safe
        wraps = "wrap" in (td.get("class") or "")
        title = format_html(' title="{}"', text) if text and not wraps else ""
        cells.append(
            format_html("<td {}{}>{}</td>", td.as_html(), title, render_value_in_context(cell, context))
        )
    return mark_safe("".join(cells))  # each part built by format_html

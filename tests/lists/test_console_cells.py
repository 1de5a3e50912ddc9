"""The console table's cells (accounts/templatetags/console_tables.py) against the template loop
they replaced, on values that test the escaping: markup and quotes in a name, a safe link, an empty
value with its default, a choice's display, a yes/no column and a column that wraps.
tests/lists/test_every_list.py makes the same comparison on every console list's real rows."""

from __future__ import annotations

import django_tables2 as tables
import pytest
from django.template import Context
from django.utils import translation
from django.utils.html import format_html
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Customer, CustomerStatus
from accounts.templatetags.console_tables import _Cells, console_cells, reference_cells
from bnpl_admin.lists import ConsoleTable
from tests.lists.test_every_list import _template_cells


class _Table(ConsoleTable):
    name = tables.Column()
    city = tables.Column(attrs={"td": {"class": "wrap"}})
    province = tables.Column(default="—")
    status = tables.Column()
    link = tables.Column(accessor="platform_user_id")
    known = tables.BooleanColumn(accessor="name")
    shouting = tables.Column(accessor="platform_user_id", attrs={"td": {"data-x": lambda value: value[:3]}})

    def render_link(self, value, record):
        return format_html('<a href="/c/{}">{} &amp; more</a>', value, record.name)


texts = st.text(alphabet=st.sampled_from("ab王<>&\"' /"), max_size=12)


@given(name=texts, city=texts, province=texts, status=st.sampled_from(CustomerStatus.values))
def test_the_cells_are_the_template_loop(name, city, province, status):
    customer = Customer(platform_user_id=f"u{name}", name=name, city=city, province=province, status=status)
    with translation.override("zh-hans"):
        table = _Table([customer])
        row = next(iter(table.rows))
        planned = [str(cell) for _column, cell in _Cells(table).items(row)]
        assert planned == [str(cell) for cell in reference_cells(row)]
        assert console_cells(Context(), row) == _template_cells(Context(), row)


@pytest.mark.parametrize("autoescape", [True, False])
def test_with_or_without_autoescaping_the_cells_are_escaped_as_before(autoescape):
    customer = Customer(platform_user_id="u1", name="<b>", city="x", status=CustomerStatus.ACTIVE)
    table = _Table([customer])
    row = next(iter(table.rows))
    context = Context(autoescape=autoescape)
    assert console_cells(context, row) == _template_cells(context, row)

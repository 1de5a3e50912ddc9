"""The orders' section of a customer's risk page (bnpl_admin.customer_sections).

The orders app has no staff pages of its own and sits below risk, so risk reads the orders
through orders.selectors and registers the section itself, beside those of the decisions and
restrictions apps, so that the page lists every section one way, in one order.
"""

from __future__ import annotations

from bnpl_admin.customer_sections import SECTION_ROWS, newest
from orders.selectors import customer_orders


def orders_section(*, customer, user) -> dict:
    """The customer's newest orders, in one query."""
    return newest(customer_orders(customer=customer, limit=SECTION_ROWS + 1))

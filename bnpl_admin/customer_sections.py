"""The sections of a customer's risk page, registered by the apps that own them.

The customer's risk page (risk) shows the credit line, the scores and the limits; the order
decisions and the restrictions are owned by the decisions and restrictions apps, which sit beside
risk in pyproject's layers, so neither may import the other. The registry lives here, below all
of them, as `collection.case_actions` does for the case page. An app registers its section in its
`AppConfig.ready`:

    register_customer_section(CustomerSection(
        key="decisions", title=_("Order decisions"), template="decisions/_customer_section.html",
        context=decisions_section, permission="decisions.view_orderdecision", order=10,
    ))

`context(customer=, user=)` reads through the owning app's selectors in a fixed number of queries
whatever the customer's book, and returns at most `SECTION_ROWS` rows (the newest), with a link to
the whole list where one exists. The page includes `template` inside a `<section>` under `title`;
the template sees the page's context and the context function's dict as `data`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The newest rows a section shows; a section says when there are more.
SECTION_ROWS = 20


@dataclass(frozen=True)
class CustomerSection:
    key: str  # also the section's HTML id (the page's anchors: #decisions, #orders, ...)
    title: str
    template: str
    context: Callable[..., dict]
    permission: str
    order: int = 100


_SECTIONS: dict[str, CustomerSection] = {}


def register_customer_section(section: CustomerSection) -> None:
    """Register (or replace, on a reload) a section by its key."""
    _SECTIONS[section.key] = section


def customer_sections_for(*, user, customer) -> list[tuple[CustomerSection, dict]]:
    """The sections this user may read, each with its context, in display order."""
    sections = sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))
    return [
        (section, section.context(customer=customer, user=user))
        for section in sections
        if user.has_perm(section.permission)
    ]


def newest(rows: list, *, limit: int = SECTION_ROWS) -> dict:
    """`rows` read with one more than `limit` (so no COUNT query): the first `limit` and whether
    there were more."""
    return {"rows": rows[:limit], "more": len(rows) > limit, "limit": limit}

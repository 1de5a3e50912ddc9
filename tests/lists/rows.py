"""Rows for each console list, so the generic list tests (test_every_list.py) have something to show.

A new list (bnpl_admin.lists.ObjectListView) adds its maker here, keyed by its URL name:
`make(n)` writes n rows its readers may see, of every shape the table renders (so that more
rows never means more kinds of related rows to fetch), cycling through the shapes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType

from accounts.models import User
from accounts.roles import Role
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from collection.models import CollectionCase, Team
from collection.services import case_open
from orders.models import Hold, InstallmentStatus
from tests.factories import CustomerFactory, UserFactory, delivered_order


def audit_events(n: int) -> None:
    customer = CustomerFactory()
    person = UserFactory(username="lister", first_name="芳", last_name="王")
    agent = UserFactory(username="agent-a")
    case_type = ContentType.objects.get_for_model(CollectionCase)
    shapes = [
        lambda i: audit_record(actor=person, action=AuditAction.PII_REVEAL, obj=customer, reason=f"call {i}"),
        lambda i: audit_record(actor=person, action=AuditAction.EXPORT, payload={"list": "x", "rows": i}),
        lambda i: AuditEvent.objects.create(
            action=AuditAction.CHANGED,
            actor=person,
            actor_username=person.username,
            content_type=case_type,
            object_id=str(i),
            object_repr=f"Case {i}",
            changes={"assigned_agent": [None, str(agent.pk)]},
        ),
        lambda i: AuditEvent.objects.create(action=AuditAction.LOGIN_FAILED, actor_username=f"guess{i}"),
    ]
    for i in range(n):
        shapes[i % len(shapes)](i)


def _newest_agent() -> User:
    """The reader the generic tests signed in last (they create it before the rows), else a new agent."""
    return User.objects.filter(groups__name=Role.COLLECTIONS_AGENT).order_by("-id").first() or UserFactory(
        roles=[Role.COLLECTIONS_AGENT]
    )


def _cases(n: int, *, owner: User, others: list[User]) -> None:
    """Open cases of every shape the queue renders: nothing overdue, an overdue instalment, an
    order on hold; assigned to `owner` or to one of `others`."""

    def overdue(customer):
        order = delivered_order(customer=customer)
        order.installments.filter(sequence=1).update(status=InstallmentStatus.OVERDUE)
        return order

    def held(customer):
        order = overdue(customer)
        order.hold = Hold.DISPUTE
        order.save(update_fields=["hold"])

    shapes = [lambda customer: None, overdue, held]
    agents = [owner, *others]
    for i in range(n):
        customer = CustomerFactory(province="广东省", city="深圳市")
        shapes[i % len(shapes)](customer)
        case_open(customer=customer, agent=agents[i % len(agents)], reason="rows")


def queue_cases(n: int) -> None:
    """Cases of the reader and of a teammate (the queue shows a team's cases)."""
    reader = _newest_agent()
    teammate = UserFactory(
        username="teammate", first_name="丽", last_name="钟", roles=[Role.COLLECTIONS_AGENT]
    )
    team, _created = Team.objects.get_or_create(
        name="华南一组",
        defaults={"manager": UserFactory(username="team-lead", roles=[Role.COLLECTIONS_MANAGER])},
    )
    team.members.add(reader, teammate)
    _cases(n, owner=reader, others=[teammate])


def my_cases(n: int) -> None:
    _cases(n, owner=_newest_agent(), others=[])


def referrals(n: int) -> None:
    """Referred orders waiting for review: tried or from the platform, linked to an order or not,
    of customers with and without a delivered order (exposure)."""
    from decimal import Decimal

    from decisions.services import order_decide
    from orders.models import Merchant

    merchant, _created = Merchant.objects.get_or_create(
        name="风险直播间", defaults={"category": "livestream", "is_risky": True}
    )
    analyst = User.objects.filter(groups__name=Role.RISK_ANALYST).order_by("-id").first() or UserFactory(
        username="rows-analyst", roles=[Role.RISK_ANALYST]
    )

    def plain(customer):
        order_decide(customer=customer, amount=Decimal("300.00"), merchant=merchant, channel="livestream")

    def tried(customer):
        order_decide(
            customer=customer,
            amount=Decimal("88.00"),
            merchant=merchant,
            channel="mall",
            by=analyst,
            trial=True,
        )

    def linked(customer):
        order = delivered_order(customer=customer, amount="500.00", merchant=merchant)
        order_decide(
            customer=customer, amount=order.amount, merchant=merchant, channel="short_video", order=order
        )

    shapes = [plain, tried, linked]
    for i in range(n):
        shapes[i % len(shapes)](CustomerFactory())


ROW_MAKERS: dict[str, Callable[[int], None]] = {
    "audit:event_list": audit_events,
    "collections:case_queue": queue_cases,
    "collections:my_queue": my_cases,
    "decisions:review_queue": referrals,
}

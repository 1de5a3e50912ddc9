"""Rows for each console list, so the generic list tests (test_every_list.py) have something to show.

A new list (bnpl_admin.lists.ObjectListView) adds its maker here, keyed by its URL name:
`make(n)` writes n rows its readers may see, of every shape the table renders (so that more
rows never means more kinds of related rows to fetch), cycling through the shapes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from collection.models import CollectionCase
from tests.factories import CustomerFactory, UserFactory


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


ROW_MAKERS: dict[str, Callable[[int], None]] = {
    "audit:event_list": audit_events,
}

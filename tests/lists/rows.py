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


def restriction_jobs(n: int) -> None:
    """Jobs of every shape the table renders: each filter, approved or not."""
    from restrictions.models import RestrictionJob
    from tests.factories import MerchantFactory

    analyst = UserFactory(username="lister-analyst", roles=[Role.RISK_ANALYST])
    checker = UserFactory(username="lister-checker", roles=[Role.RISK_ANALYST])
    merchant = MerchantFactory(name="直播好物")
    specs = [
        {"grade": "E"},
        {"merchant": merchant.pk},
        {"flagged_merchants": True},
        {"dpd_over": 30, "within_days": 90},
    ]
    RestrictionJob.objects.bulk_create(
        RestrictionJob(
            filter_spec=specs[i % len(specs)],
            action=("freeze", "unfreeze", "close")[i % 3],
            reason_code="poor_grade",
            reason_text=f"job {i}",
            requested_by=analyst,
            approved_by=checker if i % 2 else None,
            status=("previewed", "done", "running")[i % 3],
            preview_lines=i,
            total=i,
            done=i // 2,
        )
        for i in range(n)
    )


def decision_log_entries(n: int) -> None:
    """Entries of each kind, with and without a person, one with a phone number in its text."""
    from decisionlog.models import DecisionKind
    from decisionlog.services import decision_log_append

    person = UserFactory(username="lister-risk")
    kinds = list(DecisionKind.values)
    for i in range(n):
        decision_log_append(
            kind=kinds[i % len(kinds)],
            subject=f"accounts.creditline:{i}",
            content={"reason_text": "called 13812345678", "amount": "12.00", "i": i},
            actor=person if i % 2 else None,
        )


ROW_MAKERS: dict[str, Callable[[int], None]] = {
    "restrictions:job_list": restriction_jobs,
    "decisionlog:entry_list": decision_log_entries,
    "audit:event_list": audit_events,
    "collections:case_queue": queue_cases,
    "collections:my_queue": my_cases,
}

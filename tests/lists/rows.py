"""Rows for each console list, so the generic list tests (test_every_list.py) have something to show.

A new list (bnpl_admin.lists.ObjectListView) adds its maker here, keyed by its URL name:
`make(n)` writes n rows its readers may see, of every shape the table renders (so that more
rows never means more kinds of related rows to fetch), cycling through the shapes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import Group
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


# --- The risk console ------------------------------------------------------------------------

_risk_calls = iter(range(1, 10**9))


def _analysts() -> tuple[User, User]:
    maker = User.objects.filter(username="risk-maker").first() or UserFactory(
        username="risk-maker", roles=[Role.RISK_ANALYST]
    )
    checker = User.objects.filter(username="risk-checker").first() or UserFactory(
        username="risk-checker", roles=[Role.RISK_ANALYST]
    )
    return maker, checker


def scorecard_versions(n: int) -> None:
    """Drafts, versions waiting for activation, active and retired ones."""
    from risk import services
    from tests.risk.cards import hand_card

    maker, checker = _analysts()
    call = next(_risk_calls)
    for i in range(n):
        version = hand_card(name=f"List card {call}-{i % 4}", by=maker)
        if i % 3 >= 1:
            services.scorecard_activation_request(version=version, by=maker)
        if i % 3 == 2:
            services.scorecard_activate(version=version, by=checker)


def customer_scores(n: int) -> None:
    """Scores of new customers by the active version (every reason shape the card gives)."""
    import datetime

    from django.utils import timezone

    from risk import services
    from tests.risk.cards import hand_card

    maker, checker = _analysts()
    version = services.active_version()
    if version is None:
        version = hand_card(name="Scores card", by=maker)
        services.scorecard_activation_request(version=version, by=maker)
        services.scorecard_activate(version=version, by=checker)
    now = timezone.now()
    for i in range(n):
        CustomerFactory(created_at=now - datetime.timedelta(days=40 * (i % 5)))
    services.customers_rescore(on=timezone.localdate())


def pending_limits(n: int) -> None:
    """Limit increases waiting: proposed by an analyst, or by nightly rescoring (nobody)."""
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import CreditLine
    from risk import services
    from risk.models import LimitChange, LimitChangeKind, LimitChangeStatus

    maker, _checker = _analysts()
    for i in range(n):
        customer = CustomerFactory()
        CreditLine.objects.filter(customer=customer).update(limit=Decimal("1000.00"))
        if i % 2:
            services.limit_increase_propose(
                customer=customer,
                new_limit=Decimal("5000.00"),
                by=maker,
                reason=f"asked {i}",
                on=timezone.localdate(),
            )
        else:
            LimitChange.objects.create(
                customer=customer,
                business_date=timezone.localdate(),
                kind=LimitChangeKind.INCREASE,
                status=LimitChangeStatus.PENDING,
                old_limit=Decimal("1000.00"),
                new_limit=Decimal("20000.00"),
                old_grade="C",
                new_grade="A",
                reason="rescoring",
            )


def assignment_rules(n: int) -> None:
    """Rules of each bucket and method, on two teams, some switched off."""
    from collection.assignment import assignment_rule_create, assignment_rule_update

    keeper = User.objects.filter(username="rule-keeper").first() or UserFactory(
        username="rule-keeper", first_name="敏", last_name="周", roles=[Role.COLLECTIONS_MANAGER]
    )
    teams = [
        Team.objects.get_or_create(name=name, defaults={"manager": keeper})[0]
        for name in ("规则一组", "规则二组")
    ]
    buckets, methods = ("M1", "M2", "M3", "M4+"), ("by load", "round robin")
    for i in range(n):
        fields = {"bucket": buckets[i % 4], "team": teams[i % 2], "method": methods[i % 2], "ordering": i}
        rule = assignment_rule_create(by=keeper, **fields)
        if i % 3 == 2:
            assignment_rule_update(rule=rule, by=keeper, active=False, **fields)


def arrangements(n: int) -> None:
    """Requests of every shape the approval queue renders, on the reader's cases: a settlement and
    a restructure waiting, a write-off the sweep proposed, an approved and a rejected one."""
    from django.utils import timezone

    from settlements.services import (
        arrangement_approve,
        arrangement_propose,
        arrangement_reject,
        write_off_propose,
    )
    from tests.settlements.books import overdue_case

    reader = _newest_agent()
    manager, _created = User.objects.get_or_create(username="rows-manager")
    manager.groups.set(Group.objects.filter(name=Role.COLLECTIONS_MANAGER))

    def settlement(case):
        return arrangement_propose(
            case=case, by=reader, kind="settlement", fee_discount="1.00", reason="hardship"
        )

    def restructure(case):
        return arrangement_propose(case=case, by=reader, kind="restructure", months=6)

    def write_off(case):
        CollectionCase.objects.filter(pk=case.pk).update(days_past_due=200)
        case.refresh_from_db()
        write_off_propose(case=case, on=timezone.localdate())

    def approved(case):
        arrangement_approve(request=settlement(case), by=manager, reason="agreed")

    def rejected(case):
        arrangement_reject(request=restructure(case), by=manager, reason="can pay")

    shapes = [settlement, restructure, write_off, approved, rejected]
    for i in range(n):
        # Without late fees: the rows are made fast (the list tests time a session's activity).
        shapes[i % len(shapes)](overdue_case(agent=reader, days_ago=40, late_fees=False))


def visit_requests(n: int) -> None:
    """Requests for a home visit waiting for a manager: on M3 and M4+ cases, by two agents, with
    customers in two provinces (every shape the list renders)."""
    from bnpl_admin.dates import business_date
    from collection.models import Bucket
    from tests.visits.builders import requested_visit, visitable_case

    requesters = [UserFactory(roles=[Role.COLLECTIONS_AGENT]) for _ in range(2)]
    shapes = [
        {"bucket": Bucket.M3, "dpd": 70},
        {
            "bucket": Bucket.M4,
            "dpd": 120,
            "province": "新疆维吾尔自治区",
            "city": "乌鲁木齐市",
            "timezone": "Asia/Urumqi",
        },
    ]
    for i in range(n):
        case = visitable_case(agent=requesters[i % 2], **shapes[i % len(shapes)])
        requested_visit(day=business_date(), case=case)


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
    "visits:requested": visit_requests,
    "audit:event_list": audit_events,
    "collections:case_queue": queue_cases,
    "collections:my_queue": my_cases,
    "risk:scorecard_list": scorecard_versions,
    "risk:score_list": customer_scores,
    "risk:approvals": pending_limits,
    "collections:assignment_rules": assignment_rules,
    "settlements:approval_queue": arrangements,
    "decisions:review_queue": referrals,
}

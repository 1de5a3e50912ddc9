"""Builders of home visits for the tests: a visitable case, and visits at each step, made through
the services (visits.services)."""

from __future__ import annotations

import datetime
import io
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.roles import Role
from collection.models import Bucket, CollectionCase
from orders.models import InstallmentStatus
from tests.factories import CollectionCaseFactory, CustomerFactory, UserFactory, delivered_order
from visits.services import Position, visit_approve, visit_check_in, visit_record_outcome, visit_request

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")


def at(day: datetime.date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


def field_agent(username: str | None = None, **extra):
    if username:
        extra["username"] = username
    return UserFactory(roles=[Role.FIELD_AGENT], **extra)


def overdue_customer(**fields):
    """A customer who owes money on an overdue instalment."""
    customer = CustomerFactory(**fields)
    order = delivered_order(customer=customer)
    order.installments.filter(sequence=1).update(status=InstallmentStatus.OVERDUE)
    return customer


def visitable_case(
    *, agent=None, bucket: str = Bucket.M3, dpd: int = 75, **customer_fields
) -> CollectionCase:
    """An open case in M3 (by default) of a customer with money overdue, in `agent`'s queue."""
    agent = agent or UserFactory(roles=[Role.COLLECTIONS_AGENT])
    return CollectionCaseFactory(
        customer=overdue_customer(**customer_fields), assigned_agent=agent, bucket=bucket, days_past_due=dpd
    )


def png_bytes(size=(40, 30), color=(200, 30, 30), image_format="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=image_format)
    return buffer.getvalue()


def photo_upload(name="door.png", content: bytes | None = None, content_type="image/png"):
    return SimpleUploadedFile(name, png_bytes() if content is None else content, content_type=content_type)


def requested_visit(*, day: datetime.date, case=None, requester=None, **case_fields):
    case = case or visitable_case(**case_fields)
    requester = requester or case.assigned_agent
    return visit_request(
        case=case,
        by=requester,
        reason="电话联系不上，需上门核实",
        proposed_date=day,
        now=at(day, 8),
    )


def scheduled_visit(*, day: datetime.date, agents=None, manager=None, hour: int = 10, **kwargs):
    """A visit approved for `day` at `hour` (customer-local), with two field agents."""
    visit = requested_visit(day=day, **kwargs)
    manager = manager or UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    agents = agents or (field_agent(), field_agent())
    zone = ZoneInfo(visit.customer.timezone)
    return visit_approve(
        visit=visit, by=manager, field_agents=agents, scheduled_for=at(day, hour, zone=zone), now=at(day, 8)
    )


def done_visit(*, day: datetime.date, photos=None, **kwargs):
    visit = scheduled_visit(day=day, **kwargs)
    agent = visit.field_agent_1
    zone = ZoneInfo(visit.customer.timezone)
    visit = visit_check_in(
        visit=visit,
        by=agent,
        at=at(day, 10, 5, zone=zone),
        position=Position.parse("22.540503", "113.934528", "12"),
    )
    return visit_record_outcome(
        visit=visit,
        by=agent,
        outcome="met_debtor",
        notes="见到本人，承诺月底前还款",
        photos=[photo_upload()] if photos is None else photos,
        now=at(day, 10, 30, zone=zone),
    )

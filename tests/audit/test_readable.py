"""The trail and the timelines read as people read them; the CSV keeps machine names for analysis."""

import csv
import datetime
import io
import zoneinfo
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import translation

from accounts.models import CreditLine
from accounts.roles import Role
from audit.models import AuditAction, AuditEvent
from audit.sentences import audit_details_sentence
from collection.models import CaseEvent, CaseEventType, CollectionCase
from collection.sentences import case_event_sentence
from orders.models import OrderEvent, OrderEventType
from orders.sentences import order_event_sentence
from orders.services import fee_waive
from tests.factories import CollectionCaseFactory, CustomerFactory, UserFactory, delivered_order

LIST = reverse("audit:event_list")
EXPORT = reverse("audit:event_export")
MOMENT = datetime.datetime(2026, 3, 10, 1, 30, tzinfo=datetime.UTC)


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]


@pytest.fixture
def reassigned(db, manager):
    """A case handed from nobody to agent 王芳, by the manager, at MOMENT."""
    agent = UserFactory(username="wangfang", first_name="芳", last_name="王", roles=[Role.COLLECTIONS_AGENT])
    case = CollectionCaseFactory()
    event = AuditEvent.objects.create(
        created_at=MOMENT,
        action=AuditAction.CHANGED,
        actor=manager,
        actor_username=manager.username,
        content_type=ContentType.objects.get_for_model(CollectionCase),
        object_id=str(case.pk),
        object_repr=str(case),
        changes={"assigned_agent": [None, str(agent.pk)]},
        reason="holiday cover",
    )
    return {"agent": agent, "case": case, "event": event}


def _cells(response, column: str, event=None) -> list[str]:
    rows = response.context["table"].page.object_list
    return [str(row.get_cell(column)) for row in rows if event is None or row.record.pk == event.pk]


def test_people_and_related_rows_by_name_not_id(verified_client, manager, reassigned):
    manager.first_name, manager.last_name = "强", "李"
    manager.save()

    response = verified_client(manager).get(LIST, {"action": "changed", "object_id": reassigned["case"].pk})

    event = reassigned["event"]
    assert _cells(response, "actor_username", event) == ["李强 (manager)"]
    [changes] = _cells(response, "changes", event)
    assert "王芳 (wangfang)" in changes and f"→ {reassigned['agent'].pk}<" not in changes
    assert "holiday cover" in response.text


def test_a_one_to_one_relation_is_named_too(verified_client, manager, db):
    customer = CustomerFactory(name="张伟")

    response = verified_client(manager).get(LIST, {"action": "created", "object_type": _type_id(CreditLine)})

    [changes] = [cell for cell in _cells(response, "changes") if "张伟" in cell]
    assert f"张伟 ({customer.platform_user_id})" in changes


def _type_id(model) -> int:
    return ContentType.objects.get_for_model(model).pk


def test_the_export_keeps_usernames_ids_and_field_names(verified_client, manager, reassigned):
    response = verified_client(manager).get(EXPORT, {"action": "changed", "object_id": reassigned["case"].pk})

    [row] = [row for row in _rows(response) if row[1] == "manager"]
    assert row[1] == "manager" and row[2] == "changed" and row[3] == "collectioncase"
    assert row[4] == str(reassigned["case"].pk)
    assert row[6] == f"assigned_agent: — → {reassigned['agent'].pk}"
    assert row[7] == "holiday cover"


@pytest.mark.parametrize(
    ("zone", "shown", "exported"),
    [
        ("Asia/Shanghai", "2026-03-10 09:30:00", "2026-03-10T09:30:00+08:00"),
        ("America/New_York", "2026-03-09 21:30:00", "2026-03-09T21:30:00-04:00"),
    ],
)
def test_times_in_the_readers_zone_named_in_the_heading(verified_client, reassigned, zone, shown, exported):
    reader = UserFactory(roles=[Role.COLLECTIONS_MANAGER], timezone=zone, language="en")
    client = verified_client(reader)

    page = client.get(LIST, {"action": "changed"})
    file = client.get(EXPORT, {"action": "changed"})

    assert f">{shown}</td>" in page.text  # (a cell rendered after the response would be in the default zone)
    assert f"When ({zone})" in page.text
    assert [row[0] for row in _rows(file) if row[7] == "holiday cover"] == [exported]
    assert zoneinfo.ZoneInfo(zone)  # a zone the reader may hold


def test_an_export_in_the_trail_reads_as_a_sentence(verified_client, manager, db):
    reader = UserFactory(roles=[Role.COLLECTIONS_MANAGER], language="zh-hans")
    client = verified_client(reader)
    client.get(EXPORT, {"action": "login"})

    [changes] = _cells(client.get(LIST, {"action": "export"}), "changes")

    assert "导出列表 audit-events 共 1 行。筛选条件：action: login。" in changes  # the reader's sign-in
    assert "{" not in changes and "rows:" not in changes


def test_a_long_value_is_one_line_with_the_whole_on_hover(verified_client, manager, db):
    long_name = "a" * 75 + "b" * 75
    AuditEvent.objects.create(
        action=AuditAction.LOGIN_FAILED, actor_username=long_name, object_repr="o" * 200
    )

    html = verified_client(manager).get(LIST, {"action": "login_failed"}).text

    assert f'<td  title="{long_name}">{long_name}</td>' in html
    assert f'title="{"o" * 200}"' in html
    assert '<td class="wrap" title=' not in html  # a wrapping column needs no hover text


# --- Event payloads as sentences ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload", "english", "chinese"),
    [
        (
            "placed",
            {"amount": "1000.00", "plan": "instalments_3"},
            "Placed for ¥1,000.00",
            "下单金额 ¥1,000.00",
        ),
        (
            "declined",
            {"reasons": ["over_available_limit"]},
            "Declined: the amount is over",
            "拒绝：金额超过可用额度",
        ),
        (
            "delivered",
            {"installments": 3, "first_due": "2026-04-10"},
            "a schedule of 3 instalments was built, the first due on 2026-04-10",
            "已生成 3 期还款计划",
        ),
        (
            "payment_allocated",
            {
                "payment": "PAY-1",
                "kind": "payment",
                "lines": [[1, "late_fee", "1.19"], [1, "principal", "333.34"]],
            },
            "instalment 1 Late fee ¥1.19; instalment 1 Principal ¥333.34",
            "第 1 期滞纳金 ¥1.19",
        ),
        (
            "payment_reversed",
            {"payment": "PAY-1", "reason": "bounced"},
            "Payment PAY-1 reversed. Reason: bounced.",
            "还款 PAY-1 已冲正。原因：bounced。",
        ),
        (
            "returned",
            {"amount": "400.00", "full": False, "reason": "goods returned", "refunded": "0.00"},
            "returned in part; ¥0.00 became credit balance. Reason: goods returned.",
            "部分退货，货值 ¥400.00；¥0.00 转为贷方余额。原因：退货。",
        ),
        ("hold_opened", {"hold": "return"}, "Collection paused (", "暂停催收（"),
        (
            "hold_closed",
            {
                "kind": "dispute",
                "since": "2026-03-20",
                "until": "2026-04-05",
                "paused": [[1, 16]],
                "outcome": "",
            },
            "from 2026-03-20 to 2026-04-05 is closed. instalment 1 paused 16 days.",
            "第 1 期暂停 16 天",
        ),
        (
            "status_changed",
            {"old": "delivered", "new": "completed", "reason": "paid in full"},
            "Status changed from",
            "原因：已全部还清。",
        ),
    ],
)
def test_order_events_read_as_sentences(kind, payload, english, chinese):
    with translation.override("en"):
        assert english in order_event_sentence(kind, payload)
    with translation.override("zh-hans"):
        assert chinese in order_event_sentence(kind, payload)


@pytest.mark.parametrize(
    ("kind", "payload", "chinese"),
    [
        (
            "opened",
            {"by": "sweep", "date": "2026-03-11", "dpd": 1, "bucket": "m1"},
            "夜间批处理开案（逾期 1 天",
        ),
        ("opened", {"days_past_due": 45, "bucket": "m2"}, "开案（逾期 45 天"),
        ("ageing", {"by": "sweep", "date": "2026-04-10", "old": "m1", "new": "m2", "dpd": 31}, "逾期 31 天"),
        ("assigned", {"agent": "wangfang", "rule": "round robin"}, "分配给 wangfang。规则：轮流分配。"),
        (
            "closed",
            {
                "old": "open",
                "new": "resolved",
                "reason": "nothing overdue",
                "by": "sweep",
                "date": "2026-04-01",
            },
            "原因：已无逾期。",
        ),
    ],
)
def test_case_events_read_as_sentences(kind, payload, chinese):
    with translation.override("zh-hans"):
        sentence = case_event_sentence(kind, payload)
    assert chinese in sentence and "{" not in sentence and "_" not in sentence


def test_a_payload_its_renderer_cannot_read_is_shown_as_stored():
    with translation.override("en"):
        assert order_event_sentence("placed", {"amount": "not money"}) == "amount: not money"
        assert case_event_sentence("visit_done", {"agent": "li"}) == "agent: li"
        assert order_event_sentence("shipped", {}) == "Shipped."
        assert audit_details_sentence("login", {}) == ""
        assert case_event_sentence("opened", None) == ""


def test_the_admin_timelines_show_sentences(admin_client, db):
    order = delivered_order(amount=Decimal("1000.00"))
    installment = order.installments.get(sequence=1)
    approver = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    fee_waive(
        installment=installment,
        component="fee",
        amount=Decimal("6.00"),
        reason="goodwill",
        requested_by=UserFactory(),
        approved_by=approver,
    )
    case = CollectionCaseFactory(customer=order.customer)
    CaseEvent.objects.create(
        case=case, type=CaseEventType.ASSIGNED, payload={"agent": "wangfang", "rule": "round robin"}
    )

    with translation.override("zh-hans"):
        waived = order_event_sentence(
            "fee_waived", {"sequence": 1, "component": "fee", "amount": "6.00", "reason": "goodwill"}
        )
        assigned = case_event_sentence("assigned", {"agent": "wangfang", "rule": "round robin"})
    assert waived == "减免第 1 期手续费 ¥6.00。原因：goodwill。"
    assert assigned == "分配给 wangfang。规则：轮流分配。"
    pages = {
        "order": admin_client.get(reverse("admin:orders_order_change", args=[order.pk])),
        "order events": admin_client.get(reverse("admin:orders_orderevent_changelist")),
        "case": admin_client.get(reverse("admin:collections_collectioncase_change", args=[case.pk])),
        "case events": admin_client.get(reverse("admin:collections_caseevent_changelist")),
    }

    assert all(page.status_code == 200 for page in pages.values())
    for name in ("order", "order events"):
        assert waived in pages[name].text, name
        assert "&quot;component&quot;" not in pages[name].text, name
    for name in ("case", "case events"):
        assert assigned in pages[name].text, name
    assert (
        OrderEvent.objects.filter(order=order, type=OrderEventType.FEE_WAIVED).get().payload["component"]
        == "fee"
    )

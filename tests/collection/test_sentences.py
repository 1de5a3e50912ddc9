"""The case timeline's sentences: a case's opening reads as a sentence whoever opened it (the
sweep, a person in the data admin, the demo book), naming the agent, never an id; and every event
the services write reads as a sentence, never as its stored `key: value` pairs."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from accounts.roles import Role
from bnpl_admin.sentences import plain
from collection.models import CaseEvent, CaseEventType, CollectionCase
from collection.sentences import case_event_sentence
from collection.services import case_assign, case_hold, case_note_add, case_open, case_release, cases_age
from tests.factories import CustomerFactory, UserFactory


@pytest.mark.parametrize(
    ("payload", "english", "chinese"),
    [
        # The nightly sweep (collection.services.cases_age).
        (
            {"by": "sweep", "date": "2026-03-11", "dpd": 3, "bucket": "M1"},
            "Case opened by the nightly sweep of 2026-03-11 (3 days past due, M1 (1–30)).",
            "2026-03-11 夜间批处理开案（逾期 3 天，M1 (1–30)）。",
        ),
        (
            {"by": "sweep", "dpd": 1, "bucket": "M1"},
            "Case opened by the nightly sweep (1 day past due, M1 (1–30)).",
            "夜间批处理开案（逾期 1 天，M1 (1–30)）。",
        ),
        # A person in the data admin (collection.services.case_open, reason "admin").
        (
            {"assigned_agent": 7, "agent": "wangfang", "agent_name": "王芳", "reason": "admin"},
            "Case opened in the data admin, assigned to 王芳.",
            "在数据管理后台开案，分配给 王芳。",
        ),
        (
            {"assigned_agent": None, "agent": None, "agent_name": None, "reason": "admin"},
            "Case opened in the data admin, unassigned.",
            "在数据管理后台开案，未分配。",
        ),
        # case_open from code, with a reason of its own; a name without agent_name (the username).
        (
            {"assigned_agent": 7, "agent": "wangfang", "reason": "transferred from the old system"},
            "Case opened, assigned to wangfang. Reason: transferred from the old system.",
            "开案，分配给 wangfang。原因：transferred from the old system。",
        ),
        ({"assigned_agent": None, "reason": ""}, "Case opened, unassigned.", "开案，未分配。"),
        # Written before the name was kept: the id alone is never shown.
        ({"assigned_agent": 1, "reason": "admin"}, "Case opened in the data admin.", "在数据管理后台开案。"),
        ({"assigned_agent": 1, "reason": ""}, "Case opened.", "开案。"),
        # The demo book (demo.seeder).
        (
            {"days_past_due": 45, "bucket": "M2"},
            "Case opened (45 days past due, M2 (31–60)).",
            "开案（逾期 45 天，M2 (31–60)）。",
        ),
    ],
)
def test_an_opened_case_reads_as_a_sentence_in_both_languages(payload, english, chinese):
    with translation.override("en"):
        assert case_event_sentence("opened", payload) == english
    with translation.override("zh-hans"):
        assert case_event_sentence("opened", payload) == chinese


def test_case_open_keeps_the_agents_name_so_the_timeline_can_say_who(db):
    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    agent = UserFactory(username="wangfang", first_name="芳", last_name="王", roles=[Role.COLLECTIONS_AGENT])
    assigned = case_open(customer=CustomerFactory(), agent=agent, by=manager, reason="admin")
    pooled = case_open(customer=CustomerFactory(), by=manager, reason="admin")

    event = CaseEvent.objects.get(case=assigned, type=CaseEventType.OPENED)
    assert event.payload == {
        "assigned_agent": agent.pk,
        "agent": "wangfang",
        "agent_name": "王芳",
        "reason": "admin",
    }
    with translation.override("en"):
        assert (
            case_event_sentence(event.type, event.payload)
            == "Case opened in the data admin, assigned to 王芳."
        )
        pooled_event = CaseEvent.objects.get(case=pooled, type=CaseEventType.OPENED)
        assert case_event_sentence(pooled_event.type, pooled_event.payload) == (
            "Case opened in the data admin, unassigned."
        )


def test_every_case_event_the_services_write_reads_as_a_sentence(db):
    """The events of a case's ordinary life, written by the services as they are in practice: none
    falls back to its stored key: value pairs, in either language (tests/visits covers the visits',
    tests/settlements the arrangements')."""
    from tests.visits.builders import at, done_visit, requested_visit
    from visits.services import visit_cancel, visit_reject

    manager = UserFactory(roles=[Role.COLLECTIONS_MANAGER])
    agent = UserFactory(first_name="芳", last_name="王", roles=[Role.COLLECTIONS_AGENT])
    day = datetime.date(2026, 3, 10)

    case = case_open(customer=CustomerFactory(), agent=agent, by=manager, reason="admin")
    case_open(customer=CustomerFactory(), by=manager)
    case_assign(case=case, agent=UserFactory(roles=[Role.COLLECTIONS_AGENT]), by=manager, reason="admin")
    case_assign(case=case, agent=None, by=manager)
    case_note_add(case=case, by=manager, text="客户要求书面通知")
    case_hold(case=case, by=manager, reason="客户投诉处理中")
    case_release(case=CollectionCase.objects.get(pk=case.pk), by=manager, reason="投诉已处理")
    swept = CustomerFactory()
    cases_age(
        on=day,
        customer_from=swept.pk,
        customer_to=swept.pk + 1,
        dpd_by_customer={swept.pk: 3},
        still_owing=set(),
    )
    done_visit(day=day, photos=[])
    visit_reject(visit=requested_visit(day=day), by=manager, reason="先电话联系")
    visit_cancel(visit=requested_visit(day=day), by=manager, reason="客户已还款", now=at(day, 9))

    events = list(CaseEvent.objects.order_by("id"))
    kinds = {event.type for event in events}
    assert {
        CaseEventType.OPENED,
        CaseEventType.ASSIGNED,
        CaseEventType.NOTE,
        CaseEventType.STATUS_CHANGED,
        CaseEventType.VISIT_REQUESTED,
        CaseEventType.VISIT_APPROVED,
        CaseEventType.VISIT_CHECKED_IN,
        CaseEventType.VISIT_DONE,
        CaseEventType.VISIT_REJECTED,
        CaseEventType.VISIT_CANCELLED,
    } <= kinds
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for event in events:
                sentence = case_event_sentence(event.type, event.payload)
                assert sentence and sentence != plain(event.payload), (event.type, event.payload)
                assert "assigned_agent" not in sentence and "{" not in sentence

"""The case timeline reads the visits' events as sentences, in Chinese too."""

import pytest
from django.utils import translation

from collection.sentences import case_event_sentence


@pytest.mark.parametrize(
    ("kind", "payload", "chinese"),
    [
        (
            "visit_requested",
            {"visit": 1, "proposed_date": "2026-03-12", "reason": "失联"},
            "已申请 2026-03-12 上门走访",
        ),
        (
            "visit_approved",
            {"visit": 1, "scheduled_for": "2026-03-12T10:00:00+08:00", "field_agents": ["field1", "field2"]},
            "field1, field2",
        ),
        ("visit_rejected", {"visit": 1, "reason": "先联系紧急联系人"}, "驳回"),
        ("visit_checked_in", {"visit": 1, "position_refused": True}, "位置被拒绝提供"),
        ("visit_done", {"visit": 1, "outcome": "promise_made", "photos": 1}, "作出还款承诺"),
        ("visit_cancelled", {"visit": 1, "was": "requested", "reason": "客户已还款"}, "上门走访申请已取消"),
        ("visit_cancelled", {"visit": 1, "was": "scheduled", "reason": "已还款"}, "已排期的上门走访已取消"),
    ],
)
def test_visit_events_read_as_chinese_sentences(kind, payload, chinese):
    with translation.override("zh-hans"):
        sentence = case_event_sentence(kind, payload)
    assert chinese in sentence and "_" not in sentence and "{" not in sentence

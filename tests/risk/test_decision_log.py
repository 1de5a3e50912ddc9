"""Scores written in bulk keep one hash chain with the entries appended one at a time."""

from __future__ import annotations

import pytest

from decisionlog.models import GENESIS_HASH, DecisionKind, DecisionLogEntry
from decisionlog.services import chain_digest, content_digest, decision_log_append, decision_log_append_many

pytestmark = pytest.mark.django_db


def test_bulk_appends_continue_the_chain_and_hash_like_single_ones():
    decision_log_append(
        kind=DecisionKind.SCORECARD_ACTIVATION, subject="risk.scorecardversion:1", content={"a": 1}
    )
    decision_log_append_many(
        entries=[
            (DecisionKind.SCORE, f"accounts.customer:{i}", {"score": 500 + i, "reasons": ["x"]})
            for i in range(3)
        ],
        canonical=True,
    )
    decision_log_append_many(entries=[(DecisionKind.LIMIT_CHANGE, "accounts.customer:1", {"new": "1.00"})])
    decision_log_append(kind=DecisionKind.LIMIT_CHANGE, subject="accounts.customer:2", content={"b": 2})
    previous = GENESIS_HASH
    entries = list(DecisionLogEntry.objects.order_by("sequence"))
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5, 6]
    for entry in entries:
        digest = content_digest(
            sequence=entry.sequence,
            recorded_at=entry.recorded_at,
            kind=entry.kind,
            subject=entry.subject,
            actor_id=entry.actor_id,
            content=entry.content,
        )
        assert (entry.content_hash, entry.previous_hash) == (digest, previous)
        assert entry.entry_hash == chain_digest(previous_hash=previous, content_hash=digest)
        previous = entry.entry_hash

"""Scores written in bulk keep one hash chain with the entries appended one at a time."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

from accounts.models import Grade
from decisionlog.models import GENESIS_HASH, DecisionKind, DecisionLogEntry
from decisionlog.services import (
    canonical_content,
    canonical_text,
    chain_digest,
    content_digest,
    decision_log_append,
    decision_log_append_many,
    decision_log_verify,
)
from risk.models import LimitChange, LimitChangeKind, LimitChangeStatus
from risk.scoring import LoadedCard, LoadedCharacteristic
from risk.services import ScoreTexts, _limit_entry, _score_content

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


CONTENTS = [
    {"score": 512, "grade": "E", "points": {"b": 1, "a": -3}, "reasons": ["channel_mix", "渠道"]},
    {"share": 0.1, "none": None, "nested": {"z": [1, {"y": "é\u2028"}], "a": True}, "quote": 'say "hi"\\'},
    {},
]


def test_contents_given_as_canonical_text_are_hashed_and_stored_like_dicts():
    decision_log_append_many(
        entries=[(DecisionKind.SCORE, f"accounts.customer:{i}", c) for i, c in enumerate(CONTENTS)],
        canonical=True,
    )
    decision_log_append_many(
        entries=[
            (DecisionKind.SCORE, f"accounts.customer:{i}", canonical_text(c)) for i, c in enumerate(CONTENTS)
        ]
    )
    entries = list(DecisionLogEntry.objects.order_by("sequence"))
    assert [e.content for e in entries] == CONTENTS + CONTENTS
    assert decision_log_verify().ok  # each content hash recomputed from the stored content


def test_a_score_entry_built_around_the_score_rows_texts_is_its_canonical_text():
    points, reasons = {"months_on_book": 0, "channel_mix": -5}, ["months_on_book", "channel_mix"]
    row = (7, 3, datetime.date(2026, 3, 20), None, 512, Grade.E)
    text = _score_content(
        score_id=41,
        version_id=3,
        day=json.dumps("2026-03-20"),
        row=row,
        points=canonical_text(points),
        reasons=canonical_text(reasons),
    )
    assert text == canonical_text(
        {
            "score_id": 41,
            "version": 3,
            "business_date": "2026-03-20",
            "score": 512,
            "grade": "E",
            "points": points,
            "reasons": reasons,
        }
    )


def test_a_cards_score_texts_are_the_canonical_texts_of_its_points_and_reasons():
    card = LoadedCard(
        version_id=1,
        base_points=500,
        characteristics=tuple(LoadedCharacteristic(code, ()) for code in ("months", "a%d", "渠道", "months")),
        bands=(),
    )
    texts = ScoreTexts(card)
    points = {"months": -5, "a%d": 12, "渠道": 0}
    assert texts.points(points) == canonical_text(points)
    assert texts.points({"other": 1}) == canonical_text({"other": 1})
    for reasons in ([], ["渠道"], ["months", "a%d", "渠道"], ["not on the card"]):
        assert texts.reasons(reasons) == canonical_text(reasons)


def test_a_limit_change_entry_encoded_for_a_batch_is_the_canonical_text_of_its_content():
    change = LimitChange(
        pk=9,
        customer_id=4,
        business_date=datetime.date(2026, 3, 20),
        kind=LimitChangeKind.DECREASE,
        status=LimitChangeStatus.APPLIED,
        old_limit=Decimal("20000.00"),
        new_limit=Decimal("5000.50"),
        old_grade="A",
        new_grade="C",
        reason="重新评分 2026-03-20",
    )
    kind, subject, content = _limit_entry(change)
    assert _limit_entry(change, encoded=True) == (kind, subject, canonical_text(canonical_content(content)))

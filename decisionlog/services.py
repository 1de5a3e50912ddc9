"""Appending to the decision log (the only writer) and the hashes it is built from."""

from __future__ import annotations

import datetime
import hashlib
import json
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bnpl_admin.bulk import bulk_insert_values

from .models import GENESIS_HASH, ChainHead, DecisionLogEntry


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in a decision log entry")


def canonical_content(content: dict) -> dict:
    """The content as stored: JSON types only (Decimals and dates as strings)."""
    return json.loads(json.dumps(content, default=_json_default))


def content_digest(
    *, sequence: int, recorded_at: datetime.datetime, kind: str, subject: str, actor_id, content: dict
) -> str:
    """SHA-256 of the entry's canonical form: sorted keys, no spaces, UTC time in microseconds."""
    body = {
        "sequence": sequence,
        "recorded_at": recorded_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "kind": kind,
        "subject": subject,
        "actor": actor_id,
        "content": content,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def chain_digest(*, previous_hash: str, content_hash: str) -> str:
    return hashlib.sha256(f"{previous_hash}{content_hash}".encode()).hexdigest()


def decision_log_append(*, kind: str, subject: str, content: dict, actor=None) -> DecisionLogEntry:
    """Append one entry to the chain, in the caller's transaction (it commits or rolls back with
    the decision it records). Concurrent appends wait on the head row, so there is one chain."""
    with transaction.atomic():
        ChainHead.objects.get_or_create(pk=1)
        head = ChainHead.objects.select_for_update().get(pk=1)
        sequence = head.sequence + 1
        recorded_at = timezone.now()
        stored = canonical_content(content)
        content_hash = content_digest(
            sequence=sequence,
            recorded_at=recorded_at,
            kind=kind,
            subject=subject,
            actor_id=getattr(actor, "pk", None),
            content=stored,
        )
        previous_hash = head.head_hash or GENESIS_HASH
        entry = DecisionLogEntry.objects.create(
            sequence=sequence,
            recorded_at=recorded_at,
            kind=kind,
            subject=subject,
            actor=actor,
            content=stored,
            content_hash=content_hash,
            previous_hash=previous_hash,
            entry_hash=chain_digest(previous_hash=previous_hash, content_hash=content_hash),
        )
        head.sequence = sequence
        head.head_hash = entry.entry_hash
        head.save(update_fields=["sequence", "head_hash"])
    return entry


def subject_of(obj) -> str:
    """The subject label of a model instance: "<app_label>.<model>:<pk>"."""
    return f"{obj._meta.label_lower}:{obj.pk}"


# --- Many entries at once (nightly rescoring) -------------------------------------------------


_ENTRY_FIELDS = (
    "sequence",
    "recorded_at",
    "kind",
    "subject",
    "actor_id",
    "content",
    "content_hash",
    "previous_hash",
    "entry_hash",
)


def decision_log_append_many(*, entries, actor=None, canonical: bool = False) -> int:
    """Append entries (each a (kind, subject, content) tuple, in order) to the chain in one lock and
    one COPY, in the caller's transaction: the same hashes as one decision_log_append per entry,
    without four statements per entry (risk.services.customers_rescore scores the whole book each
    night). `canonical=True` says the contents hold JSON types only (no Decimal or date), which
    saves a round trip through JSON per entry. Returns how many were appended."""
    entries = list(entries)
    if not entries:
        return 0
    actor_id = getattr(actor, "pk", None)
    with transaction.atomic():
        ChainHead.objects.get_or_create(pk=1)
        head = ChainHead.objects.select_for_update().get(pk=1)
        sequence, previous_hash = head.sequence, head.head_hash or GENESIS_HASH
        recorded_at = timezone.now()
        rows = []
        for kind, subject, content in entries:
            sequence += 1
            stored = content if canonical else canonical_content(content)
            content_hash = content_digest(
                sequence=sequence,
                recorded_at=recorded_at,
                kind=kind,
                subject=subject,
                actor_id=actor_id,
                content=stored,
            )
            entry_hash = chain_digest(previous_hash=previous_hash, content_hash=content_hash)
            rows.append(
                (
                    sequence,
                    recorded_at,
                    kind,
                    subject,
                    actor_id,
                    stored,
                    content_hash,
                    previous_hash,
                    entry_hash,
                )
            )
            previous_hash = entry_hash
        bulk_insert_values(DecisionLogEntry, _ENTRY_FIELDS, rows)
        head.sequence, head.head_hash = sequence, previous_hash
        head.save(update_fields=["sequence", "head_hash"])
    return len(rows)

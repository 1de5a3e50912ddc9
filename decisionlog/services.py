"""Appending to the decision log (the only writer), the hashes it is built from, and verifying
the whole chain (`decision_log_verify`, run by `manage.py verify_decision_log` and the console)."""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bnpl_admin.bulk import JsonText, bulk_insert_values

from .models import GENESIS_HASH, ChainHead, ChainVerification, DecisionLogEntry, VerificationStatus


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in a decision log entry")


def canonical_content(content: dict) -> dict:
    """The content as stored: JSON types only (Decimals and dates as strings)."""
    return json.loads(json.dumps(content, default=_json_default))


def _utc_text(recorded_at: datetime.datetime) -> str:
    return recorded_at.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def content_digest(
    *, sequence: int, recorded_at: datetime.datetime, kind: str, subject: str, actor_id, content: dict
) -> str:
    """SHA-256 of the entry's canonical form: sorted keys, no spaces, UTC time in microseconds."""
    body = {
        "sequence": sequence,
        "recorded_at": _utc_text(recorded_at),
        "kind": kind,
        "subject": subject,
        "actor": actor_id,
        "content": content,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_text(content) -> JsonText:
    """JSON text of stored content in the canonical form the hashes are built from (sorted keys,
    no spaces, not ASCII-escaped): what decision_log_append_many takes already encoded."""
    return JsonText(json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


_dumps = json.JSONEncoder(ensure_ascii=False).encode  # a string, an int or None, as in the body


def _text_digest(*, sequence: int, recorded: str, kind: str, subject: str, actor: str, content: str) -> str:
    """content_digest of content given as canonical text: the same body, its keys in sorted
    order, with the content's text put in as it is instead of encoding the content again.
    `recorded`, `kind` and `actor` come encoded (_dumps), as they repeat from entry to entry."""
    text = (
        f'{{"actor":{actor},"content":{content},"kind":{kind},'
        f'"recorded_at":{recorded},"sequence":{sequence:d},"subject":{_dumps(subject)}}}'
    )
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


def decision_log_append_many(*, entries, actor=None, canonical: bool = False) -> list[int]:
    """Append entries (each a (kind, subject, content) tuple, in order) to the chain in one lock and
    one COPY, in the caller's transaction: the same hashes as one decision_log_append per entry,
    without four statements per entry (nightly rescoring scores the whole book; a bulk restriction
    logs every line). `canonical=True` says the contents hold JSON types only (no Decimal or date),
    which saves a round trip through JSON per entry. A content may also be given already encoded,
    as the JsonText of canonical_text (rescoring builds its score entries from the texts of the
    score row): it is hashed and stored as it is. Returns the entries' sequence numbers, in order.

    The chain's head stays locked until the caller's transaction ends: a caller that does other
    work in the same transaction appends last, so that parallel writers (rescoring batches) wait
    for one another only for the append and the commit."""
    entries = list(entries)
    if not entries:
        return []
    actor_id = getattr(actor, "pk", None)
    with transaction.atomic():
        ChainHead.objects.get_or_create(pk=1)
        head = ChainHead.objects.select_for_update().get(pk=1)
        sequence, previous_hash = head.sequence, head.head_hash or GENESIS_HASH
        recorded_at = timezone.now()
        recorded, actor, kinds = _dumps(_utc_text(recorded_at)), _dumps(actor_id), {}
        rows = []
        for kind, subject, content in entries:
            sequence += 1
            if isinstance(content, JsonText):
                stored = content
            else:
                stored = canonical_text(content if canonical else canonical_content(content))
            kind_text = kinds.get(kind) or kinds.setdefault(kind, _dumps(kind))
            content_hash = _text_digest(
                sequence=sequence,
                recorded=recorded,
                kind=kind_text,
                subject=subject,
                actor=actor,
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
    return [row[0] for row in rows]


# --- Verifying the chain -----------------------------------------------------------------------


class BreakReason:
    """Why verification stopped at an entry (stored in ChainVerification.reason)."""

    REMOVED = "removed"  # a sequence number is missing: the entry was deleted
    REORDERED = "reordered"  # the entry's predecessor hash is another entry's, not the one before it
    PREDECESSOR = "predecessor"  # the predecessor hash matches no entry: the one before was changed
    EDITED = "edited"  # the content no longer gives the stored content hash
    HASH_EDITED = "hash_edited"  # the stored hashes do not chain: a hash column was rewritten
    HEAD = "head"  # the chain ends before (or differs from) the head row: last entries removed


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_hash: str
    broken_sequence: int | None = None
    broken_id: int | None = None
    reason: str = ""
    detail: str = ""


# Columns the hashes are built from (and the id, to name the row).
_VERIFY_FIELDS = (
    "id",
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


def _entries_in_order(batch_size: int) -> Iterator[DecisionLogEntry]:
    """Every entry in sequence order, `batch_size` rows at a time by keyset (constant memory on
    any database, and no long-lived cursor across a big chain)."""
    after = -1
    while True:
        batch = list(
            DecisionLogEntry.objects.filter(sequence__gt=after)
            .order_by("sequence")
            .only(*_VERIFY_FIELDS)[:batch_size]
        )
        if not batch:
            return
        yield from batch
        after = batch[-1].sequence


def decision_log_verify(*, batch_size: int = 5000) -> ChainReport:
    """Recompute the whole chain in sequence order and return the first entry that is broken,
    with why: removed (a gap in the sequence, or the chain ending before the head), reordered
    (its predecessor hash belongs to another entry), edited (its content no longer matches its
    hash), or its hashes rewritten. Reads only; holds no lock (entries appended meanwhile are
    past the point where it read the head, and are checked next time)."""
    head = ChainHead.objects.filter(pk=1).first()
    head_sequence = head.sequence if head else 0
    head_hash = head.head_hash if head else GENESIS_HASH
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    count = 0

    def broken(entry, reason: str, detail: str, *, sequence=None) -> ChainReport:
        return ChainReport(
            ok=False,
            entries=count,
            head_hash=head_hash,
            broken_sequence=sequence if sequence is not None else entry.sequence,
            broken_id=getattr(entry, "id", None),
            reason=reason,
            detail=detail,
        )

    for entry in _entries_in_order(batch_size):
        if entry.sequence > head_sequence:
            break  # appended after the head was read: checked next time
        if entry.sequence != expected_sequence:
            return broken(
                None,
                BreakReason.REMOVED,
                _("Entry #%(missing)s is missing: entry #%(found)s follows entry #%(before)s.")
                % {"missing": expected_sequence, "found": entry.sequence, "before": expected_sequence - 1},
                sequence=expected_sequence,
            )
        if entry.previous_hash != expected_previous:
            other = DecisionLogEntry.objects.filter(entry_hash=entry.previous_hash).only("sequence").first()
            if other is not None:
                return broken(
                    entry,
                    BreakReason.REORDERED,
                    _(
                        "Entry #%(sequence)s is out of order: it was written after the entry now "
                        "numbered #%(other)s, not after #%(before)s."
                    )
                    % {"sequence": entry.sequence, "other": other.sequence, "before": entry.sequence - 1},
                )
            return broken(
                entry,
                BreakReason.PREDECESSOR,
                _(
                    "Entry #%(sequence)s does not follow entry #%(before)s: the entry before it was "
                    "removed or its hash changed."
                )
                % {"sequence": entry.sequence, "before": entry.sequence - 1},
            )
        recomputed = content_digest(
            sequence=entry.sequence,
            recorded_at=entry.recorded_at,
            kind=entry.kind,
            subject=entry.subject,
            actor_id=entry.actor_id,
            content=entry.content,
        )
        if recomputed != entry.content_hash:
            return broken(
                entry,
                BreakReason.EDITED,
                _("Entry #%(sequence)s was edited: its content no longer gives its stored hash.")
                % {"sequence": entry.sequence},
            )
        if (
            chain_digest(previous_hash=entry.previous_hash, content_hash=entry.content_hash)
            != entry.entry_hash
        ):
            return broken(
                entry,
                BreakReason.HASH_EDITED,
                _("Entry #%(sequence)s has a rewritten entry hash.") % {"sequence": entry.sequence},
            )
        expected_previous = entry.entry_hash
        expected_sequence += 1
        count += 1
    if count != head_sequence or expected_previous != head_hash:
        return ChainReport(
            ok=False,
            entries=count,
            head_hash=head_hash,
            broken_sequence=count + 1,
            reason=BreakReason.HEAD,
            detail=_(
                "The chain ends at entry #%(last)s but its head records %(head)s entries: the last "
                "entries were removed or the head was changed."
            )
            % {"last": count, "head": head_sequence},
        )
    return ChainReport(ok=True, entries=count, head_hash=head_hash)


def chain_verification_start(*, by=None, inline: bool = False) -> ChainVerification:
    """A verification requested from the console: recorded now, run by a Celery task on commit
    (or here, `inline`, as the demo seeder does without a worker)."""
    from .tasks import chain_verification_run_task

    verification = ChainVerification.objects.create(requested_by=by)
    if inline:
        return chain_verification_run(verification=verification)
    transaction.on_commit(lambda: chain_verification_run_task.delay(verification.pk), robust=True)
    return verification


def chain_verification_run(*, verification: ChainVerification) -> ChainVerification:
    """Run the verification and record its result (idempotent: a finished one is left as it is)."""
    verification.refresh_from_db()
    if verification.status != VerificationStatus.RUNNING:
        return verification
    started = time.monotonic()
    try:
        report = decision_log_verify()
    except Exception as exc:  # recorded so the page says so, then raised for the worker's log
        verification.status = VerificationStatus.FAILED
        verification.detail = str(exc)[:2000]
        verification.finished_at = timezone.now()
        verification.save()
        raise
    verification.status = VerificationStatus.OK if report.ok else VerificationStatus.BROKEN
    verification.entries = report.entries
    verification.head_hash = report.head_hash
    verification.broken_sequence = report.broken_sequence
    verification.reason = report.reason
    verification.detail = report.detail
    verification.seconds = Decimal(f"{time.monotonic() - started:.3f}")
    verification.finished_at = timezone.now()
    verification.save()
    return verification

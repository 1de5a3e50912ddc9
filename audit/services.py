"""Every write to the audit trail: audit_record() for acts, history_records_audit() for changes.

Other code calls audit_record() for what django-simple-history cannot see, such as revealing
personal data ("pii_reveal") or exporting a list ("export"). Changes to models are recorded
from their history rows by audit.receivers, in the transaction of the change itself, so a
change that is rolled back leaves no event behind.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext as _
from simple_history.utils import get_m2m_reverse_field_name

from accounts.masking import scrub_text
from accounts.middleware import client_ip_address
from bnpl_admin.bulk import bulk_insert_rows
from bnpl_admin.errors import DomainError

from .models import HISTORY_ACTIONS, AuditAction, AuditEvent
from .privacy import trail_value

# Columns django-simple-history adds to every history table: not fields of the model.
_HISTORY_COLUMNS = frozenset(
    {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}
)


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, list] | None = None,
    reason: str = "",
    payload: dict | None = None,
    request=None,
) -> AuditEvent:
    """Record one act of a person (or of the system, with actor=None) in the audit trail.

    `changes` is {"field": [old, new]} for a change to a model without a history table (a
    beat schedule, say); personal data in it is masked and secrets dropped, as for history rows.
    """
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(
        action=action,
        actor=actor if _is_user(actor) else None,
        actor_username=_username(actor),
        changes={
            name: [_value(name, old), _value(name, new)] for name, (old, new) in (changes or {}).items()
        },
        reason=_text(reason, 500),
        payload=_json_safe(payload or {}),
        **_object_fields(obj),
        **_request_fields(request),
    )
    event.save()
    return event


# The personal data a reveal may show (DESIGN.md, "Audit and privacy"): model label → fields.
REVEALABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "accounts.customer": ("phone", "national_id"),
    "accounts.emergencycontact": ("phone",),
}
REVEAL_PERMISSION = "accounts.reveal_pii"


@transaction.atomic
def pii_reveal(*, user, obj: models.Model, field: str, reason: str, request=None) -> str:
    """The unmasked value of one personal data field, after recording who asked and why."""
    if field not in REVEALABLE_FIELDS.get(obj._meta.label_lower, ()):
        raise DomainError(_("This field cannot be revealed."), code="not_revealable")
    if not user.has_perm(REVEAL_PERMISSION):
        raise DomainError(_("You may not reveal personal data."), code="not_allowed")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason for revealing personal data."), code="reason_required")
    audit_record(
        actor=user,
        action=AuditAction.PII_REVEAL,
        obj=obj,
        reason=reason,
        payload={"field": field},
        request=request,
    )
    return getattr(obj, field)


# A search by a number that many rows share records each of them up to this many.
PII_SEARCH_MAX_EVENTS = 20


@transaction.atomic
def pii_search_record(
    *, user, field: str, term: str, found: Sequence[models.Model], request=None
) -> list[AuditEvent]:
    """Record a search by a full phone number or national id as a reveal, reason "search".

    Finding who has a number tells the searcher whose number it is, so it is recorded like a
    reveal: one event for each row found (the first PII_SEARCH_MAX_EVENTS; the payload says
    how many there were). A number nobody has reveals nothing and is not recorded. The number
    itself is kept masked.
    """
    if not user.has_perm(REVEAL_PERMISSION):
        raise DomainError(_("You may not reveal personal data."), code="not_allowed")
    found = list(found)
    payload = {"field": field, "via": "search", "term": trail_value(field, term), "found": len(found)}
    return [
        audit_record(
            actor=user,
            action=AuditAction.PII_REVEAL,
            obj=obj,
            reason="search",
            payload=payload,
            request=request,
        )
        for obj in found[:PII_SEARCH_MAX_EVENTS]
    ]


def login_failed_record(*, username: str, request=None) -> AuditEvent:
    """A failed sign-in: the name that was tried (masked if it looks like a phone number)."""
    event = AuditEvent(
        action=AuditAction.LOGIN_FAILED,
        actor_username=_text(username, 150),
        **_request_fields(request),
    )
    event.save()
    return event


def history_records_audit(
    *, records: Sequence[models.Model], instances: Sequence[models.Model] = (), request=None
) -> list[AuditEvent]:
    """One AuditEvent per django-simple-history row: who, when, what, old → new values.

    Takes a batch, so bulk_create_with_history and bulk_update_with_history cost a few queries
    per batch rather than per row. `instances` are the saved objects, when the caller has them
    (their names are taken from them). A change that changed nothing the history tracks (a
    save() that only touched last_login, say) writes no event.
    """
    records = [r for r in records if r.pk is not None]
    if not records:
        return []
    history_model = type(records[0])
    previous = _previous_records(history_model, records)
    names = _object_names(history_model, records, instances)
    content_type = ContentType.objects.get_for_model(history_model.instance_type)
    request_fields = _request_fields(request)
    events = []
    for record in records:
        changes = _changes(record, previous.get(record.pk))
        reason = record.history_change_reason or ""
        action = HISTORY_ACTIONS.get(record.history_type, AuditAction.CHANGED)
        if action == AuditAction.CHANGED and not changes and not reason:
            continue
        actor = record.history_user if record.history_user_id else None
        events.append(
            AuditEvent(
                created_at=record.history_date,
                action=action,
                actor=actor,
                actor_username=_username(actor),
                content_type=content_type,
                object_id=str(record.id)[:64],
                object_repr=names.get(record.pk) or _fallback_name(record),
                changes=changes,
                reason=_text(reason, 500),
                history_id=record.pk,
                **request_fields,
            )
        )
    # By COPY on PostgreSQL: a nightly batch writes thousands of events at once.
    bulk_insert_rows(events)
    return events


# --- Helpers -------------------------------------------------------------------------------------


def _previous_records(history_model, records) -> dict[int, models.Model]:
    """For each changed row, the history row before it (by date, then by id)."""
    changed = [r.pk for r in records if r.history_type == "~"]
    if not changed:
        return {}
    if len(changed) == 1:
        record = next(r for r in records if r.pk == changed[0])
        prev = _earlier(history_model, record.id, record.history_date, record.pk).first()
        return {record.pk: prev} if prev is not None else {}
    earlier = _earlier(history_model, OuterRef("id"), OuterRef("history_date"), OuterRef("history_id"))
    pairs = dict(
        history_model.objects.filter(pk__in=changed)
        .annotate(prev_id=Subquery(earlier.values("history_id")[:1]))
        .values_list("history_id", "prev_id")
    )
    found = history_model.objects.in_bulk([p for p in pairs.values() if p is not None])
    return {pk: found[prev_id] for pk, prev_id in pairs.items() if prev_id in found}


def _earlier(history_model, object_id, history_date, history_id):
    return history_model.objects.filter(
        Q(history_date__lt=history_date) | Q(history_date=history_date, history_id__lt=history_id),
        id=object_id,
    ).order_by("-history_date", "-history_id")


def _changes(record, previous) -> dict[str, list]:
    """{"field": [old, new]}; for a new row its values, for a deleted one what it held."""
    if record.history_type in ("+", "-") or previous is None:
        values = _tracked_values(record)
        if record.history_type == "-":
            return {name: [value, None] for name, value in values.items()}
        return {name: [None, value] for name, value in values.items()}
    delta = record.diff_against(previous)
    m2m_names = {field.name for field in getattr(record, "_history_m2m_fields", ())}
    changes = {}
    for change in delta.changes:
        if change.field in m2m_names:
            old, new = (_m2m_names(record, change.field, rows) for rows in (change.old, change.new))
        else:
            old, new = (_value(change.field, value) for value in (change.old, change.new))
        changes[change.field] = [old, new]
    return changes


def _m2m_names(record, field_name: str, rows: list[dict]) -> list[str]:
    """The rows of a many-to-many field (a user's groups) as the names of what they point to."""
    field = record.instance_type._meta.get_field(field_name)
    key = get_m2m_reverse_field_name(field)
    ids = sorted({row[key] for row in rows if row.get(key) is not None})
    found = field.related_model._default_manager.in_bulk(ids) if ids else {}
    return sorted(_text(_stored_name(found.get(pk, pk)), 200) for pk in ids)


def _stored_name(obj):
    # A group is kept by its name, the role's key, not by str(), which shows the role's label
    # in the reader's language: the trail's data stay the same whoever's request wrote them.
    return obj.name if isinstance(obj, Group) else obj


def _tracked_values(record) -> dict[str, Any]:
    values = {}
    for field in record.tracked_fields:
        if not field.editable or field.name in _HISTORY_COLUMNS:
            continue
        value = _value(field.name, getattr(record, field.attname))
        if value not in (None, "", [], {}):
            values[field.name] = value
    return values


def _value(field: str, value):
    return _json_safe(trail_value(field, value))


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, str):
        # jsonb refuses the NUL character.
        return value.replace("\x00", "")
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value).replace("\x00", "")


def _object_names(history_model, records, instances) -> dict[int, str]:
    """str() of each changed object, as the trail shows it.

    One row: the saved object's own str(). A batch: the rows loaded in one query with their
    foreign keys (most __str__ follow one); a name that would still need a query per row falls
    back to the model's name and id, so a batch of the nightly sweep does not turn into
    thousands of queries for the sake of a label.
    """
    if len(records) == 1 and instances and instances[0] is not None:
        name = _str_of(instances[0], allow_queries=True)
        return {records[0].pk: _text(name, 200)} if name is not None else {}
    names: dict[int, str] = {}

    def name_from(objects: dict, batch: list) -> list:
        """Name each record of `batch` from its object in `objects`; the records left unnamed."""
        unnamed = []
        with _queries_refused():  # once for the batch, not once per object
            for record in batch:
                obj = objects.get(record.id)
                name = _str_or_none(obj) if obj is not None else None
                if name is None:
                    unnamed.append(record)
                else:
                    names[record.pk] = _text(name, 200)
        return unnamed

    model = history_model.instance_type
    # Forward relations, one-to-one ones included (a credit line is named by its customer).
    relations = [f for f in model._meta.concrete_fields if f.many_to_one or f.one_to_one]

    def loaded(obj) -> bool:
        return all(f.is_cached(obj) or getattr(obj, f.attname) is None for f in relations)

    # The saved objects first, when the caller loaded their relations, or when their __str__
    # reads none (a limit change names its customer by id): tried on one, then taken for the
    # whole batch. The others are loaded again in one query with their relations.
    given = {obj.pk: obj for obj in instances if obj is not None and loaded(obj)}
    bare = [obj for obj in instances if obj is not None and obj.pk not in given]
    if bare and _str_of(bare[0], allow_queries=False) is not None:
        given.update((obj.pk, obj) for obj in bare)
    missing = name_from(given, list(records))
    wanted = [r.id for r in missing if r.history_type != "-"]
    if wanted:
        reloaded = model._default_manager.select_related(*(f.name for f in relations)).in_bulk(wanted)
        name_from(reloaded, missing)
    return names


class _QueryNeeded(Exception):
    pass


def _refuse_query(execute, sql, params, many, context):
    raise _QueryNeeded


@contextlib.contextmanager
def _queries_refused():
    """Any query on any database raises _QueryNeeded in this block."""
    with contextlib.ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(_refuse_query))
        yield


def _str_or_none(obj) -> str | None:
    try:
        return str(obj)
    except Exception:
        # A __str__ that needs a query (in a batch) or fails (a deleted row's relation).
        return None


def _str_of(obj, *, allow_queries: bool) -> str | None:
    if allow_queries:
        return _str_or_none(obj)
    with _queries_refused():
        return _str_or_none(obj)


def _fallback_name(record) -> str:
    return _text(f"{record.instance_type._meta.verbose_name} {record.id}", 200)


def _text(value, max_length: int) -> str:
    """Free text as the trail keeps it: numbers masked, no NUL (PostgreSQL refuses it), cut to fit."""
    return scrub_text(str(value or "").replace("\x00", ""))[:max_length]


def _object_fields(obj) -> dict:
    if obj is None:
        return {}
    return {
        "content_type": ContentType.objects.get_for_model(type(obj)),
        "object_id": str(obj.pk)[:64],
        "object_repr": _text(obj, 200),
    }


def _is_user(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.pk is not None


def _username(actor) -> str:
    if not _is_user(actor):
        return ""
    return str(actor.get_username())[:150]


def _request_fields(request) -> dict:
    if request is None:
        return {}
    meta = getattr(request, "META", {})
    return {
        "ip_address": _ip(_client_address(request)),
        "user_agent": _text(meta.get("HTTP_USER_AGENT", ""), 300),
    }


def _client_address(request):
    """The address sign-in failures are counted against too (BNPL_PROXY_COUNT aware)."""
    return client_ip_address(request)


def _ip(value) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None

"""The audit trail's one Table, shared by the list page and its CSV export.

The page reads as people read: people and objects by name, times in the reader's zone, fields
by their labels, details as sentences. The export keeps what an analysis filters and joins on:
usernames, object ids, action and field names as stored, ISO times with their offset.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cached_property

import django_tables2 as tables
from django.contrib.auth import get_user_model
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bnpl_admin.labels import field_label, value_label
from bnpl_admin.lists import ConsoleTable, LocalDateTimeColumn

from .models import AuditEvent
from .sentences import audit_details_sentence, plain


def value_text(value) -> str:
    """A stored old or new value as one short line of text; empty shows as an em dash."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def person_name(user) -> str:
    """A staff member as people know them: "王芳 (wangfang)", or the username alone."""
    full_name = user.get_full_name().strip()
    return f"{full_name} ({user.username})" if full_name else user.username


def changes_text(event: AuditEvent, *, labelled: bool = False, names: dict | None = None) -> list[str]:
    """field: old → new, one line per changed field, then the act's details (payload).

    The trail stores field names and values; `labelled` shows each by its verbose name, a
    choice by its label and a related row by its name (`names`, from AuditEventTable) in the
    active language instead, from the model of the event's content type (cached, so no query).
    Unlabelled, the lines are what is stored: for the CSV.
    """
    model = event.content_type.model_class() if labelled and event.content_type else None
    names = names or {}

    def shown(field, value):
        return value_text(names.get((model, field, _key(value)), value_label(model, field, value)))

    lines = [
        f"{field_label(model, field)}: {shown(field, old)} → {shown(field, new)}"
        if labelled
        else f"{field}: {value_text(old)} → {value_text(new)}"
        for field, (old, new) in sorted((event.changes or {}).items())
    ]
    if event.payload:
        lines.append(
            audit_details_sentence(event.action, event.payload) if labelled else plain(event.payload)
        )
    return lines


def _key(value) -> str | None:
    return None if value in (None, "") else str(value)


def _foreign_key(model, name):
    """`model`'s field `name` when it points at one row of another model, else None."""
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except Exception:  # a field the model no longer has
        return None
    one = getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False)
    return field if one and field.related_model and field.concrete else None


class AuditEventTable(ConsoleTable):
    created_at = LocalDateTimeColumn(
        verbose_name=_("When"), format="Y-m-d H:i:s", order_by=("created_at", "id")
    )
    actor_username = tables.Column(verbose_name=_("Person"), empty_values=(), orderable=False)
    action = tables.Column(verbose_name=_("Action"), orderable=False)
    content_type = tables.Column(verbose_name=_("Object type"), orderable=False)
    # In the file, not on the page: the page names the object.
    object_id = tables.Column(verbose_name=_("Object id"), visible=False)
    object_repr = tables.Column(verbose_name=_("Object"), orderable=False)
    changes = tables.Column(
        verbose_name=_("Changes"), empty_values=(), orderable=False, attrs={"td": {"class": "wrap"}}
    )
    # Reasons are read in full: the cell wraps rather than cuts.
    reason = tables.Column(verbose_name=_("Reason"), orderable=False, attrs={"td": {"class": "wrap"}})
    ip_address = tables.Column(verbose_name=_("IP address"), orderable=False)
    user_agent = tables.Column(verbose_name=_("Browser"), visible=False)

    class Meta(ConsoleTable.Meta):
        model = AuditEvent
        fields = (
            "created_at",
            "actor_username",
            "action",
            "content_type",
            "object_id",
            "object_repr",
            "changes",
            "reason",
            "ip_address",
            "user_agent",
        )
        # Newest first, or oldest first; sorting millions of rows by another column is not offered
        # (no index would serve it).
        attrs = {"class": "table audit-events"}
        empty_text = _("No audit events match these filters.")

    # --- The page -------------------------------------------------------------------------------

    def render_actor_username(self, value, record) -> str:
        if record.actor_id and record.actor is not None:
            return person_name(record.actor)
        return value or (_("system") if record.action in {"created", "changed", "deleted"} else "—")

    def render_action(self, value, record) -> str:
        label = record.get_action_display()
        return f"{record.sign} {label}" if record.sign else label

    def render_content_type(self, value) -> str:
        return value.model_class()._meta.verbose_name if value.model_class() else value.model

    def render_changes(self, record):
        lines = changes_text(record, labelled=True, names=self.related_names)
        if not lines:
            return "—"
        return format_html(
            "<ul class='changes'>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in lines))
        )

    @cached_property
    def related_names(self) -> dict:
        """(model, field, stored id) → the related row's name, for the foreign keys changed on this
        page: one query per related model, however many rows."""
        wanted: dict[type, set[str]] = defaultdict(set)
        fields = []
        rows = self.page.object_list if hasattr(self, "page") else self.rows
        for row in rows:
            event = row.record
            model = event.content_type.model_class() if event.content_type else None
            for name, pair in (event.changes or {}).items():
                field = _foreign_key(model, name)
                if field is None:
                    continue
                ids = {_key(value) for value in pair if _key(value) is not None}
                wanted[field.related_model].update(ids)
                fields.append((model, name, field.related_model))
        found: dict[type, dict[str, str]] = {}
        for related, ids in wanted.items():
            valid = [pk for pk in ids if pk.isdigit()]
            rows_found = related._default_manager.select_related().in_bulk(valid) if valid else {}
            is_user = related is get_user_model()
            found[related] = {
                str(pk): person_name(obj) if is_user else str(obj) for pk, obj in rows_found.items()
            }
        return {
            (model, name, pk): text
            for model, name, related in fields
            for pk, text in found.get(related, {}).items()
        }

    # --- The export: machine names, for analysis ---------------------------------------------------

    def value_actor_username(self, value) -> str:
        return value

    def value_action(self, record) -> str:
        return record.action

    def value_content_type(self, value) -> str:
        return value.model if value else ""

    def value_changes(self, record) -> str:
        return "; ".join(changes_text(record))

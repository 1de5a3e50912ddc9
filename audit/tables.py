"""The audit trail's one Table, shared by the list page and the CSV export."""

from __future__ import annotations

import json

import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bnpl_admin.labels import field_label, value_label

from .models import AuditEvent


def value_text(value) -> str:
    """A stored old or new value as one short line of text; empty shows as an em dash."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def changes_text(event: AuditEvent, *, labelled: bool = False) -> list[str]:
    """field: old → new, one line per changed field, then the act's details (payload).

    The trail stores field names and values; `labelled` shows each by its verbose name, and a
    choice by its label, in the active language instead, from the model of the event's content
    type (cached, so no query).
    """
    model = event.content_type.model_class() if labelled and event.content_type else None
    lines = [
        f"{field_label(model, field)}: {value_text(value_label(model, field, old))} → "
        f"{value_text(value_label(model, field, new))}"
        if labelled
        else f"{field}: {value_text(old)} → {value_text(new)}"
        for field, (old, new) in sorted((event.changes or {}).items())
    ]
    lines += [f"{key}: {value_text(value)}" for key, value in sorted((event.payload or {}).items())]
    return lines


def _full_value(value) -> str:
    return "" if value is None else str(value)


# Free-text cells: a long value (a 150-character username) is cut by the stylesheet, never
# widening the table, and the whole value stays readable on hover.
TRUNCATED = {"td": {"class": "truncate", "title": _full_value}}


class AuditEventTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name=_("When"), format="Y-m-d H:i:s")
    actor_username = tables.Column(verbose_name=_("Person"), empty_values=(), attrs=TRUNCATED)
    action = tables.Column(verbose_name=_("Action"))
    content_type = tables.Column(verbose_name=_("Object type"))
    object_id = tables.Column(verbose_name=_("Object id"), attrs=TRUNCATED)
    object_repr = tables.Column(verbose_name=_("Object"), attrs=TRUNCATED)
    changes = tables.Column(verbose_name=_("Changes"), empty_values=())
    reason = tables.Column(verbose_name=_("Reason"), attrs=TRUNCATED)
    ip_address = tables.Column(verbose_name=_("IP address"))

    class Meta:
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
        )
        # Newest first, always: sorting a table of millions by another column is not offered.
        orderable = False
        per_page = 50
        attrs = {"class": "table audit-events"}
        empty_text = _("No audit events match these filters.")

    def render_actor_username(self, value, record) -> str:
        return value or (_("system") if record.action in {"created", "changed", "deleted"} else "—")

    def render_action(self, value, record) -> str:
        label = record.get_action_display()
        return f"{record.sign} {label}" if record.sign else label

    def render_content_type(self, value) -> str:
        return value.model_class()._meta.verbose_name if value.model_class() else value.model

    def render_changes(self, record):
        lines = changes_text(record, labelled=True)
        if not lines:
            return "—"
        return format_html(
            "<ul class='changes'>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in lines))
        )

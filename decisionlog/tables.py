"""The decision log's Table: the page shows content masked; the CSV keeps stored names."""

import json

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.masking import mask_field_value
from bnpl_admin.lists import ConsoleTable, LocalDateTimeColumn

from .models import DecisionLogEntry


def masked_content(value, field: str = ""):
    """The content with personal data masked wherever it sits (by key name, and inside text)."""
    if isinstance(value, dict):
        return {key: masked_content(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [masked_content(item, field) for item in value]
    return mask_field_value(field, value)


def content_text(content) -> str:
    return json.dumps(masked_content(content), ensure_ascii=False, sort_keys=True)


class DecisionLogTable(ConsoleTable):
    sequence = tables.Column(verbose_name=_("No."), order_by=("sequence",))
    recorded_at = LocalDateTimeColumn(verbose_name=_("Recorded at"), orderable=False)
    kind = tables.Column(verbose_name=_("Kind"), orderable=False)
    subject = tables.Column(verbose_name=_("Subject"), orderable=False)
    actor = tables.Column(verbose_name=_("Person"), orderable=False, default="—")
    content = tables.Column(verbose_name=_("Content"), orderable=False, attrs={"td": {"class": "wrap"}})
    entry_hash = tables.Column(verbose_name=_("Entry hash"), orderable=False)

    class Meta(ConsoleTable.Meta):
        model = DecisionLogEntry
        fields = ("sequence", "recorded_at", "kind", "subject", "actor", "content", "entry_hash")

    def render_sequence(self, record):
        return format_html(
            '<a href="{}" hx-boost="false">#{}</a>',
            reverse("decisionlog:entry_detail", args=[record.sequence]),
            record.sequence,
        )

    def value_sequence(self, record):
        return record.sequence

    def render_actor(self, record):
        return record.actor.username if record.actor else _("system")

    def value_actor(self, record):
        return record.actor.username if record.actor else ""

    def value_kind(self, record):
        return record.kind

    def render_content(self, record):
        return content_text(record.content)

    def value_content(self, record):
        return content_text(record.content)

    def render_entry_hash(self, record):
        return record.entry_hash[:16] + "…"

    def value_entry_hash(self, record):
        return record.entry_hash

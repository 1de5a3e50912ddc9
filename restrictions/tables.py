"""The restriction jobs' Table."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import ConsoleTable, LocalDateTimeColumn
from orders.models import Merchant

from .models import RestrictionJob
from .sentences import filter_sentence


class RestrictionJobTable(ConsoleTable):
    id = tables.Column(verbose_name=_("Job"), order_by=("id",))
    requested_at = LocalDateTimeColumn(verbose_name=_("Requested at"), orderable=False)
    action = tables.Column(verbose_name=_("Action"), orderable=False)
    filter_spec = tables.Column(verbose_name=_("Filter"), orderable=False, attrs={"td": {"class": "wrap"}})
    reason_code = tables.Column(verbose_name=_("Reason"), orderable=False)
    preview_lines = tables.Column(verbose_name=_("Lines previewed"), orderable=False)
    progress = tables.Column(verbose_name=_("Progress"), empty_values=(), orderable=False)
    status = tables.Column(verbose_name=_("Status"), orderable=False)
    requested_by = tables.Column(verbose_name=_("Requested by"), orderable=False)
    approved_by = tables.Column(verbose_name=_("Approved by"), orderable=False, default="—")

    class Meta(ConsoleTable.Meta):
        model = RestrictionJob
        fields = (
            "id",
            "requested_at",
            "action",
            "filter_spec",
            "reason_code",
            "preview_lines",
            "progress",
            "status",
            "requested_by",
            "approved_by",
        )

    def render_id(self, record):
        return format_html(
            '<a href="{}" hx-boost="false">#{}</a>',
            reverse("restrictions:job_detail", args=[record.pk]),
            record.pk,
        )

    def value_id(self, record):
        return record.pk

    def render_filter_spec(self, record):
        if record.filter_spec.get("merchant") and not hasattr(self, "_merchants"):
            # One query for the page's merchant names, whatever the number of rows.
            self._merchants = dict(Merchant.objects.values_list("id", "name"))
        return filter_sentence(record.filter_spec, merchants=getattr(self, "_merchants", None))

    def value_filter_spec(self, record):
        import json

        return json.dumps(record.filter_spec, sort_keys=True)

    def render_progress(self, record):
        return f"{record.done}/{record.total} ({record.percent}%)"

    def value_action(self, record):
        return record.action

    def value_status(self, record):
        return record.status

    def value_reason_code(self, record):
        return record.reason_code

    def render_requested_by(self, record):
        return record.requested_by.username

    def render_approved_by(self, record):
        return record.approved_by.username

    def value_requested_by(self, record):
        return record.requested_by.username

    def value_approved_by(self, record):
        return record.approved_by.username if record.approved_by else ""

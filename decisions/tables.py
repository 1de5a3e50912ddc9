"""The review queue's Table: each referral with the customer's summary, score, grade, reasons and
exposure beside it. The CSV keeps machine names: the platform user id, reason codes, ISO times."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import ConsoleTable, LocalDateTimeColumn

from .models import OrderDecision
from .rules import reason_label


def _money(value) -> str:
    return "—" if value is None else f"¥{value:,.2f}"


class ReviewQueueTable(ConsoleTable):
    id = tables.Column(verbose_name=_("Decision"), orderable=False)
    requested_at = LocalDateTimeColumn(
        verbose_name=_("Requested"), format="Y-m-d H:i", order_by=("requested_at", "id")
    )
    customer = tables.Column(verbose_name=_("Customer"), orderable=False, attrs={"td": {"class": "wrap"}})
    grade = tables.Column(verbose_name=_("Grade"), accessor="customer__credit_line__grade", orderable=False)
    score = tables.Column(verbose_name=_("Score"), accessor="customer__credit_line__score", orderable=False)
    limit = tables.Column(verbose_name=_("Limit"), accessor="customer__credit_line__limit", orderable=False)
    exposure = tables.Column(verbose_name=_("Exposure"), order_by=("exposure", "id"))
    amount = tables.Column(verbose_name=_("Amount"), order_by=("amount", "id"))
    merchant = tables.Column(verbose_name=_("Merchant"), orderable=False)
    channel = tables.Column(verbose_name=_("Channel"), orderable=False)
    reason_codes = tables.Column(verbose_name=_("Reasons"), orderable=False, attrs={"td": {"class": "wrap"}})
    is_trial = tables.BooleanColumn(verbose_name=_("Trial"), orderable=False)

    class Meta(ConsoleTable.Meta):
        model = OrderDecision
        fields = (
            "id",
            "requested_at",
            "customer",
            "grade",
            "score",
            "limit",
            "exposure",
            "amount",
            "merchant",
            "channel",
            "reason_codes",
            "is_trial",
        )
        attrs = {"class": "table review-queue"}
        empty_text = _("No referred order is waiting for review.")

    # --- The page -------------------------------------------------------------------------------

    def render_id(self, value):
        # A whole page, not the list's part: out of the list's htmx boost (console/_table.html).
        return format_html(
            '<a href="{}" hx-boost="false">{}</a>',
            reverse("decisions:decision_detail", args=[value]),
            _("Review #%(id)s") % {"id": value},
        )

    def render_customer(self, value, record):
        line = getattr(value, "credit_line", None)
        status = line.get_status_display() if line is not None else _("no credit line")
        return format_html("{} ({})<br><small>{}</small>", value.name, value.platform_user_id, status)

    def render_grade(self, value, record):
        return record.customer.credit_line.get_grade_display()

    def render_limit(self, value):
        return _money(value)

    def render_exposure(self, value):
        return _money(value)

    def render_amount(self, value):
        return _money(value)

    def render_reason_codes(self, value):
        return format_html(
            "<ul class='reasons'>{}</ul>",
            format_html_join("", "<li>{}</li>", ((reason_label(c),) for c in value)),
        )

    # --- The export: machine names ---------------------------------------------------------------

    def value_id(self, value) -> str:
        return str(value)

    def value_customer(self, value) -> str:
        return value.platform_user_id

    def value_grade(self, value) -> str:
        return value

    def value_reason_codes(self, value) -> str:
        return " ".join(value)

    def value_merchant(self, value) -> str:
        return value.name

    def value_channel(self, value) -> str:
        return value

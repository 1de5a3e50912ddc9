"""The approval queue's Table (page and CSV): the request, its terms, who asked and who decided."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bnpl_admin.lists import ConsoleTable, LocalDateTimeColumn

from .models import ArrangementKind, ArrangementRequest


def _person(user) -> str:
    if user is None:
        return str(_("system (nightly sweep)"))
    full_name = user.get_full_name().strip()
    return f"{full_name} ({user.username})" if full_name else user.username


def terms_text(record: ArrangementRequest) -> str:
    if record.kind == ArrangementKind.SETTLEMENT:
        return _("forgive late fees ¥%(late)s, fees ¥%(fee)s, principal ¥%(principal)s") % {
            "late": record.late_fee_discount,
            "fee": record.fee_discount,
            "principal": record.principal_discount,
        }
    if record.kind == ArrangementKind.RESTRUCTURE:
        return _("what is left over %(months)s months") % {"months": record.months}
    return _("write off at %(dpd)s days past due") % {"dpd": record.days_past_due}


class ArrangementTable(ConsoleTable):
    id = tables.Column(verbose_name=_("Request"), order_by=("id",))
    kind = tables.Column(verbose_name=_("Kind"), orderable=False)
    case = tables.Column(verbose_name=_("Case"), orderable=False)
    customer = tables.Column(verbose_name=_("Customer"), orderable=False)
    owed = tables.Column(verbose_name=_("Owed when proposed"), orderable=False, empty_values=())
    terms = tables.Column(
        verbose_name=_("Terms"), orderable=False, empty_values=(), attrs={"td": {"class": "wrap"}}
    )
    requested_by = tables.Column(verbose_name=_("Requested by"), orderable=False, empty_values=())
    requested_at = LocalDateTimeColumn(
        verbose_name=_("Requested"), format="Y-m-d H:i", order_by=("requested_at", "id")
    )
    status = tables.Column(verbose_name=_("Status"), orderable=False)
    decided_by = tables.Column(verbose_name=_("Decided by"), orderable=False)
    decision_reason = tables.Column(verbose_name=_("Decision reason"), orderable=False)

    class Meta(ConsoleTable.Meta):
        model = ArrangementRequest
        fields = (
            "id",
            "kind",
            "case",
            "customer",
            "owed",
            "terms",
            "requested_by",
            "requested_at",
            "status",
            "decided_by",
            "decision_reason",
        )
        empty_text = _("No requests match these filters.")

    # --- The page -------------------------------------------------------------------------------

    def render_id(self, record):
        return format_html('<a href="{}">{}</a>', reverse("settlements:decide", args=[record.pk]), record.pk)

    def render_kind(self, record):
        return record.get_kind_display()

    def render_case(self, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("collections:case_detail", args=[record.case_id]), record.case_id
        )

    def render_customer(self, record):
        return f"{record.customer.name} ({record.customer.platform_user_id})"

    def render_owed(self, record):
        return f"¥{record.owed}"

    def render_terms(self, record):
        return terms_text(record)

    def render_requested_by(self, record):
        return _person(record.requested_by)

    def render_status(self, record):
        return record.get_status_display()

    def render_decided_by(self, record):
        return _person(record.decided_by)

    # --- The CSV: machine names ------------------------------------------------------------------

    def value_id(self, record):
        return record.pk

    def value_kind(self, record):
        return record.kind

    def value_case(self, record):
        return record.case_id

    def value_customer(self, record):
        return record.customer.platform_user_id

    def value_owed(self, record):
        return str(record.owed)

    def value_terms(self, record):
        if record.kind == ArrangementKind.SETTLEMENT:
            return (
                f"late_fee={record.late_fee_discount};fee={record.fee_discount};"
                f"principal={record.principal_discount}"
            )
        if record.kind == ArrangementKind.RESTRUCTURE:
            return f"months={record.months}"
        return f"dpd={record.days_past_due}"

    def value_requested_by(self, record):
        return record.requested_by.username if record.requested_by else ""

    def value_status(self, record):
        return record.status

    def value_decided_by(self, record):
        return record.decided_by.username if record.decided_by else ""

"""The managers' list of visit requests: the page names people and shows the area only (the
address is for the visit's own field agents), with a cancel button per request; the CSV keeps
machine names."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.masking import mask_address
from bnpl_admin.lists import ConsoleTable, LocalDateTimeColumn

from .models import Visit
from .services import REASON_MAX_LENGTH


def staff_name(user) -> str:
    if user is None:
        return ""
    full_name = user.get_full_name().strip()
    return f"{full_name} ({user.username})" if full_name else user.username


def masked_area(customer) -> str:
    return mask_address(
        province=customer.province, city=customer.city, district=customer.district, street=customer.street
    )


class RequestedVisitTable(ConsoleTable):
    id = tables.Column(verbose_name=_("Visit"), orderable=False)
    case = tables.Column(verbose_name=_("Case"), orderable=False)
    customer = tables.Column(verbose_name=_("Customer"), orderable=False)
    bucket = tables.Column(verbose_name=_("Bucket"), accessor="case__bucket", orderable=False)
    area = tables.Column(verbose_name=_("Area"), accessor="customer", orderable=False)
    requested_by = tables.Column(verbose_name=_("Requested by"), orderable=False)
    requested_at = LocalDateTimeColumn(
        verbose_name=_("Requested on"), format="Y-m-d H:i", order_by=("requested_at", "id")
    )
    proposed_date = tables.DateColumn(
        verbose_name=_("Proposed date"), format="Y-m-d", order_by=("proposed_date", "id")
    )
    reason = tables.Column(verbose_name=_("Reason"), orderable=False)
    # The page is the managers' (visits.approve_visit), who may cancel any request (visit_cancel).
    cancel = tables.TemplateColumn(
        verbose_name=_("Cancel"),
        template_name="visits/_cancel_cell.html",
        extra_context={"reason_max_length": REASON_MAX_LENGTH},
        orderable=False,
        exclude_from_export=True,
        empty_values=(),
    )

    class Meta(ConsoleTable.Meta):
        model = Visit
        fields = (
            "id",
            "case",
            "customer",
            "bucket",
            "area",
            "requested_by",
            "requested_at",
            "proposed_date",
            "reason",
            "cancel",
        )
        attrs = {"class": "table visit-requests"}
        empty_text = _("No home visit is waiting for a decision.")

    def render_id(self, value):
        return format_html(
            '<a href="{}">{}</a>', reverse("visits:decide", args=[value]), _("Decide %(id)s") % {"id": value}
        )

    def value_id(self, value) -> str:
        return str(value)

    def render_case(self, value):
        return format_html(
            '<a href="{}">{}</a>', reverse("collections:case_detail", args=[value.pk]), value.pk
        )

    def value_case(self, value) -> str:
        return str(value.pk)

    def render_customer(self, value) -> str:
        return value.name

    def value_customer(self, value) -> str:
        return value.platform_user_id

    def render_bucket(self, record) -> str:
        return record.case.get_bucket_display()

    def value_bucket(self, record) -> str:
        return record.case.bucket

    def render_area(self, value) -> str:
        return masked_area(value)

    def render_requested_by(self, value) -> str:
        return staff_name(value)

    def value_requested_by(self, value) -> str:
        return value.username

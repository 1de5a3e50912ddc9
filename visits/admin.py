"""Read-only data screens for home visits: every write goes through visits.services (the rules
at the door), and a photo is never shown here: only visits.views.photo serves one, to those who
may see its visit."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bnpl_admin.admin_base import AuditedAdmin, ReadOnlyAdminMixin
from bnpl_admin.admin_filters import DateRangeFilter
from bnpl_admin.admin_paginator import EstimatedCountPaginator

from .models import Visit


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    list_display = (
        "id",
        "case",
        "status",
        "proposed_date",
        "scheduled_for",
        "requested_by",
        "approved_by",
        "field_agent_1",
        "field_agent_2",
        "outcome",
    )
    list_filter = ("status", "outcome", ("requested_at", DateRangeFilter))
    list_select_related = ("case__customer", "requested_by", "approved_by", "field_agent_1", "field_agent_2")
    search_fields = ("customer__platform_user_id__exact",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    history_list_display = ("status", "outcome")
    fields = (
        "case",
        "customer",
        "status",
        "requested_by",
        "requested_at",
        "reason",
        "proposed_date",
        "manager_decision",
        "approved_by",
        "decided_at",
        "decision_reason",
        "scheduled_for",
        "field_agent_1",
        "field_agent_2",
        "check_in_at",
        "check_in_by",
        "check_in_latitude",
        "check_in_longitude",
        "check_in_accuracy",
        "check_in_position_refused",
        "check_out_at",
        "check_out_by",
        "check_out_latitude",
        "check_out_longitude",
        "check_out_accuracy",
        "check_out_position_refused",
        "outcome",
        "notes",
        "outcome_by",
        "outcome_at",
        "cancelled_by",
        "cancelled_at",
        "cancel_reason",
        "photo_summary",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The change page shows every person and the case read only: one query, not one each.
        people = ("requested_by", "approved_by", "field_agent_1", "field_agent_2", "check_in_by")
        return (
            super()
            .get_queryset(request)
            .visible_to(request.user)
            .select_related(
                "case__customer", "customer", *people, "check_out_by", "outcome_by", "cancelled_by"
            )
        )

    @admin.display(description=_("photos"))
    def photo_summary(self, obj) -> str:
        # What was kept, not the pictures: those are served only by the visit's checked page.
        photos = list(obj.photos.order_by("id").values_list("content_type", "size"))
        if not photos:
            return "—"
        sizes = ", ".join(f"{kind} {filesizeformat(size)}" for kind, size in photos)
        return ngettext("%(count)d photo: %(sizes)s", "%(count)d photos: %(sizes)s", len(photos)) % {
            "count": len(photos),
            "sizes": sizes,
        }

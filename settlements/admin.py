"""Settlements, restructures and write-offs in the data admin: read only (decided on the console)."""

from __future__ import annotations

from django.contrib import admin

from bnpl_admin.admin_base import AuditedAdmin, ReadOnlyAdminMixin

from .models import ArrangementRequest


@admin.register(ArrangementRequest)
class ArrangementRequestAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    list_display = (
        "id",
        "kind",
        "case",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "late_fee_discount",
        "fee_discount",
        "principal_discount",
        "months",
    )
    list_filter = ("kind", "status")
    list_select_related = ("case__customer", "requested_by", "decided_by")
    search_fields = ("=id", "=case__id")
    raw_id_fields = ("case", "customer", "requested_by", "decided_by")
    date_hierarchy = None
    history_list_display = ("status", "decided_by", "decision_reason")

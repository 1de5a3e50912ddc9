"""The data admin's read-only view of order decisions (written only by decisions.services)."""

from __future__ import annotations

from django.contrib import admin

from bnpl_admin.admin_base import ReadOnlyAdminMixin
from bnpl_admin.admin_filters import DateRangeFilter
from bnpl_admin.admin_paginator import EstimatedCountPaginator

from .models import OrderDecision


@admin.register(OrderDecision)
class OrderDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "requested_at",
        "customer",
        "amount",
        "channel",
        "merchant",
        "outcome",
        "review_outcome",
        "is_trial",
        "policy_effective_from",
    )
    list_filter = ("outcome", "review_outcome", "channel", "is_trial", ("requested_at", DateRangeFilter))
    list_select_related = ("customer", "merchant")
    search_fields = ("customer__platform_user_id__exact", "order__external_reference__exact")
    raw_id_fields = ("order", "customer", "merchant", "policy", "decided_by", "reviewed_by")
    show_full_result_count = False
    paginator = EstimatedCountPaginator

"""The audit trail in the data admin: read only, for everyone, superusers included."""

from django.contrib import admin

from bnpl_admin.admin_base import ReadOnlyAdminMixin
from bnpl_admin.admin_paginator import EstimatedCountPaginator

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor_username", "action", "content_type", "object_id", "object_repr")
    # No date hierarchy or related-only filter: both scan the whole trail on every page.
    list_filter = ("action",)
    list_select_related = ("content_type",)
    search_fields = ("actor_username__exact", "object_id__exact")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = (
        "created_at",
        "action",
        "actor",
        "actor_username",
        "content_type",
        "object_id",
        "object_repr",
        "changes",
        "reason",
        "payload",
        "history_id",
        "ip_address",
        "user_agent",
    )
    readonly_fields = fields

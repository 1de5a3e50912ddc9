"""Reads of the audit trail: what a user may see, filtered, newest first."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditEvent


def audit_events_visible_to(*, user) -> QuerySet[AuditEvent]:
    """Newest first, with what the list shows joined in (one query per page)."""
    return (
        AuditEvent.objects.visible_to(user)
        .select_related("content_type", "actor")
        .order_by("-created_at", "-id")
    )

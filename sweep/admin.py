"""Admin for sweep runs (with per-chunk progress) and portfolio snapshots: read-only records."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import PortfolioSnapshot, SweepChunk, SweepRun


class ReadOnlyAdminMixin:
    """The sweep writes these rows; people read them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SweepChunkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SweepChunk
    fields = (
        "number",
        "customer_from",
        "customer_to",
        "status",
        "attempts",
        "milliseconds",
        "stats",
        "error",
        "finished_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "business_date",
        "status",
        "progress",
        "chunk_count",
        "triggered_by",
        "started_at",
        "finished_at",
    )
    list_filter = ("status",)
    date_hierarchy = "business_date"
    readonly_fields = (
        "business_date",
        "status",
        "policy",
        "chunk_size",
        "chunk_count",
        "triggered_by",
        "started_at",
        "finished_at",
        "totals",
    )
    inlines = [SweepChunkInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("chunks")

    @admin.display(description=_("chunks done"))
    def progress(self, run):
        return run.progress


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("business_date", "bucket", "customers", "principal_outstanding", "overdue_amount")
    list_filter = ("bucket",)
    date_hierarchy = "business_date"


# django-celery-beat's schedules, re-registered with who may change what (sweep.beat_admin).
from . import beat_admin  # noqa: E402,F401

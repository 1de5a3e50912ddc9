"""Data admin for the risk app: scorecards, versions and bins (a draft's points and base points
are edited through risk.services, a version that scored anyone is read-only: copy it), and the
scores and limit changes, which only the services write."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from bnpl_admin.admin_base import AuditedAdmin, ReadOnlyAdminMixin, ReadOnlyInline

from . import services
from .characteristics import category_label
from .models import Bin, CustomerScore, GradeBand, LimitChange, Scorecard, ScorecardVersion


def _editable(obj) -> bool:
    try:
        services.version_edit_check(obj)
    except services.RiskError:
        return False
    return True


@admin.register(Scorecard)
class ScorecardAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    list_display = ("name", "description", "created_at")
    search_fields = ("name",)


class GradeBandInline(ReadOnlyInline):
    model = GradeBand
    fields = ("grade", "min_score", "limit")


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(AuditedAdmin):
    list_display = ("scorecard", "number", "status", "created_by", "activated_by", "activated_at")
    list_filter = ("status",)
    list_select_related = ("scorecard", "created_by", "activated_by")
    fields = (
        "scorecard",
        "number",
        "status",
        "base_points",
        "note",
        "fitted",
        "created_by",
        "activation_requested_by",
        "activated_by",
        "activated_at",
    )
    readonly_fields = (
        "scorecard",
        "number",
        "status",
        "fitted",
        "created_by",
        "activation_requested_by",
        "activated_by",
        "activated_at",
    )
    inlines = [GradeBandInline]

    def has_add_permission(self, request):
        return False  # versions come from the fitting command or a copy (risk.services)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and not _editable(obj):
            return False  # used or submitted: read-only, copy it instead
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            services.scorecard_version_update(
                version=obj, by=request.user, **{name: form.cleaned_data[name] for name in form.changed_data}
            )
        except services.RiskError as exc:
            raise PermissionDenied(exc.message) from exc

    def save_related(self, request, form, formsets, change):
        pass  # the grade bands are read-only here


@admin.register(Bin)
class BinAdmin(admin.ModelAdmin):
    list_display = ("characteristic", "version", "position", "lower", "upper", "category_shown", "points")
    list_select_related = ("characteristic__version__scorecard",)
    list_filter = ("characteristic__version__status",)
    fields = ("characteristic", "position", "lower", "upper", "category_shown", "points")
    readonly_fields = ("characteristic", "position", "lower", "upper", "category_shown")

    @admin.display(description=_("category"))
    def category_shown(self, obj):
        return category_label(obj.characteristic.code, obj.category) if obj.category else "—"

    @admin.display(description=_("version"))
    def version(self, obj):
        return str(obj.characteristic.version)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and not _editable(obj.characteristic.version):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            services.bin_points_set(bin=obj, points=form.cleaned_data["points"], by=request.user)
        except services.RiskError as exc:
            messages.error(request, exc.message)
            raise PermissionDenied(exc.message) from exc


@admin.register(CustomerScore)
class CustomerScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("customer", "business_date", "score", "grade", "version")
    list_filter = ("grade",)
    list_select_related = ("customer", "version__scorecard")
    date_hierarchy = "business_date"
    show_full_result_count = False
    raw_id_fields = ("customer",)


@admin.register(LimitChange)
class LimitChangeAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    list_display = ("customer", "kind", "status", "old_limit", "new_limit", "proposed_at", "decided_by")
    list_filter = ("status", "kind")
    list_select_related = ("customer", "decided_by")
    show_full_result_count = False
    raw_id_fields = ("customer", "score")

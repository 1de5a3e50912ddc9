"""The policy settings screen: dated versions of every business value, each change audited."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.utils.translation import gettext_lazy as _

from bnpl_admin.admin_base import AuditedAdmin
from bnpl_admin.dates import business_date

from .models import Policy

RATE_FIELDS = ("fee_rate_pay_later", "fee_rate_3", "fee_rate_6", "fee_rate_12", "late_fee_daily_rate")


class PolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        # The admin passes the full list from its fieldsets; this names what clean_ reads.
        fields = ("effective_from",)

    def clean_effective_from(self):
        # A change applies from a date, never to the past (DESIGN.md): the sweep of today
        # may already have run with the values in force.
        effective_from = self.cleaned_data["effective_from"]
        if effective_from <= business_date():
            raise forms.ValidationError(_("A new policy version takes effect from tomorrow at the earliest."))
        return effective_from


@admin.register(Policy)
class PolicyAdmin(AuditedAdmin):
    form = PolicyForm
    list_display = (
        "effective_from",
        "fee_rate_3",
        "fee_rate_6",
        "fee_rate_12",
        "pay_later_trial_days",
        "late_fee_grace_days",
        "late_fee_daily_rate",
        "late_fee_cap_rate",
        "late_fee_cap_amount",
        "freeze_at_dpd",
        "conduct_profile",
        "note",
    )
    list_filter = ("conduct_profile",)
    search_fields = ("note",)
    fieldsets = (
        (None, {"fields": ("effective_from", "note")}),
        (_("Plans"), {"fields": ("pay_later_trial_days", *RATE_FIELDS[:4])}),
        (
            _("Late fees"),
            {
                "fields": (
                    "late_fee_grace_days",
                    "late_fee_daily_rate",
                    "late_fee_cap_rate",
                    "late_fee_cap_amount",
                )
            },
        ),
        (
            _("Collections"),
            {
                "fields": (
                    "freeze_at_dpd",
                    "write_off_proposal_dpd",
                    "conduct_profile",
                    "promise_max_days",
                    "settlement_principal_discount_max_rate",
                )
            },
        ),
        (
            _("Case queue priority"),
            {
                "fields": (
                    "queue_weight_amount",
                    "queue_weight_dpd",
                    "queue_weight_broken_promise",
                    "queue_weight_days_since_contact",
                    "queue_weight_promise_due_today",
                )
            },
        ),
        (
            _("Order decisions"),
            {
                "fields": (
                    "decision_velocity_24h_orders",
                    "decision_velocity_24h_amount",
                    "decision_velocity_7d_orders",
                    "decision_velocity_7d_amount",
                    "decision_first_order_cap",
                    "decision_max_open_plans",
                    "decision_max_limit_share",
                    "decision_max_burden_30d",
                    "decision_review_hours",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at",)}),
    )
    history_list_display = (
        "effective_from",
        "fee_rate_3",
        "fee_rate_6",
        "fee_rate_12",
        "late_fee_daily_rate",
        "late_fee_cap_amount",
        "conduct_profile",
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        # Settings added to Policy later (reminders, ...) appear without a change here.
        named = set(flatten_fieldsets(fieldsets))
        rest = [
            f.name
            for f in Policy._meta.concrete_fields
            if f.editable and not f.primary_key and f.name not in named
        ]
        if rest:
            fieldsets.insert(-1, (_("Other settings"), {"fields": rest}))
        return fieldsets

    @staticmethod
    def _in_force_or_past(obj) -> bool:
        return obj is not None and obj.effective_from <= business_date()

    def get_readonly_fields(self, request, obj=None):
        if self._in_force_or_past(obj):
            # Values that already applied are history; only the note may be corrected.
            # A new value is a new version with a later effective date.
            return [f.name for f in Policy._meta.concrete_fields if f.name != "note" and not f.primary_key]
        return ["created_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return not self._in_force_or_past(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Bulk delete does not ask per version whether it is already in force.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

"""Reminder screens: what was queued and sent to whom, read-only; failed ones can be sent again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.masking import mask_recipient
from bnpl_admin.admin_base import AuditedAdmin, PiiSearchMixin, ReadOnlyAdminMixin
from bnpl_admin.admin_paginator import EstimatedCountPaginator

from .models import OutboxMessage, Reminder, Stage, Status
from .services import ReminderError, reminder_resend


class StageFilter(admin.SimpleListFilter):
    title = _("stage")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return Stage.choices

    def queryset(self, request, queryset):
        match self.value():
            case Stage.BEFORE_DUE:
                return queryset.filter(offset_days__lt=0)
            case Stage.DUE_TODAY:
                return queryset.filter(offset_days=0)
            case Stage.OVERDUE:
                return queryset.filter(offset_days__gt=0)
            case Stage.RECEIPT:
                return queryset.filter(offset_days__isnull=True)
        return queryset


@admin.register(Reminder)
class ReminderAdmin(PiiSearchMixin, AuditedAdmin):
    list_display = (
        "key",
        "customer",
        "kind",
        "channel",
        "status",
        "recipient_masked",
        "not_before",
        "attempts",
        "sends",
        "sent_at",
        "business_date",
    )
    list_filter = ("status", "channel", StageFilter, "kind", "cancel_reason", "business_date", "send_on")
    list_select_related = ("customer",)
    # The primary key's index, not a sort of the whole table by created_at on every page.
    ordering = ("-id",)
    # Staff look reminders up by customer (platform id, name or full phone number) or by key.
    search_fields = ("customer__platform_user_id", "customer__name", "key")
    pii_search_fields = ("customer__phone",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    actions = ("resend",)
    fieldsets = (
        (None, {"fields": ("key", "customer", "installment", "payment", "kind", "offset_days", "channel")}),
        (_("Delivery"), {"fields": ("status", "cancel_reason", "business_date", "send_on", "not_before")}),
        (
            _("Attempts"),
            {"fields": ("attempts", "sends", "next_attempt_at", "claimed_at", "sent_at", "last_error")},
        ),
        (_("Content"), {"fields": ("recipient_masked", "subject", "body", "provider_message_id")}),
        (_("Record"), {"fields": ("created_at",)}),
    )
    history_list_display = ("status", "attempts", "sends", "last_error")

    def get_readonly_fields(self, request, obj=None):
        # Content and outcome are a record of what happened: nobody edits them here.
        return [name for _title, box in self.fieldsets for name in box["fields"]]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The list's "resend" action needs change permission; a single reminder is view-only.
        return obj is None and super().has_change_permission(request)

    @admin.display(description=_("recipient"))
    def recipient_masked(self, obj: Reminder) -> str:
        return mask_recipient(obj.recipient)

    @admin.action(description=_("Send the selected failed reminders again"), permissions=["change"])
    def resend(self, request, queryset):
        failed = list(queryset.filter(status=Status.FAILED))
        skipped = queryset.count() - len(failed)
        resent = 0
        for reminder in failed:
            try:
                reminder_resend(reminder=reminder, by=request.user)
            except ReminderError as exc:  # it changed state since the page was shown
                self.message_user(request, exc.message, messages.WARNING)
            else:
                resent += 1
        if resent:
            self.message_user(
                request,
                ngettext("%d reminder queued again.", "%d reminders queued again.", resent) % resent,
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%d reminder was not failed and was left as it is.",
                    "%d reminders were not failed and were left as they are.",
                    skipped,
                )
                % skipped,
                messages.WARNING,
            )


@admin.register(OutboxMessage)
class OutboxMessageAdmin(PiiSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("key", "channel", "recipient_masked", "subject", "created_at")
    list_filter = ("channel",)
    search_fields = ("key",)
    ordering = ("-id",)
    # One message per reminder sent: as big as the reminders.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = ("key", "channel", "recipient_masked", "subject", "body", "created_at")
    readonly_fields = fields

    @admin.display(description=_("recipient"))
    def recipient_masked(self, obj: OutboxMessage) -> str:
        return mask_recipient(obj.recipient)

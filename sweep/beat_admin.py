"""django-celery-beat's schedules in the admin, with who may change what and an audit trail.

Operations admins may switch a periodic task on or off; only superusers add, edit or delete
tasks and their schedules. Every change goes through sweep.schedules, which checks it and
records who, when, old and new (beat's rows have no history table of their own).
"""

from __future__ import annotations

import django_celery_beat.admin as beat_admin
from celery.schedules import ParseException
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from bnpl_admin.admin_base import RefuseUnformedFieldsMixin
from bnpl_admin.errors import DomainError

from . import schedules


class AuditedBeatMixin(RefuseUnformedFieldsMixin):
    """Saves and deletes through sweep.schedules, so each is checked and in the audit trail."""

    def save_model(self, request, obj, form, change):
        try:
            schedules.beat_entry_save(obj=obj, by=request.user, request=request)
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc

    def delete_model(self, request, obj):
        try:
            schedules.beat_entry_delete(obj=obj, by=request.user, request=request)
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


class _EnabledOnlyForm(forms.ModelForm):
    class Meta:
        model = PeriodicTask
        fields = ("enabled",)


class _TaskForm(beat_admin.PeriodicTaskForm):
    """beat's own form for superusers, answering bad input with form errors instead of a 500:
    its clean() reads cleaned_data["task"] even after that field refused its value, and its
    JSON check lets json.loads recurse on deeply nested brackets."""

    def clean(self):
        if "task" not in self.cleaned_data and not self.cleaned_data.get("regtask"):
            return self.cleaned_data  # the task field's own error is on the form
        return super().clean()

    def clean_headers(self):
        # beat's save() turns empty headers into NULL, which its own column refuses (a 500):
        # empty means no headers, "{}" (the column's default); anything else must be JSON.
        if not (self.cleaned_data.get("headers") or "").strip():
            return "{}"
        return self._clean_json("headers")

    def _clean_json(self, field):
        try:
            return super()._clean_json(field)
        except RecursionError as exc:
            raise forms.ValidationError(_("The JSON is nested too deeply.")) from exc


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(AuditedBeatMixin, beat_admin.PeriodicTaskAdmin):
    form = _TaskForm
    actions = ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks")
    # What an operations admin sees: everything, and a switch.
    operations_fieldsets = (
        (None, {"fields": ("name", "task", "enabled", "description")}),
        (
            _("Schedule"),
            {"fields": ("interval", "crontab", "solar", "clocked", "start_time", "last_run_at", "one_off")},
        ),
        (_("Arguments"), {"fields": ("args", "kwargs")}),
        (
            _("Execution Options"),
            {
                "fields": (
                    "expires",
                    "expire_seconds",
                    "queue",
                    "exchange",
                    "routing_key",
                    "priority",
                    "headers",
                )
            },
        ),
    )

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.operations_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return [
            name
            for _title, opts in self.operations_fieldsets
            for name in opts["fields"]
            if name not in schedules.OPERATIONS_EDITABLE_TASK_FIELDS
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if not request.user.is_superuser:
            kwargs["form"] = _EnabledOnlyForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            # Running a task now with its stored arguments is a superuser's decision.
            actions.pop("run_tasks", None)
        return actions

    def _set_enabled(self, request, queryset, value) -> int:
        changed = 0
        with transaction.atomic():
            for task in queryset:
                new = (not task.enabled) if value is None else value
                if task.enabled != new:
                    try:
                        schedules.periodic_task_set_enabled(
                            task=task, enabled=new, by=request.user, request=request
                        )
                    except DomainError as exc:
                        raise PermissionDenied(exc.message) from exc
                    changed += 1
        return changed

    @admin.action(permissions=["change"], description=_("Enable selected tasks"))
    def enable_tasks(self, request, queryset):
        count = self._set_enabled(request, queryset, True)
        self.message_user(request, ngettext("%d task enabled.", "%d tasks enabled.", count) % count)

    @admin.action(permissions=["change"], description=_("Disable selected tasks"))
    def disable_tasks(self, request, queryset):
        count = self._set_enabled(request, queryset, False)
        self.message_user(request, ngettext("%d task disabled.", "%d tasks disabled.", count) % count)

    @admin.action(permissions=["change"], description=_("Toggle activity of selected tasks"))
    def toggle_tasks(self, request, queryset):
        count = self._set_enabled(request, queryset, None)
        self.message_user(request, ngettext("%d task switched.", "%d tasks switched.", count) % count)

    @admin.action(description=_("Run selected tasks"))
    def run_tasks(self, request, queryset):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().run_tasks(request, queryset)


class _ReadOnlyForOthersMixin(AuditedBeatMixin):
    """Schedules (when tasks run) are changed by superusers only; others see them."""

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


class _CrontabDescriptionMixin:
    """The schedule's description for a form shown again with a refused field: celery's crontab
    parser raises on the malformed field (",(Ì" as the day of week) that django-celery-beat's
    validator has just refused, so the page answered 500. Then the description is the stored
    schedule's, which the refused post did not change."""

    @admin.display(description=_("Description"))
    def human_readable(self, obj) -> str:
        try:
            return obj.human_readable
        except (ParseException, ValueError):
            saved = type(obj).objects.filter(pk=obj.pk).first() if obj.pk else None
            return saved.human_readable if saved is not None else "—"


def _reregister(model, base, *mixins):
    admin.site.unregister(model)
    admin.site.register(model, type(base.__name__, (*mixins, _ReadOnlyForOthersMixin, base), {}))


_reregister(CrontabSchedule, beat_admin.CrontabScheduleAdmin, _CrontabDescriptionMixin)
_reregister(IntervalSchedule, beat_admin.IntervalScheduleAdmin)
_reregister(SolarSchedule, beat_admin.SolarScheduleAdmin)
_reregister(ClockedSchedule, beat_admin.ClockedScheduleAdmin)

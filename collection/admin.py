"""Data-fix screens for collection cases and their timelines.

Each page shows only the cases its user may see (CollectionCase.objects.visible_to).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from bnpl_admin.admin_base import AuditedAdmin, ReadOnlyAdminMixin, ReadOnlyInline, RefuseUnformedFieldsMixin
from bnpl_admin.admin_filters import DateRangeFilter
from bnpl_admin.admin_paginator import EstimatedCountPaginator

from .models import AssignmentRule, CaseEvent, CollectionCase, ContactAttempt, Promise, Team
from .sentences import case_event_sentence
from .services import ASSIGN_PERMISSION, case_assign, case_open


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("created_at", "type", "actor", "details")
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("What happened"))
    def details(self, obj) -> str:
        return case_event_sentence(obj.type, obj.payload)


class CollectionCaseForm(forms.ModelForm):
    class Meta:
        model = CollectionCase
        fields = ("customer", "assigned_agent")

    def clean_customer(self):
        # The database allows one open case per customer; the form does not see that
        # constraint (its condition is on a read-only field), so say it here.
        customer = self.cleaned_data["customer"]
        if CollectionCase.objects.open().filter(customer=customer).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("This customer already has an open case."))
        return customer


@admin.register(CollectionCase)
class CollectionCaseAdmin(RefuseUnformedFieldsMixin, AuditedAdmin):
    list_display = (
        "id",
        "customer",
        "status",
        "bucket",
        "days_past_due",
        "assigned_agent",
        "opened_at",
        "closed_at",
    )
    list_filter = (
        "status",
        "bucket",
        ("assigned_agent", admin.EmptyFieldListFilter),
        ("opened_at", DateRangeFilter),
    )
    list_select_related = ("customer", "assigned_agent")
    search_fields = ("customer__platform_user_id__exact", "customer__name__startswith")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    autocomplete_fields = ("customer", "assigned_agent")
    form = CollectionCaseForm
    # Status moves along CASE_TRANSITIONS in the case services, and days past due and the
    # bucket come from the nightly sweep; here a case is opened or (re)assigned.
    readonly_fields = ("status", "days_past_due", "bucket", "opened_at", "closed_at")
    inlines = (CaseEventInline,)
    history_list_display = ("status", "bucket", "days_past_due", "assigned_agent")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def save_model(self, request, obj, form, change):
        # Through the case services, so the timeline and the history say who opened or
        # reassigned the case; the form holds no other field a person may change.
        agent = form.cleaned_data.get("assigned_agent")
        if change:
            if "assigned_agent" in form.changed_data:
                case_assign(case=obj, agent=agent, by=request.user, reason="admin")
            return
        case = case_open(customer=form.cleaned_data["customer"], agent=agent, by=request.user, reason="admin")
        # The admin goes on with its own instance (the log entry, the redirect): make it the saved row.
        obj.pk, obj.opened_at = case.pk, case.opened_at
        obj._state.adding, obj._state.db = False, case._state.db

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("customer")
        # Only who may assign cases (collection.services.case_assign checks it too) gets the
        # field; a post naming it anyway is refused (RefuseUnformedFieldsMixin).
        if not request.user.has_perm(ASSIGN_PERMISSION):
            readonly.append("assigned_agent")
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a case would delete its timeline with it; a case is closed, never removed.
        return False


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "case", "type", "actor", "details")
    list_filter = ("type", ("created_at", DateRangeFilter))
    list_select_related = ("case__customer", "actor")
    search_fields = ("case__customer__platform_user_id__exact",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        events = super().get_queryset(request)
        if request.user.has_perm("collections.view_all_collectioncase"):
            return events  # spare the big table a pointless semi-join
        return events.filter(case__in=CollectionCase.objects.visible_to(request.user))

    @admin.display(description=_("What happened"))
    def details(self, obj) -> str:
        return case_event_sentence(obj.type, obj.payload)


# --- Contacts under the conduct rules ---------------------------------------------------------


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    """Read only: contacts are recorded by collection.services.contact_record (the case's contact
    page), which checks the conduct rules; a data fix never adds one behind them."""

    list_display = ("at", "case", "party", "channel", "direction", "outcome", "agent")
    list_filter = ("channel", "outcome", "party", ("at", DateRangeFilter))
    list_select_related = ("case__customer", "agent")
    search_fields = ("customer__platform_user_id__exact",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    history_list_display = ("outcome",)

    def get_queryset(self, request):
        contacts = super().get_queryset(request)
        if request.user.has_perm("collections.view_all_collectioncase"):
            return contacts
        return contacts.filter(case__in=CollectionCase.objects.visible_to(request.user))


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    """Teams and their members: who shares a queue, who assigns it (changes kept in the history)."""

    list_display = ("name", "manager", "member_count", "created_at")
    search_fields = ("name",)
    autocomplete_fields = ("manager",)
    filter_horizontal = ("members",)
    readonly_fields = ("created_at",)
    history_list_display = ("name", "manager")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("manager").annotate(members_n=Count("members"))

    @admin.display(description=_("members"), ordering="members_n")
    def member_count(self, obj) -> int:
        return obj.members_n


@admin.register(Promise)
class PromiseAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    """Read only: promises are made with a contact and decided by the ledger (the sweep), never
    by hand."""

    list_display = ("made_at", "case", "amount", "due_date", "status", "decided_on", "made_by")
    list_filter = ("status", ("due_date", DateRangeFilter))
    list_select_related = ("case__customer", "made_by")
    search_fields = ("customer__platform_user_id__exact",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    history_list_display = ("status",)

    def get_queryset(self, request):
        promises = super().get_queryset(request)
        if request.user.has_perm("collections.view_all_collectioncase"):
            return promises
        return promises.filter(case__in=CollectionCase.objects.visible_to(request.user))


# --- Assignment rules by bucket -----------------------------------------------------------------


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    """Read only: managers keep the rules on their console page (collections:assignment_rules),
    through collection.assignment's services."""

    list_display = ("bucket", "ordering", "team", "method", "active", "created_by", "created_at")
    list_filter = ("bucket", "active")
    list_select_related = ("team", "created_by")
    history_list_display = ("bucket", "team", "method", "active")

"""Data-fix screens for merchants, orders, schedules, payments and their entries.

Money moves only through orders.services: the admin shows amounts read-only, and its
actions (reverse a payment, waive a fee) call the service after asking for a reason.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from bnpl_admin.admin_base import AuditedAdmin, ReadOnlyAdminMixin, ReadOnlyInline
from bnpl_admin.admin_filters import DateRangeFilter
from bnpl_admin.admin_paginator import EstimatedCountPaginator
from bnpl_admin.errors import DomainError

from . import selectors, services
from .forms import FeeWaiveForm, ManualPaymentRejectForm, PaymentPostForm, PaymentReverseForm
from .models import (
    Installment,
    ManualPaymentRequest,
    ManualPaymentStatus,
    Merchant,
    Order,
    OrderEvent,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Waiver,
)
from .sentences import order_event_sentence


class ActionPageMixin:
    """Renders the intermediate page of an action that asks for input before calling a service.

    The page posts back to the changelist with the action and the selected rows, plus
    `apply`, so the action runs again with the form bound.
    """

    def action_page(self, request, queryset, *, action: str, form, title, template: str, **context):
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.opts,
                "objects": list(queryset),
                "form": form,
                "media": self.media + form.media,
                "action": action,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "cancel_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
                **context,
            },
        )


# --- Merchants and orders ---------------------------------------------------------------------


@admin.register(Merchant)
class MerchantAdmin(AuditedAdmin):
    list_display = ("name", "category", "is_risky", "created_at")
    list_filter = ("is_risky", "category")
    search_fields = ("name",)
    history_list_display = ("is_risky", "category")


class InstallmentInline(ReadOnlyInline):
    model = Installment
    fields = (
        "sequence",
        "due_date",
        "status",
        "principal_due",
        "principal_paid",
        "fee_due",
        "fee_paid",
        "fee_waived",
        "late_fee_due",
        "late_fee_paid",
        "late_fee_waived",
        "paid_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "type", "actor", "details")
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("What happened"))
    def details(self, obj) -> str:
        return order_event_sentence(obj.type, obj.payload)


@admin.register(Order)
class OrderAdmin(AuditedAdmin):
    list_display = (
        "external_reference",
        "customer",
        "merchant",
        "amount",
        "fee_amount",
        "plan",
        "status",
        "hold",
        "placed_at",
        "delivered_at",
    )
    list_filter = ("status", "plan", "channel", "hold", ("placed_at", DateRangeFilter))
    list_select_related = ("customer", "merchant")
    search_fields = ("external_reference__exact", "customer__platform_user_id__exact")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    autocomplete_fields = ("merchant",)
    # What the order is worth and where it is in its lifecycle change only through the
    # services (order_transition, order_return, ...); descriptive fields stay editable.
    readonly_fields = (
        "customer",
        "external_reference",
        "amount",
        "plan",
        "fee_rate",
        "fee_amount",
        "status",
        "decline_reasons",
        "hold",
        "hold_since",
        "placed_at",
        "shipped_at",
        "delivered_at",
        "closed_at",
    )
    fieldsets = (
        (None, {"fields": ("external_reference", "customer", "merchant", "channel", "item_summary")}),
        (_("Money"), {"fields": ("amount", "plan", "fee_rate", "fee_amount")}),
        (
            _("Lifecycle"),
            {
                "fields": (
                    "status",
                    "decline_reasons",
                    "hold",
                    "hold_since",
                    "placed_at",
                    "shipped_at",
                    "delivered_at",
                    "closed_at",
                )
            },
        ),
    )
    inlines = (InstallmentInline, OrderEventInline)
    history_list_display = ("status", "hold")

    def has_add_permission(self, request) -> bool:
        # An order comes from the platform through order_place, which runs the credit decision.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # An order is cancelled or returned, never deleted: its events and schedule are the record.
        return False


# --- Instalments and waivers ------------------------------------------------------------------


class AllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fk_name = "installment"
    fields = ("payment", "component", "amount", "kind", "business_date", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment", "installment__order")


class WaiverInline(ReadOnlyInline):
    model = Waiver
    fields = ("component", "amount", "reason", "requested_by", "approved_by", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by", "approved_by")


@admin.register(Installment)
class InstallmentAdmin(ActionPageMixin, AuditedAdmin):
    list_display = (
        "__str__",
        "customer",
        "due_date",
        "status",
        "principal_due",
        "principal_paid",
        "fee_due",
        "fee_paid",
        "fee_waived",
        "late_fee_due",
        "late_fee_paid",
        "late_fee_waived",
        "outstanding",
    )
    list_filter = ("status", ("due_date", DateRangeFilter))
    list_select_related = ("order", "customer")
    search_fields = ("order__external_reference__exact", "customer__platform_user_id__exact")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # Every amount is the stored total of entries (allocations, waivers, late-fee accrual)
    # kept by the services; an edit here would disagree with the entries. The dates stay
    # editable for schedule fixes, and each edit is in the history.
    readonly_fields = (
        "order",
        "customer",
        "sequence",
        "principal_due",
        "fee_due",
        "late_fee_due",
        "principal_paid",
        "fee_paid",
        "late_fee_paid",
        "fee_waived",
        "late_fee_waived",
        "status",
        "paid_at",
        "outstanding",
    )
    fieldsets = (
        (None, {"fields": ("order", "customer", "sequence", "status", "paid_at")}),
        (_("Dates"), {"fields": ("due_date", "hold_days", "late_fee_through")}),
        (
            _("Money (changed only by payments, waivers and the sweep)"),
            {
                "fields": (
                    ("principal_due", "principal_paid"),
                    ("fee_due", "fee_paid", "fee_waived"),
                    ("late_fee_due", "late_fee_paid", "late_fee_waived"),
                    "outstanding",
                )
            },
        ),
    )
    inlines = (AllocationInline, WaiverInline)
    history_list_display = ("status", "principal_paid", "fee_paid", "late_fee_due", "late_fee_paid")
    actions = ("waive_fee",)

    def has_add_permission(self, request) -> bool:
        # Schedules are built by order_deliver and add up to the order; a row added by hand would not.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("outstanding"))
    def outstanding(self, obj: Installment):
        return obj.total_outstanding

    def has_waive_fee_permission(self, request) -> bool:
        return request.user.has_perm("orders.waive_fee")

    @admin.action(permissions=["waive_fee"], description=_("Waive late fee / fee of the selected instalment"))
    def waive_fee(self, request, queryset):
        installments = list(queryset.select_related("order", "customer")[:2])
        if len(installments) != 1:
            self.message_user(request, _("Select exactly one instalment to waive a fee."), messages.ERROR)
            return None
        installment = installments[0]
        form = FeeWaiveForm(request.POST if "apply" in request.POST else None, approver=request.user)
        if form.is_bound and form.is_valid():
            known = Waiver.objects.filter(request_token=form.cleaned_data["token"]).exists()
            try:
                waiver = services.fee_waive(
                    installment=installment,
                    component=form.cleaned_data["component"],
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    approved_by=request.user,
                    requested_by=form.cleaned_data["requested_by"],
                    token=form.cleaned_data["token"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if known:
                    self.message_user(
                        request, _("This waiver was already recorded; nothing changed."), messages.WARNING
                    )
                    return None
                self.message_user(
                    request,
                    _("Waived ¥%(amount)s of %(component)s on %(installment)s.")
                    % {
                        "amount": waiver.amount,
                        "component": waiver.get_component_display(),
                        "installment": installment,
                    },
                    messages.SUCCESS,
                )
                return None
        return self.action_page(
            request,
            [installment],
            action="waive_fee",
            form=form,
            title=_("Waive a fee on %(installment)s") % {"installment": installment},
            template="admin/orders/installment/waive_fee.html",
            installment=installment,
            submit_label=_("Waive"),
        )


# --- Payments and where they went ---------------------------------------------------------------


class PaymentAllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fk_name = "payment"
    fields = ("installment", "component", "amount", "kind", "business_date", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment", "installment__order")


@admin.register(Payment)
class PaymentAdmin(ActionPageMixin, AuditedAdmin):
    list_display = (
        "external_reference",
        "customer",
        "amount",
        "credit_created",
        "method",
        "status",
        "received_at",
        "posted_by",
        "reversed_at",
    )
    list_filter = ("status", "method", ("received_at", DateRangeFilter))
    list_select_related = ("customer", "posted_by")
    search_fields = ("external_reference__exact", "customer__platform_user_id__exact")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # Only the method is a plain fact to fix; everything else is what the services recorded.
    readonly_fields = (
        "customer",
        "external_reference",
        "amount",
        "credit_created",
        "received_at",
        "status",
        "posted_by",
        "created_at",
        "reversed_at",
        "reversed_by",
        "reversal_reason",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "external_reference",
                    "customer",
                    "amount",
                    "credit_created",
                    "method",
                    "received_at",
                )
            },
        ),
        (
            _("Record"),
            {
                "fields": (
                    "status",
                    "posted_by",
                    "created_at",
                    "reversed_at",
                    "reversed_by",
                    "reversal_reason",
                )
            },
        ),
    )
    inlines = (PaymentAllocationInline,)
    history_list_display = ("status", "credit_created", "reversal_reason")
    actions = ("reverse_payment",)
    MAX_REVERSALS = 50

    def has_add_permission(self, request) -> bool:
        # A payment is posted with orders.services.payment_post (the customer's "Post a payment"),
        # which allocates it; a row added here would hold money that paid nothing.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Reversal is a new entry that undoes the allocations, never a deletion (DESIGN.md).
        return False

    def has_reverse_payment_permission(self, request) -> bool:
        return request.user.has_perm("orders.reverse_payment")

    def has_post_payment_permission(self, request) -> bool:
        return request.user.has_perm("orders.post_payment")

    def get_urls(self):
        # Linked from the customer's page and the customer list's action (accounts.admin).
        urls = [
            path(
                "post-for-customer/<path:customer_id>/",
                self.admin_site.admin_view(self.post_payment_view),
                name="orders_payment_post",
            )
        ]
        return urls + super().get_urls()

    def post_payment_view(self, request, customer_id):
        """A customer's "Post a payment" screen: posted like the provider would, through
        orders.services.manual_payment_submit (above the policy's thresholds, a request for a
        second person)."""
        customer_opts = Customer._meta
        customer_id = unquote(customer_id)
        customer = Customer.objects.filter(pk=customer_id).first() if customer_id.isdigit() else None
        if customer is None:
            return self._get_obj_does_not_exist_redirect(request, customer_opts, customer_id)
        may_see = request.user.has_perm("accounts.view_customer") or request.user.has_perm(
            "accounts.change_customer"
        )
        if not (may_see and self.has_post_payment_permission(request)):
            raise PermissionDenied

        form = PaymentPostForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                outcome = services.manual_payment_submit(
                    customer=customer,
                    amount=data["amount"],
                    reference=data["reference"],
                    received_at=data["received_at"],
                    method=data["method"],
                    by=request.user,
                    reason=data["reason"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if isinstance(outcome, ManualPaymentRequest):
                    self.message_user(request, *_requested_message(outcome))
                    return HttpResponseRedirect(
                        reverse("admin:orders_manualpaymentrequest_change", args=[outcome.pk])
                    )
                self.message_user(request, *_posted_message(outcome))
                return HttpResponseRedirect(reverse("admin:orders_payment_change", args=[outcome.payment.pk]))

        context = {
            **self.admin_site.each_context(request),
            "title": _("Post a payment for %(customer)s") % {"customer": customer},
            # The page is the customer's: its breadcrumbs lead back to the customers.
            "opts": customer_opts,
            "original": customer,
            "objects": [customer],
            "form": form,
            "media": self.media + form.media,
            "balance": selectors.customer_balance(customer=customer),
            "submit_label": _("Post payment"),
            "cancel_url": reverse("admin:accounts_customer_change", args=[customer.pk]),
        }
        return TemplateResponse(request, "admin/orders/payment/post_payment.html", context)

    @admin.action(permissions=["reverse_payment"], description=_("Reverse the selected payments"))
    def reverse_payment(self, request, queryset):
        # "Select all" across pages could hand over the whole table.
        payments = list(queryset.select_related("customer")[: self.MAX_REVERSALS + 1])
        if len(payments) > self.MAX_REVERSALS:
            self.message_user(
                request,
                _("Reverse at most %(max)d payments at a time.") % {"max": self.MAX_REVERSALS},
                messages.ERROR,
            )
            return None
        form = PaymentReverseForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            current = None
            try:
                # All or nothing: one payment that cannot be reversed leaves the others as they were.
                with transaction.atomic():
                    for current in payments:
                        services.payment_reverse(
                            payment=current, reason=form.cleaned_data["reason"], by=request.user
                        )
            except DomainError as exc:
                form.add_error(None, f"{current.external_reference}: {exc.message}")
            else:
                self.message_user(
                    request,
                    _("Reversed %(count)d payment(s).") % {"count": len(payments)},
                    messages.SUCCESS,
                )
                return None
        return self.action_page(
            request,
            payments,
            action="reverse_payment",
            form=form,
            title=_("Reverse payments"),
            template="admin/orders/payment/reverse_payment.html",
            already_reversed=[p for p in payments if p.status == PaymentStatus.REVERSED],
            submit_label=_("Reverse"),
        )


def _requested_message(waiting: ManualPaymentRequest) -> tuple[str, int]:
    # Not an error: the request was made; the payment posts when a colleague approves it.
    text = _(
        "¥%(amount)s (%(ref)s) is sent for a second person's approval (%(why)s); "
        "it is posted when a colleague approves it under Manual payment requests."
    )
    values = {"amount": waiting.amount, "ref": waiting.reference, "why": waiting.approval_reasons_text()}
    return text % values, messages.SUCCESS


def _posted_message(posting: services.PaymentPosting) -> tuple[str, int]:
    payment = posting.payment
    if posting.replayed:
        text = _("Payment %(ref)s was already posted; nothing changed.")
        return text % {"ref": payment.external_reference}, messages.WARNING
    text = _("Posted ¥%(amount)s (%(ref)s): ¥%(allocated)s allocated, ¥%(credit)s left as credit.")
    values = {
        "amount": payment.amount,
        "ref": payment.external_reference,
        "allocated": payment.amount - payment.credit_created,
        "credit": payment.credit_created,
    }
    return text % values, messages.SUCCESS


# --- Payments typed in by hand that wait for a second person -------------------------------------


@admin.register(ManualPaymentRequest)
class ManualPaymentRequestAdmin(ActionPageMixin, AuditedAdmin):
    """Requests made on a customer's "Post a payment" page above the policy's thresholds.

    Read-only: a request is approved (posted by payment_post) or rejected by another person
    than its requester, with the actions, which call orders.services.
    """

    list_display = (
        "reference",
        "customer",
        "amount",
        "received_at",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "method")
    list_select_related = ("customer", "requested_by", "decided_by")
    search_fields = ("reference__exact", "customer__platform_user_id__exact")
    date_hierarchy = "requested_at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = (
        "customer",
        "amount",
        "reference",
        "received_at",
        "method",
        "reason",
        "approval_reasons_text",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "payment",
    )
    readonly_fields = fields
    history_list_display = ("status", "decided_by", "decision_note")
    actions = ("approve_requests", "reject_requests")
    MAX_DECISIONS = 50

    def has_add_permission(self, request) -> bool:
        # A request is made on the customer's "Post a payment" page (manual_payment_submit).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("orders.approve_manualpaymentrequest")

    def _pending(self, request, queryset):
        rows = list(queryset.select_related("customer", "requested_by")[: self.MAX_DECISIONS + 1])
        if len(rows) > self.MAX_DECISIONS:
            self.message_user(
                request,
                _("Decide at most %(max)d requests at a time.") % {"max": self.MAX_DECISIONS},
                messages.ERROR,
            )
            return None
        return rows

    def _decide(self, request, rows, decide) -> bool:
        current = None
        try:
            # All or nothing: one request that cannot be decided leaves the others waiting.
            with transaction.atomic():
                for current in rows:
                    decide(current)
        except DomainError as exc:
            self.message_user(request, f"{current.reference}: {exc.message}", messages.ERROR)
            return False
        return True

    @admin.action(permissions=["decide"], description=_("Approve and post the selected manual payments"))
    def approve_requests(self, request, queryset):
        rows = self._pending(request, queryset)
        if rows and self._decide(
            request, rows, lambda row: services.manual_payment_approve(request=row, by=request.user)
        ):
            self.message_user(
                request,
                _("Approved and posted %(count)d manual payment(s).") % {"count": len(rows)},
                messages.SUCCESS,
            )

    @admin.action(permissions=["decide"], description=_("Reject the selected manual payments"))
    def reject_requests(self, request, queryset):
        rows = self._pending(request, queryset)
        if rows is None:
            return None
        form = ManualPaymentRejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            if self._decide(
                request,
                rows,
                lambda row: services.manual_payment_reject(request=row, by=request.user, note=note),
            ):
                self.message_user(
                    request,
                    _("Rejected %(count)d manual payment(s).") % {"count": len(rows)},
                    messages.SUCCESS,
                )
            return None
        return self.action_page(
            request,
            rows,
            action="reject_requests",
            form=form,
            title=_("Reject manual payments"),
            template="admin/bnpl_action_form.html",
            submit_label=_("Reject"),
        )

    def get_queryset(self, request):
        # Waiting requests first: they are what this page is for.
        return (
            super()
            .get_queryset(request)
            .order_by(
                models.Case(models.When(status=ManualPaymentStatus.PENDING, then=0), default=1),
                "-requested_at",
            )
        )


# --- Entries written only by the services --------------------------------------------------------


@admin.register(PaymentAllocation)
class PaymentAllocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "payment",
        "installment",
        "component",
        "amount",
        "kind",
        "business_date",
        "created_at",
    )
    list_filter = ("kind", "component", ("business_date", DateRangeFilter))
    list_select_related = ("payment", "installment__order")
    search_fields = ("payment__external_reference__exact", "installment__order__external_reference__exact")
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "installment",
        "component",
        "amount",
        "reason",
        "requested_by",
        "approved_by",
        "created_at",
    )
    list_filter = ("component", ("created_at", DateRangeFilter))
    list_select_related = ("installment__order", "requested_by", "approved_by")
    search_fields = ("installment__order__external_reference__exact",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "order", "type", "actor", "details")
    list_filter = ("type", ("created_at", DateRangeFilter))
    list_select_related = ("order", "actor")
    search_fields = ("order__external_reference__exact",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description=_("What happened"))
    def details(self, obj) -> str:
        return order_event_sentence(obj.type, obj.payload)


class CustomerOrderInline(ReadOnlyInline):
    model = Order

    fields = ("external_reference", "merchant", "amount", "plan", "status", "hold", "placed_at")
    ordering = ("-placed_at", "-id")
    verbose_name_plural = _("orders (change them on the order page)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merchant")


# The customer's page lists their orders. accounts sits below orders and may not import them,
# so orders adds its inline to the customer's admin through the admin registry (accounts'
# admin module is loaded first: INSTALLED_APPS order, which admin.autodiscover follows).
_customer_admin = admin.site.get_model_admin(Customer)
if CustomerOrderInline not in _customer_admin.inlines:
    _customer_admin.inlines = [*_customer_admin.inlines, CustomerOrderInline]

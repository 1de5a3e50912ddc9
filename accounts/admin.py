"""Data-fix screens for staff users, customers, emergency contacts and credit lines.

Also holds the admin building blocks the other apps share: audited history without
revert, read-only entry tables, and masking of personal data for roles without
`accounts.reveal_pii`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from bnpl_admin.errors import DomainError
from orders import selectors as order_selectors
from orders import services as order_services
from orders.forms import PaymentPostForm
from orders.models import ManualPaymentRequest, Order, Payment

from . import otp
from .masking import can_see_pii, mask_national_id, mask_phone
from .models import CreditLine, Customer, EmergencyContact, User

# --- Shared building blocks ------------------------------------------------------------------


class AuditedAdmin(SimpleHistoryAdmin):
    """An admin whose history page shows who changed what, from what, to what.

    Revert is off everywhere: it writes every field of an old version at once, past the
    read-only rules of the change form (money on instalments, roles on users, policy
    versions in force). A data fix is made through the change form or a service action.
    """

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def history_view(self, request, object_id, extra_context=None):
        _require_integer_ids(object_id)
        return super().history_view(request, object_id, extra_context)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        # Called once with the page's versions: the place to name them without a query each.
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        _name_versions(list(historical_records))

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        _require_integer_ids(object_id, version_id)
        # simple-history saves the old version on any POST, even for view-only users.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


def _name_versions(records) -> None:
    """Set `object_name` on each history row: str() of the object as it was then.

    A version's object is built from the history row without its relations, so a __str__
    that follows a foreign key (a credit line names its customer) would query once per
    version. simple-history already loaded each tracked relation with the history rows
    (select_related); hand those to the rebuilt objects instead.
    """
    for record in records:
        obj = record.history_object
        for field in obj._meta.concrete_fields:
            forward = field.many_to_one or field.one_to_one  # a OneToOneField is not many_to_one
            if forward and record._meta.get_field(field.name).is_cached(record):
                field.set_cached_value(obj, getattr(record, field.name))
        record.object_name = str(obj)


def _require_integer_ids(*ids) -> None:
    """simple-history hands ids from the URL to the ORM unchecked; a malformed one is a 404."""
    for value in ids:
        if not str(unquote(str(value))).isdigit():
            raise Http404("No such record.")


class ReadOnlyAdminMixin:
    """For entry tables that only services write (allocations, waivers, events): view only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """An inline list of rows that are shown, linked, and never edited from the parent."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


class _MaskedHistoryHelper(HistoricalRecordContextHelper):
    """Shows old → new values of personal data fields masked on the history page."""

    def __init__(self, model, record, *, maskers):
        super().__init__(model, record)
        self.maskers = maskers

    def prepare_delta_change_value(self, change, value):
        if change.field in self.maskers:
            return self.maskers[change.field](value or "")
        return super().prepare_delta_change_value(change, value)


class PiiMaskingMixin:
    """Masks phone numbers and national ids for users without `accounts.reveal_pii`.

    Masked everywhere the admin could show them: list columns, change and history forms,
    the history diff. Such users cannot search or filter on these fields either, since a
    lookup that answers yes or no would reveal a number digit by digit.
    """

    pii_maskers = {"phone": mask_phone, "national_id": mask_national_id}
    # Search fields that only users who may see the data may use.
    pii_search_fields: tuple[str, ...] = ()

    def _masked(self, names, request) -> list[str]:
        if can_see_pii(request.user):
            return list(names)
        return [f"masked_{name}" if name in self.pii_maskers else name for name in names]

    def get_list_display(self, request):
        return self._masked(super().get_list_display(request), request)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            # An add form shows the inputs: nothing stored is revealed by them.
            return fieldsets
        return [
            (title, {**opts, "fields": self._masked(opts["fields"], request)}) for title, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not can_see_pii(request.user):
            names = {f.name for f in self.model._meta.get_fields()}
            readonly += [f"masked_{name}" for name in self.pii_maskers if name in names]
        return readonly

    def get_search_fields(self, request):
        fields = list(super().get_search_fields(request))
        if can_see_pii(request.user):
            return [*fields, *self.pii_search_fields]
        return fields

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__")[0] in self.pii_maskers and not (request and can_see_pii(request.user)):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_historical_record_context_helper(self, request, historical_record):
        if can_see_pii(request.user):
            return super().get_historical_record_context_helper(request, historical_record)
        return _MaskedHistoryHelper(self.model, historical_record, maskers=self.pii_maskers)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("national id"))
    def masked_national_id(self, obj) -> str:
        return mask_national_id(obj.national_id)


# --- Staff users -----------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ("timezone", "language")}),
        (_("Sign-in"), {"fields": ("sign_in_lockout",)}),
    )
    readonly_fields = ("sign_in_lockout",)
    actions = ("reset_second_factor",)
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "roles",
        "is_staff",
        "is_active",
        "last_login",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "groups", "language")
    history_list_display = ("is_active", "is_staff", "is_superuser")
    # Who may hand out roles and admin access is itself a permission (accounts.roles).
    role_fields = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.has_perm("accounts.change_user_roles"):
            readonly += self.role_fields
        return readonly

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(obj.role_names)

    @admin.display(description=_("failed sign-ins"))
    def sign_in_lockout(self, obj: User) -> str:
        # Unlocking is deleting the attempts in django-axes' list (axes.delete_accessattempt).
        since = timezone.now() - settings.AXES_COOLOFF_TIME
        attempts = AccessAttempt.objects.filter(username=obj.get_username(), attempt_time__gte=since)
        addresses = attempts.count()
        if not addresses:
            return _("None in the last %(minutes)d minutes.") % {
                "minutes": settings.AXES_COOLOFF_TIME.total_seconds() // 60
            }
        locked = attempts.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).count()
        url = f"{reverse('admin:axes_accessattempt_changelist')}?{urlencode({'q': obj.get_username()})}"
        return format_html(
            '{} <a href="{}">{}</a>',
            _("From %(addresses)d address(es), %(locked)d of them locked out.")
            % {"addresses": addresses, "locked": locked},
            url,
            _("See them and unlock (delete the attempts)"),
        )

    @admin.action(permissions=["change"], description=_("Reset second factor (set up again at next sign-in)"))
    def reset_second_factor(self, request, queryset):
        done, refused = [], []
        for user in queryset:
            # Only a superuser resets a superuser's factor: it guards the widest access.
            if user.is_superuser and not request.user.is_superuser:
                refused.append(user.get_username())
                continue
            otp.second_factor_reset(user=user, by=request.user, request=request)
            done.append(user.get_username())
        if done:
            self.message_user(
                request,
                _("Second factor reset for %(users)s: they set it up again at their next sign-in.")
                % {"users": ", ".join(done)},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                _("Not reset, only a superuser may reset a superuser's second factor: %(users)s.")
                % {"users": ", ".join(refused)},
                messages.ERROR,
            )

    def save_model(self, request, obj, form, change):
        # The history table does not track many-to-many fields, so a role change is written
        # into the change reason of the history row this save creates: who, when, old, new.
        if change and {"groups", "user_permissions"} & set(form.changed_data):
            old = sorted(obj.groups.values_list("name", flat=True))
            new = sorted(g.name for g in form.cleaned_data.get("groups", obj.groups.all()))
            reason = f"roles: {', '.join(old) or '-'} → {', '.join(new) or '-'}"
            if "user_permissions" in form.changed_data:
                reason += " (+ direct permissions changed)"
            obj._change_reason = reason[:100]
        super().save_model(request, obj, form, change)


# --- Customers -------------------------------------------------------------------------------


class CreditLineForm(forms.ModelForm):
    class Meta:
        model = CreditLine
        fields = ("customer", "limit", "grade", "score", "status", "status_reason")

    def save(self, commit=True):
        if "status" in self.changed_data:
            self.instance.status_changed_at = timezone.now()
        return super().save(commit)


class CreditLineRulesMixin:
    """Freezing and unfreezing a line is its own permission; the time of a change is recorded."""

    form = CreditLineForm

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "status_changed_at"]
        if not request.user.has_perm("accounts.freeze_creditline"):
            readonly += ["status", "status_reason"]
        return readonly


class CreditLineInline(CreditLineRulesMixin, admin.StackedInline):
    model = CreditLine
    can_delete = False
    max_num = 1
    fields = ("limit", "grade", "score", "status", "status_reason", "status_changed_at")


class EmergencyContactInline(PiiMaskingMixin, admin.TabularInline):
    model = EmergencyContact
    extra = 0
    fields = ("name", "relationship", "phone")

    def has_add_permission(self, request, obj=None) -> bool:
        # A new row would need a phone input among masked ones.
        return can_see_pii(request.user) and super().has_add_permission(request, obj)


class CustomerOrderInline(ReadOnlyInline):
    model = Order

    fields = ("external_reference", "merchant", "amount", "plan", "status", "hold", "placed_at")
    ordering = ("-placed_at", "-id")
    verbose_name_plural = _("orders (change them on the order page)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merchant")


@admin.register(Customer)
class CustomerAdmin(PiiMaskingMixin, AuditedAdmin):
    list_display = (
        "platform_user_id",
        "name",
        "phone",
        "national_id",
        "city",
        "status",
        "credit_line__limit",
        "credit_line__grade",
        "credit_line__status",
        "created_at",
    )
    list_filter = ("status", "credit_line__status", "credit_line__grade", "language")
    list_select_related = ("credit_line",)
    # Identifiers are matched exactly so a search uses an index on a table of millions.
    search_fields = ("platform_user_id__exact", "name__startswith")
    pii_search_fields = ("phone__exact", "national_id__exact")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("platform_user_id", "name", "status", "created_at")}),
        (_("Contact"), {"fields": ("phone", "email", "national_id", "timezone", "language")}),
        (_("Address"), {"fields": ("province", "city", "district", "street")}),
    )
    inlines = (CreditLineInline, EmergencyContactInline, CustomerOrderInline)
    history_list_display = ("status",)
    actions = ("post_payment",)
    change_form_template = "admin/accounts/customer/change_form.html"

    def get_urls(self):
        urls = [
            path(
                "<path:object_id>/post-payment/",
                self.admin_site.admin_view(self.post_payment_view),
                name="accounts_customer_post_payment",
            )
        ]
        return urls + super().get_urls()

    def has_post_payment_permission(self, request) -> bool:
        return request.user.has_perm("orders.post_payment")

    @admin.action(permissions=["post_payment"], description=_("Post a payment for the selected customer"))
    def post_payment(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, _("Select exactly one customer to post a payment."), messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:accounts_customer_post_payment", args=[ids[0]]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_post_payment": self.has_post_payment_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def post_payment_view(self, request, object_id):
        """Post a payment by hand through orders.services.payment_post, like the provider would."""
        customer = self.get_object(request, object_id)
        if customer is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not (
            self.has_view_or_change_permission(request, customer)
            and self.has_post_payment_permission(request)
        ):
            raise PermissionDenied

        form = PaymentPostForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            known = Payment.objects.filter(external_reference=data["reference"].strip()).exists()
            try:
                # Posted at once, or above the policy's thresholds a request for a second person.
                outcome = order_services.manual_payment_submit(
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
                self.message_user(request, *_posted_message(outcome, known=known))
                return HttpResponseRedirect(reverse("admin:orders_payment_change", args=[outcome.pk]))

        context = {
            **self.admin_site.each_context(request),
            "title": _("Post a payment for %(customer)s") % {"customer": customer},
            "opts": self.opts,
            "original": customer,
            "objects": [customer],
            "form": form,
            "media": self.media + form.media,
            "balance": order_selectors.customer_balance(customer=customer),
            "submit_label": _("Post payment"),
            "cancel_url": reverse("admin:accounts_customer_change", args=[customer.pk]),
        }
        return TemplateResponse(request, "admin/accounts/customer/post_payment.html", context)


def _requested_message(waiting) -> tuple[str, int]:
    # Not an error: the request was made; the payment posts when a colleague approves it.
    text = _(
        "¥%(amount)s (%(ref)s) is sent for a second person's approval (%(why)s); "
        "it is posted when a colleague approves it under Manual payment requests."
    )
    values = {"amount": waiting.amount, "ref": waiting.reference, "why": "; ".join(waiting.approval_reasons)}
    return text % values, messages.SUCCESS


def _posted_message(payment, *, known: bool) -> tuple[str, int]:
    if known:
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


@admin.register(EmergencyContact)
class EmergencyContactAdmin(PiiMaskingMixin, AuditedAdmin):
    list_display = ("name", "relationship", "phone", "customer")
    list_select_related = ("customer",)
    search_fields = ("customer__platform_user_id__exact", "name__startswith")
    pii_search_fields = ("phone__exact",)
    autocomplete_fields = ("customer",)
    fieldsets = ((None, {"fields": ("customer", "name", "relationship", "phone")}),)
    show_full_result_count = False


@admin.register(CreditLine)
class CreditLineAdmin(CreditLineRulesMixin, AuditedAdmin):
    list_display = ("customer", "limit", "grade", "score", "status", "status_changed_at", "updated_at")
    list_filter = ("status", "grade")
    list_select_related = ("customer",)
    search_fields = ("customer__platform_user_id__exact", "customer__name__startswith")
    autocomplete_fields = ("customer",)
    readonly_fields = ("updated_at",)
    history_list_display = ("limit", "grade", "status", "status_reason")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # A line belongs to one customer for life.
        return [*readonly, "customer"] if obj is not None else readonly

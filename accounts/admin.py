"""Data-fix screens for staff users, customers, emergency contacts and credit lines.

The building blocks every app's admin shares (audited history, read-only tables, masking of
personal data) are in bnpl_admin.admin_base.
"""

from __future__ import annotations

from urllib.parse import urlencode

# Imported for its registrations, so they exist to be replaced below whatever the app order.
import axes.admin
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from bnpl_admin.admin_base import (
    AuditedAdmin,
    PiiMaskingMixin,
    ReadOnlyAdminMixin,
    RefuseUnformedFieldsMixin,
)
from bnpl_admin.admin_filters import DateRangeFilter
from bnpl_admin.admin_paginator import EstimatedCountPaginator
from bnpl_admin.errors import DomainError

from . import otp, services
from .masking import can_reveal_pii
from .models import CreditLine, Customer, EmergencyContact, User
from .navigation import role_label
from .roles import Role


def _refused(exc: DomainError) -> PermissionDenied:
    return PermissionDenied(exc.message)


@admin.register(User)
class UserAdmin(RefuseUnformedFieldsMixin, AuditedAdmin, DjangoUserAdmin):
    """Staff accounts. Roles, flags, passwords and second factors change through
    accounts.services, which decide who may change whom; the form only shows what the
    signed-in user may change."""

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
    role_fields = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def _may_manage(self, request, obj) -> bool:
        try:
            services.user_manage_check(user=obj, by=request.user)
        except DomainError:
            return False
        return True

    def has_change_permission(self, request, obj=None) -> bool:
        # A superuser's or an operations admin's account is view only for everyone else.
        if obj is not None and not request.user.is_superuser and services.user_is_protected(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and not self._may_manage(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        if not self._may_manage(request, obj):
            # Nobody changes their own roles or flags.
            return [*readonly, "is_active", *self.role_fields]
        if not request.user.is_superuser:
            readonly += [name for name in self.role_fields if name not in ("groups",)]
        if not (request.user.is_superuser or request.user.has_perm("accounts.change_user_roles")):
            readonly.append("groups")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form
        actor = request.user

        class ActorUserForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                groups = self.fields.get("groups")
                if groups is not None:
                    # Only the declared roles; the Operations admin role only from a superuser.
                    names = set(Role.values)
                    if not actor.is_superuser:
                        names -= services.SUPERUSER_ONLY_ROLES
                    groups.queryset = Group.objects.filter(name__in=names).order_by("name")

            def clean(self):
                cleaned = super().clean()
                user = self.instance  # as stored: the form's values are put on it after clean()
                try:
                    flags = [name for name in services.USER_FLAGS if name in self.changed_data]
                    if flags:
                        services.user_flags_check(user=user, by=actor, changed=flags)
                    if {"groups", "user_permissions"} & set(self.changed_data):
                        new = {g.name for g in cleaned.get("groups", user.groups.all())}
                        services.user_roles_check(
                            user=user,
                            by=actor,
                            old=set(user.groups.values_list("name", flat=True)),
                            new=new,
                            permissions_changed="user_permissions" in self.changed_data,
                        )
                except DomainError as exc:
                    raise forms.ValidationError(exc.message, code=exc.code) from exc
                return cleaned

        return ActorUserForm

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The flags go through the service (checked again there, with the row locked); the
        # other fields are saved here.
        stored = User.objects.get(pk=obj.pk)
        flags = {name: getattr(obj, name) for name in services.USER_FLAGS if name in form.changed_data}
        for name in services.USER_FLAGS:
            setattr(obj, name, getattr(stored, name))
        super().save_model(request, obj, form, change)
        if flags:
            try:
                services.user_set_flags(user=obj, by=request.user, **flags)
            except DomainError as exc:
                raise _refused(exc) from exc
            obj.refresh_from_db(fields=list(flags))

    def save_related(self, request, form, formsets, change):
        # A user's only many-to-many fields are the roles: they are set by the service, never
        # by form.save_m2m().
        if change and {"groups", "user_permissions"} & set(form.changed_data):
            permissions = form.cleaned_data.get("user_permissions")
            try:
                services.user_set_roles(
                    user=form.instance,
                    roles=form.cleaned_data.get("groups", form.instance.groups.all()),
                    by=request.user,
                    permissions=permissions if "user_permissions" in form.changed_data else None,
                )
            except DomainError as exc:
                raise _refused(exc) from exc
        elif not change:
            form.save_m2m()
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def user_change_password(self, request, id, form_url=""):
        """Setting someone else's password goes through user_set_password_by: checked, audited,
        their sessions ended and their second factor removed. Their own is changed on the
        password change page, which asks for the old one."""
        user = self.get_object(request, unquote(id))
        if user is None:
            return super().user_change_password(request, id, form_url)
        try:
            services.user_manage_check(user=user, by=request.user)
        except DomainError as exc:
            raise _refused(exc) from exc
        if request.method == "POST":
            form = self.change_password_form(user, request.POST)
            if form.is_valid() and (
                form.cleaned_data["set_usable_password"] or "unset-password" in request.POST
            ):
                usable = form.cleaned_data["set_usable_password"]
                try:
                    services.user_set_password_by(
                        user=user,
                        password=form.cleaned_data["password1"] if usable else None,
                        by=request.user,
                        request=request,
                    )
                except DomainError as exc:
                    raise _refused(exc) from exc
                self.log_change(request, user, self.construct_change_message(request, form, None))
                self.message_user(
                    request,
                    _(
                        "Password set. Their sessions have ended and they set up their second factor "
                        "again at their next sign-in."
                    ),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        return super().user_change_password(request, id, form_url)

    def delete_model(self, request, obj):
        try:
            services.user_delete(user=obj, by=request.user)
        except DomainError as exc:
            raise _refused(exc) from exc

    def delete_queryset(self, request, queryset):
        users = list(queryset)
        refused = [u for u in users if not self._may_manage(request, u)]
        if refused:
            raise PermissionDenied
        for user in users:
            self.delete_model(request, user)

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(role_label(name) for name in obj.role_names)

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
            try:
                otp.second_factor_reset(user=user, by=request.user, request=request)
            except DomainError:
                refused.append(user.get_username())
            else:
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
                _(
                    "Not reset: nobody resets their own second factor, and only a superuser resets "
                    "a superuser's or an operations admin's: %(users)s."
                )
                % {"users": ", ".join(refused)},
                messages.ERROR,
            )


# The roles are declared in accounts.roles and applied by migrate (roles_sync): the admin
# shows them and what each one may do, and changes none of them, for superusers neither.
admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "member_count")
    fields = ("name", "permission_list")
    readonly_fields = fields
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(members=Count("user"))

    @admin.display(description=_("members"), ordering="members")
    def member_count(self, obj) -> int:
        return obj.members

    @admin.display(description=_("permissions (declared in accounts/roles.py)"))
    def permission_list(self, obj) -> str:
        permissions = obj.permissions.select_related("content_type").order_by(
            "content_type__app_label", "codename"
        )
        return format_html_join(
            mark_safe("<br>"),
            "{}.{}: {}",
            ((p.content_type.app_label, p.codename, p.name) for p in permissions),
        )


# django-axes' list of failed sign-ins, where a lockout is lifted by deleting its attempts:
# through accounts.services.sign_in_lockout_lift, so each lift is in the audit trail.
admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes.admin.AccessAttemptAdmin):
    # axes' "clean up expired attempts" reads request.axes_attempt_time, which only its sign-in
    # handler sets, so it answered 500 from the admin; axes already drops expired attempts at
    # each sign-in, and a lockout is lifted by deleting its attempts (audited, below).
    actions = []

    def delete_model(self, request, obj):
        self._lift(request, AccessAttempt.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        self._lift(request, queryset)

    def _lift(self, request, queryset) -> None:
        try:
            services.sign_in_lockout_lift(attempts=queryset, by=request.user, request=request)
        except DomainError as exc:
            raise _refused(exc) from exc


# --- Customers -------------------------------------------------------------------------------


class CreditLineForm(forms.ModelForm):
    """A credit line's fields. A change of status is a freeze or an unfreeze: checked here with
    the signed-in user's permission and reason (a refusal is a form error), and made by
    accounts.services when the form is saved (_credit_line_save)."""

    actor = None  # set per request by CreditLineRulesMixin

    class Meta:
        model = CreditLine
        fields = ("customer", "limit", "grade", "score", "status", "status_reason")

    def clean(self):
        cleaned = super().clean()
        self.status_change = None
        if self.instance.pk is None or "status" not in self.changed_data or "status" not in cleaned:
            return cleaned
        # The reason is said anew for each change; the stored one is the last change's.
        reason = cleaned.get("status_reason", "") if "status_reason" in self.changed_data else ""
        try:
            reason = services.credit_line_status_check(
                status=self.instance.status, to=cleaned["status"], reason=reason, by=self.actor
            )
        except DomainError as exc:
            field = (
                "status_reason" if exc.code == "no_reason" and "status_reason" in self.fields else "status"
            )
            self.add_error(field, forms.ValidationError(exc.message, code=exc.code))
            return cleaned
        self.status_change = (cleaned["status"], reason)
        return cleaned

    def save(self, commit=True):
        if self.instance.pk is None and "status" in self.changed_data:
            self.instance.status_changed_at = timezone.now()
        return super().save(commit)


def _credit_line_form(base, actor):
    return type(base.__name__, (base,), {"actor": actor})


def _credit_line_save(request, line: CreditLine, form, save) -> None:
    """Save a credit line from the admin: its status through credit_line_freeze/unfreeze (the
    reason, the permission, the time and the history record), the other fields by `save`."""
    change = getattr(form, "status_change", None)
    if change is None or line.pk is None:
        save()
        return
    to, reason = change
    stored = CreditLine.objects.get(pk=line.pk)
    line.status, line.status_reason, line.status_changed_at = (
        stored.status,
        stored.status_reason,
        stored.status_changed_at,
    )
    if set(form.changed_data) - {"status", "status_reason"}:
        save()
    try:
        services.credit_line_status_change(credit_line=line, to=to, reason=reason, by=request.user)
    except DomainError as exc:  # changed by someone else since the form was checked
        raise _refused(exc) from exc
    line.refresh_from_db()


class CreditLineRulesMixin:
    """Freezing and unfreezing a line is its own permission and goes through the services."""

    form = CreditLineForm

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "status_changed_at"]
        if not request.user.has_perm("accounts.freeze_creditline"):
            readonly += ["status", "status_reason"]
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = _credit_line_form(kwargs.get("form", self.form), request.user)
        return super().get_form(request, obj, change, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = _credit_line_form(kwargs.get("form", self.form), request.user)
        return super().get_formset(request, obj, **kwargs)


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
        # A new row's phone is a write-only input, for who may write numbers.
        return can_reveal_pii(request.user) and super().has_add_permission(request, obj)


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
    list_filter = (
        "status",
        "credit_line__status",
        "credit_line__grade",
        "language",
        ("created_at", DateRangeFilter),
    )
    list_select_related = ("credit_line",)
    # Identifiers are matched exactly so a search uses an index on a table of millions.
    search_fields = ("platform_user_id__exact", "name__startswith")
    pii_search_fields = ("phone", "national_id")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fieldsets = (
        (None, {"fields": ("platform_user_id", "name", "status", "created_at")}),
        (_("Contact"), {"fields": ("phone", "email", "national_id", "timezone", "language")}),
        (_("Address"), {"fields": ("province", "city", "district", "street", "latitude", "longitude")}),
    )
    # Apps above accounts add their own rows to this page (orders.admin adds the orders).
    inlines = [CreditLineInline, EmergencyContactInline]
    history_list_display = ("status",)
    actions = ("post_payment",)
    change_form_template = "admin/accounts/customer/change_form.html"

    def save_formset(self, request, form, formset, change):
        if formset.model is not CreditLine:
            super().save_formset(request, form, formset, change)
            return
        changed = formset.save(commit=False)
        for line_form in formset.forms:
            if line_form.instance in changed:
                _credit_line_save(request, line_form.instance, line_form, line_form.instance.save)

    def has_post_payment_permission(self, request) -> bool:
        return request.user.has_perm("orders.post_payment")

    @admin.action(permissions=["post_payment"], description=_("Post a payment for the selected customer"))
    def post_payment(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, _("Select exactly one customer to post a payment."), messages.ERROR)
            return None
        # The screen is the orders app's (orders.admin.PaymentAdmin.post_payment_view).
        return HttpResponseRedirect(reverse("admin:orders_payment_post", args=[ids[0]]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_post_payment": self.has_post_payment_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(EmergencyContact)
class EmergencyContactAdmin(PiiMaskingMixin, AuditedAdmin):
    list_display = ("name", "relationship", "phone", "customer")
    list_select_related = ("customer",)
    search_fields = ("customer__platform_user_id__exact", "name__startswith")
    pii_search_fields = ("phone",)
    autocomplete_fields = ("customer",)
    fieldsets = ((None, {"fields": ("customer", "name", "relationship", "phone")}),)
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(CreditLine)
class CreditLineAdmin(RefuseUnformedFieldsMixin, CreditLineRulesMixin, AuditedAdmin):
    list_display = ("customer", "limit", "grade", "score", "status", "status_changed_at", "updated_at")
    list_filter = ("status", "grade")
    list_select_related = ("customer",)
    search_fields = ("customer__platform_user_id__exact", "customer__name__startswith")
    autocomplete_fields = ("customer",)
    readonly_fields = ("updated_at",)
    history_list_display = ("limit", "grade", "status", "status_reason")
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # A line belongs to one customer for life.
        return [*readonly, "customer"] if obj is not None else readonly

    def save_model(self, request, obj, form, change):
        _credit_line_save(
            request, obj, form, lambda: super(CreditLineAdmin, self).save_model(request, obj, form, change)
        )

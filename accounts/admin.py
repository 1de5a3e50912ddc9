"""Data-fix screens for staff users, customers, emergency contacts and credit lines.

Also holds the admin building blocks the other apps share: audited history without
revert, read-only entry tables, and masking of personal data on every page, for every role
(the full value only through the audited reveal, audit.views.pii_reveal).
"""

from __future__ import annotations

from urllib.parse import urlencode

# Imported for its registrations, so they exist to be replaced below whatever the app order.
import axes.admin
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME
from simple_history.template_utils import HistoricalRecordContextHelper

from audit import services as audit_services
from audit.privacy import mask_field_value
from bnpl_admin.admin_paginator import EstimatedCountPaginator
from bnpl_admin.errors import DomainError
from bnpl_admin.labels import choice_column
from orders import selectors as order_selectors
from orders import services as order_services
from orders.forms import PaymentPostForm
from orders.models import ManualPaymentRequest, Order, Payment

from . import otp, services
from .masking import can_reveal_pii, mask_national_id, mask_phone
from .models import CreditLine, Customer, EmergencyContact, User
from .navigation import role_label
from .roles import Role

# --- Shared building blocks ------------------------------------------------------------------


class AuditedAdmin(SimpleHistoryAdmin):
    """An admin whose history page shows who changed what, from what, to what.

    Revert is off everywhere: it writes every field of an old version at once, past the
    read-only rules of the change form (money on instalments, roles on users, policy
    versions in force). A data fix is made through the change form or a service action.
    """

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def get_list_display(self, request):
        # A related choice field ("credit_line__status") shows by its label, not its stored value.
        return [choice_column(self.model, name) for name in super().get_list_display(request)]

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

    def get_historical_record_context_helper(self, request, historical_record):
        # Personal data is masked on the history page for everyone (accounts.masking).
        return _MaskedHistoryHelper(self.model, historical_record)


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
    """Old → new values on a history page as the audit trail keeps them: personal data masked
    by field (phone, national id, recipient) and any number found in free text masked too."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        if isinstance(value, list):  # the names of many-to-many rows (a user's groups)
            return value
        return mask_field_value(change.field, value)


class PiiSearchMixin:
    """Searching by a personal data field: only by a full value, only for who may reveal it,
    and recorded as a reveal (audit.services.pii_search_record).

    A search by a full phone number is how a customer who calls in is found. A partial match
    would answer yes or no about each digit, so it is never offered on these fields, and no
    lookup on them is accepted from the address (`?phone__startswith=138`), which would also
    bypass the record. Staff who may not reveal numbers find nothing by them: a hit would tell
    them whose number it is.
    """

    # Paths from this admin's model to the personal data it may be searched by, matched exactly
    # ("phone", or "customer__phone" from a reminder).
    pii_search_fields: tuple[str, ...] = ()
    # Field names that are never a lookup in the address, on this model or through a relation.
    pii_lookup_names = frozenset({"phone", "national_id", "recipient"})

    def lookup_allowed(self, lookup, value, request=None):
        if self.pii_lookup_names & set(lookup.split(LOOKUP_SEP)):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        found = self._pii_search(request, queryset, search_term.strip())
        if found is not None:
            results = results | found
        return results, may_have_duplicates

    def _pii_search(self, request, queryset, term: str):
        """The rows whose personal data is exactly `term`, recorded; None when it is no full value."""
        if not term or not can_reveal_pii(request.user):
            return None
        found = None
        for lookup in self.pii_search_fields:
            owner_path, _sep, name = lookup.rpartition(LOOKUP_SEP)
            owner_model = _related_model(self.model, owner_path)
            if not _is_full_value(owner_model._meta.get_field(name), term):
                continue
            rows = queryset.filter(**{lookup: term})
            owners = owner_model._default_manager.filter(
                pk__in=rows.values(f"{owner_path}{LOOKUP_SEP}pk" if owner_path else "pk")
            ).order_by("pk")
            audit_services.pii_search_record(
                user=request.user, field=name, term=term, found=owners[:500], request=request
            )
            found = rows if found is None else found | rows
        return found


def _related_model(model, path: str):
    for name in path.split(LOOKUP_SEP) if path else ():
        model = model._meta.get_field(name).related_model
    return model


def _is_full_value(field, term: str) -> bool:
    """Whether `term` is a whole value the field could hold (its validators accept it)."""
    if len(term) > (field.max_length or len(term)):
        return False
    try:
        field.run_validators(term)
    except ValidationError:
        return False
    return True


_NEW_VALUE_LABELS = {"phone": _("new phone"), "national_id": _("new national id")}


class _PiiWriteForm(forms.ModelForm):
    """Takes a new phone number or national id without showing the current one (write-only)."""

    pii_write_fields: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        for name in self.pii_write_fields:
            value = cleaned.get(f"new_{name}") or ""
            if value:
                # Set before _post_clean, so the model's own checks see the new value.
                setattr(self.instance, name, value)
            elif self.instance._state.adding and not self.instance._meta.get_field(name).blank:
                required = self.fields[f"new_{name}"].error_messages["required"]
                self.add_error(f"new_{name}", forms.ValidationError(required, "required"))
        return cleaned


def _pii_write_form(base, model, names: list[str]):
    attrs = {"pii_write_fields": tuple(names)}
    for name in names:
        field = model._meta.get_field(name)
        attrs[f"new_{name}"] = forms.CharField(
            label=_NEW_VALUE_LABELS.get(name, name),
            required=False,
            max_length=field.max_length,
            validators=field.validators,
            widget=forms.TextInput(attrs={"autocomplete": "off", "size": 20}),
            help_text=_("Write-only: type a new value to replace the current one, or leave it blank."),
        )
    bases = (_PiiWriteForm, base) if not issubclass(base, _PiiWriteForm) else (base,)
    return type(f"PiiWrite{base.__name__}", bases, attrs)


class PiiMaskingMixin(PiiSearchMixin):
    """Phone numbers and national ids masked on every admin page, for every role.

    Lists, change forms (inlines included), old versions and the history diff show them
    masked; the change form links each number to the audited reveal (audit:reveal) for who
    may use it. Changing a number is a write-only input ("new phone") next to the masked
    value, for who may reveal numbers and change the row: typing a new number reveals
    nothing stored, and the change is in the history, masked. An add form has plain inputs:
    nothing stored is shown by them.
    """

    pii_maskers = {"phone": mask_phone, "national_id": mask_national_id}

    def _pii_names(self) -> list[str]:
        names = {f.name for f in self.model._meta.get_fields()}
        return [name for name in self.pii_maskers if name in names]

    def _may_write_pii(self, request, obj) -> bool:
        # An old version's page is never saved (AuditedAdmin.history_form_view).
        return (
            can_reveal_pii(request.user)
            and self.has_change_permission(request, obj)
            and not _is_old_version(obj)
        )

    def _masked(self, names, *, request=None, obj=None) -> list[str]:
        linked = request is not None and can_reveal_pii(request.user) and not _is_old_version(obj)
        write = request is not None and self._may_write_pii(request, obj)
        out = []
        for name in names:
            if name not in self.pii_maskers:
                out.append(name)
                continue
            out.append(f"{'revealable' if linked else 'masked'}_{name}")
            if write:
                out.append(f"new_{name}")
        return out

    def get_list_display(self, request):
        return self._masked(super().get_list_display(request))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None and not isinstance(self, InlineModelAdmin):
            # An add form shows the inputs: nothing stored is revealed by them.
            return fieldsets
        return [
            (title, {**opts, "fields": self._masked(opts["fields"], request=request, obj=obj)})
            for title, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        names = self._pii_names()
        return readonly + [f"masked_{n}" for n in names] + [f"revealable_{n}" for n in names]

    def _write_form(self, request, obj, base):
        if obj is None and not isinstance(self, InlineModelAdmin):
            return base
        names = self._pii_names() if self._may_write_pii(request, obj) else []
        return _pii_write_form(base, self.model, names) if names else base

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = self._write_form(request, obj, kwargs.get("form", self.form))
        return super().get_form(request, obj, change, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = self._write_form(request, obj, kwargs.get("form", self.form))
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("national id"))
    def masked_national_id(self, obj) -> str:
        return mask_national_id(obj.national_id)

    @admin.display(description=_("phone"))
    def revealable_phone(self, obj) -> str:
        return _with_reveal_link(obj, "phone", mask_phone(obj.phone))

    @admin.display(description=_("national id"))
    def revealable_national_id(self, obj) -> str:
        return _with_reveal_link(obj, "national_id", mask_national_id(obj.national_id))


def _is_old_version(obj) -> bool:
    """An object rebuilt from a history row: its reveal would show today's value, not that one."""
    return obj is not None and hasattr(obj, SIMPLE_HISTORY_REVERSE_ATTR_NAME)


def _with_reveal_link(obj, field: str, masked: str) -> str:
    if not masked or obj.pk is None or _is_old_version(obj):
        return masked
    url = reverse("audit:reveal", args=[obj._meta.app_label, obj._meta.model_name, obj.pk, field])
    return format_html('{} <a href="{}" class="pii-reveal">{}</a>', masked, url, _("Reveal"))


# --- Staff users, roles and sign-in lockouts --------------------------------------------------


class RefuseUnformedFieldsMixin:
    """A POST naming a model field its form does not have is refused (403), not ignored.

    The admin leaves out of the form what the user may not change (read-only fields), so a
    browser never sends those names: a request that does was crafted, and saying so beats
    answering "changed successfully" while keeping the old value.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id)) if object_id else None
            form_fields = set(self.get_form(request, obj, change=obj is not None).base_fields)
            model_fields = {f.name for f in self.model._meta.get_fields() if f.concrete or f.many_to_many} - {
                f.name for f in self.model._meta.get_fields() if f.auto_created
            }
            if (set(request.POST) & model_fields) - form_fields:
                raise PermissionDenied
        return super().changeform_view(request, object_id, form_url, extra_context)


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
        # A new row's phone is a write-only input, for who may write numbers.
        return can_reveal_pii(request.user) and super().has_add_permission(request, obj)


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
    pii_search_fields = ("phone", "national_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
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
    values = {"amount": waiting.amount, "ref": waiting.reference, "why": waiting.approval_reasons_text()}
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
    pii_search_fields = ("phone",)
    autocomplete_fields = ("customer",)
    fieldsets = ((None, {"fields": ("customer", "name", "relationship", "phone")}),)
    show_full_result_count = False
    paginator = EstimatedCountPaginator


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
    paginator = EstimatedCountPaginator

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # A line belongs to one customer for life.
        return [*readonly, "customer"] if obj is not None else readonly

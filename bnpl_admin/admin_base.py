"""The admin building blocks every app's admin shares.

Audited history without revert (AuditedAdmin), read-only entry tables (ReadOnlyAdminMixin,
ReadOnlyInline), personal data masked on every page for every role, with the full value only
through the audited reveal (PiiSearchMixin, PiiMaskingMixin; audit.views.pii_reveal), and
posts that name fields the form left out refused (RefuseUnformedFieldsMixin).

They live in the project package, not in an app, so that an app's admin imports no other
app's admin (the import contract in pyproject.toml, docs/architecture.md).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME
from simple_history.template_utils import HistoricalRecordContextHelper

from accounts.masking import FIELD_MASKERS, can_reveal_pii, mask_national_id, mask_phone
from audit import services as audit_services
from audit.privacy import trail_value
from bnpl_admin.labels import choice_column


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
        return trail_value(change.field, value)


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

    pii_maskers = {name: FIELD_MASKERS[name] for name in ("phone", "national_id")}

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

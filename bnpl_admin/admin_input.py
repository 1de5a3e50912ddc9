"""Input the data admin refuses before any view sees it: dates out of range and ids that cannot exist.

Two kinds of bad input used to reach Django's admin (ours and third-party ModelAdmins alike)
and end in a 500, found by tests/admin/test_generated_input.py:

* a date or moment near year 1 or 9999 (parsed by the form, then overflowing when it is
  moved to UTC on save or compared with now), or a decimal that is not a number (sNaN
  raises on comparison): every date, date-time and decimal form field the admin builds is
  one of bnpl_admin.form_fields, and so are the console's own.
* an id that is not one (`ab\\x00c`, `1.5`) or larger than its column, in the selection of an
  action (`_selected_action`) or in a relation field: the admin hands it to the ORM unchecked
  (the autocomplete widget re-rendering the form, SQLite converting the integer). Only a
  forged post carries one, as the pages offer checkboxes and choices; it is refused whole.
"""

from __future__ import annotations

import re
from functools import wraps

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import options as admin_options
from django.contrib.admin import widgets as admin_widgets
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.utils.translation import gettext

from .form_fields import BoundedDateField, BoundedSplitDateTimeField, FiniteDecimalField

# What the admin builds for a model's date fields, bounded. Instances of ModelAdmin copied the
# defaults when they were registered (bounded_date_fields does theirs); inlines are built per
# request from the defaults, so they are set here once.
_BOUNDED = {
    models.DateTimeField: {
        "form_class": BoundedSplitDateTimeField,
        "widget": admin_widgets.AdminSplitDateTime,
    },
    models.DateField: {"form_class": BoundedDateField, "widget": admin_widgets.AdminDateWidget},
    models.DecimalField: {"form_class": FiniteDecimalField},
}
for _field, _overrides in _BOUNDED.items():
    admin_options.FORMFIELD_FOR_DBFIELD_DEFAULTS.setdefault(_field, {}).update(_overrides)


def bounded_date_fields(model_admin: admin.ModelAdmin) -> None:
    for field, overrides in _BOUNDED.items():
        current = model_admin.formfield_overrides.setdefault(field, {})
        # A ModelAdmin that chose its own form field class keeps it.
        if current.get("form_class") in (None, forms.SplitDateTimeField, forms.DateField, forms.DecimalField):
            current.update(overrides)


# --- Ids ----------------------------------------------------------------------------------------


def is_valid_key(field: models.Field, value: str) -> bool:
    """Whether `value`, as posted, could be a value of `field` (a primary key or a relation's target)."""
    try:
        python = field.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    if isinstance(python, int):
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        return (low is None or python >= low) and (high is None or python <= high)
    return True


def _relation_keys(model) -> dict[str, models.Field]:
    """Relation fields of a model by name, with the field their posted values name."""
    keys = {}
    for field in model._meta.get_fields():
        if field.is_relation and field.concrete and field.editable and field.related_model:
            single = field.many_to_one or field.one_to_one
            keys[field.name] = field.target_field if single else field.related_model._meta.pk
    return keys


_INLINE_NAME = re.compile(r"^.+-\d+-(?P<name>\w+)$")


def malformed_ids(model_admin: admin.ModelAdmin, request) -> list[str]:
    """The names of posted relation fields and selections whose values cannot be ids."""
    bad = []
    post = request.POST
    pk = model_admin.model._meta.pk
    if not all(is_valid_key(pk, value) for value in post.getlist(ACTION_CHECKBOX_NAME)):
        bad.append(ACTION_CHECKBOX_NAME)
    own = _relation_keys(model_admin.model)
    inline = {}
    for inline_class in model_admin.inlines:
        inline.update(_relation_keys(inline_class.model))
        inline["id"] = inline_class.model._meta.pk
    for name in post:
        match = _INLINE_NAME.match(name)
        target = inline.get(match.group("name")) if match else own.get(name)
        if target is None:
            continue
        if any(value and not is_valid_key(target, value) for value in post.getlist(name)):
            bad.append(name)
    return bad


def guarded(view):
    """A ModelAdmin view that refuses a post carrying ids that cannot exist, before it runs."""
    model_admin = getattr(view, "__self__", None)
    if not isinstance(model_admin, admin.ModelAdmin):
        return view

    @wraps(view)
    def guarded_view(request, *args, **kwargs):
        if not getattr(model_admin, "_bounded_dates", False):
            bounded_date_fields(model_admin)
            model_admin._bounded_dates = True
        if request.method == "POST":
            bad = malformed_ids(model_admin, request)
            if bad == [ACTION_CHECKBOX_NAME]:
                messages.error(request, gettext("The selection is not valid: select the rows again."))
                return HttpResponseRedirect(request.get_full_path())
            if bad:
                # Plain text: the field names come from the post.
                return HttpResponseBadRequest(
                    gettext("The form named a record that cannot exist (%(fields)s). Reload the page.")
                    % {"fields": ", ".join(sorted(bad))},
                    content_type="text/plain; charset=utf-8",
                )
        return view(request, *args, **kwargs)

    return guarded_view


class GuardedAdminSiteMixin:
    """An AdminSite whose ModelAdmin views pass through `guarded` (admin.site's, see bnpl_admin/urls.py)."""

    def admin_view(self, view, cacheable=False):
        return super().admin_view(guarded(view), cacheable)

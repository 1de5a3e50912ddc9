"""Fields as staff read them: a model field's verbose name, and its stored values by their labels, in the
active language."""

from __future__ import annotations

import functools

from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.utils.text import capfirst


def field_label(model: type[models.Model] | None, name: str, *, default: str | None = None) -> str:
    """`model`'s field `name` by its verbose name, capitalised as the admin shows it.

    Translated when the string is rendered, so in the reader's language. Reads only the
    model's options (no query). When the model or the field is gone, as an old audit event
    may outlive them, this is `default`, or else `name` itself.
    """
    fallback = name if default is None else default
    if model is None:
        return fallback
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return fallback
    # A reverse relation has no verbose name of its own.
    verbose_name = getattr(field, "verbose_name", None)
    return capfirst(verbose_name) if verbose_name else fallback


def value_label(model: type[models.Model] | None, name: str, value):
    """A stored value of `model`'s field `name` as staff read it: a choice by its label, a list of
    role groups by the roles' names; anything else unchanged. No query."""
    if model is None:
        return value
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return value
    if getattr(field, "choices", None) and isinstance(value, str | int):
        return str(dict(field.flatchoices).get(value, value))
    if field.many_to_many and field.related_model is Group and isinstance(value, list):
        from accounts.roles import Role

        labels = dict(Role.choices)
        return [str(labels.get(item, item)) for item in value]
    return value


@functools.cache
def choice_column(model: type[models.Model], name: str):
    """A `list_display` entry as staff should read it: a related choice field ("credit_line__status")
    by its label. Django's changelist shows such a lookup by its stored value ("frozen"); the
    model's own fields it already shows by label, and every other entry is returned unchanged."""
    if not isinstance(name, str) or LOOKUP_SEP not in name:
        return name
    try:
        field = get_fields_from_path(model, name)[-1]
    except (FieldDoesNotExist, NotRelationField):
        return name
    if not getattr(field, "choices", None):
        return name

    def column(obj):
        value = obj
        for part in name.split(LOOKUP_SEP):
            value = getattr(value, part, None)
            if value is None:
                return None  # the admin's empty value
        return dict(field.flatchoices).get(value, value)

    column.short_description = capfirst(field.verbose_name)
    column.admin_order_field = name
    column.__name__ = name.replace(LOOKUP_SEP, "_")
    return column

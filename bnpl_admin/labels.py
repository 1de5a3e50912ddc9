"""Field names as staff read them: a model field's verbose name in the active language."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models
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

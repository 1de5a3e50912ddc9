"""History pages in the reader's language: column headings, choice values and changed fields."""

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext
from simple_history.templatetags.getattributes import getattribute

from bnpl_admin.labels import field_label

register = template.Library()


@register.filter
def history_column_label(column: str, opts) -> str:
    """A `history_list_display` entry by its field's verbose name.

    simple-history's own template runs the attribute name through `{% trans %}`, which
    leaves `limit` or `status_reason` in English; an entry that is not a field (an admin
    method) keeps that behaviour.
    """
    return field_label(opts.model, column, default=gettext(column))


@register.filter
def history_cell(record, column: str):
    """A `history_list_display` cell: a choice field by its label in the reader's language,
    never its stored value ("overdue"); nothing as a dash, not "None"."""
    display = getattr(record, f"get_{column}_display", None)
    value = display() if callable(display) else getattribute(record, column)
    return "—" if value is None else value


@register.filter
def change_old(change, opts):
    return _change_part(change, opts, "old")


@register.filter
def change_new(change, opts):
    return _change_part(change, opts, "new")


def _change_part(change, opts, part: str):
    # A change is a ModelChange, or a dict for a many-to-many field: read both as the template does.
    if isinstance(change, dict):
        return _change_value(opts, change.get("field"), change.get(part))
    return _change_value(opts, change.field, getattr(change, part))


def _change_value(opts, name: str, value):
    """A changed field's value as staff read it: a choice by its label, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if not name:
        return value
    try:
        field = opts.model._meta.get_field(name)
    except FieldDoesNotExist:
        return value
    if getattr(field, "choices", None):
        return dict(field.flatchoices).get(value, value)
    return value

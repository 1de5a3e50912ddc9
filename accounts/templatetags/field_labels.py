"""`{{ column|history_column_label:opts }}`: a history page's column heading in the reader's language."""

from django import template
from django.utils.translation import gettext

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

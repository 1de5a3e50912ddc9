"""`{{ role|role_label }}`: a role (group) name in the reader's language."""

from django import template

from accounts.navigation import role_label as _role_label

register = template.Library()


@register.filter
def role_label(name: str) -> str:
    return _role_label(name)

"""Permissions as staff read them, in their language.

Django stores a permission's name in English when it creates the row ("Can add customer",
our own "Can reveal unmasked phone numbers and national ids") and shows it as stored on the
user and group pages. accounts.apps puts `permission_label` in place of Permission.__str__:
the four model actions are written from the model's translated name, and the project's own
permissions (Meta.permissions) are looked up in the catalogue by their stored English name.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

MODEL_ACTIONS = {
    "add": gettext_noop("Can add %(model)s"),
    "change": gettext_noop("Can change %(model)s"),
    "delete": gettext_noop("Can delete %(model)s"),
    "view": gettext_noop("Can view %(model)s"),
}

# The names in the models' Meta.permissions, as stored; tests/hardening checks none is missing.
PROJECT_PERMISSION_NAMES = (
    gettext_noop("Can change the roles of staff users"),
    gettext_noop("Can reveal unmasked phone numbers and national ids"),
    gettext_noop("Can freeze and unfreeze credit lines"),
    gettext_noop("Can post a payment by hand"),
    gettext_noop("Can reverse a payment"),
    gettext_noop("Can waive fees and late fees"),
    gettext_noop("Can approve or reject manual payments"),
    gettext_noop("Can assign cases to agents"),
    gettext_noop("Can see every case, not only the own queue"),
    gettext_noop("Can work the case queues"),
    # The risk console (risk app).
    gettext_noop("Can use the risk console"),
    gettext_noop("Can approve limit increases and scorecard activations"),
    gettext_noop("Can see the performance of collections agents and teams"),
    # Home visits (visits.models.Visit).
    gettext_noop("Can approve or reject home visits"),
    gettext_noop("Can see every home visit, not only the own"),
    gettext_noop("Can check in and out of an assigned home visit"),
    gettext_noop("Can record the outcome of an assigned home visit"),
    # Order decisions (decisions app).
    gettext_noop("Can try an order against the decision rules"),
    gettext_noop("Can review referred orders"),
    # Restrictions (issue 12).
    gettext_noop("Can approve another analyst's bulk restriction"),
)


def permission_name(permission) -> str:
    """The permission's name in the active language (no query beyond its content type)."""
    action, _sep, model_name = permission.codename.partition("_")
    model = permission.content_type.model_class()
    if action in MODEL_ACTIONS and model is not None and model._meta.model_name == model_name:
        return gettext(MODEL_ACTIONS[action]) % {"model": model._meta.verbose_name}
    return gettext(permission.name)


def permission_label(permission) -> str:
    """As Django's Permission.__str__ ("app | model | name"), with the name translated."""
    return f"{permission.content_type} | {permission_name(permission)}"


# Settlements, restructures and write-offs (settlements app).
PROJECT_PERMISSION_NAMES += (gettext_noop("Can approve or reject settlements, restructures and write-offs"),)

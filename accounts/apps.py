"""App config for staff users, roles, customers and their credit lines."""

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and credit")

    def ready(self) -> None:
        from django.contrib.auth.models import Group

        from .navigation import role_label
        from .roles import roles_sync

        # A group's name is the role's key in the database, in English; wherever the admin shows
        # a group (the user form, its filter, history) it shows str(group): the role's label.
        Group.__str__ = lambda group: role_label(group.name)

        # The role matrix is declared in accounts.roles; a data migration applies it, and so
        # does every later migrate or flush, so a database never drifts from the declaration.
        post_migrate.connect(
            lambda sender, apps=None, **kwargs: roles_sync(apps or global_apps),
            sender=self,
            weak=False,
            dispatch_uid="accounts_roles_sync",
        )

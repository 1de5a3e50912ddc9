"""App config for staff users, roles, customers and their credit lines."""

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# django-axes ships no Chinese. The words of its lockout pages that staff read in the data admin
# are translated in the project's catalogue (Django looks there first, LOCALE_PATHS).
AXES_WORDS = (
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Access Attempt"),
    gettext_noop("Access lock out"),
    gettext_noop("Attempt Time"),
    gettext_noop("Expires At"),
    gettext_noop("Failed Logins"),
    gettext_noop("Form Data"),
    gettext_noop("GET Data"),
    gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"),
    gettext_noop("Locked Out"),
    gettext_noop("Meta Data"),
    gettext_noop("Path"),
    gettext_noop("POST Data"),
    gettext_noop("User Agent"),
    gettext_noop("Username"),
    gettext_noop("Not set"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
)


class SignInLockoutsConfig(AxesAppConfig):
    """django-axes, named in the staff member's language in the data admin."""

    default = False
    verbose_name = _("Sign-in lockouts")


class AccountsConfig(AppConfig):
    # The module holds a second AppConfig (django-axes', above): this one is the app's own.
    default = True
    name = "accounts"
    verbose_name = _("Accounts and credit")

    def ready(self) -> None:
        from django.contrib.auth.models import Group, Permission

        from .navigation import role_label
        from .permission_names import permission_label
        from .roles import roles_sync

        # A group's name is the role's key in the database, in English; wherever the admin shows
        # a group (the user form, its filter, history) it shows str(group): the role's label.
        Group.__str__ = lambda group: role_label(group.name)
        # A permission's name is stored in English; the user and group pages show it translated.
        Permission.__str__ = permission_label

        # The role matrix is declared in accounts.roles; a data migration applies it, and so
        # does every later migrate or flush, so a database never drifts from the declaration.
        post_migrate.connect(
            lambda sender, apps=None, **kwargs: roles_sync(apps or global_apps),
            sender=self,
            weak=False,
            dispatch_uid="accounts_roles_sync",
        )

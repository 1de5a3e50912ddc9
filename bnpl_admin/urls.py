"""URL map of the staff console: each app's pages (its own urls.py), the data admin, health and language.

Apps with pages include their urls.py here; the console's home page is
bnpl_admin.views.home; sign-in and the second factor are accounts/urls.py, included without a
namespace so their names stay bare.
"""

from django.contrib import admin
from django.urls import include, path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import auth_views as sign_in_views
from bnpl_admin import health, i18n, views
from bnpl_admin.admin_input import GuardedAdminSiteMixin


class ConsoleAdminSite(GuardedAdminSiteMixin, sign_in_views.SecondFactorAdminSite):
    """The second factor, and bad dates and ids refused before a view (bnpl_admin.admin_input)."""


# The data admin opens only to a staff user who passed the second factor (django-otp's
# documented way: swap the class of the site every ModelAdmin is registered on).
admin.site.__class__ = ConsoleAdminSite
admin.site.site_header = format_lazy("BNPL 先买后付 · {}", _("Data admin"))
admin.site.site_title = _("BNPL data admin")
admin.site.index_title = _("Data fixes (every change is audited)")

urlpatterns = [
    # Before the admin's own URLs: its login page leads to the console's sign-in steps. (Its
    # name stays admin:login, on the admin's own pattern below, which this one shadows.)
    path("admin/login/", sign_in_views.admin_sign_in),
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    path("audit/", include("audit.urls")),
    path("collections/", include("collection.urls")),
    path("risk/", include("risk.urls")),
    path("settlements/", include("settlements.urls")),
    path("visits/", include("visits.urls")),
    path("decisions/", include("decisions.urls")),
    path("decision-log/", include("decisionlog.urls")),
    path("restrictions/", include("restrictions.urls")),
    path("healthz/", health.healthz, name="healthz"),
    path("healthz/operations/", health.healthz_operations, name="healthz_operations"),
    # Where django.conf.urls.i18n would put set_language, wrapped: it also saves the choice
    # on the signed-in user, and it is public (the sign-in page has the switch too).
    path("i18n/setlang/", i18n.set_language, name="set_language"),
]

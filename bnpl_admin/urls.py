"""URL map of the staff console: the home page, sign-in, each app's pages and the data admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import auth_views as sign_in_views
from accounts import views as account_views

admin.site.site_header = format_lazy("BNPL 先买后付 · {}", _("Data admin"))
admin.site.site_title = _("BNPL data admin")
admin.site.index_title = _("Data fixes (every change is audited)")

urlpatterns = [
    path("", account_views.home, name="home"),
    # Step one of the sign-in; the second factor follows (region: sign-in security).
    path("login/", sign_in_views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

# --- region: sign-in security (login, second factor, enrolment) ---
# The data admin opens only to a staff user who passed the second factor (django-otp's
# documented way: swap the class of the site every ModelAdmin is registered on).
from bnpl_admin.admin_input import GuardedAdminSiteMixin  # noqa: E402


class ConsoleAdminSite(GuardedAdminSiteMixin, sign_in_views.SecondFactorAdminSite):
    """The second factor, and bad dates and ids refused before a view (bnpl_admin.admin_input)."""


admin.site.__class__ = ConsoleAdminSite

# Before the admin's own URLs: its login page leads to the console's sign-in steps. (Its
# name stays admin:login; the admin's URLs were built above, with the login view of before.)
urlpatterns.insert(0, path("admin/login/", sign_in_views.admin_sign_in))
urlpatterns += [
    path("account/two-factor/", sign_in_views.otp_verify, name="otp_verify"),
    path("account/two-factor/setup/", sign_in_views.otp_setup, name="otp_setup"),
]
# --- end of region: sign-in security ---

# --- region: hardening (health check, language switch) ---
from bnpl_admin import health, i18n  # noqa: E402

urlpatterns += [
    path("healthz/", health.healthz, name="healthz"),
    path("healthz/operations/", health.healthz_operations, name="healthz_operations"),
    # Where django.conf.urls.i18n would put set_language, wrapped: it also saves the choice
    # on the signed-in user, and it is public (the sign-in page has the switch too).
    path("i18n/setlang/", i18n.set_language, name="set_language"),
]
# --- end of region: hardening ---

# --- region: audit (audit viewer) ---
from django.urls import include  # noqa: E402

urlpatterns += [path("audit/", include("audit.urls"))]
# --- end of region: audit ---

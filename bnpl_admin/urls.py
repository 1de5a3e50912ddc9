"""URL map of the staff console: the home page, sign-in, each app's pages and the data admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views as account_views

admin.site.site_header = "BNPL 先买后付 · Data admin"
admin.site.site_title = "BNPL data admin"
admin.site.index_title = "Data fixes (every change is audited)"

urlpatterns = [
    path("", account_views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

# --- region: sign-in security (login, second factor, enrolment) ---
# --- end of region: sign-in security ---

# --- region: hardening (health check, language switch) ---
# --- end of region: hardening ---

# --- region: audit (audit viewer) ---
# --- end of region: audit ---

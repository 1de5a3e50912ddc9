"""URLs of signing in and out and the second factor.

Included at the root without a namespace: "login" is LOGIN_URL, and templates and code
reverse these names bare.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import auth_views as sign_in_views

urlpatterns = [
    # Step one of the sign-in; the second factor follows.
    path("login/", sign_in_views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", sign_in_views.otp_verify, name="otp_verify"),
    path("account/two-factor/setup/", sign_in_views.otp_setup, name="otp_setup"),
]

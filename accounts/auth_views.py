"""The sign-in steps: password, second factor (or enrolment), and the admin's way in through them."""

from __future__ import annotations

from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice

from . import otp
from .forms import EnrolmentForm, SecondFactorForm
from .middleware import client_ip_address, session_start, user_is_verified


def _next_url(request, default: str | None = None) -> str:
    """Where to go after the last step: a `next` on this site, or the default (the home page)."""
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default or resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, next_url: str) -> str:
    # Encoded as redirect_to_login does, so every step's link looks the same.
    return f"{reverse(url_name)}?{urlencode({REDIRECT_FIELD_NAME: next_url}, safe='/')}"


def second_step_url(user, next_url: str) -> str:
    """The second step for a user with a factor, enrolment for one without."""
    return _with_next("otp_verify" if otp.has_second_factor(user) else "otp_setup", next_url)


class SignInView(LoginView):
    """Step one, the password (django-axes counts the failures); then on to the second step."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        session_start(self.request.session)
        return response

    def get_success_url(self):
        next_url = super().get_success_url()
        if user_is_verified(self.request.user):
            return next_url
        return second_step_url(self.request.user, next_url)


def _credentials(user) -> dict:
    return {"username": user.get_username()}


def lockout_response(request, original_response=None, credentials=None):
    """The page for a locked-out username and address (AXES_LOCKOUT_CALLABLE), HTTP 429."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(
        request,
        "registration/lockout.html",
        context,
        status=getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429),
    )


def _locked_out(request):
    """End the half-signed-in session and show the lockout page."""
    logout(request)
    return lockout_response(request)


def _sign_in_complete(request, device) -> None:
    """Both factors passed: a new session key for the raised privilege, the device on the session."""
    request.session.cycle_key()
    otp_login(request, device)
    # Clear this user's failed tries from this address: only now, after both factors, since a
    # correct password alone must not give five more guesses at the code.
    axes_reset(ip=client_ip_address(request), username=request.user.get_username())


@never_cache
@sensitive_post_parameters("code")
def otp_verify(request):
    """Step two: a code from the authenticator app or a one-time backup code.

    A wrong code is a failed sign-in for django-axes like a wrong password: the fifth within
    30 minutes for this username and address ends the session and locks the pair out.
    """
    user = request.user
    next_url = _next_url(request)
    if user_is_verified(user):
        return redirect(next_url)
    if not otp.has_second_factor(user):
        return redirect(_with_next("otp_setup", next_url))
    if AxesProxyHandler.is_locked(request, _credentials(user)):
        return _locked_out(request)

    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = otp.second_factor_verify(user=user, code=form.cleaned_data["code"])
        except otp.SecondFactorError as exc:
            form.add_error("code", exc.message)
            user_login_failed.send(sender=__name__, credentials=_credentials(user), request=request)
            if getattr(request, "axes_locked_out", False):
                return _locked_out(request)
        else:
            _sign_in_complete(request, device)
            if isinstance(device, StaticDevice):
                _backup_code_used_message(request, user)
            return redirect(next_url)
    return render(request, "accounts/otp_verify.html", {"form": form, "next": next_url})


def _backup_code_used_message(request, user) -> None:
    left = otp.backup_codes_left(user)
    text = ngettext(
        "You signed in with a backup code; %(count)d is left.",
        "You signed in with a backup code; %(count)d are left.",
        left,
    ) % {"count": left}
    setup = reverse("otp_setup")
    messages.warning(request, f"{text} " + _("Set up an authenticator app at %(url)s.") % {"url": setup})


@never_cache
@sensitive_post_parameters("code")
def otp_setup(request):
    """Enrolment: scan the QR code (or type the key), confirm with a code, note the backup codes.

    Open to a user without a second factor (first sign-in, or after a reset) and to one who
    has passed the second step (to move to a new phone); never to one who has a factor but
    has not used it in this session, or a password alone could replace it.
    """
    user = request.user
    next_url = _next_url(request)
    verified = user_is_verified(user)
    if not verified and otp.has_second_factor(user):
        return redirect(_with_next("otp_verify", next_url))

    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = otp.totp_enrol_confirm(user=user, token=form.cleaned_data["code"])
        except otp.SecondFactorError as exc:
            form.add_error("code", exc.message)
        else:
            _sign_in_complete(request, device)
            # Shown this once, in this response, and never stored anywhere the user can reach again.
            return render(request, "accounts/otp_backup_codes.html", {"codes": codes, "next": next_url})

    device = otp.totp_device_pending(user=user)
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": otp.totp_qr_svg(device),
        "secret": otp.totp_secret_text(device),
        "replacing": verified,
    }
    return render(request, "accounts/otp_setup.html", context)


class SecondFactorAdminSite(OTPAdminSite):
    """The data admin, open only to a staff user who passed the second factor in this session.

    Set on the existing admin.site in bnpl_admin/urls.py, so every ModelAdmin registered on
    it stays where it is; its login page is admin_sign_in below.
    """

    def has_permission(self, request):
        # AdminSite.has_permission plus the second factor, also for a request that did not pass
        # through OTPMiddleware (one built by hand has no is_verified()).
        return admin.AdminSite.has_permission(self, request) and user_is_verified(request.user)


@never_cache
@login_not_required
def admin_sign_in(request):
    """The admin's login page (/admin/login/): the console's steps instead of a second sign-in form.

    One way in, so django-axes counts every failure and no form asks for a password alone.
    """
    next_url = _next_url(request, default=reverse("admin:index"))
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(next_url)
    if not user_is_verified(user):
        return redirect(second_step_url(user, next_url))
    if admin.site.has_permission(request):
        return redirect(next_url)
    # Signed in with both factors but not staff: the admin is not for them.
    raise PermissionDenied

"""Request-level sign-in security: session lifetime, the second-factor gate, the client's address."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils.translation import gettext as _

from . import otp

# Seconds since the epoch, in the session: when the password was given, and the last request.
SIGNED_IN_AT = "bnpl_signed_in_at"
LAST_SEEN_AT = "bnpl_last_seen_at"

# Views an authenticated user may open before passing the second factor (by URL name).
# Views that are public anyway (@login_not_required) need no second factor either.
SECOND_FACTOR_EXEMPT_URL_NAMES = frozenset({"login", "logout", "otp_verify", "otp_setup", "healthz"})


def session_start(session) -> None:
    """Stamp a session as signed in now; the sign-in view calls this after the password."""
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now


class SessionLifetimeMiddleware:
    """Ends a signed-in session 30 minutes after its last request or 12 hours after sign-in.

    Ending means logging out, which deletes the session on the server, not only the cookie.
    The time of the last request is written at most once per BNPL_SESSION_ACTIVITY_RESOLUTION,
    so most requests do not write the session.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.idle = settings.BNPL_SESSION_IDLE_TIMEOUT.total_seconds()
        self.absolute = settings.BNPL_SESSION_ABSOLUTE_TIMEOUT.total_seconds()
        self.resolution = settings.BNPL_SESSION_ACTIVITY_RESOLUTION.total_seconds()

    def __call__(self, request):
        if request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request) -> None:
        session = request.session
        now = int(time.time())
        # A session signed in some other way (force_login in tests, a session older than
        # this middleware) starts its clocks at its first request.
        signed_in_at = session.setdefault(SIGNED_IN_AT, now)
        last_seen_at = session.setdefault(LAST_SEEN_AT, now)
        if now - last_seen_at > self.idle:
            minutes = int(self.idle // 60)
            message = _("You were signed out after %(minutes)d minutes without activity.") % {
                "minutes": minutes
            }
        elif now - signed_in_at > self.absolute:
            hours = int(self.absolute // 3600)
            message = _("You were signed out %(hours)d hours after signing in.") % {"hours": hours}
        else:
            if now - last_seen_at >= self.resolution:
                session[LAST_SEEN_AT] = now
            return
        logout(request)
        # LoginRequiredMiddleware now sends the anonymous request to the sign-in page.
        messages.info(request, message + " " + _("Please sign in again."))


class SecondFactorRequiredMiddleware:
    """Sends a user who has given only a password to the second step, or to enrolment.

    Installed after django_otp.middleware.OTPMiddleware, which tells whether request.user
    passed a second factor in this session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user_is_verified(user):
            return None
        if getattr(view_func, "login_required", True) is False:
            return None
        match = request.resolver_match
        if match is not None and not match.namespace and match.url_name in SECOND_FACTOR_EXEMPT_URL_NAMES:
            return None
        step = "otp_verify" if otp.has_second_factor(user) else "otp_setup"
        return redirect_to_login(request.get_full_path(), login_url=reverse(step))


def user_is_verified(user) -> bool:
    """Whether the user passed a second factor in this session (False without OTPMiddleware)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def client_ip_address(request) -> str | None:
    """The address sign-in failures are counted against (AXES_CLIENT_IP_CALLABLE).

    With BNPL_PROXY_COUNT reverse proxies in front, each appending the address it saw to
    X-Forwarded-For, the client is the one the outermost proxy saw; the part of the header
    left of it is whatever the client wrote and is not trusted.
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = getattr(settings, "BNPL_PROXY_COUNT", 0)
    if not proxies:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    return forwarded[-proxies] if len(forwarded) >= proxies else remote

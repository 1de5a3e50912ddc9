"""Each staff member's own language and time zone: applied on every request, chosen in the page header."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.utils import timezone, translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language


class UserPreferencesMiddleware:
    """Activates the signed-in user's language and time zone for the request.

    Placed after AuthenticationMiddleware; LocaleMiddleware before it has already chosen a
    language from the cookie or the browser, which is what a visitor who is not signed in
    (the sign-in page) gets. Dates and times on pages are then shown in the user's zone;
    code that needs the business date must ask for it in settings.TIME_ZONE explicitly.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        language = user.language if translation.check_for_language(user.language) else None
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        zone = _zone(user.timezone)
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            # The zone lives in a context variable that outlasts the request on this
            # thread; leave the next request with the default (LocaleMiddleware sets the
            # language afresh on every request).
            timezone.deactivate()


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


@login_not_required  # the sign-in page has the switch too
@require_POST
def set_language(request):
    """Django's set_language (cookie and redirect), and the signed-in user's choice saved on their profile."""
    response = django_set_language(request)
    language = request.POST.get("language")
    user = request.user
    if (
        user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and translation.check_for_language(language)
        and user.language != language
    ):
        user.language = language
        user.save(update_fields=["language"])
    return response

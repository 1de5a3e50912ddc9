"""htmx and page navigation: a boosted link that leaves its page loads the whole new page.

A console list boosts its links (templates/console/_table.html: a sort, a page or a page size
swaps only the list). A link in a row, though, opens another page (a case, a decision), and htmx
would swap that whole page into the list. This middleware answers such a request, before any
view runs, with `HX-Redirect`, so the browser navigates to the page as an ordinary link would.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_htmx.http import HttpResponseClientRedirect


class BoostedNavigationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        htmx = getattr(request, "htmx", None)
        leaves_the_page = (
            request.method == "GET"
            and htmx
            and htmx.boosted
            and htmx.current_url
            and urlsplit(htmx.current_url).path != request.path
        )
        if leaves_the_page:
            return HttpResponseClientRedirect(request.get_full_path())
        return self.get_response(request)


def redirect_after_action(request: HttpRequest, to: str) -> HttpResponse:
    """Where an action posted from a fragment goes once done: htmx is told to load that page
    (`HX-Redirect`), a form posted without htmx gets an ordinary redirect."""
    if getattr(request, "htmx", None):
        return HttpResponseClientRedirect(to)
    return HttpResponseRedirect(to)

"""Requests with hand-made bad input, and a record of every one that the server answered with a 500."""

from __future__ import annotations

import logging
import sys
import traceback
from contextlib import contextmanager
from urllib.parse import urlencode

from django.contrib import admin
from django.core.signals import got_request_exception
from django.template import Template
from django.test import Client

LONG = "x" * 5000
# Sent to every list, one request each. Parameters a list tolerates (a bad page or sort is
# page 1 or no sort) share a request; one that may end the request early (an unknown lookup
# is a redirect to ?e=1) has its own, so it cannot hide another.
QUERY_VARIANTS: list[dict[str, str]] = [
    {"p": "abc", "page": "abc", "o": "zzz", "per_page": "-5", "sort": "zzz", "_facets": "zz", "all": "1"},
    {"p": "-1", "page": "-1", "per_page": "0", "o": "9999.-1.x"},
    {"p": "9" * 25, "page": "9" * 25, "per_page": "9" * 25},
    {"q": "\x00"},
    {"q": LONG + "中文😀\u202e' OR 1=1 --"},
    {"date__gte": "notadate"},
    {"created_at__gte": "notadate"},
    {"id__in": "1,abc"},
    {"pk__gt": "9" * 25},
    {"date_after": "0001-01-01", "date_before": "abc", "action": "\x00", "object_type": "-1", "person": LONG},
]
# Sent once to every other page.
COMBINED: dict[str, str] = {
    "page": "abc",
    "o": "zzz",
    "q": "\x00中文😀",
    "date__gte": "notadate",
    "_to_field": "zzz",
    "_popup": "abc",
    "_changelist_filters": "q=%00&o=zzz",
    "next": "//evil.example/\x00",
    "long": LONG,
}
# Bad values for URL parameters: not a number (with a NUL), too big for any column, negative.
BAD_IDS = ("ab%00c", "9" * 25, "-1")


def date_hierarchy_variants(model_admin) -> list[dict[str, str]]:
    field = getattr(model_admin, "date_hierarchy", None)
    if not field:
        return []
    return [
        {f"{field}__year": "abc"},
        {f"{field}__year": "99999", f"{field}__month": "13", f"{field}__day": "40"},
        {f"{field}__year": "0", f"{field}__month": "0"},
    ]


def url(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


class ServerErrors:
    """Collects each request answered with a 5xx, with the exception and where it was raised."""

    def __init__(self):
        self.found: list[str] = []
        self._last: str = ""

    def _on_exception(self, sender, request=None, **kwargs):
        self._last = _summary(sys.exc_info()[1])

    def get(self, client: Client, path: str) -> int:
        self._last = ""
        response = client.get(path)
        if response.status_code >= 500:
            shown = path if len(path) < 300 else path[:300] + "…"
            self.found.append(f"GET {shown} → {response.status_code}\n{self._last}")
        return response.status_code

    @contextmanager
    def recording(self):
        got_request_exception.connect(self._on_exception, dispatch_uid="bad-input-errors")
        try:
            yield self
        finally:
            got_request_exception.disconnect(dispatch_uid="bad-input-errors")

    def report(self) -> str:
        return f"{len(self.found)} requests answered with a server error:\n\n" + "\n\n".join(self.found)


_MACHINERY = ("core", "utils", "views/decorators", "db", "template", "test")


def _summary(exc: BaseException | None) -> str:
    """The exception and the frames that are not Django's own machinery: where it came from."""
    if exc is None:
        return ""
    frames = [
        f"  {frame.filename.split('site-packages/')[-1]}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
        if not any(f"/django/{part}/" in frame.filename for part in _MACHINERY)
    ]
    return "\n".join([f"{type(exc).__name__}: {exc}", *frames[-6:]])


def quick_client(monkeypatch) -> Client:
    """A client that reports a 500 instead of raising, without the test client's copy of every
    template context, the admin's sidebar (the same on every page, whatever the query) and a
    log line per 4xx (hundreds are expected)."""
    monkeypatch.setattr(Template, "_render", lambda self, context: self.nodelist.render(context))
    monkeypatch.setattr(admin.site, "enable_nav_sidebar", False)
    monkeypatch.setattr(logging.getLogger("django.request"), "level", logging.CRITICAL)
    return Client(raise_request_exception=False)

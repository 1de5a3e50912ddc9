"""Every URL of the project answers each principal as bnpl_admin/access.py declares.

The URLs are found by walking the resolver (tests/audit/site_map.py), so a new page, a new
admin model or another app's sign-in page is checked without being listed here: it fails
until it is declared in the matrix, with the roles that may open it.
"""

from __future__ import annotations

import logging
from fnmatch import fnmatchcase

import pytest
from django.conf import settings
from django.contrib import admin
from django.shortcuts import resolve_url
from django.template import Template
from django.test import Client
from django.urls import reverse

from bnpl_admin.access import ANONYMOUS, PRINCIPALS, URL_ACCESS, access_for, expected_answer
from tests.audit.site_map import build_site_data, discover, route_keys, sample_value, targets
from tests.conftest import login_verified


@pytest.fixture
def fast_pages(monkeypatch):
    """Only the answers matter here, over a thousand requests: skip what costs time and cannot
    change an answer (the test client's copy of every template context, the admin's sidebar,
    the log line of each expected 403 and 404). Other tests render the pages in full."""
    monkeypatch.setattr(Template, "_render", lambda self, context: self.nodelist.render(context))
    monkeypatch.setattr(admin.site, "enable_nav_sidebar", False)
    logger = logging.getLogger("django.request")
    monkeypatch.setattr(logger, "level", logging.ERROR)


def test_every_url_is_declared_in_the_matrix():
    undeclared = sorted(
        f"{key}  ({route.route})"
        for route in discover()
        for key in route_keys(route)
        if access_for(key) is None
    )
    assert not undeclared, "URLs missing from bnpl_admin/access.py URL_ACCESS:\n" + "\n".join(undeclared)


def test_every_matrix_entry_names_a_url_that_exists():
    keys = [key for route in discover() for key in route_keys(route)]
    stale = [pattern for pattern in URL_ACCESS if not any(fnmatchcase(key, pattern) for key in keys)]
    assert not stale, f"entries of bnpl_admin/access.py that match no URL: {stale}"


def _login_url(route) -> str:
    """Where LoginRequiredMiddleware sends an anonymous visitor of this view."""
    return resolve_url(getattr(route.pattern.callback, "login_url", None) or settings.LOGIN_URL)


def test_every_url_answers_each_principal_as_declared(db, fast_pages):
    site = build_site_data()
    pages = targets(discover(), sample_value(site))
    admin_login = reverse("admin:login")

    wrong = []
    for principal in PRINCIPALS:
        client = Client()
        if principal != ANONYMOUS:
            login_verified(client, site.users[principal])
        for target in pages:
            access = access_for(target.key)
            if access is None:
                wrong.append(f"{target.key}  GET {target.path}: not declared in bnpl_admin/access.py")
                continue
            status, login = expected_answer(access, principal, admin_page=target.route.is_admin)
            response = client.get(target.path)
            location = response.get("Location", "")
            if login == "login":
                ok = response.status_code == 302 and location.startswith(_login_url(target.route))
            elif login == "admin_login":
                ok = response.status_code == 302 and location.startswith(admin_login)
            else:
                ok = response.status_code == status
            if not ok:
                wanted = f"302 to {login}" if login else str(status)
                got = f"{response.status_code} {location}".strip()
                wrong.append(
                    f"as {principal}: {target.key}  GET {target.path}: declared {wanted}, answered {got}"
                )

    assert not wrong, f"{len(wrong)} answers differ from bnpl_admin/access.py:\n" + "\n".join(wrong)

"""Security headers on every page; our pages and the Django admin live within the content security policy."""

import re

import pytest
from django.urls import reverse

from accounts.roles import Role
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.strip().split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


def test_a_page_has_a_content_security_policy_without_inline_script(client, sign_in):
    sign_in(UserFactory(roles=[Role.RISK_ANALYST]))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)


def test_the_sign_in_page_has_the_policy_and_refuses_framing(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert _policy(response)["script-src"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_refuse_to_be_framed(client, sign_in):
    sign_in(UserFactory(roles=[Role.COLLECTIONS_AGENT]))
    assert client.get(reverse("home"))["X-Frame-Options"] == "DENY"


# What the policy would block: a script with code in it (a JSON data block is not run), a
# <style> element, a style="" attribute, an on...="" handler, a javascript: URL.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style[\s>]|\sstyle=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+=|javascript:", re.IGNORECASE)


def _inline_code(html: str) -> list[str]:
    return [
        m.group(0)
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER)
        for m in pattern.finditer(html)
    ]


def test_console_pages_have_no_inline_script_or_style(client, sign_in):
    assert _inline_code(client.get(reverse("login")).content.decode()) == []
    sign_in(UserFactory(roles=[Role.OPERATIONS_ADMIN], is_staff=True))
    assert _inline_code(client.get(reverse("home")).content.decode()) == []


@pytest.mark.parametrize(
    "url",
    [
        lambda customer: reverse("admin:index"),
        lambda customer: reverse("admin:accounts_customer_changelist"),
        lambda customer: reverse("admin:accounts_customer_change", args=[customer.pk]),
        lambda customer: reverse("admin:accounts_customer_history", args=[customer.pk]),
        lambda customer: reverse("admin:orders_order_changelist") + "?q=x",
        lambda customer: reverse("admin:policy_policy_changelist"),
        lambda customer: reverse("admin:accounts_user_add"),
        lambda customer: reverse("admin:auth_group_changelist"),
    ],
    ids=["index", "customers", "customer", "customer history", "orders", "policy", "add user", "groups"],
)
def test_the_data_admin_runs_within_the_policy(client, sign_in, superuser, url):
    # The Django admin of 5.2 loads its scripts from files, so the policy needs no exception
    # for it. A page that put code inline would work in a test client and fail in a browser.
    sign_in(superuser)
    response = client.get(url(CustomerFactory()))
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert _inline_code(response.content.decode()) == []

"""Sessions end 30 minutes after the last request and 12 hours after sign-in; sign-out ends them."""

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from accounts.roles import Role
from tests.conftest import login_verified
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MINUTE, HOUR = 60, 3600


@pytest.fixture
def signed_in(client):
    login_verified(client, UserFactory(username="agent1", roles=[Role.COLLECTIONS_AGENT]))
    assert client.get("/").status_code == 200
    return client


def _age(client, **seconds_ago) -> str:
    """Move the session's clocks back, as if time had passed; returns the session key."""
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[{"last_seen": LAST_SEEN_AT, "signed_in": SIGNED_IN_AT}[key]] = now - ago
    session.save()
    return session.session_key


def _signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_31_minutes_idle_signs_out_and_ends_the_session_on_the_server(signed_in):
    key = _age(signed_in, last_seen=31 * MINUTE)

    response = signed_in.get("/")

    assert _signed_out(response)
    assert not Session.objects.filter(session_key=key).exists()
    page = signed_in.get(response["Location"])
    assert [m.level_tag for m in page.context["messages"]] == ["info"]  # says why


def test_29_minutes_idle_keeps_the_session(signed_in):
    _age(signed_in, last_seen=29 * MINUTE)

    assert signed_in.get("/").status_code == 200


def test_a_request_restarts_the_idle_clock(signed_in):
    _age(signed_in, last_seen=20 * MINUTE)
    signed_in.get("/")

    _age(signed_in, signed_in=0)  # a save, leaving last_seen where the request put it
    assert int(time.time()) - signed_in.session[LAST_SEEN_AT] < MINUTE


def test_12_hours_after_sign_in_the_session_ends_even_when_busy(signed_in):
    _age(signed_in, signed_in=12 * HOUR + MINUTE, last_seen=0)

    assert _signed_out(signed_in.get("/"))


def test_11_hours_after_sign_in_the_session_goes_on(signed_in):
    _age(signed_in, signed_in=11 * HOUR, last_seen=0)

    assert signed_in.get("/").status_code == 200


def test_the_session_cookie_does_not_outlive_the_idle_limit_by_more_than_a_minute():
    assert settings.SESSION_COOKIE_AGE <= 31 * MINUTE


def test_sign_out_ends_the_session_on_the_server(signed_in):
    old_key = signed_in.session.session_key

    response = signed_in.post(reverse("logout"))

    assert response.status_code == 302
    assert not Session.objects.filter(session_key=old_key).exists()
    # Someone who kept the old cookie gets nothing with it.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert _signed_out(replay.get("/"))


def test_sign_out_is_a_post(signed_in):
    assert signed_in.get(reverse("logout")).status_code == 405
    assert signed_in.get("/").status_code == 200

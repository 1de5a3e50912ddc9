"""Five failed sign-ins for a user from an address lock that pair out for 30 minutes (django-axes)."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone, translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import client_ip_address
from accounts.roles import Role
from tests.factories import UserFactory

from .signin import current_code, password_step, wrong_code

pytestmark = pytest.mark.django_db

VERIFY = reverse("otp_verify")


def _shows_the_lockout_message(response) -> bool:
    """The lockout page, saying so in the language the page was served in."""
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        heading = translation.gettext("Sign-in locked")
    content = response.content.decode()
    return (
        response.status_code == 429
        and "registration/lockout.html" in [t.name for t in response.templates]
        and heading in content
        and "30" in content  # minutes
    )


@pytest.fixture
def agent():
    user = UserFactory(username="agent1", roles=[Role.COLLECTIONS_AGENT])
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


def _fail_passwords(client, times: int, **extra):
    return [password_step(client, "agent1", password="not the password", **extra) for _ in range(times)]


def test_five_wrong_passwords_lock_the_user_out_from_that_address(client, agent):
    responses = _fail_passwords(client, 5)

    assert [r.status_code for r in responses[:4]] == [200] * 4  # the form again, with its error
    assert responses[4].status_code == 429
    # The sixth try, with the right password, is refused with the lockout page.
    response = password_step(client, "agent1")
    assert _shows_the_lockout_message(response)
    assert SESSION_KEY not in client.session


def test_four_wrong_passwords_do_not_lock(client, agent):
    _fail_passwords(client, 4)

    assert password_step(client, "agent1")["Location"].startswith(VERIFY)


def test_another_address_is_not_locked(client, agent):
    _fail_passwords(client, 5)

    response = password_step(client, "agent1", REMOTE_ADDR="10.20.30.40")

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)


def test_another_user_from_the_same_address_is_not_locked(client, agent):
    UserFactory(username="agent2", roles=[Role.COLLECTIONS_AGENT])
    _fail_passwords(client, 5)

    assert password_step(client, "agent2").status_code == 302


def test_the_lockout_ends_after_30_minutes(client, agent):
    _fail_passwords(client, 5)
    assert password_step(client, "agent1").status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=31))

    assert password_step(client, "agent1")["Location"].startswith(VERIFY)


def test_wrong_second_factor_codes_count_towards_the_lockout(client, agent):
    """Counted with the password failures: a right password does not buy five more guesses."""
    device = agent.totpdevice_set.get()
    _fail_passwords(client, 2)
    password_step(client, "agent1")

    responses = [client.post(VERIFY, {"code": wrong_code(device)}) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 429]
    assert _shows_the_lockout_message(responses[-1])
    # The half-signed-in session is over, and the password is refused from here for now.
    assert SESSION_KEY not in client.session
    assert client.get("/")["Location"].startswith(reverse("login"))
    assert password_step(client, "agent1").status_code == 429


def test_passing_both_factors_clears_the_count(client, agent):
    _fail_passwords(client, 4)
    password_step(client, "agent1")
    client.post(VERIFY, {"code": current_code(agent.totpdevice_set.get())})
    client.post(reverse("logout"))

    _fail_passwords(client, 4)

    assert password_step(client, "agent1")["Location"].startswith(VERIFY)


def test_the_password_alone_does_not_clear_the_count(client, agent):
    _fail_passwords(client, 4)
    password_step(client, "agent1")  # right, but the second factor is still to come

    response = client.post(VERIFY, {"code": wrong_code(agent.totpdevice_set.get())})

    assert response.status_code == 429


def test_the_forwarded_address_is_trusted_only_behind_a_configured_proxy(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")

    settings.BNPL_PROXY_COUNT = 0
    assert client_ip_address(request) == "10.0.0.1"
    settings.BNPL_PROXY_COUNT = 1
    assert client_ip_address(request) == "203.0.113.9"  # what the proxy saw; 6.6.6.6 was typed in

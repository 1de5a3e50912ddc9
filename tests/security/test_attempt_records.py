"""django-axes' records of failed sign-ins, readable by operations admins, hold no secret in clear."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import otp
from accounts.roles import Role
from tests.factories import UserFactory

from .signin import PASSWORD, password_step, wrong_code

pytestmark = pytest.mark.django_db

VERIFY = reverse("otp_verify")
CSRF_TOKEN = "k3Lw9XcsrfTokenThatAnAdminMustNotRead0123456789abcdefGHIJKLMNOPQ"


@pytest.fixture
def agent():
    user = UserFactory(username="agent1", roles=[Role.COLLECTIONS_AGENT])
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


REQUEST_FIELDS = ("username", "user_agent", "http_accept", "path_info")


def recorded_text() -> str:
    """Every text django-axes took from the requests (what the admin's attempt pages show)."""
    rows = [
        *AccessAttempt.objects.values(*REQUEST_FIELDS, "get_data", "post_data"),
        *AccessFailureLog.objects.values(*REQUEST_FIELDS),
    ]
    assert rows, "nothing was recorded: the test would prove nothing"
    return "\n".join(str(value) for row in rows for value in row.values())


def test_a_backup_code_typed_while_throttled_is_not_stored_in_clear(client, agent):
    """django-otp throttles the backup codes after wrong ones: a valid code then fails too, and
    the failure is recorded; the code is still unused, so whoever read it could sign in."""
    codes = otp.backup_codes_issue(user=agent)
    password_step(client, "agent1")
    client.post(VERIFY, {"code": "zzzz-zzzz", "csrfmiddlewaretoken": CSRF_TOKEN})
    response = client.post(VERIFY, {"code": codes[0], "csrfmiddlewaretoken": CSRF_TOKEN})

    assert response.status_code == 200  # refused: the device is throttled
    assert StaticDevice.objects.get(user=agent).token_set.filter(token=otp.code_normalize(codes[0])).exists()
    stored = recorded_text()
    for secret in (codes[0], otp.code_normalize(codes[0]), "zzzz", CSRF_TOKEN):
        assert secret not in stored


def test_authenticator_codes_and_passwords_are_not_stored_in_clear(client, agent):
    typed = wrong_code(agent.totpdevice_set.get())
    password_step(client, "agent1", password="Not-The-Password-42")
    password_step(client, "agent1")
    client.post(VERIFY, {"code": typed})

    attempt = AccessAttempt.objects.get(username="agent1")
    assert attempt.failures_since_start == 2
    stored = recorded_text()
    for secret in (typed, "Not-The-Password-42", PASSWORD):
        assert secret not in stored
    # What is kept still tells staff which step failed.
    assert "code=" in attempt.post_data and "password=" in attempt.post_data

"""Enrolment: a QR code and the key, confirmed with a code, then ten backup codes shown once."""

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import otp
from accounts.roles import Role
from tests.conftest import login_verified
from tests.factories import UserFactory

from .signin import current_code, password_step, wrong_code

pytestmark = pytest.mark.django_db

SETUP = reverse("otp_setup")


@pytest.fixture
def newcomer():
    return UserFactory(username="newcomer", roles=[Role.COLLECTIONS_AGENT])


def test_enrolment_shows_a_qr_code_and_the_key_without_inline_script_or_style(client, newcomer):
    password_step(client, "newcomer")

    response = client.get(SETUP)

    assert response.status_code == 200
    html = response.content.decode()
    device = TOTPDevice.objects.get(user=newcomer)
    assert not device.confirmed
    assert "<svg" in html and "<path" in html
    assert otp.totp_secret_text(device) in html
    # The content security policy forbids inline script and style: the QR code needs neither.
    # (the console's own static script, loaded by src, is allowed by the policy)
    assert not re.findall(r"<script(?![^>]*\bsrc=)", html)
    assert "style=" not in html
    # A reload shows the same key, so a half-done scan still works.
    client.get(SETUP)
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1


def test_confirming_with_a_code_creates_a_confirmed_device_and_shows_ten_backup_codes(client, newcomer):
    password_step(client, "newcomer")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=newcomer)

    response = client.post(SETUP, {"code": current_code(device), "next": "/"})

    assert response.status_code == 200
    assert response.templates[0].name == "accounts/otp_backup_codes.html"
    device.refresh_from_db()
    assert device.confirmed
    shown = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    stored = set(StaticToken.objects.filter(device__user=newcomer).values_list("token", flat=True))
    assert len(shown) == 10 and set(shown) == stored
    assert "no-store" in response["Cache-Control"]  # not kept by the browser or a proxy
    # Enrolling passed the second factor for this session.
    assert client.get("/").status_code == 200


def test_the_backup_codes_are_shown_once(client, newcomer):
    password_step(client, "newcomer")
    client.get(SETUP)
    response = client.post(SETUP, {"code": current_code(TOTPDevice.objects.get(user=newcomer))})
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())

    again = client.get(SETUP).content.decode()

    assert codes and not any(code in again for code in codes)


def test_a_wrong_code_confirms_nothing(client, newcomer):
    password_step(client, "newcomer")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=newcomer)

    response = client.post(SETUP, {"code": wrong_code(device)})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticToken.objects.filter(device__user=newcomer).exists()
    assert client.get("/")["Location"].startswith(SETUP)


def test_a_password_alone_cannot_replace_an_existing_factor(client, newcomer):
    """Otherwise whoever learnt a password could enrol their own phone in its owner's place."""
    TOTPDevice.objects.create(user=newcomer, name="Authenticator app", confirmed=True)
    password_step(client, "newcomer")

    response = client.get(SETUP)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp_verify"))
    response = client.post(SETUP, {"code": "123456"})
    assert response["Location"].startswith(reverse("otp_verify"))
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1


def test_a_verified_user_may_move_to_a_new_phone(client, newcomer):
    old = login_verified(client, newcomer)
    old_codes = otp.backup_codes_issue(user=newcomer)

    client.get(SETUP)
    new = TOTPDevice.objects.get(user=newcomer, confirmed=False)
    response = client.post(SETUP, {"code": current_code(new)})

    assert response.status_code == 200
    assert list(TOTPDevice.objects.filter(user=newcomer)) == [new]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    assert not StaticToken.objects.filter(token__in=old_codes).exists()

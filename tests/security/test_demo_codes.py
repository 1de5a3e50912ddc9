"""The demo's shortcut: a backup code printed beside each demo password, never in production."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken

from accounts import otp
from accounts.roles import Role
from tests.factories import UserFactory

from .signin import password_step

pytestmark = pytest.mark.django_db


def test_refused_without_debug_or_the_demo_setting(settings):
    settings.DEBUG = False
    settings.BNPL_ALLOW_DEMO_CODES = False
    user = UserFactory(username="demo")

    with pytest.raises(ImproperlyConfigured, match="BNPL_ALLOW_DEMO_CODES"):
        otp.demo_backup_code(user)
    assert not StaticToken.objects.filter(device__user=user).exists()


@pytest.mark.parametrize(("debug", "allow"), [(True, False), (False, True)])
def test_a_demo_code_signs_in_once(client, settings, debug, allow):
    settings.DEBUG, settings.BNPL_ALLOW_DEMO_CODES = debug, allow
    user = UserFactory(username="demo", roles=[Role.RISK_ANALYST])

    code = otp.demo_backup_code(user)

    assert password_step(client, "demo")["Location"].startswith(reverse("otp_verify"))
    assert client.post(reverse("otp_verify"), {"code": code})["Location"] == "/"
    assert client.get("/").status_code == 200
    assert not otp.has_second_factor(user)  # used up; the next sign-in sets up an app


def test_each_call_adds_a_fresh_code(settings):
    settings.BNPL_ALLOW_DEMO_CODES = True
    user = UserFactory(username="demo")

    first, second = otp.demo_backup_code(user), otp.demo_backup_code(user)

    assert first != second
    assert otp.backup_codes_left(user) == 2

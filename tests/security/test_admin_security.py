"""The data admin wants the second factor too; operations admins reset factors and lift lockouts."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory
from django.urls import reverse
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import otp
from accounts.roles import ROLE_PERMISSIONS, Role
from accounts.signals import second_factor_reset
from tests.conftest import login_verified
from tests.factories import UserFactory

from .signin import password_step

pytestmark = pytest.mark.django_db

VERIFY = reverse("otp_verify")
UNLOCK_PERMISSIONS = ("axes.view_accessattempt", "axes.delete_accessattempt")


@pytest.fixture
def ops_admin():
    return UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True)


@pytest.fixture
def agent():
    user = UserFactory(username="agent1", roles=[Role.COLLECTIONS_AGENT])
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    otp.backup_codes_issue(user=user)
    return user


def _site_request(user, *, device=None):
    """A request for the admin site as it is after OTPMiddleware, with or without a passed factor."""
    request = RequestFactory().get("/admin/")
    request.user = user
    request.session = {"otp_device_id": device.persistent_id} if device else {}
    OTPMiddleware(lambda r: None)(request)
    return request


def test_the_admin_site_refuses_a_superuser_without_the_second_factor(superuser):
    device = TOTPDevice.objects.create(user=superuser, name="Authenticator app", confirmed=True)

    assert not admin.site.has_permission(_site_request(superuser))
    assert admin.site.has_permission(_site_request(superuser, device=device))


def test_the_admin_refuses_an_unverified_superuser_even_without_our_middleware(client, superuser, settings):
    """Two locks on the admin: the console's middleware, and the admin site itself."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "accounts.middleware.SecondFactorRequiredMiddleware"
    ]
    TOTPDevice.objects.create(user=superuser, name="Authenticator app", confirmed=True)
    client.force_login(superuser)  # the password only

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0].startswith(VERIFY)
    assert response.templates[0].name == "accounts/otp_verify.html"


def test_the_admin_login_page_leads_to_the_console_sign_in(client):
    response = client.get(reverse("admin:login"), {"next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/admin/"


def test_a_verified_superuser_opens_the_admin(client, superuser):
    login_verified(client, superuser)

    assert client.get("/admin/").status_code == 200


def test_reset_second_factor_removes_the_devices_and_is_recorded(client, ops_admin, agent):
    login_verified(client, ops_admin)
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    second_factor_reset.connect(receiver)
    try:
        response = client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "reset_second_factor", "_selected_action": [agent.pk]},
            follow=True,
        )
    finally:
        second_factor_reset.disconnect(receiver)

    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert not StaticDevice.objects.filter(user=agent).exists()
    record = agent.history.latest()
    assert record.history_user == ops_admin
    assert record.history_change_reason == "second factor reset by ops"
    assert [(r["user"], r["by"]) for r in received] == [(agent, ops_admin)]
    assert received[0]["request"] is not None

    # At the next sign-in the agent sets up a new factor.
    other = client.__class__()
    response = password_step(other, "agent1")
    assert response["Location"].startswith(reverse("otp_setup"))


def test_a_reset_takes_effect_on_a_session_that_had_passed_the_factor(client, agent, ops_admin):
    login_verified(client, agent)
    assert client.get("/").status_code == 200

    otp.second_factor_reset(user=agent, by=ops_admin)

    assert client.get("/")["Location"].startswith(reverse("otp_setup"))


def test_only_a_superuser_resets_a_superuser(client, ops_admin, superuser):
    TOTPDevice.objects.create(user=superuser, name="Authenticator app", confirmed=True)
    login_verified(client, ops_admin)

    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [superuser.pk]},
    )

    assert TOTPDevice.objects.filter(user=superuser).exists()


def test_a_role_without_change_user_has_no_reset_action(client, agent):
    risk = UserFactory(username="risk1", roles=[Role.RISK_ANALYST], is_staff=True)
    login_verified(client, risk)

    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [agent.pk]},
    )

    assert TOTPDevice.objects.filter(user=agent).exists()


def _lock_out(client, username: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(client, username, password="wrong password!")


def _grant_unlock_permissions() -> None:
    # Until accounts.roles grants them (test_the_operations_admin_role_may_unlock checks that).
    group = Group.objects.get(name=Role.OPERATIONS_ADMIN)
    for dotted in UNLOCK_PERMISSIONS:
        app_label, codename = dotted.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def test_an_operations_admin_unlocks_a_locked_out_user(client, ops_admin, agent):
    _lock_out(client, "agent1")
    assert password_step(client, "agent1").status_code == 429
    _grant_unlock_permissions()
    admin_client = client.__class__()
    login_verified(admin_client, ops_admin)

    # The user's page says so and links to the attempts...
    page = admin_client.get(reverse("admin:accounts_user_change", args=[agent.pk])).content.decode()
    attempts_url = reverse("admin:axes_accessattempt_changelist")
    assert f'href="{attempts_url}?q=agent1"' in page
    # ...where deleting them lifts the lockout.
    attempt = AccessAttempt.objects.get(username="agent1")
    response = admin_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert response.status_code == 302

    assert not AccessAttempt.objects.filter(username="agent1").exists()
    assert password_step(client, "agent1")["Location"].startswith(VERIFY)


def test_the_operations_admin_role_may_unlock():
    """accounts.roles gives operations admins django-axes' attempts: to see them and to delete them."""
    assert set(UNLOCK_PERMISSIONS) <= ROLE_PERMISSIONS[Role.OPERATIONS_ADMIN]

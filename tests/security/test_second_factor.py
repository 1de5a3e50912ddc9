"""The second step: a password alone reaches nothing; an authenticator code or a backup code does."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import otp
from accounts.roles import Role
from tests.factories import UserFactory

from .signin import current_code, password_step, wrong_code

pytestmark = pytest.mark.django_db

VERIFY = reverse("otp_verify")
SETUP = reverse("otp_setup")


@pytest.fixture
def analyst():
    user = UserFactory(username="risk1", roles=[Role.RISK_ANALYST])
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


@pytest.fixture
def superuser_with_app(superuser):
    TOTPDevice.objects.create(user=superuser, name="Authenticator app", confirmed=True)
    return superuser


def test_the_password_leads_to_the_second_step_not_home(client, analyst):
    response = password_step(client, "risk1")

    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=/"
    assert client.session[SESSION_KEY] == str(analyst.pk)  # the password was right...
    home = client.get("/")
    assert home.status_code == 302  # ...and still home is out of reach
    assert home["Location"] == f"{VERIFY}?next=/"


def test_the_password_alone_does_not_open_the_admin(client, superuser_with_app):
    password_step(client, "root", password="correct horse battery")

    for url in ("/admin/", reverse("admin:accounts_user_changelist")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(VERIFY), url


def test_a_user_without_a_factor_is_sent_to_enrol(client):
    UserFactory(username="newcomer", roles=[Role.COLLECTIONS_AGENT])

    response = password_step(client, "newcomer")

    assert response["Location"] == f"{SETUP}?next=/"
    assert client.get("/")["Location"] == f"{SETUP}?next=/"


def test_a_correct_authenticator_code_reaches_home(client, analyst):
    password_step(client, "risk1")
    device = analyst.totpdevice_set.get()

    response = client.post(VERIFY, {"code": current_code(device), "next": "/"}, follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert response.status_code == 200
    assert response.templates[0].name == "console/home.html"
    assert client.session["otp_device_id"] == device.persistent_id


def test_the_next_page_asked_for_is_kept_through_both_steps(client, analyst):
    response = client.get("/admin/", follow=True)  # anonymous: to the sign-in page first
    assert response.redirect_chain[-1][0] == f"{reverse('login')}?next=/admin/"

    response = client.post(
        f"{reverse('login')}?next=/admin/", {"username": "risk1", "password": "correct horse battery staple"}
    )
    assert response["Location"] == f"{VERIFY}?next=/admin/"
    device = analyst.totpdevice_set.get()
    response = client.post(VERIFY, {"code": current_code(device), "next": "/admin/"})
    assert response["Location"] == "/admin/"


def test_a_next_on_another_site_is_ignored(client, analyst):
    password_step(client, "risk1")
    device = analyst.totpdevice_set.get()

    response = client.post(VERIFY, {"code": current_code(device), "next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_a_wrong_code_does_not_reach_home(client, analyst):
    password_step(client, "risk1")
    device = analyst.totpdevice_set.get()

    response = client.post(VERIFY, {"code": wrong_code(device), "next": "/"})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert "otp_device_id" not in client.session
    assert client.get("/")["Location"].startswith(VERIFY)


def test_a_backup_code_works_once_and_not_twice(client, analyst):
    codes = otp.backup_codes_issue(user=analyst)
    assert len(codes) == 10 == len(set(codes))

    password_step(client, "risk1")
    response = client.post(VERIFY, {"code": codes[0].upper(), "next": "/"})  # as typed from a printout
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert otp.backup_codes_left(analyst) == 9

    client.post(reverse("logout"))
    password_step(client, "risk1")
    response = client.post(VERIFY, {"code": codes[0], "next": "/"})
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert client.get("/")["Location"].startswith(VERIFY)


def test_a_backup_code_is_not_tried_against_the_authenticator(analyst):
    """Each kind of code goes to its own device, so a backup code never slows the app's codes down."""
    codes = otp.backup_codes_issue(user=analyst)

    otp.second_factor_verify(user=analyst, code=codes[0])

    assert analyst.totpdevice_set.get().throttling_failure_count == 0


def test_the_pages_of_the_second_step_need_the_password_first(client):
    for url in (VERIFY, SETUP):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_verified_user_skips_the_second_step(client, analyst):
    password_step(client, "risk1")
    client.post(VERIFY, {"code": current_code(analyst.totpdevice_set.get())})

    assert client.get(VERIFY)["Location"] == "/"
    assert client.get(reverse("login"))["Location"] == "/"

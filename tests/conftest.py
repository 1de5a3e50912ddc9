"""Fixtures shared by the whole suite."""

import os

import pytest
from django.db import connection


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _on_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_configure(config):
    """Compile the message catalogues whose .mo is missing or older than the .po, as `make
    translations` does, so a bare `pytest` on a fresh clone runs in Chinese too."""
    from pathlib import Path

    from django.conf import settings
    from django.utils.translation import trans_real

    from bnpl_admin.translations import compile_catalog

    compiled = False
    for folder in settings.LOCALE_PATHS:
        for po_path in sorted(Path(folder).glob("*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
                compile_catalog(po_path)
                compiled = True
    if compiled:
        # Forget any catalogue read before it was compiled.
        trans_real._translations = {}
        trans_real._default = None


def pytest_runtest_setup(item):
    """Skip PostgreSQL-only tests before any database fixture runs: a transactional test
    that was set up and then skipped would still empty the database at teardown."""
    if "postgres_only" in getattr(item, "fixturenames", ()) and not _on_postgres():
        if _in_ci() and os.environ.get("DATABASE_URL", "").startswith("postgres"):
            pytest.fail("DATABASE_URL names PostgreSQL but the tests are not running on it")
        pytest.skip("needs PostgreSQL (runs in the PostgreSQL pass of .ci/run)")


@pytest.fixture(autouse=True)
def _project_language():
    """Every test starts in the project's language (settings.LANGUAGE_CODE, Chinese) and time
    zone. A test client's request leaves its thread in the signed-in user's language (Django's
    LocaleMiddleware activates one and never restores it), which would otherwise carry over
    into whichever test runs next on the thread, and make a test's outcome depend on the order."""
    from django.utils import timezone, translation

    translation.deactivate()
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture
def postgres_only(db):
    """Marks a test that needs PostgreSQL (row locks, SKIP LOCKED); see pytest_runtest_setup."""
    assert connection.vendor == "postgresql"


@pytest.fixture
def superuser(db):
    from accounts.models import User

    return User.objects.create_superuser("root", "root@example.com", "correct horse battery")


# --- Signing in with both factors (accounts.middleware.SecondFactorRequiredMiddleware) ---------
# client.force_login(user) gives a session that has passed the password only, which now
# reaches nothing but the second step. Tests of pages sign in with login_verified instead.


def login_verified(client, user):
    """Sign `user` in on the test client as after both steps; returns the device used.

    The user gets a confirmed authenticator if they have none, and the session records it
    where django_otp.login would (django_otp.DEVICE_ID_SESSION_KEY).
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def verified_client(client):
    """`verified_client(user)`: the test client, signed in as `user` with both factors passed."""

    def sign_in(user):
        login_verified(client, user)
        return client

    return sign_in


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin_client, signed in with both factors passed (the admin requires it)."""
    from django.test import Client

    client = Client()
    login_verified(client, admin_user)
    return client


def pytest_sessionstart(session):
    """Compile the translation catalogues first, so a bare `pytest` sees the same pages as `make test`."""
    from django.core.management import call_command

    call_command("compile_translations", verbosity=0)

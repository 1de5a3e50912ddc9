"""Fixtures of the hardening tests: compiled catalogs, and a signed-in staff member."""

import pytest
from django.core.management import call_command

from tests.conftest import login_verified


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """The build compiles the catalogs (`make translations`); do it here too so these tests run alone."""
    call_command("compile_translations", verbosity=0)


@pytest.fixture
def sign_in(client):
    """sign_in(user): the test client, signed in past both factors, as staff reach pages."""

    def sign_in(user):
        login_verified(client, user)
        return client

    return sign_in

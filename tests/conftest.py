"""Fixtures shared by the whole suite."""

import os

import pytest
from django.db import connection


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def postgres_only(db):
    """Skip on SQLite (the first CI pass); the second pass runs on PostgreSQL and must not skip."""
    if connection.vendor != "postgresql":
        if _in_ci() and os.environ.get("DATABASE_URL", "").startswith("postgres"):
            pytest.fail("DATABASE_URL names PostgreSQL but the tests are not running on it")
        pytest.skip("needs PostgreSQL (runs in the PostgreSQL pass of .ci/run)")


@pytest.fixture
def superuser(db):
    from accounts.models import User

    return User.objects.create_superuser("root", "root@example.com", "correct horse battery")

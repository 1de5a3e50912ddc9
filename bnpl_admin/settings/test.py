"""Settings for the test suite: fast hashing, plain static storage, the database from DATABASE_URL."""

import os

from .base import *  # noqa: F403
from .base import STORAGES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file rather than memory, so that a real Celery worker started by a test (a separate
    # process) opens the same test database as the test itself (the test passes the path
    # on). One file per test process, so parallel runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405
    # A throwaway database need not survive a power cut: skip the fsyncs.
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"  # noqa: F405

# Static files come from the finders in tests; whitenoise only needs its folder to exist.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# Tests sign the demo users in with accounts.otp.demo_backup_code, as `make run` does.
BNPL_ALLOW_DEMO_CODES = True

# Visit photos written by the tests go to a folder of their own, one per test process.
VISITS_PHOTO_ROOT = VAR_DIR / "test-private" / f"visit-photos-{os.getpid()}"  # noqa: F405

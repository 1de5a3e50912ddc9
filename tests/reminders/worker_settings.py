"""Settings for the Celery workers of test_worker.py: the test settings, a stalling outbox, their own queue.

tests.workers points DATABASE_URL at the test's own database.
"""

import os

from bnpl_admin.settings.test import *  # noqa: F403

REMINDERS_SMS_BACKEND = "tests.reminders.slow_backend.SlowOutboxBackend"
REMINDERS_EMAIL_BACKEND = "tests.reminders.slow_backend.SlowOutboxBackend"

# The worker consumes only the queue its test publishes to, so a worker of another test run
# on the same broker (the filesystem folder under var/, or a shared Redis) takes none of them.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("REMINDERS_TEST_QUEUE", "celery")

# Celery's Django fix-up closes the connection after each task unless it may be kept: a new
# PostgreSQL connection per delivery would be most of the test's run time.
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405

"""The health check for load balancers and supervisors: can this process reach its database and broker?"""

from __future__ import annotations

import logging
import os

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

logger = logging.getLogger(__name__)

# A probe that hangs is as bad as one that fails: keep each check to a few seconds.
BROKER_TIMEOUT_SECONDS = 2


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("health: database check failed")
        return False
    return True


def broker_ok() -> bool:
    # Read from settings on every call (not from the Celery app's cached config), so the
    # check reports the broker this process is configured for right now.
    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    options.setdefault("socket_timeout", BROKER_TIMEOUT_SECONDS)
    try:
        with Connection(url, transport_options=options, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0.2, timeout=BROKER_TIMEOUT_SECONDS
            )
            if conn.transport_cls == "filesystem":
                # The filesystem transport "connects" without touching the disk; what can
                # fail is its folders, so check that they are there and writable.
                _check_folders(options)
    except Exception:
        logger.exception("health: broker check failed for %s", url.split("@")[-1])
        return False
    return True


def _check_folders(options: dict) -> None:
    for key in ("data_folder_in", "data_folder_out"):
        folder = options.get(key)
        if not folder or not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
            raise OSError(f"broker folder {key}={folder!r} is missing or not writable")


@login_not_required
@never_cache
@require_safe
def healthz(request):
    """200 {"database": "ok", "broker": "ok"}, or 503 naming what failed (details go to the log only)."""
    checks = {"database": database_ok(), "broker": broker_ok()}
    body = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    return JsonResponse(body, status=200 if all(checks.values()) else 503)


@login_not_required
@never_cache
@require_safe
def healthz_operations(request):
    """For monitoring, not load balancers: 200 {"status": "ok", "problems": []}, or 503
    {"status": "degraded", "problems": [{"code", "message"}]} while the night's sweep is late,
    sweep chunks are stuck, reminders wait past their time, or the ledgers disagree."""
    from bnpl_admin.operations import operations_problems

    problems = operations_problems()
    body = {
        "status": "degraded" if problems else "ok",
        "problems": [{"code": p.code, "message": p.message} for p in problems],
    }
    return JsonResponse(body, status=503 if problems else 200)

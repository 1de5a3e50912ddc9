"""Logging: a request id on every log line of a request, JSON lines in production, plain text locally.

The id comes from the proxy's X-Request-ID header (so a line here can be matched with the
proxy's access log) or is made here; it travels in a context variable, so code that logs
needs no request object, and goes back to the client in the response header.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from django.utils.log import log_response

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy may hand us; anything else (too long, spaces, control characters that could
# forge a log line) is replaced by an id of our own.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
NO_REQUEST = "-"

request_id_var: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)

request_logger = logging.getLogger("bnpl.request")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each record; "-" outside a request (worker, beat, commands)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RequestIdMiddleware:
    """Outermost middleware: sets the request id, echoes it, and logs one line per request."""

    # Load balancers ask every few seconds; a healthy answer is not worth a line at INFO.
    QUIET_PATHS = ("/healthz/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _ACCEPTABLE_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            if response.status_code >= 400:
                # Django logs a 4xx/5xx ("Not Found: /x") after the last middleware has
                # returned, where the id is gone; logged here, it carries the id, and Django
                # skips its own line (log_response marks the response as logged).
                log_response(
                    "%s: %s", response.reason_phrase, request.path, response=response, request=request
                )
            quiet = request.path in self.QUIET_PATHS and response.status_code < 400
            request_logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def _user_id(request) -> int | None:
    # Only a user the authentication middleware already loaded: logging must not cost a query.
    user = getattr(request, "user", None)
    wrapped = getattr(user, "_wrapped", user)
    return getattr(wrapped, "pk", None) if getattr(wrapped, "is_authenticated", False) else None


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ("levelname", "name", "request_id", "message")


def logging_config(*, json: bool, level: str = "INFO") -> dict:
    """The LOGGING setting: one console handler (stderr), JSON lines or plain text."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "bnpl_admin.logging.RequestIdFilter"}},
        "formatters": {
            "plain": {"format": PLAIN_FORMAT},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                # Fields named here come first; anything passed in `extra` follows.
                "fmt": list(JSON_FIELDS),
                "rename_fields": {"levelname": "level", "name": "logger"},
                # "time": ISO 8601 in UTC with milliseconds, whatever the server's zone.
                "timestamp": "time",
                # Chinese text stays readable in the log viewer.
                "json_ensure_ascii": False,
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json else "plain",
                # On the handler, not a logger, so records of every library get the id too.
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # Our own one-line-per-request log replaces Django's duplicate server lines.
            "django.server": {"level": "WARNING"},
        },
    }


# --- Celery: the id travels with the tasks a request publishes ----------------------------------

TASK_HEADER = "request_id"


def task_publish_add_request_id(headers: dict | None = None, **kwargs) -> None:
    """celery before_task_publish: a task published while handling a request (or by a task that
    was) carries that request's id in a message header."""
    request_id = request_id_var.get()
    if headers is not None and request_id != NO_REQUEST:
        headers.setdefault(TASK_HEADER, request_id)


def task_prerun_set_request_id(task=None, **kwargs) -> None:
    """celery task_prerun: the worker logs the task's lines under the id it was published with."""
    request = getattr(task, "request", None)
    incoming = getattr(request, TASK_HEADER, None) or ""
    if request is not None and _ACCEPTABLE_ID.fullmatch(incoming):
        # Kept on the task's own request context, which lives exactly as long as this run.
        request.bnpl_request_id_token = request_id_var.set(incoming)


def task_postrun_reset_request_id(task=None, **kwargs) -> None:
    """celery task_postrun: back to no id once the task is over."""
    token = getattr(getattr(task, "request", None), "bnpl_request_id_token", None)
    if token is not None:
        request_id_var.reset(token)

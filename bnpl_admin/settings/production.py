"""Production settings: gunicorn behind an HTTPS proxy, PostgreSQL, Redis, JSON logs, a real secret key."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from bnpl_admin.logging import logging_config

from .base import *  # noqa: F403
from .base import DATABASES, INSECURE_DEFAULT_SECRET_KEY, SECRET_KEY, env

DEBUG = False
if SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production."
    )
# No default: a production server answers only for the host names it is told.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS -------------------------------------------------------------------
# The proxy in front terminates TLS and says so in X-Forwarded-Proto; it must overwrite a
# client's own header of that name.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The load balancer's probe speaks plain HTTP to the web process.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^healthz/operations/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

# --- Cookies: HTTPS only, out of reach of scripts ----------------------------------
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
# Forms carry the token; htmx requests send it from <body hx-headers> (templates/base.html).
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = True

# X_FRAME_OPTIONS = "DENY" and the content security policy come from base.py, so tests and
# development run under them too.

# --- Database: PostgreSQL, connections kept between requests -----------------------
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Static files: collectstatic into STATIC_ROOT, served by whitenoise with hashed,
# compressed names (base.py's STORAGES: CompressedManifestStaticFilesStorage). ---
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(STATIC_ROOT)))  # noqa: F405

# --- Logs: one JSON object a line on stderr, each with the request id ---------------------
LOGGING = logging_config(json=env.bool("LOG_JSON", default=True), level=env("LOG_LEVEL", default="INFO"))

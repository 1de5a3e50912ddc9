"""Settings shared by every environment; each value that differs by machine comes from the env."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from bnpl_admin.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A .env file is a convenience for local work; the real environment always wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

INSECURE_DEFAULT_SECRET_KEY = "django-insecure-bnpl-local-development-only"
SECRET_KEY = env("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",
    "django_filters",
    "django_htmx",
    "simple_history",
    "django_celery_beat",
    "django_celery_results",
    "accounts",
    "orders",
    "collection",
    "policy",
    "reminders",
    "sweep",
    # Scorecards, scores, grades and limits; nightly rescoring after the sweep.
    "risk",
    # Settlements, restructures and write-offs, decided by a second person (maker–checker).
    "settlements",
    # Home visits (上门走访): requests, approvals, the field agents' day and photo evidence.
    "visits",
    # Order decisions: the decision rules, the try-an-order form and the review queue.
    "decisions",
    # Credit-line restrictions, one at a time and bulk jobs by filter (issue 12).
    "restrictions",
    # Sign-in security: two factors (django-otp) and lockout (django-axes).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts.apps.SignInLockoutsConfig",  # django-axes, with a translated name
    # Its system checks catch settings in the django-csp 3 format.
    "csp",
    # The central audit trail (audit.receivers write it from sign-ins, history rows, reveals
    # and exports); the per-URL access matrix it is tested against is bnpl_admin/access.py.
    "audit",
    # The tamper-evident decision log (a hash chain of credit decisions; decisionlog.services).
    "decisionlog",
    # The demo book and its staff logins (`manage.py seed_demo`, run by `make run`).
    "demo",
]

MIDDLEWARE = [
    # First of all, so every log line of the request (even of a redirect to HTTPS) has its id.
    "bnpl_admin.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the signed-in user's language and time zone win over the cookie.
    "bnpl_admin.i18n.UserPreferencesMiddleware",
    # Every view is private unless it opts out with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages middleware, so that a session ended for idleness can say so on the
    # sign-in page. Then django-otp marks request.user verified or not, and ours sends a user
    # who has only given a password to the second step (or to enrolment) before any private page.
    "accounts.middleware.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A boosted link (a console list's) that leads to another page loads that page whole.
    "bnpl_admin.htmx.BoostedNavigationMiddleware",
    # Records the signed-in user on every django-simple-history row.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a request django-axes flagged as locked out into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bnpl_admin.urls"
WSGI_APPLICATION = "bnpl_admin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat read while one of them writes;
    # the timeout makes a writer wait for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock when a transaction starts, so two workers queue up
            # instead of one failing with "database is locked" half-way through.
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# History is a record, not an undo button: old versions are never saved back wholesale.
SIMPLE_HISTORY_REVERT_DISABLED = True

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"
DJANGO_TABLES2_PAGE_RANGE = 8

# --- Celery -----------------------------------------------------------------
# Without CELERY_BROKER_URL the console runs on kombu's filesystem transport: a
# real cross-process broker (web, worker and beat are separate processes) that
# needs no server, so `make run` works on a bare machine.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_USES_EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")
if CELERY_USES_EMBEDDED_BROKER:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The transport polls its folder; a short interval keeps a chord of many small
        # tasks from waiting a second between each.
        "polling_interval": 0.1,
    }
    CELERY_RESULT_BACKEND = "django-db"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis re-delivers an unacknowledged task after this many seconds. It must be
        # longer than the longest task, or a slow sweep chunk would run twice at once.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    }
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXTENDED = True
# Acknowledge a task only after it finished, so a worker killed mid-task leaves the
# message to be delivered again; tasks are written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
# ...and treat a worker that died (SIGKILL, OOM) like one that never took the task.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker reserves one task at a time, so a long sweep chunk never holds a queue of
# others hostage while the second worker sits idle.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Reminders ---------------------------------------------------------------
# How reminders and receipts leave the building, one backend per channel, chosen like
# Django's EMAIL_BACKEND: reminders.backends.OutboxBackend keeps what would be sent (the
# default: nothing reaches a customer from a development machine),
# reminders.backends.DjangoEmailBackend sends through EMAIL_BACKEND, and
# reminders.backends.HttpSmsGatewayBackend posts to the SMS gateway below. The other
# reminder settings (attempts, backoff, leases) have their defaults in reminders/conf.py.
REMINDERS_SMS_BACKEND = env("REMINDERS_SMS_BACKEND", default="reminders.backends.OutboxBackend")
REMINDERS_EMAIL_BACKEND = env("REMINDERS_EMAIL_BACKEND", default="reminders.backends.OutboxBackend")
REMINDERS_SMS_GATEWAY_URL = env("REMINDERS_SMS_GATEWAY_URL", default="")
REMINDERS_SMS_GATEWAY_USERNAME = env("REMINDERS_SMS_GATEWAY_USERNAME", default="")
REMINDERS_SMS_GATEWAY_PASSWORD = env("REMINDERS_SMS_GATEWAY_PASSWORD", default="")

# --- Business policy defaults ------------------------------------------------
# The values in force live in policy.Policy rows with an effective date (edited in
# the admin); these only seed the first row and the tests.
BNPL_PAY_LATER_TRIAL_DAYS = env.int("BNPL_PAY_LATER_TRIAL_DAYS", default=14)
BNPL_FEE_RATE_PAY_LATER = Decimal(env.str("BNPL_FEE_RATE_PAY_LATER", default="0"))
BNPL_FEE_RATE_3 = Decimal(env.str("BNPL_FEE_RATE_3", default="0.018"))
BNPL_FEE_RATE_6 = Decimal(env.str("BNPL_FEE_RATE_6", default="0.036"))
BNPL_FEE_RATE_12 = Decimal(env.str("BNPL_FEE_RATE_12", default="0.072"))
BNPL_LATE_FEE_GRACE_DAYS = env.int("BNPL_LATE_FEE_GRACE_DAYS", default=3)
BNPL_LATE_FEE_DAILY_RATE = Decimal(env.str("BNPL_LATE_FEE_DAILY_RATE", default="0.0005"))
BNPL_LATE_FEE_CAP_RATE = Decimal(env.str("BNPL_LATE_FEE_CAP_RATE", default="0.25"))
BNPL_LATE_FEE_CAP_AMOUNT = Decimal(env.str("BNPL_LATE_FEE_CAP_AMOUNT", default="200.00"))
BNPL_FREEZE_AT_DPD = env.int("BNPL_FREEZE_AT_DPD", default=1)
BNPL_WRITE_OFF_PROPOSAL_DPD = env.int("BNPL_WRITE_OFF_PROPOSAL_DPD", default=180)
BNPL_CONDUCT_PROFILE = env("BNPL_CONDUCT_PROFILE", default="CN")

# --- Sign-in security: two factors (django-otp), lockout (django-axes), sessions ----------
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username and address is refused before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Five failed sign-ins for one username from one address (wrong passwords and wrong
# second-factor codes alike, accounts.auth_views) lock that pair out for 30 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "accounts.auth_views.lockout_response"  # templates/registration/lockout.html
# A try during the lockout does not restart it, so "30 minutes" on the page stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The count is cleared when both factors have passed (accounts.auth_views), not after the
# password alone: otherwise every correct password would buy five more guesses at the code.
AXES_RESET_ON_SUCCESS = False
# Request parameters a failed attempt's record keeps masked (operations admins read those
# records). The password is always masked; the second-step code too: a valid backup code
# refused while the device is throttled is still unused. The CSRF token would let its reader
# forge that user's requests. username and ip_address are django-axes' own defaults.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "code", "csrfmiddlewaretoken"]
# The address a failure is counted against. Behind reverse proxies that append to
# X-Forwarded-For, say how many there are, or every sign-in would seem to come from the
# proxy; with 0 (the default) the header is ignored, since a client can write anything there.
BNPL_PROXY_COUNT = env.int("BNPL_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.middleware.client_ip_address"

OTP_TOTP_ISSUER = "BNPL staff console"
# The admin never shows a key or a backup code: whoever saw one could pass as that user.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# A session ends after 30 minutes without a request and 12 hours after the password was
# given (accounts.middleware.SessionLifetimeMiddleware). The last request is written to the
# session at most once a minute, not on every request; the cookie and the stored session
# live that minute longer, so the middleware is the one that ends an idle session.
BNPL_SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
BNPL_SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
BNPL_SESSION_ACTIVITY_RESOLUTION = timedelta(minutes=1)
SESSION_COOKIE_AGE = int((BNPL_SESSION_IDLE_TIMEOUT + BNPL_SESSION_ACTIVITY_RESOLUTION).total_seconds())

# `seed_demo` hands out one backup code per demo login (accounts.otp.demo_backup_code). Only
# where DEBUG is on or this is set; production never sets it.
BNPL_ALLOW_DEMO_CODES = env.bool("BNPL_ALLOW_DEMO_CODES", default=DEBUG)

# --- Hardening: content security policy, framing, language cookie, logging ----------------
# No inline script or style, no framing, nothing loaded from elsewhere (there is no CDN:
# staff networks are closed). In every environment, so a page that breaks it breaks in
# development and in the tests first. The Django admin (5.2) runs under it unchanged.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}
X_FRAME_OPTIONS = "DENY"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Plain lines on a developer's terminal; production.py switches to JSON lines.
LOGGING = logging_config(json=env.bool("LOG_JSON", default=False), level=env("LOG_LEVEL", default="INFO"))

# --- Self-healing background work (sweep.watchdog, bnpl_admin.operations) ------------------
# A sweep chunk nobody took or published for this long is published again by the watchdog
# (beat, every few minutes). Longer than the slowest chunk (about a second at 10,000
# customers, docs/performance.md): a live worker past its lease is never disturbed anyway
# (the chunk's row lock), it only costs a no-op task.
SWEEP_CHUNK_LEASE_SECONDS = env.int("SWEEP_CHUNK_LEASE_SECONDS", default=10 * 60)
# A chunk that failed (an error, not a lost worker) is tried again up to this many times.
SWEEP_CHUNK_MAX_ATTEMPTS = env.int("SWEEP_CHUNK_MAX_ATTEMPTS", default=3)
# The night's sweep must be done by this hour (TIME_ZONE), or the operations check degrades.
SWEEP_DONE_BY_HOUR = env.int("SWEEP_DONE_BY_HOUR", default=6)
# A reminder still waiting this long after it was due degrades the operations check.
REMINDERS_LATE_AFTER_SECONDS = env.int("REMINDERS_LATE_AFTER_SECONDS", default=60 * 60)

# --- Home visits (visits) -----------------------------------------------------------------------
# Photo evidence lives in a private folder with no URL; visits.views.photo serves it to the
# visit's field agents and the managers only.
VISITS_PHOTO_ROOT = env.path("VISITS_PHOTO_ROOT", default=VAR_DIR / "private" / "visit-photos")
# A photo is refused above this size or these pixel dimensions (checked with Pillow).
VISITS_PHOTO_MAX_BYTES = env.int("VISITS_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
VISITS_PHOTO_MAX_SIDE = env.int("VISITS_PHOTO_MAX_SIDE", default=8000)
VISITS_PHOTO_MAX_PIXELS = env.int("VISITS_PHOTO_MAX_PIXELS", default=40_000_000)
VISITS_PHOTOS_PER_UPLOAD = 5

"""Production settings: `check --deploy` is clean, and they refuse to start with development-only values."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from bnpl_admin.settings.base import INSECURE_DEFAULT_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parents[2]


def _server_environment(**env: str) -> dict[str, str]:
    """What a production server has: no test-run variables (DJANGO_ALLOW_ASYNC_UNSAFE...)."""
    kept = ("PATH", "HOME", "LANG", "DATABASE_URL", "CELERY_BROKER_URL")
    return {
        **{name: os.environ[name] for name in kept if name in os.environ},
        "DJANGO_SETTINGS_MODULE": "bnpl_admin.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "console.example.cn",
        **env,
    }


def _run(*args: str, environment: dict[str, str] | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=environment or _server_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_no_issues():
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output


@pytest.mark.parametrize(
    "secret_key",
    [INSECURE_DEFAULT_SECRET_KEY, "short-but-not-the-default"],
    ids=["development key", "short key"],
)
def test_production_settings_refuse_a_weak_secret_key(secret_key):
    result = _run("-c", "import django; django.setup()", SECRET_KEY=secret_key)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_need_allowed_hosts():
    environment = _server_environment()
    del environment["ALLOWED_HOSTS"]
    result = _run("-c", "import django; django.setup()", environment=environment)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_serves_over_https_with_secure_cookies_and_json_logs():
    probe = (
        "from django.conf import settings as s; import json; print(json.dumps({"
        "'ssl': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS, 'session': s.SESSION_COOKIE_SECURE,"
        "'session_httponly': s.SESSION_COOKIE_HTTPONLY, 'csrf': s.CSRF_COOKIE_SECURE,"
        "'csrf_httponly': s.CSRF_COOKIE_HTTPONLY, 'language': s.LANGUAGE_COOKIE_SECURE,"
        "'origins': s.CSRF_TRUSTED_ORIGINS, 'frames': s.X_FRAME_OPTIONS,"
        "'storage': s.STORAGES['staticfiles']['BACKEND'],"
        "'log': s.LOGGING['handlers']['console']['formatter']}))"
    )
    result = _run(
        "-c",
        f"import django; django.setup(); {probe}",
        CSRF_TRUSTED_ORIGINS="https://console.example.cn,https://console2.example.cn",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "ssl": True,
        "hsts": 31536000,
        "session": True,
        "session_httponly": True,
        "csrf": True,
        "csrf_httponly": True,
        "language": True,
        "origins": ["https://console.example.cn", "https://console2.example.cn"],
        "frames": "DENY",
        "storage": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "log": "json",
    }

"""Start a real Celery worker process for a test, on the test's own database and broker."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def worker_env(**extra: str) -> dict:
    """The test's environment, pointed at the test database (a file on SQLite) so the worker
    sees what the test wrote; the broker is the one the settings choose (filesystem or Redis)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bnpl_admin.settings.test", **extra}
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return env


def start_worker(tmp_path: Path, name: str, **env: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bnpl_admin", "worker", "--pool=solo",
             "--loglevel=INFO", f"--hostname={name}{os.getpid()}@%h", "--without-mingle",
             "--without-gossip"],
            cwd=ROOT, env=worker_env(**env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, log


def wait_for(predicate, *, timeout: float, what: str, logs=(), process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.05)
    text = "\n".join(p.read_text()[-4000:] for p in logs)
    pytest.fail(f"timed out waiting for {what}\n{text}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def start_beat(tmp_path: Path, name: str, **env: str) -> tuple[subprocess.Popen, Path]:
    """Celery beat with the project's scheduler (django-celery-beat rows in the test database)."""
    log = tmp_path / f"{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bnpl_admin", "beat", "--loglevel=INFO",
             f"--schedule={tmp_path / (name + '.schedule')}"],
            cwd=ROOT, env=worker_env(**env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, log

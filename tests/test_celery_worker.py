"""A real Celery worker process starts on the configured broker and runs a task sent to it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bnpl_admin.celery import app, ping

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_worker_reports_ready_and_runs_a_task(tmp_path):
    log = tmp_path / "worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bnpl_admin.settings.test"}
    with log.open("w") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bnpl_admin",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                f"--hostname=pingtest{os.getpid()}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        result = ping.apply_async()
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            text = log.read_text()
            if f"Task bnpl.ping[{result.id}] succeeded" in text:
                break
            assert worker.poll() is None, f"worker exited early:\n{text}"
            time.sleep(0.5)
        else:
            pytest.fail(f"the worker did not run the task in 60 s:\n{text}")
        assert "BNPL worker ready" in text
        assert "'pong'" in text
        broker = app.conf.broker_url
        if os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
            assert broker.startswith("redis://")
        else:
            assert broker.startswith("filesystem://")
    finally:
        worker.terminate()
        worker.wait(timeout=30)

"""A real Celery worker process starts on the configured broker and runs a task sent to it."""

import os

import pytest

from bnpl_admin.celery import app, ping
from tests.workers import start_worker, stop, wait_for


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_reports_ready_and_runs_a_task(tmp_path):
    worker, log = start_worker(tmp_path, "pingtest")
    try:
        result = ping.apply_async()
        wait_for(
            lambda: f"Task bnpl.ping[{result.id}] succeeded" in log.read_text(),
            timeout=60,
            what="the ping task",
            logs=[log],
            process=worker,
        )
        text = log.read_text()
        assert "BNPL worker ready" in text
        assert "'pong'" in text
        if os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
            assert app.conf.broker_url.startswith("redis://")
        else:
            assert app.conf.broker_url.startswith("filesystem://")
    finally:
        stop(worker)

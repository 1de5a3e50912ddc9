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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_published_in_a_request_logs_under_its_request_id(tmp_path):
    from bnpl_admin.logging import request_id_var

    worker, log = start_worker(tmp_path, "requestid")
    try:
        token = request_id_var.set("req-4f2a9c")
        try:
            with_id = ping.apply_async()
        finally:
            request_id_var.reset(token)
        without = ping.apply_async()  # published outside any request: no id
        for result in (with_id, without):
            wait_for(
                lambda r=result: f"Task bnpl.ping[{r.id}] succeeded" in log.read_text(),
                timeout=60,
                what="the ping task",
                logs=[log],
                process=worker,
            )
        lines = log.read_text().splitlines()
        [done_with_id] = [line for line in lines if f"Task bnpl.ping[{with_id.id}] succeeded" in line]
        [done_without] = [line for line in lines if f"Task bnpl.ping[{without.id}] succeeded" in line]
        assert "[req-4f2a9c]" in done_with_id
        assert "[-]" in done_without
    finally:
        stop(worker)

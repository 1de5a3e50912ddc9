"""A request id on every log line of a request: taken from X-Request-ID or made, echoed in the response."""

import io
import json
import logging
import logging.config
import re

import pytest
from django.conf import settings

from bnpl_admin.logging import logging_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """The production logging configuration, its console handler writing to a buffer."""
    logging.config.dictConfig(logging_config(json=True, level="INFO"))
    buffer = io.StringIO()
    for handler in logging.getLogger().handlers:
        handler.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    logging.config.dictConfig(settings.LOGGING)


def test_the_request_id_from_the_proxy_is_echoed(client):
    response = client.get("/login/", headers={"X-Request-ID": "edge-7f3a9c"})
    assert response["X-Request-ID"] == "edge-7f3a9c"


def test_a_request_without_one_gets_a_fresh_id(client):
    first, second = client.get("/login/")["X-Request-ID"], client.get("/login/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_an_id_that_could_forge_a_log_line_is_replaced(client):
    response = client.get("/login/", headers={"X-Request-ID": 'x" level=ERROR\nfake line'})
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_every_json_log_line_of_a_request_carries_its_id(client, json_log):
    response = client.get("/no-such-page/", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 404
    lines = json_log()
    # Django's own "Not Found" warning, logged inside the request, and our line per request.
    not_found = [line for line in lines if line["logger"] == "django.request"]
    finished = [line for line in lines if line["logger"] == "bnpl.request"]
    assert not_found and not_found[0]["request_id"] == "req-42"
    assert not_found[0]["level"] == "WARNING"
    assert finished == [
        {
            **finished[0],
            "request_id": "req-42",
            "method": "GET",
            "path": "/no-such-page/",
            "status": 404,
            "level": "INFO",
        }
    ]
    assert {"time", "message", "duration_ms"} <= finished[0].keys()


def test_lines_outside_a_request_have_no_id(json_log):
    logging.getLogger("bnpl.test").warning("from a worker")
    (line,) = [line for line in json_log() if line["logger"] == "bnpl.test"]
    assert line["request_id"] == "-"
    assert line["message"] == "from a worker"

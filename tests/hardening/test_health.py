"""/healthz/: public, and honest about the database and the broker this process is configured for."""

import socket

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.urls import reverse

from bnpl_admin import health

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_health_is_ok_with_the_configured_database_and_broker(client, settings):
    # The SQLite pass runs on the embedded filesystem broker, the PostgreSQL pass on the
    # Redis named by CELERY_BROKER_URL: whichever this run is configured for.
    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.content
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert response.wsgi_request.user.is_anonymous  # reached without signing in


def test_health_is_503_when_the_broker_is_down(client):
    with override_settings(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{_closed_port()}/0", CELERY_BROKER_TRANSPORT_OPTIONS={}
    ):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}


def test_health_is_503_when_the_embedded_brokers_folder_is_missing(client, tmp_path):
    missing = str(tmp_path / "no-such-folder")
    with override_settings(
        CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_TRANSPORT_OPTIONS={"data_folder_in": missing, "data_folder_out": missing},
    ):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"


def test_health_is_503_when_the_database_is_down(client, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", Unreachable())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_health_takes_no_post(client):
    assert client.post(reverse("healthz")).status_code == 405

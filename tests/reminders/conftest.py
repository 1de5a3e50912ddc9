"""Fixtures for the reminder tests."""

import pytest

from .builders import StubGateway


@pytest.fixture(autouse=True)
def outbox_backends(settings):
    """Every reminder test starts on the outbox backends, whatever the environment configures."""
    settings.REMINDERS_SMS_BACKEND = "reminders.backends.OutboxBackend"
    settings.REMINDERS_EMAIL_BACKEND = "reminders.backends.OutboxBackend"


@pytest.fixture
def gateway(settings):
    with StubGateway() as stub:
        settings.REMINDERS_SMS_BACKEND = "reminders.backends.HttpSmsGatewayBackend"
        settings.REMINDERS_SMS_GATEWAY_URL = stub.url
        settings.REMINDERS_SMS_GATEWAY_USERNAME = "bnpl"
        settings.REMINDERS_SMS_GATEWAY_PASSWORD = "s3cret"
        settings.REMINDERS_SMS_GATEWAY_TIMEOUT = 5
        yield stub

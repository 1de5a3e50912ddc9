"""Pluggable delivery backends per channel, chosen by dotted path in settings (like EMAIL_BACKEND).

REMINDERS_SMS_BACKEND and REMINDERS_EMAIL_BACKEND name a class with `send(message)`; it
returns the provider's message id or raises DeliveryError. Every backend receives the
reminder's unique key and must make a second send of the same key harmless.
"""

from __future__ import annotations

import abc
import base64
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from . import conf
from .models import Channel, OutboxMessage

# Gateway answers worth another try later; any other 4xx means the request itself is wrong.
RETRYABLE_HTTP_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class Message:
    key: str
    channel: str
    recipient: str
    subject: str
    body: str


class DeliveryError(Exception):
    """The backend could not deliver. `retryable` is False when trying again cannot help."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class BaseBackend(abc.ABC):
    """How one channel's messages leave: chosen per channel in settings (REMINDERS_*_BACKEND)."""

    @abc.abstractmethod
    def send(self, message: Message) -> str:
        """Deliver `message` once (its key makes a repeat harmless); the provider's id for it.
        Raise DeliveryError, retryable or not, when it could not be delivered."""


class OutboxBackend(BaseBackend):
    """Stores the message instead of sending it; the unique key keeps one row per reminder."""

    def send(self, message: Message) -> str:
        try:
            with transaction.atomic():
                row = OutboxMessage.objects.create(
                    key=message.key,
                    channel=message.channel,
                    recipient=message.recipient,
                    subject=message.subject,
                    body=message.body,
                )
        except IntegrityError:
            # Stored by an earlier delivery of this reminder that died before recording it.
            row = OutboxMessage.objects.get(key=message.key)
        return f"outbox-{row.pk}"


class DjangoEmailBackend(BaseBackend):
    """Email through django.core.mail (EMAIL_BACKEND); the key becomes the Message-ID.

    SMTP has no idempotency key; a stable Message-ID lets mail systems and clients fold a
    re-delivery into the first copy.
    """

    def send(self, message: Message) -> str:
        if message.channel != Channel.EMAIL:
            raise DeliveryError(f"the email backend cannot send {message.channel}", retryable=False)
        message_id = f"<{message.key.replace(':', '.')}@reminders.bnpl>"
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=conf.get("REMINDERS_EMAIL_FROM") or settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"Message-ID": message_id, "X-Idempotency-Key": message.key},
            connection=get_connection(fail_silently=False),
        )
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        return message_id


class HttpSmsGatewayBackend(BaseBackend):
    """SMS through an HTTP gateway: a JSON POST with HTTP Basic credentials and an Idempotency-Key.

    The gateway contract: 2xx accepts the message (answering a repeated key with the first
    answer), and the JSON answer may carry the gateway's "id".
    """

    def send(self, message: Message) -> str:
        url = conf.get("REMINDERS_SMS_GATEWAY_URL")
        if not url:
            raise DeliveryError("REMINDERS_SMS_GATEWAY_URL is not set", retryable=False)
        payload = {
            "to": message.recipient,
            "from": conf.get("REMINDERS_SMS_SENDER"),
            "text": message.body,
            "reference": message.key,
        }
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Idempotency-Key": message.key,
        }
        username = conf.get("REMINDERS_SMS_GATEWAY_USERNAME")
        if username:
            secret = f"{username}:{conf.get('REMINDERS_SMS_GATEWAY_PASSWORD')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(secret).decode("ascii")
        request = urllib.request.Request(
            url, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(
                request, timeout=conf.get("REMINDERS_SMS_GATEWAY_TIMEOUT")
            ) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            retryable = exc.code >= 500 or exc.code in RETRYABLE_HTTP_STATUSES
            raise DeliveryError(f"gateway answered HTTP {exc.code}: {detail}", retryable=retryable) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"gateway unreachable: {reason}") from exc
        try:
            return str(json.loads(answer or b"{}").get("id", ""))[:100]
        except (ValueError, AttributeError):
            return ""


def backend_for(channel: str) -> BaseBackend:
    setting = {Channel.SMS: "REMINDERS_SMS_BACKEND", Channel.EMAIL: "REMINDERS_EMAIL_BACKEND"}[
        Channel(channel)
    ]
    return import_string(conf.get(setting))()

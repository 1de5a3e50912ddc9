"""What the reminders app does when another app publishes a domain event (orders.signals)."""

from __future__ import annotations

from orders.signals import payment_posted

from .services import receipt_queue


def on_payment_posted(sender, payment, **kwargs) -> None:
    """The "payment received" receipt, written in the payment's transaction (the outbox)."""
    receipt_queue(payment=payment)


def connect() -> None:
    payment_posted.connect(on_payment_posted, dispatch_uid="reminders_payment_receipt")

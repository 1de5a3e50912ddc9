"""What a reminder says: the per-kind, per-language templates and the values put into them.

Templates live in templates/reminders/<channel>/<stage>.<language>.txt (an email also has
<stage>_subject.<language>.txt). Amounts are Decimals formatted here, never floats.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string

from accounts.models import Language
from orders.models import Installment, Payment
from policy.conduct import customer_zone, local_day

from .models import Channel, Reminder, Stage

EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_yuan(amount: Decimal) -> str:
    """¥1,234.56 — two places, thousands separated; the amount is already exact to the fen."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return f"¥{amount:,.2f}"


def format_date(day: datetime.date, language: str) -> str:
    if language == Language.EN:
        return f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def mask_reference(reference: str) -> str:
    """DY-****-1234: the reference's letter prefix and its last four characters, the rest hidden."""
    segments = [part for part in re.split(r"[^0-9A-Za-z]+", reference or "") if part]
    if len(segments) > 1 and segments[0].isalpha():
        prefix, rest = segments[0], "".join(segments[1:])
    else:
        characters = "".join(segments)
        prefix = re.match(r"[A-Za-z]*", characters).group(0)
        rest = characters[len(prefix) :]
    # A tail as long as the whole rest would reveal it all.
    tail = rest[-4:] if len(rest) > 4 else ""
    return "-".join(part for part in (prefix[:4].upper(), "****", tail) if part)


def short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Content:
    subject: str
    body: str


def _language(code: str) -> str:
    return Language.EN if code == Language.EN else Language.ZH_HANS


def _render(channel: str, stage: Stage, language: str, context: dict) -> Content:
    body = render_to_string(f"reminders/{channel}/{stage}.{language}.txt", context).strip()
    subject = ""
    if channel == Channel.EMAIL:
        subject = render_to_string(f"reminders/email/{stage}_subject.{language}.txt", context).strip()
    return Content(subject=subject, body=body)


def installment_content(*, reminder: Reminder, installment: Installment) -> Content:
    """The reminder about an instalment, with what is due on it at the time of delivery."""
    customer = reminder.customer
    language = _language(customer.language)
    order = installment.order
    context = {
        "name": customer.name,
        "amount": format_yuan(installment.total_outstanding),
        "due_date": format_date(installment.due_date, language),
        "days": abs(reminder.offset_days or 0),
        "item": short(order.item_summary),
        "order_ref": mask_reference(order.external_reference),
        "sequence": installment.sequence,
        "count": order.installment_count,
    }
    return _render(reminder.channel, reminder.stage, language, context)


def receipt_content(*, reminder: Reminder, payment: Payment) -> Content:
    customer = reminder.customer
    language = _language(customer.language)
    context = {
        "name": customer.name,
        "amount": format_yuan(payment.amount),
        "received_on": format_date(
            local_day(payment.received_at, customer_zone(customer.timezone)), language
        ),
        "payment_ref": mask_reference(payment.external_reference),
    }
    return _render(reminder.channel, Stage.RECEIPT, language, context)

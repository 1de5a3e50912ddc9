"""Reads of the collections workbench."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef

from accounts.models import Customer
from bnpl_admin.dates import business_date
from orders.models import Installment, InstallmentStatus, Order
from policy.conduct import Decision, PastContact, Profile, contact_decision, customer_zone, profile_for
from policy.selectors import policy_in_force

from .models import ContactAttempt

# --- Contacts under the conduct rules ---------------------------------------------------------

# How far back the conduct rules look: 7 days of calls, 7 quiet days after a conversation and
# 7 days of the debtor unreachable, with room for the customer's day boundaries.
CONTACT_HISTORY_DAYS = 30


def conduct_profile_in_force(*, on: datetime.date) -> Profile:
    """The conduct profile of the policy in force (Policy.conduct_profile; the first version's
    comes from settings.BNPL_CONDUCT_PROFILE)."""
    return profile_for(policy_in_force(on=on).conduct_profile)


def contact_history(*, customer_id: int, now: datetime.datetime) -> list[PastContact]:
    """The customer's recent contacts, across every agent and case, as the conduct rules read them."""
    since = now - datetime.timedelta(days=CONTACT_HISTORY_DAYS)
    rows = ContactAttempt.objects.filter(customer_id=customer_id, at__gte=since, at__lte=now).values_list(
        "at", "channel", "party", "direction", "outcome", "emergency_contact_id"
    )
    return [
        PastContact(at=at, channel=channel, party=party, direction=direction, outcome=outcome, contact_id=ec)
        for at, channel, party, direction, outcome, ec in rows
    ]


def customer_collection_on_hold(*, customer_id: int) -> bool:
    """Collection is paused: an order is on hold (return or dispute) and no other order has
    money overdue. An overdue order that is not held is still collected."""
    orders = Order.objects.filter(customer_id=customer_id)
    if not orders.exclude(hold="").exists():
        return False
    overdue = Installment.objects.filter(order=OuterRef("pk"), status=InstallmentStatus.OVERDUE)
    return not orders.filter(hold="").filter(Exists(overdue)).exists()


@dataclass(frozen=True)
class ContactContext:
    """What the conduct rules read about one customer at one moment: read once, asked per party."""

    profile: Profile
    zone: ZoneInfo
    history: list[PastContact]
    on_hold: bool
    now: datetime.datetime

    def decide(self, *, party: str, channel: str, direction: str, contact_id: int | None = None) -> Decision:
        return contact_decision(
            self.profile,
            now=self.now,
            zone=self.zone,
            history=self.history,
            party=party,
            channel=channel,
            direction=direction,
            contact_id=contact_id,
            on_hold=self.on_hold,
        )


def contact_context(*, customer: Customer, now: datetime.datetime) -> ContactContext:
    return ContactContext(
        profile=conduct_profile_in_force(on=business_date(now)),
        zone=customer_zone(customer.timezone),
        history=contact_history(customer_id=customer.pk, now=now),
        on_hold=customer_collection_on_hold(customer_id=customer.pk),
        now=now,
    )


def case_recent_contacts(*, case, limit: int = 20):
    """The case's latest contacts, newest first, with who made them and to whom."""
    return list(
        ContactAttempt.objects.filter(case=case)
        .select_related("agent", "emergency_contact")
        .order_by("-at", "-id")[:limit]
    )

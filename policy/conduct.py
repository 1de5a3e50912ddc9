"""Conduct rules for contacting customers (DESIGN.md), as data and pure functions.

A profile says when a customer may be contacted in their own time zone and how often
they may be called. Reminders use the contact window; the collections workbench uses the
same window and the call-attempt rules. Nothing here reads the database or the clock:
callers pass the time, the customer's time zone and the attempts already made, so every
rule is tested on plain data.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings


@dataclass(frozen=True)
class Profile:
    code: str
    # Contact is allowed from window_start (inclusive) to window_end (exclusive), local time.
    window_start: datetime.time
    window_end: datetime.time
    # CN: effective phone contact attempts per customer per local day, across agents and channels.
    phone_attempts_per_day: int | None = None
    # US: call attempts per debt within a run of this many consecutive local days...
    call_attempts_per_period: int | None = None
    call_period_days: int | None = None
    # ...and no call within this many days after a telephone conversation about the debt
    # (the day of the conversation is the first of them).
    quiet_days_after_conversation: int | None = None


PROFILES: dict[str, Profile] = {
    "CN": Profile(
        code="CN",
        window_start=datetime.time(8),
        window_end=datetime.time(22),
        phone_attempts_per_day=3,
    ),
    "US": Profile(
        code="US",
        window_start=datetime.time(8),
        window_end=datetime.time(21),
        call_attempts_per_period=7,
        call_period_days=7,
        quiet_days_after_conversation=7,
    ),
}


def profile_for(code: str) -> Profile:
    try:
        return PROFILES[code]
    except KeyError:
        raise ValueError(f"unknown conduct profile {code!r}; known: {', '.join(PROFILES)}") from None


@lru_cache(maxsize=512)
def customer_zone(name: str) -> ZoneInfo:
    """The customer's time zone; an empty or unknown name falls back to the console's TIME_ZONE."""
    try:
        return ZoneInfo(name) if name else ZoneInfo(settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def local_day(at: datetime.datetime, zone: ZoneInfo) -> datetime.date:
    return at.astimezone(zone).date()


def window_opening(profile: Profile, day: datetime.date, zone: ZoneInfo) -> datetime.datetime:
    """When the contact window opens on a local day, as an aware datetime."""
    return datetime.datetime.combine(day, profile.window_start, tzinfo=zone)


def contact_allowed(profile: Profile, at: datetime.datetime, zone: ZoneInfo) -> bool:
    """Whether `at` is inside the contact window in the customer's time zone."""
    local = at.astimezone(zone).time()
    return profile.window_start <= local < profile.window_end


def next_contact_time(profile: Profile, at: datetime.datetime, zone: ZoneInfo) -> datetime.datetime:
    """`at` itself when contact is allowed then, otherwise the next opening of the window."""
    if contact_allowed(profile, at, zone):
        return at
    local = at.astimezone(zone)
    day = local.date() if local.time() < profile.window_start else local.date() + datetime.timedelta(days=1)
    return window_opening(profile, day, zone)


def first_contact_on(
    profile: Profile, day: datetime.date, zone: ZoneInfo, *, now: datetime.datetime
) -> datetime.datetime:
    """The first allowed moment, not before `now`, on or after local `day`.

    A reminder for business date D goes out on the customer's own calendar day D (or
    later, if that day's window has already closed), whatever the console's time zone.
    """
    start_of_day = datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
    return next_contact_time(profile, max(now, start_of_day), zone)


# --- Calls (the collections workbench) -------------------------------------------------------


@dataclass(frozen=True)
class CallAttempt:
    """A phone call made to a customer, as the call-attempt rules see it."""

    at: datetime.datetime
    debt_id: int | None = None
    # CN counts *effective* attempts: the call reached the customer (answered).
    effective: bool = False
    # US: the call was a telephone conversation with the customer about this debt.
    conversation: bool = False


@dataclass(frozen=True)
class CallDecision:
    allowed: bool
    reason: str = ""
    # The first moment a call becomes allowed again (inside the window); None when allowed now.
    next_allowed_at: datetime.datetime | None = None


def effective_attempts_on(attempts: Iterable[CallAttempt], day: datetime.date, zone: ZoneInfo) -> int:
    """CN: effective phone attempts to one customer on a local day, counted over every agent."""
    return sum(1 for a in attempts if a.effective and local_day(a.at, zone) == day)


def attempts_in_period(
    attempts: Iterable[CallAttempt], *, debt_id: int | None, day: datetime.date, days: int, zone: ZoneInfo
) -> list[datetime.date]:
    """US: the local days of the call attempts about one debt in the `days` days ending on `day`."""
    first = day - datetime.timedelta(days=days - 1)
    return sorted(
        d for a in attempts if a.debt_id == debt_id and first <= (d := local_day(a.at, zone)) <= day
    )


def last_conversation_day(
    attempts: Iterable[CallAttempt], *, debt_id: int | None, zone: ZoneInfo
) -> datetime.date | None:
    days = [local_day(a.at, zone) for a in attempts if a.conversation and a.debt_id == debt_id]
    return max(days, default=None)


def call_allowed(
    profile: Profile,
    *,
    attempts: Iterable[CallAttempt],
    at: datetime.datetime,
    zone: ZoneInfo,
    debt_id: int | None = None,
) -> CallDecision:
    """May the customer be called at `at`? `attempts` are the calls already made to them.

    For CN pass every call to the customer (the cap is per customer); for US pass the calls
    about `debt_id` or all of them (others are ignored).
    """
    attempts = list(attempts)
    today = local_day(at, zone)
    blocked_until: datetime.date | None = None
    reasons = []
    cn_cap = profile.phone_attempts_per_day
    if cn_cap is not None and effective_attempts_on(attempts, today, zone) >= cn_cap:
        blocked_until = today + datetime.timedelta(days=1)
        reasons.append("daily_attempts")
    if profile.call_attempts_per_period is not None and profile.call_period_days:
        days = attempts_in_period(
            attempts, debt_id=debt_id, day=today, days=profile.call_period_days, zone=zone
        )
        if len(days) >= profile.call_attempts_per_period:
            # The period frees up when the oldest of the attempts that fill it drops out.
            oldest_counted = days[len(days) - profile.call_attempts_per_period]
            free_on = oldest_counted + datetime.timedelta(days=profile.call_period_days)
            blocked_until = max(blocked_until or free_on, free_on)
            reasons.append("attempts_in_period")
    if profile.quiet_days_after_conversation is not None:
        spoke_on = last_conversation_day(attempts, debt_id=debt_id, zone=zone)
        if spoke_on is not None:
            free_on = spoke_on + datetime.timedelta(days=profile.quiet_days_after_conversation)
            if today < free_on:
                blocked_until = max(blocked_until or free_on, free_on)
                reasons.append("after_conversation")
    if blocked_until is not None:
        return CallDecision(
            allowed=False,
            reason=",".join(reasons),
            next_allowed_at=window_opening(profile, blocked_until, zone),
        )
    if not contact_allowed(profile, at, zone):
        return CallDecision(
            allowed=False, reason="outside_hours", next_allowed_at=next_contact_time(profile, at, zone)
        )
    return CallDecision(allowed=True)

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
from dataclasses import dataclass, replace
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext as _


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


# --- Contacts recorded on a case (the collections workbench) ---------------------------------
# The one interface the workbench asks before any contact: contact_decision(). It takes the
# contacts already made as plain data (collection.selectors builds them from ContactAttempt
# rows), so the same rules serve the page's banner, the service's refusal and the tests.

PHONE = "phone"
VISIT = "visit"
VISIT_WINDOW = (datetime.time(9), datetime.time(20))
DEBTOR = "debtor"
EMERGENCY_CONTACT = "emergency_contact"
OUTBOUND = "outbound"
INBOUND = "inbound"
# Outcomes that mean the call connected: an effective contact (CN), a conversation (US).
CONNECTED_OUTCOMES = frozenset({"reached", "refused", "promise_made", "dispute_raised", "claims_paid"})
UNREACHED_OUTCOMES = frozenset({"no_answer", "wrong_number"})
# CN: an emergency contact only after the debtor has been unreachable this long.
DEBTOR_UNREACHABLE_DAYS = 7
# CN: dial attempts per day to any one phone number, answered or not.
DIALS_PER_NUMBER_PER_DAY = 6


@dataclass(frozen=True)
class PastContact:
    """A contact already recorded about the customer, as the rules see it."""

    at: datetime.datetime
    channel: str
    party: str
    direction: str
    outcome: str
    # Which emergency contact (its id) for party EMERGENCY_CONTACT; None for the debtor.
    contact_id: int | None = None

    @property
    def connected(self) -> bool:
        return self.outcome in CONNECTED_OUTCOMES

    @property
    def outbound_call(self) -> bool:
        return self.channel == PHONE and self.direction == OUTBOUND


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason_code: str = ""
    # The first moment the contact becomes allowed (inside the window); None when allowed now,
    # or when no time will make it allowed (a hold, a contact who asked not to be called).
    allowed_from: datetime.datetime | None = None
    # The customer's time zone the decision was made in, for the message.
    zone: ZoneInfo | None = None
    profile: Profile | None = None

    @property
    def message(self) -> str:
        return decision_message(self)


REASON_CODES = (
    "on_hold",
    "contact_refused",
    "debtor_not_tried",
    "debtor_reachable",
    "daily_attempts",
    "daily_dials",
    "attempts_in_period",
    "after_conversation",
    "outside_hours",
)


def contact_decision(
    profile: Profile,
    *,
    now: datetime.datetime,
    zone: ZoneInfo,
    history: Iterable[PastContact],
    party: str = DEBTOR,
    channel: str = PHONE,
    direction: str = OUTBOUND,
    contact_id: int | None = None,
    on_hold: bool = False,
) -> Decision:
    """May this contact be made at `now`? `history` is every contact recorded for the customer
    (at least the last few weeks). An inbound contact (the customer called us) is always allowed:
    the rules limit what the collector starts."""
    if direction == INBOUND:
        return Decision(allowed=True, zone=zone, profile=profile)
    if on_hold:
        return Decision(allowed=False, reason_code="on_hold", zone=zone, profile=profile)
    history = sorted(history, key=lambda c: c.at)
    if party == EMERGENCY_CONTACT:
        refused_by_contact = any(
            c.party == EMERGENCY_CONTACT and c.contact_id == contact_id and c.outcome == "refused"
            for c in history
        )
        if refused_by_contact:
            return Decision(allowed=False, reason_code="contact_refused", zone=zone, profile=profile)
        unreachable_since = debtor_unreachable_since(history)
        if unreachable_since is None:
            return Decision(allowed=False, reason_code="debtor_not_tried", zone=zone, profile=profile)
        free_at = unreachable_since + datetime.timedelta(days=DEBTOR_UNREACHABLE_DAYS)
        if now < free_at:
            return Decision(
                allowed=False,
                reason_code="debtor_reachable",
                allowed_from=next_contact_time(profile, free_at, zone),
                zone=zone,
                profile=profile,
            )
    if channel == PHONE:
        blocked = _phone_limits(
            profile, now=now, zone=zone, history=history, party=party, contact_id=contact_id
        )
        if blocked is not None:
            return blocked
    if channel == VISIT:
        # Home visits keep shorter hours than calls and messages, in every profile (DESIGN.md).
        profile = replace(profile, window_start=VISIT_WINDOW[0], window_end=VISIT_WINDOW[1])
    if not contact_allowed(profile, now, zone):
        return Decision(
            allowed=False,
            reason_code="outside_hours",
            allowed_from=next_contact_time(profile, now, zone),
            zone=zone,
            profile=profile,
        )
    return Decision(allowed=True, zone=zone, profile=profile)


def debtor_unreachable_since(history: Iterable[PastContact]) -> datetime.datetime | None:
    """The first unanswered attempt to reach the debtor since they were last reached (or since
    the first attempt, if never): None when the debtor was reached last or never tried."""
    since = None
    for contact in sorted(history, key=lambda c: c.at):
        if contact.party != DEBTOR:
            continue
        if contact.connected or contact.direction == INBOUND:
            since = None  # the debtor answered or got in touch: reachable again
        elif contact.direction == OUTBOUND and since is None:
            since = contact.at
    return since


def _phone_limits(
    profile: Profile,
    *,
    now: datetime.datetime,
    zone: ZoneInfo,
    history: list[PastContact],
    party: str,
    contact_id: int | None,
) -> Decision | None:
    today = local_day(now, zone)
    placed = [CallAttempt(at=c.at, effective=c.connected) for c in history if c.outbound_call]
    # A conversation about the debt: with the debtor on the phone, whoever dialled.
    spoken = [
        CallAttempt(at=c.at, conversation=True)
        for c in history
        if c.channel == PHONE and c.party == DEBTOR and c.connected
    ]
    blocked: list[tuple[str, datetime.datetime]] = []
    cap = profile.phone_attempts_per_day
    if cap is not None and effective_attempts_on(placed, today, zone) >= cap:
        blocked.append(("daily_attempts", window_opening(profile, today + datetime.timedelta(days=1), zone)))
    if cap is not None:
        dials = sum(
            1
            for c in history
            if c.outbound_call
            and c.party == party
            and c.contact_id == contact_id
            and local_day(c.at, zone) == today
        )
        if dials >= DIALS_PER_NUMBER_PER_DAY:
            blocked.append(("daily_dials", window_opening(profile, today + datetime.timedelta(days=1), zone)))
    limit, period = profile.call_attempts_per_period, profile.call_period_days
    if limit is not None and period:
        days = attempts_in_period(placed, debt_id=None, day=today, days=period, zone=zone)
        if len(days) >= limit:
            # The period frees up when the oldest of the attempts that fill it drops out.
            free_on = days[len(days) - limit] + datetime.timedelta(days=period)
            blocked.append(("attempts_in_period", window_opening(profile, free_on, zone)))
    quiet = profile.quiet_days_after_conversation
    if quiet is not None:
        spoke_on = last_conversation_day(spoken, debt_id=None, zone=zone)
        if spoke_on is not None and today < spoke_on + datetime.timedelta(days=quiet):
            free_on = spoke_on + datetime.timedelta(days=quiet)
            blocked.append(("after_conversation", window_opening(profile, free_on, zone)))
    if not blocked:
        return None
    # The rule that frees up last is the one to name: before then the call stays refused.
    reason, allowed_from = max(blocked, key=lambda b: b[1])
    return Decision(allowed=False, reason_code=reason, allowed_from=allowed_from, zone=zone, profile=profile)


def decision_message(decision: Decision) -> str:
    """Why a contact is refused, in the reader's language (the active translation)."""
    if decision.allowed:
        return _("Contact is allowed now.")
    profile = decision.profile
    messages = {
        "on_hold": _("The customer's order is on hold (a return or a dispute): collection is paused."),
        "contact_refused": _("This emergency contact asked not to be called again."),
        "debtor_not_tried": _(
            "An emergency contact may be contacted only after the debtor has been unreachable for 7 days; "
            "no attempt to reach the debtor is recorded."
        ),
        "debtor_reachable": _(
            "An emergency contact may be contacted only after the debtor has been unreachable for 7 days."
        ),
        "daily_attempts": _(
            "The daily limit of %(limit)s effective calls to this customer is reached (all agents)."
        )
        % {"limit": profile.phone_attempts_per_day if profile else ""},
        "daily_dials": _("The daily limit of %(limit)s calls to this number is reached.")
        % {"limit": DIALS_PER_NUMBER_PER_DAY},
        "attempts_in_period": _(
            "%(limit)s calls in %(days)s days have been made: no more calls in this period."
        )
        % {
            "limit": profile.call_attempts_per_period if profile else "",
            "days": profile.call_period_days if profile else "",
        },
        "after_conversation": _(
            "No call within %(days)s days after a telephone conversation with the debtor."
        )
        % {"days": profile.quiet_days_after_conversation if profile else ""},
        "outside_hours": _(
            "Outside the contact hours (%(start)s–%(end)s in the customer's time zone, %(zone)s)."
        )
        % {
            "start": profile.window_start.strftime("%H:%M") if profile else "",
            "end": profile.window_end.strftime("%H:%M") if profile else "",
            "zone": decision.zone.key if decision.zone else "",
        },
    }
    message = messages.get(decision.reason_code, decision.reason_code)
    if decision.allowed_from is not None and decision.zone is not None:
        local = decision.allowed_from.astimezone(decision.zone)
        message = _("%(message)s Allowed from %(when)s (customer's time, %(zone)s).") % {
            "message": message,
            "when": local.strftime("%Y-%m-%d %H:%M"),
            "zone": decision.zone.key,
        }
    return message

"""policy.conduct.contact_decision: every conduct rule, allowed and refused, with its reason and
"allowed from", in both profiles and across time-zone edges; and as a property, no sequence of
accepted contacts ever passes the daily limit or 7-in-7."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.conduct import (
    DEBTOR,
    EMERGENCY_CONTACT,
    INBOUND,
    OUTBOUND,
    PHONE,
    PROFILES,
    PastContact,
    contact_decision,
    local_day,
)

CN, US = PROFILES["CN"], PROFILES["US"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")  # UTC+6: two hours behind Beijing time
NEW_YORK = ZoneInfo("America/New_York")
D = datetime.date(2026, 3, 10)


def at(day, hour, minute=0, zone=SHANGHAI):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


def days(n):
    return datetime.timedelta(days=n)


def call(when, outcome="reached", party=DEBTOR, direction=OUTBOUND, contact_id=None, channel=PHONE):
    return PastContact(
        at=when, channel=channel, party=party, direction=direction, outcome=outcome, contact_id=contact_id
    )


def decide(profile, now, zone, history=(), **kwargs):
    return contact_decision(profile, now=now, zone=zone, history=list(history), **kwargs)


# --- The window, in the customer's own zone ----------------------------------------------------


def test_cn_window_urumqi_and_shanghai_at_the_same_instant():
    # 08:30 Beijing time is 06:30 in Urumqi: the Shanghai customer may be called, the Urumqi one not.
    now = at(D, 8, 30, SHANGHAI)
    assert decide(CN, now, SHANGHAI).allowed
    refused = decide(CN, now, URUMQI)
    assert (refused.allowed, refused.reason_code) == (False, "outside_hours")
    assert refused.allowed_from == at(D, 8, 0, URUMQI) == at(D, 10, 0, SHANGHAI)
    assert "Asia/Urumqi" in refused.message and "08:00" in refused.message
    # 23:30 Beijing time is 21:30 in Urumqi: inside the window there, after it in Shanghai.
    late = at(D, 23, 30, SHANGHAI)
    assert decide(CN, late, URUMQI).allowed
    assert decide(CN, late, SHANGHAI).allowed_from == at(D + days(1), 8, 0, SHANGHAI)


def test_us_window_across_the_daylight_saving_change():
    # 8 March 2026, 02:00 EST → 03:00 EDT. 12:30 UTC is 07:30 EST on 7 March, 08:30 EDT on 8 March.
    utc = datetime.UTC
    saturday = datetime.datetime(2026, 3, 7, 12, 30, tzinfo=utc)
    sunday = datetime.datetime(2026, 3, 8, 12, 30, tzinfo=utc)
    refused = decide(US, saturday, NEW_YORK)
    assert (refused.allowed, refused.reason_code) == (False, "outside_hours")
    assert refused.allowed_from == datetime.datetime(2026, 3, 7, 13, 0, tzinfo=utc)  # 08:00 EST
    assert decide(US, sunday, NEW_YORK).allowed
    # Before the change on Sunday night: the next opening is 08:00 EDT, 12:00 UTC.
    early = datetime.datetime(2026, 3, 8, 6, 0, tzinfo=utc)  # 01:00 EST
    assert decide(US, early, NEW_YORK).allowed_from == datetime.datetime(2026, 3, 8, 12, 0, tzinfo=utc)
    # The US window closes at 21:00, the CN one at 22:00.
    assert decide(US, at(D, 21, 0, NEW_YORK), NEW_YORK).reason_code == "outside_hours"
    assert decide(CN, at(D, 21, 0, NEW_YORK), NEW_YORK).allowed


@pytest.mark.parametrize("profile", [CN, US])
def test_home_visits_only_between_nine_and_eight_local(profile):
    early = decide(profile, at(D, 8, 30, URUMQI), URUMQI, channel="visit")
    assert (early.reason_code, early.allowed_from) == ("outside_hours", at(D, 9, 0, URUMQI))
    assert "09:00" in early.message and "20:00" in early.message
    assert decide(profile, at(D, 19, 59, URUMQI), URUMQI, channel="visit").allowed
    late = decide(profile, at(D, 20, 0, URUMQI), URUMQI, channel="visit")
    assert late.allowed_from == at(D + days(1), 9, 0, URUMQI)
    assert decide(profile, at(D, 8, 30, URUMQI), URUMQI, channel="sms").allowed  # other channels from 08:00


def test_inbound_contact_is_always_allowed():
    assert decide(CN, at(D, 3), SHANGHAI, direction=INBOUND, on_hold=True).allowed


# --- CN: daily limits -------------------------------------------------------------------------


def test_cn_three_effective_calls_a_day_across_agents():
    history = [call(at(D, 9)), call(at(D, 10), "no_answer"), call(at(D, 11), "promise_made")]
    assert decide(CN, at(D, 12), SHANGHAI, history).allowed
    history.append(call(at(D, 12), "refused"))  # connected: an effective contact
    refused = decide(CN, at(D, 13), SHANGHAI, history)
    assert (refused.allowed, refused.reason_code) == (False, "daily_attempts")
    assert refused.allowed_from == at(D + days(1), 8)
    assert "3" in refused.message
    # An SMS is not a call: still allowed.
    assert decide(CN, at(D, 13), SHANGHAI, history, channel="sms").allowed
    assert decide(CN, at(D + days(1), 8), SHANGHAI, history).allowed


def test_cn_day_is_the_customers_local_day():
    # 01:00 Beijing time on D+1 is 23:00 in Urumqi on D: three calls then still fill Urumqi's day D.
    history = [call(at(D, 10, 0, URUMQI)), call(at(D, 11, 0, URUMQI)), call(at(D + days(1), 1, 0, SHANGHAI))]
    refused = decide(CN, at(D, 21, 0, URUMQI), URUMQI, history)
    assert refused.reason_code == "daily_attempts"
    assert refused.allowed_from == at(D + days(1), 8, 0, URUMQI)
    # For a Shanghai customer the same three calls are on two days.
    assert decide(CN, at(D, 21), SHANGHAI, history[:2]).allowed


def test_cn_six_dials_a_day_to_one_number():
    history = [call(at(D, 9 + n), "no_answer") for n in range(6)]
    refused = decide(CN, at(D, 16), SHANGHAI, history)
    assert (refused.reason_code, refused.allowed_from) == ("daily_dials", at(D + days(1), 8))


# --- CN: emergency contacts -------------------------------------------------------------------


def test_emergency_contact_only_after_the_debtor_is_unreachable_for_seven_days():
    ec = {"party": EMERGENCY_CONTACT, "contact_id": 5}
    assert decide(CN, at(D, 10), SHANGHAI, [], **ec).reason_code == "debtor_not_tried"
    history = [call(at(D, 9), "no_answer"), call(at(D + days(3), 9), "wrong_number")]
    refused = decide(CN, at(D + days(6), 10), SHANGHAI, history, **ec)
    assert (refused.reason_code, refused.allowed_from) == ("debtor_reachable", at(D + days(7), 9))
    assert decide(CN, at(D + days(7), 9), SHANGHAI, history, **ec).allowed
    # The debtor answered since: unreachable counts again from the next failed attempt.
    reached = [*history, call(at(D + days(4), 9), "reached"), call(at(D + days(5), 9), "no_answer")]
    assert decide(CN, at(D + days(8), 10), SHANGHAI, reached, **ec).allowed_from == at(D + days(12), 9)


def test_an_emergency_contact_who_refused_is_never_called_again():
    history = [
        call(at(D - days(10), 9), "no_answer"),
        call(at(D - days(1), 10), "refused", party=EMERGENCY_CONTACT, contact_id=5),
    ]
    refused = decide(CN, at(D, 10), SHANGHAI, history, party=EMERGENCY_CONTACT, contact_id=5)
    assert (refused.reason_code, refused.allowed_from) == ("contact_refused", None)
    assert decide(CN, at(D, 10), SHANGHAI, history, party=EMERGENCY_CONTACT, contact_id=6).allowed


def test_a_hold_pauses_every_outbound_contact():
    refused = decide(US, at(D, 10, 0, NEW_YORK), NEW_YORK, on_hold=True, channel="email")
    assert (refused.allowed, refused.reason_code, refused.allowed_from) == (False, "on_hold", None)
    with translation.override("en"):
        assert "hold" in refused.message
    with translation.override("zh-hans"):
        assert "催收已暂停" in refused.message


# --- US: 7 in 7 and the quiet days after a conversation ------------------------------------------


def test_us_seven_calls_in_seven_days():
    history = [call(at(D + days(n), 10, 0, NEW_YORK), "no_answer") for n in range(7)]
    refused = decide(US, at(D + days(6), 15, 0, NEW_YORK), NEW_YORK, history)
    assert (refused.reason_code, refused.allowed_from) == (
        "attempts_in_period",
        at(D + days(7), 8, 0, NEW_YORK),
    )
    assert decide(US, at(D + days(7), 8, 0, NEW_YORK), NEW_YORK, history).allowed
    # Inbound calls are not attempts.
    inbound = [call(at(D + days(n), 10, 0, NEW_YORK), "no_answer", direction=INBOUND) for n in range(7)]
    assert decide(US, at(D + days(6), 15, 0, NEW_YORK), NEW_YORK, inbound).allowed


def test_us_seven_in_seven_across_the_daylight_saving_change():
    # 1 to 7 March 2026 (EST then EDT from the 8th): the 8th frees the first day's attempt.
    first = datetime.date(2026, 3, 1)
    history = [call(at(first + days(n), 20, 30, NEW_YORK), "no_answer") for n in range(7)]
    refused = decide(US, at(first + days(6), 20, 45, NEW_YORK), NEW_YORK, history)
    assert refused.allowed_from == at(datetime.date(2026, 3, 8), 8, 0, NEW_YORK)
    assert refused.allowed_from.utcoffset() == datetime.timedelta(hours=-4)  # EDT by then
    assert decide(US, at(datetime.date(2026, 3, 8), 8, 0, NEW_YORK), NEW_YORK, history).allowed


def test_us_no_call_within_seven_days_after_a_conversation():
    history = [call(at(D, 10, 0, NEW_YORK), "reached", direction=INBOUND)]  # the debtor called in
    refused = decide(US, at(D + days(6), 12, 0, NEW_YORK), NEW_YORK, history)
    assert (refused.reason_code, refused.allowed_from) == (
        "after_conversation",
        at(D + days(7), 8, 0, NEW_YORK),
    )
    assert "7" in refused.message
    assert decide(US, at(D + days(7), 8, 0, NEW_YORK), NEW_YORK, history).allowed
    # A message is not a call.
    assert decide(US, at(D + days(1), 12, 0, NEW_YORK), NEW_YORK, history, channel="sms").allowed
    # CN has no such rule.
    assert decide(CN, at(D + days(1), 12, 0, NEW_YORK), NEW_YORK, history).allowed


def test_the_later_rule_names_the_reason():
    # Seven calls in seven days, the last a conversation: the quiet days end later than the period.
    history = [call(at(D + days(n), 10, 0, NEW_YORK), "no_answer") for n in range(6)]
    history.append(call(at(D + days(6), 10, 0, NEW_YORK), "reached"))
    refused = decide(US, at(D + days(6), 12, 0, NEW_YORK), NEW_YORK, history)
    assert (refused.reason_code, refused.allowed_from) == (
        "after_conversation",
        at(D + days(13), 8, 0, NEW_YORK),
    )


# --- Property: whatever agents try, accepted contacts never exceed the limits -------------------


def attempts(over_days):
    return st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=over_days * 24 * 60 - 1),  # minutes after the start
            st.sampled_from(["reached", "no_answer", "wrong_number", "refused", "promise_made"]),
            st.sampled_from([OUTBOUND, OUTBOUND, OUTBOUND, INBOUND]),
            st.sampled_from([PHONE, PHONE, "sms"]),
        ),
        max_size=60,
    )


def _accepted(profile, zone, tries):
    start = at(D, 0, 0, zone)
    history: list[PastContact] = []
    for minutes, outcome, direction, channel in sorted(tries):
        now = start + datetime.timedelta(minutes=minutes)
        if decide(profile, now, zone, history, direction=direction, channel=channel).allowed:
            history.append(call(now, outcome, direction=direction, channel=channel))
    return history


@settings(max_examples=150, deadline=None)
@given(tries=attempts(3), zone=st.sampled_from([SHANGHAI, URUMQI, NEW_YORK]))
def test_cn_accepted_calls_never_exceed_the_daily_limit(tries, zone):
    history = _accepted(CN, zone, tries)
    effective: dict[datetime.date, int] = {}
    for c in history:
        if c.channel == PHONE and c.direction == OUTBOUND and c.connected:
            day = local_day(c.at, zone)
            effective[day] = effective.get(day, 0) + 1
        if c.direction == OUTBOUND:
            local = c.at.astimezone(zone).time()
            assert CN.window_start <= local < CN.window_end
    assert max(effective.values(), default=0) <= CN.phone_attempts_per_day


@settings(max_examples=150, deadline=None)
@given(tries=attempts(14))
def test_us_accepted_calls_never_exceed_seven_in_seven(tries):
    history = _accepted(US, NEW_YORK, tries)
    call_days = [local_day(c.at, NEW_YORK) for c in history if c.channel == PHONE and c.direction == OUTBOUND]
    for day in set(call_days):
        in_period = [d for d in call_days if day - days(6) <= d <= day]
        assert len(in_period) <= US.call_attempts_per_period


@pytest.mark.parametrize("profile", [CN, US])
def test_profiles_have_their_windows(profile):
    assert decide(profile, at(D, 7, 59), SHANGHAI).reason_code == "outside_hours"

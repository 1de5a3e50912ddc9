"""The conduct profiles as data: contact windows in the customer's zone, and the call-attempt rules."""

import datetime

import pytest

from policy.conduct import (
    PROFILES,
    CallAttempt,
    call_allowed,
    contact_allowed,
    customer_zone,
    first_contact_on,
    next_contact_time,
    profile_for,
)

from .builders import NEW_YORK, SHANGHAI, D, at, days

CN, US = PROFILES["CN"], PROFILES["US"]


@pytest.mark.parametrize(
    ("profile", "zone", "hour", "minute", "allowed"),
    [
        (CN, SHANGHAI, 7, 59, False),
        (CN, SHANGHAI, 8, 0, True),
        (CN, SHANGHAI, 21, 59, True),
        (CN, SHANGHAI, 22, 0, False),
        (US, NEW_YORK, 7, 59, False),
        (US, NEW_YORK, 8, 0, True),
        (US, NEW_YORK, 20, 59, True),
        (US, NEW_YORK, 21, 0, False),
        (CN, NEW_YORK, 21, 30, True),  # the CN window is later in the evening
    ],
)
def test_contact_window_is_in_the_customers_zone(profile, zone, hour, minute, allowed):
    assert contact_allowed(profile, at(D, hour, minute, zone), zone) is allowed


def test_next_contact_time_is_the_next_window_opening():
    assert next_contact_time(CN, at(D, 23), SHANGHAI) == at(D + days(1), 8)
    assert next_contact_time(CN, at(D, 3), SHANGHAI) == at(D, 8)
    assert next_contact_time(CN, at(D, 12), SHANGHAI) == at(D, 12)
    # 10:00 in Shanghai is 22:00 the evening before in New York (EDT, UTC−4).
    assert next_contact_time(US, at(D, 10), NEW_YORK) == at(D, 8, zone=NEW_YORK)


def test_first_contact_on_a_day_waits_for_that_local_day():
    # Selected at 10:00 Shanghai for business date D: a New York customer hears on their own D.
    assert first_contact_on(US, D, NEW_YORK, now=at(D, 10)) == at(D, 8, zone=NEW_YORK)
    assert first_contact_on(CN, D, SHANGHAI, now=at(D, 10)) == at(D, 10)
    assert first_contact_on(CN, D, SHANGHAI, now=at(D, 23)) == at(D + days(1), 8)


def test_unknown_zone_and_profile():
    assert customer_zone("Mars/Olympus_Mons") == SHANGHAI  # the console's TIME_ZONE
    assert customer_zone("") == SHANGHAI
    with pytest.raises(ValueError, match="unknown conduct profile"):
        profile_for("XX")


def test_cn_three_effective_phone_attempts_per_customer_per_day():
    calls = [
        CallAttempt(at=at(D, 9), effective=True),
        CallAttempt(at=at(D, 10), effective=False),  # not answered: does not count
        CallAttempt(at=at(D, 11), effective=True),
        CallAttempt(at=at(D - days(1), 20), effective=True),  # yesterday
    ]
    assert call_allowed(CN, attempts=calls, at=at(D, 12), zone=SHANGHAI).allowed
    calls.append(CallAttempt(at=at(D, 12), effective=True))
    decision = call_allowed(CN, attempts=calls, at=at(D, 13), zone=SHANGHAI)
    assert not decision.allowed
    assert decision.reason == "daily_attempts"
    assert decision.next_allowed_at == at(D + days(1), 8)
    assert call_allowed(CN, attempts=calls, at=at(D + days(1), 8), zone=SHANGHAI).allowed


def test_cn_calls_only_inside_the_window():
    decision = call_allowed(CN, attempts=[], at=at(D, 22, 30), zone=SHANGHAI)
    assert (decision.allowed, decision.reason) == (False, "outside_hours")
    assert decision.next_allowed_at == at(D + days(1), 8)


def test_us_seven_attempts_in_seven_days_per_debt():
    calls = [CallAttempt(at=at(D + days(n), 10, zone=NEW_YORK), debt_id=1) for n in range(7)]
    other_debt = [CallAttempt(at=at(D + days(6), 11, zone=NEW_YORK), debt_id=2)]
    day7 = D + days(6)
    decision = call_allowed(
        US, attempts=calls + other_debt, at=at(day7, 15, zone=NEW_YORK), zone=NEW_YORK, debt_id=1
    )
    assert (decision.allowed, decision.reason) == (False, "attempts_in_period")
    # The first attempt (day 1) leaves the seven-day period on day 8.
    assert decision.next_allowed_at == at(D + days(7), 8, zone=NEW_YORK)
    assert call_allowed(
        US, attempts=calls, at=at(D + days(7), 9, zone=NEW_YORK), zone=NEW_YORK, debt_id=1
    ).allowed
    # The other debt has one attempt: it may be called.
    assert call_allowed(
        US, attempts=calls + other_debt, at=at(day7, 15, zone=NEW_YORK), zone=NEW_YORK, debt_id=2
    ).allowed


def test_us_none_within_seven_days_after_a_conversation():
    spoke = CallAttempt(at=at(D, 10, zone=NEW_YORK), debt_id=1, conversation=True)
    for n in range(7):  # the day of the conversation is the first of the seven
        decision = call_allowed(
            US, attempts=[spoke], at=at(D + days(n), 12, zone=NEW_YORK), zone=NEW_YORK, debt_id=1
        )
        assert (decision.allowed, decision.reason) == (False, "after_conversation"), n
        assert decision.next_allowed_at == at(D + days(7), 8, zone=NEW_YORK)
    assert call_allowed(
        US, attempts=[spoke], at=at(D + days(7), 12, zone=NEW_YORK), zone=NEW_YORK, debt_id=1
    ).allowed
    # A conversation about another debt does not block this one.
    assert call_allowed(US, attempts=[spoke], at=at(D, 12, zone=NEW_YORK), zone=NEW_YORK, debt_id=2).allowed


def test_us_window_ends_at_nine_pm():
    decision = call_allowed(US, attempts=[], at=at(D, 21, 0, NEW_YORK), zone=NEW_YORK, debt_id=1)
    assert (decision.allowed, decision.next_allowed_at) == (False, at(D + days(1), 8, zone=NEW_YORK))


def test_us_attempts_counted_on_local_days():
    # 23:30 in New York on D-7 is already D-6 in UTC; it belongs to the New York day D-7,
    # outside the seven days D-6 … D, so on D only six attempts count.
    late = CallAttempt(at=at(D - days(7), 23, 30, NEW_YORK).astimezone(datetime.UTC), debt_id=1)
    six = [CallAttempt(at=at(D - days(n), 10, zone=NEW_YORK), debt_id=1) for n in range(1, 7)]
    assert call_allowed(
        US, attempts=[late, *six], at=at(D, 12, zone=NEW_YORK), zone=NEW_YORK, debt_id=1
    ).allowed
    early_on_d_minus_6 = CallAttempt(at=at(D - days(6), 0, 30, NEW_YORK), debt_id=1)
    assert not call_allowed(
        US, attempts=[early_on_d_minus_6, *six], at=at(D, 12, zone=NEW_YORK), zone=NEW_YORK, debt_id=1
    ).allowed

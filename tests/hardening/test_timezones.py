"""Times are shown in the staff member's own time zone; the business date stays the business's."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# 02:30 UTC on 20 March 2026: 10:30 that day in Shanghai, 22:30 the day before in New York (EDT).
SIGNED_IN = datetime.datetime(2026, 3, 20, 2, 30, tzinfo=datetime.UTC)


def _home_for(client, sign_in, *, zone: str, language: str) -> str:
    user = UserFactory(timezone=zone, language=language)
    sign_in(user)
    User.objects.filter(pk=user.pk).update(last_login=SIGNED_IN)
    return client.get(reverse("home")).content.decode()


def test_a_timestamp_in_shanghai(client, sign_in):
    html = _home_for(client, sign_in, zone="Asia/Shanghai", language="zh-hans")
    assert 'datetime="2026-03-20T10:30:00+08:00"' in html
    assert "2026年3月20日 10:30" in html
    assert "(Asia/Shanghai)" in html


def test_the_same_timestamp_in_new_york(client, sign_in):
    html = _home_for(client, sign_in, zone="America/New_York", language="en")
    assert 'datetime="2026-03-19T22:30:00-04:00"' in html
    assert "March 19, 2026, 10:30 p.m." in html
    assert "(America/New_York)" in html


def test_the_business_date_is_shanghais_whatever_the_users_zone(client, sign_in, monkeypatch):
    # 21:00 on 19 March in New York is already 09:00 on 20 March in Shanghai.
    monkeypatch.setattr(timezone, "now", lambda: datetime.datetime(2026, 3, 20, 1, 0, tzinfo=datetime.UTC))
    html = _home_for(client, sign_in, zone="America/New_York", language="en")
    assert '<time class="business-date" datetime="2026-03-20">March 20, 2026</time>' in html


def test_an_unknown_zone_falls_back_to_the_business_zone(client, sign_in):
    html = _home_for(client, sign_in, zone="Mars/Olympus_Mons", language="zh-hans")
    assert 'datetime="2026-03-20T10:30:00+08:00"' in html


def test_the_zone_does_not_leak_into_the_next_request(client, sign_in):
    _home_for(client, sign_in, zone="America/New_York", language="en")
    assert timezone.get_current_timezone_name() == "Asia/Shanghai"


# UserPreferencesMiddleware activates the staff member's zone for the whole request; the
# business date must still be the business's (TIME_ZONE): a New York staff member posting a
# payment at 09:00 Shanghai time on a due date pays the instalment due that day.
def test_a_payment_posted_by_staff_in_new_york_pays_what_is_due_on_the_business_date(db):
    import zoneinfo
    from decimal import Decimal

    from orders.services import payment_post
    from tests.factories import delivered_order

    order = delivered_order(amount="1000.00", delivered_on=datetime.date(2026, 1, 10))
    first = order.installments.order_by("sequence").first()
    # 09:00 in Shanghai on the due date is 20:00 the evening before in New York.
    received_at = datetime.datetime.combine(
        first.due_date, datetime.time(9), tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")
    )
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        payment, _replayed = payment_post(
            customer=order.customer, amount=Decimal("339.34"), reference="NY-1", received_at=received_at
        )
    assert payment.credit_created == Decimal("0.00")
    assert {a.installment_id for a in payment.allocations.all()} == {first.pk}

"""The range of dates and moments the console accepts: one place, used by the forms and the services.

Python's datetime ends at year 1 and 9999; a moment near either end cannot be moved to UTC or
to the business time zone (OverflowError), so a date typed as 0001-01-01 would fail deep in
a save or a comparison. Nothing the business records lies outside these bounds.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

DATE_MIN = datetime.date(1900, 1, 1)
DATE_MAX = datetime.date(9998, 12, 31)


def business_date(at: datetime.datetime | None = None) -> datetime.date:
    """The business date at `at` (now by default): the date in the console's TIME_ZONE, whatever
    zone a request activated for the signed-in staff member's pages."""
    return timezone.localdate(at or timezone.now(), timezone.get_default_timezone())


def date_in_bounds(value: datetime.date) -> bool:
    if isinstance(value, datetime.datetime):
        return moment_in_bounds(value)
    return DATE_MIN <= value <= DATE_MAX


def moment_in_bounds(value: datetime.datetime) -> bool:
    """Whether an aware or naive datetime is within the bounds in UTC and in every zone we show."""
    try:
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return False
    return DATE_MIN <= value.date() <= DATE_MAX

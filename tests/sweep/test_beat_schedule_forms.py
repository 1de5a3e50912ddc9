"""The schedule pages of the data admin refuse a bad crontab field with a form error.

django-celery-beat's validators refuse a malformed field (",(Ì" as the day of week), and the
admin then shows the form again with the edited, invalid schedule as its title; the schedule's
description (celery's crontab parser) raised on it, so the page answered 500. Found by the
generated bad input (tests/admin/test_generated_input.py); this is its example, kept."""

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule

from tests.conftest import login_verified

pytestmark = pytest.mark.django_db

BAD = [",(Ì", ",", "1,", "(", "8", "*/0"]


def _fields(crontab, **change):
    fields = {
        "minute": crontab.minute,
        "hour": crontab.hour,
        "day_of_week": crontab.day_of_week,
        "day_of_month": crontab.day_of_month,
        "month_of_year": crontab.month_of_year,
        "timezone": str(crontab.timezone),
    }
    return {**fields, **change}


@pytest.mark.parametrize("field", ["minute", "hour", "day_of_week", "day_of_month", "month_of_year"])
@pytest.mark.parametrize("value", BAD)
def test_a_bad_crontab_field_is_a_form_error_and_changes_nothing(client, superuser, field, value):
    crontab = CrontabSchedule.objects.create(minute="30", hour="0")
    before = _fields(crontab)
    login_verified(client, superuser)
    url = reverse("admin:django_celery_beat_crontabschedule_change", args=[crontab.pk])
    response = client.post(url, _fields(crontab, **{field: value}))
    assert response.status_code in (200, 302)  # never a 500
    if response.status_code == 200:  # refused: shown again, nothing changed
        crontab.refresh_from_db()
        assert _fields(crontab) == before

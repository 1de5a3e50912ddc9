"""bnpl_admin.bulk.bulk_update_rows: each row gets its own values, on PostgreSQL and SQLite alike."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import CreditLine, CreditLineStatus
from bnpl_admin.bulk import bulk_update_rows, bulk_update_values
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_and_other_rows_and_fields_are_left_alone():
    lines = [CustomerFactory().credit_line for _ in range(4)]
    untouched = lines.pop()
    when = timezone.now().replace(microsecond=123456)  # kept to the microsecond
    for n, line in enumerate(lines):
        line.status = CreditLineStatus.FROZEN if n % 2 == 0 else CreditLineStatus.ACTIVE
        line.status_reason = f"reason {n} — 逾期"
        line.status_changed_at = when + datetime.timedelta(minutes=n) if n else None
        line.score = 500 + n
        line.limit = Decimal("1.00")  # changed in memory, not in the list of fields

    assert bulk_update_rows(lines, ["status", "status_reason", "status_changed_at", "score"]) == 3

    stored = {line.pk: line for line in CreditLine.objects.all()}
    for n, line in enumerate(lines):
        row = stored[line.pk]
        assert row.status == line.status
        assert row.status_reason == f"reason {n} — 逾期"
        assert row.status_changed_at == (when + datetime.timedelta(minutes=n) if n else None)
        assert row.score == 500 + n
        assert row.limit == Decimal("20000.00")
    assert stored[untouched.pk].status_reason == ""
    assert stored[untouched.pk].score == untouched.score


def test_nothing_to_update_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk_update_rows([], ["status"]) == 0


def test_money_keeps_every_fen():
    lines = [CustomerFactory().credit_line for _ in range(3)]
    amounts = [Decimal("0.01"), Decimal("12345678.99"), Decimal("20000.10")]
    rows = [(line.pk, amount) for line, amount in zip(lines, amounts, strict=True)]
    assert bulk_update_values(CreditLine, ["limit"], rows) == 3
    assert [CreditLine.objects.get(pk=line.pk).limit for line in lines] == amounts

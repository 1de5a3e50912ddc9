"""The console's own words in the reader's language: refusals of the services, objects' names, roles,
and people's names in their own order."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from accounts.names import person_name
from accounts.roles import Role
from bnpl_admin.errors import DomainError
from orders.models import Component
from orders.services import fee_waive, payment_post
from tests.factories import UserFactory, delivered_order, noon, waiver_requester
from tests.registry import PROJECT_PACKAGES

PROJECT_MODULES = set(PROJECT_PACKAGES)


def _refusal(call) -> str:
    with pytest.raises(DomainError) as refused:
        call()
    return str(refused.value.message)


@pytest.mark.django_db
def test_a_refusal_is_in_the_staff_members_language(superuser):
    order = delivered_order(delivered_on=timezone.localdate() - datetime.timedelta(days=60))
    late = order.installments.order_by("sequence").first()

    def pay_nothing():
        payment_post(
            customer=order.customer, amount=Decimal("0"), reference="R-0", received_at=noon(late.due_date)
        )

    def waive_too_much():
        fee_waive(
            installment=late,
            component=Component.LATE_FEE,
            amount=Decimal("9999.00"),
            reason="goodwill",
            approved_by=superuser,
            requested_by=waiver_requester(),
        )

    with translation.override("zh-hans"):
        assert _refusal(pay_nothing) == "还款金额必须大于零。"
        too_much = _refusal(waive_too_much)
        # The component is named by its translated label, not mixed into an English sentence.
        assert "滞纳金" in too_much and not re.search(r"[A-Za-z]", too_much), too_much
    with translation.override("en"):
        assert _refusal(pay_nothing) == "The payment amount must be more than zero."
        assert re.fullmatch(r"Only ¥[\d.]+ of this Late fee is unpaid\.", _refusal(waive_too_much))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{2,}", text))


def _data_words(obj) -> set[str]:
    """The English an object's name may carry as data: its own and its related rows' values."""
    words = set()
    rows = [obj]
    for field in obj._meta.concrete_fields:
        if isinstance(field, models.ForeignKey):
            related = getattr(obj, field.name, None)
            if related is not None:
                rows.append(related)
    for row in rows:
        for field in row._meta.concrete_fields:
            words |= _words(str(getattr(row, field.attname)))
    return words


@pytest.mark.django_db
def test_every_objects_name_reads_as_chinese():
    from tests.audit.site_map import build_site_data

    site = build_site_data()
    named = 0
    for model, obj in site.objects.items():
        if model.__module__.split(".")[0] not in PROJECT_MODULES:
            continue
        with translation.override("zh-hans"):
            name = str(obj)
        leftover = _words(name) - _data_words(obj)
        assert not leftover, f"{model._meta.label}: {name!r} has English {sorted(leftover)}"
        named += 1
    assert named >= 15


@pytest.mark.django_db
def test_roles_read_as_chinese_wherever_a_group_is_shown():
    group = Group.objects.get(name=Role.COLLECTIONS_MANAGER)
    with translation.override("zh-hans"):
        assert str(Role.COLLECTIONS_MANAGER.label) != "Collections manager"
        assert str(group) == str(Role.COLLECTIONS_MANAGER.label)
    with translation.override("en"):
        assert str(group) == "Collections manager"


@pytest.mark.parametrize(
    ("family", "given_name", "full"),
    [("钟", "丽", "钟丽"), ("王", "红霞", "王红霞"), ("Lovelace", "Ada", "Ada Lovelace"), ("", "Ada", "Ada")],
)
def test_a_name_is_written_in_its_own_order(family, given_name, full):
    assert person_name(family=family, given=given_name) == full


@given(
    family=st.text(
        alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=2
    ),
    given_name=st.text(
        alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=2
    ),
)
def test_a_chinese_name_is_family_then_given_with_no_space(family, given_name):
    assert person_name(family=family, given=given_name) == family + given_name


@pytest.mark.django_db
def test_a_staff_members_name_is_shown_in_its_own_order(client):
    from tests.conftest import login_verified

    user = UserFactory(first_name="丽", last_name="钟", language="zh-hans")
    assert user.get_full_name() == "钟丽"
    assert UserFactory(first_name="Ada", last_name="Lovelace").get_full_name() == "Ada Lovelace"
    login_verified(client, user)
    html = client.get("/").content.decode()
    assert "钟丽" in html and "丽 钟" not in html

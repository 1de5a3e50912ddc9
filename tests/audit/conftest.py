"""People and data the audit tests share."""

import pytest

from accounts.roles import Role
from tests.factories import CustomerFactory, EmergencyContactFactory, UserFactory

PHONE, MASKED_PHONE = "13812345678", "138****5678"
NATIONAL_ID, MASKED_ID = "110101199001011234", "110***********1234"
CONTACT_PHONE, MASKED_CONTACT_PHONE = "13987654321", "139****4321"
RAW_NUMBERS = (PHONE, NATIONAL_ID, CONTACT_PHONE)


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", roles=[Role.COLLECTIONS_MANAGER])


@pytest.fixture
def ops_admin(db):
    return UserFactory(username="ops", roles=[Role.OPERATIONS_ADMIN], is_staff=True)


@pytest.fixture
def agent(db):
    return UserFactory(username="agent", roles=[Role.COLLECTIONS_AGENT])


@pytest.fixture
def customer(db):
    customer = CustomerFactory(phone=PHONE, national_id=NATIONAL_ID)
    EmergencyContactFactory(customer=customer, phone=CONTACT_PHONE)
    return customer


def assert_no_raw_numbers(text: str) -> None:
    for raw in RAW_NUMBERS:
        assert raw not in text, f"{raw} appears unmasked"

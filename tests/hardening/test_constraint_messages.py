"""A database constraint's refusal reaches a person in words, never as the constraint's name.

Model validation (Model.validate_constraints, which admin and model forms run) refuses a
value the constraint would refuse, with the constraint's `violation_error_message`; the
database constraint stays as the last line of defence for writes that skip validation.
"""

from decimal import Decimal

import pytest
from django.db.models import BaseConstraint
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import CreditLine, CreditLineStatus
from tests.conftest import login_verified
from tests.factories import CustomerFactory, UserFactory
from tests.registry import PROJECT_MODELS

CONSTRAINTS = [
    pytest.param(model, constraint, id=constraint.name)
    for model in PROJECT_MODELS
    for constraint in model._meta.constraints
]
DEFAULT_MESSAGE = BaseConstraint.default_violation_error_message


def test_the_project_has_constraints_to_check():
    assert len(CONSTRAINTS) >= 20


@pytest.mark.parametrize(("model", "constraint"), CONSTRAINTS)
def test_every_constraint_says_what_is_wrong_in_words_in_both_languages(model, constraint):
    with translation.override("en"):
        english = str(constraint.violation_error_message)
    with translation.override("zh-hans"):
        chinese = str(constraint.violation_error_message)
    assert constraint.violation_error_message != DEFAULT_MESSAGE, f"{model.__name__}: {constraint.name}"
    assert constraint.name not in english and constraint.name not in chinese
    assert chinese != english, f"no zh-Hans translation of {english!r}"


@pytest.fixture
def zh_superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True, language="zh-hans")


def _form(line: CreditLine, **changes) -> dict:
    return {
        "limit": str(line.limit),
        "grade": line.grade,
        "score": str(line.score),
        "status": line.status,
        "status_reason": line.status_reason,
        **changes,
    }


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    limit=st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("-0.01"), places=2),
)
def test_a_negative_limit_in_the_admin_is_refused_in_words(client, zh_superuser, limit):
    line = CustomerFactory().credit_line
    before = (line.limit, line.status)
    login_verified(client, zh_superuser)

    response = client.post(
        reverse("admin:accounts_creditline_change", args=[line.pk]), _form(line, limit=limit)
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "creditline_limit_not_negative" not in page and "约束" not in page
    assert "额度不能为负数。" in page
    line.refresh_from_db()
    assert (line.limit, line.status) == before


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(reason=st.sampled_from(["", " ", "\t", "   "]))
def test_freezing_without_a_reason_in_the_admin_is_refused_in_words(client, zh_superuser, reason):
    line = CustomerFactory().credit_line
    login_verified(client, zh_superuser)

    response = client.post(
        reverse("admin:accounts_creditline_change", args=[line.pk]),
        _form(line, status=CreditLineStatus.FROZEN, status_reason=reason),
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "creditline_frozen_has_reason" not in page and "约束" not in page
    # The freeze rule (accounts.services.credit_line_status_check) refuses it before the constraint.
    assert "冻结授信额度需要填写原因。" in page
    line.refresh_from_db()
    assert line.status != CreditLineStatus.FROZEN

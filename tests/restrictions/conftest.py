"""Builders of the restriction tests: analysts, lines of each shape, jobs run as a worker would."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def analyst(db):
    return UserFactory(username="analyst-a", roles=[Role.RISK_ANALYST], language="en")


@pytest.fixture
def checker(db):
    return UserFactory(username="analyst-b", roles=[Role.RISK_ANALYST], language="en")


@pytest.fixture
def run_tasks(monkeypatch):
    """The job task published on commit runs at once, as a worker would; returns the ids run."""
    from restrictions.tasks import restriction_job_run_task

    ran = []

    def delay(job_id):
        ran.append(job_id)
        return restriction_job_run_task(job_id)

    monkeypatch.setattr(restriction_job_run_task, "delay", delay)
    return ran

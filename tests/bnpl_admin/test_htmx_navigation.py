"""A boosted link from a console list to another page navigates to it instead of swapping that
page into the list (bnpl_admin.htmx.BoostedNavigationMiddleware)."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from bnpl_admin.lists import TABLE_TARGET
from tests.conftest import login_verified
from tests.factories import CollectionCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client):
    agent = UserFactory(roles=[Role.COLLECTIONS_AGENT])
    login_verified(client, agent)
    client.case = CollectionCaseFactory(assigned_agent=agent)
    return client


def _boosted(client, path: str, current: str):
    return client.get(
        path,
        headers={
            "HX-Request": "true",
            "HX-Boosted": "true",
            "HX-Target": TABLE_TARGET,  # the list's section boosts its links into itself
            "HX-Current-URL": f"http://testserver{current}",
        },
    )


def test_a_boosted_row_link_to_another_page_navigates_there(agent_client):
    target = reverse("collections:case_detail", args=[agent_client.case.pk])

    response = _boosted(agent_client, target, reverse("collections:my_queue"))

    assert response["HX-Redirect"] == target
    assert not response.content


def test_a_boosted_sort_or_page_link_on_the_same_list_still_swaps_the_list(agent_client):
    queue = reverse("collections:my_queue")

    response = _boosted(agent_client, f"{queue}?sort=-days_past_due", f"{queue}?page=1")

    assert "HX-Redirect" not in response
    assert response.status_code == 200 and b"<html" not in response.content.lower()[:200]

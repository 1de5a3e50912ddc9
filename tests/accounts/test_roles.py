"""The five staff roles: the groups migrate creates, and what each role may and may not do."""

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import AnonymousUser, Group

from accounts.roles import ROLE_PERMISSIONS, Role, roles_sync
from collection.models import CollectionCase
from tests.factories import CollectionCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _group_permissions(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def _user(role: Role):
    return UserFactory(roles=[role])


def test_the_five_role_groups_exist_with_exactly_the_permissions_of_the_role_map():
    assert set(Group.objects.filter(name__in=Role.values).values_list("name", flat=True)) == set(Role.values)
    assert set(ROLE_PERMISSIONS) == set(Role)
    for role, wanted in ROLE_PERMISSIONS.items():
        assert _group_permissions(role) == wanted, role


def test_roles_sync_puts_back_a_permission_granted_or_removed_by_hand():
    group = Group.objects.get(name=Role.RISK_ANALYST)
    group.permissions.remove(group.permissions.get(codename="freeze_creditline"))
    group.permissions.add(
        *Group.objects.get(name=Role.OPERATIONS_ADMIN).permissions.filter(codename="change_payment")
    )

    roles_sync(django_apps)

    assert _group_permissions(Role.RISK_ANALYST) == ROLE_PERMISSIONS[Role.RISK_ANALYST]


@pytest.mark.parametrize(
    "permission",
    [
        "orders.add_payment",
        "orders.change_payment",
        "orders.delete_payment",
        "orders.post_payment",
        "orders.reverse_payment",
        "orders.waive_fee",
        "collections.change_collectioncase",
        "collections.assign_collectioncase",
        "collections.delete_collectioncase",
    ],
)
def test_a_risk_analyst_cannot_change_payments_or_cases(permission):
    analyst = _user(Role.RISK_ANALYST)
    assert not analyst.has_perm(permission)


def test_a_risk_analyst_can_see_payments_and_cases_and_set_limits():
    analyst = _user(Role.RISK_ANALYST)
    assert analyst.has_perms(
        ["orders.view_payment", "collections.view_collectioncase", "accounts.change_creditline"]
    )
    CollectionCaseFactory()
    assert CollectionCase.objects.visible_to(analyst).count() == 1


def test_a_collections_agent_cannot_reveal_personal_data_or_waive_fees():
    agent = _user(Role.COLLECTIONS_AGENT)
    assert not agent.has_perm("accounts.reveal_pii")
    assert not agent.has_perm("orders.waive_fee")
    assert not agent.has_perm("collections.assign_collectioncase")
    assert agent.has_perm("collections.change_collectioncase")


def test_a_collections_agent_sees_only_the_cases_assigned_to_them():
    agent, colleague = _user(Role.COLLECTIONS_AGENT), _user(Role.COLLECTIONS_AGENT)
    mine = CollectionCaseFactory(assigned_agent=agent)
    CollectionCaseFactory(assigned_agent=colleague)
    CollectionCaseFactory(assigned_agent=None)

    assert list(CollectionCase.objects.visible_to(agent)) == [mine]
    assert CollectionCase.objects.visible_to(colleague).count() == 1


def test_a_collections_manager_sees_every_case_and_may_reveal_personal_data():
    manager = _user(Role.COLLECTIONS_MANAGER)
    agent = _user(Role.COLLECTIONS_AGENT)
    cases = {CollectionCaseFactory(assigned_agent=agent), CollectionCaseFactory(assigned_agent=None)}
    assert set(CollectionCase.objects.visible_to(manager)) == cases
    assert manager.has_perms(["accounts.reveal_pii", "orders.waive_fee", "collections.assign_collectioncase"])


@pytest.mark.parametrize(
    "permission",
    [
        "orders.view_order",
        "orders.view_installment",
        "orders.view_payment",
        "orders.view_paymentallocation",
        "accounts.view_creditline",
        "accounts.reveal_pii",
        "collections.view_all_collectioncase",
    ],
)
def test_a_field_agent_does_not_see_the_wider_portfolio(permission):
    assert not _user(Role.FIELD_AGENT).has_perm(permission)


def test_a_field_agent_sees_only_the_cases_of_their_visits():
    from bnpl_admin.dates import business_date
    from tests.visits.builders import field_agent as new_field_agent
    from tests.visits.builders import scheduled_visit

    field_agent = _user(Role.FIELD_AGENT)
    theirs = scheduled_visit(day=business_date(), agents=(field_agent, new_field_agent())).case
    CollectionCaseFactory(assigned_agent=field_agent)  # a case without their visit stays unseen
    CollectionCaseFactory(assigned_agent=_user(Role.COLLECTIONS_AGENT))
    assert list(CollectionCase.objects.visible_to(field_agent)) == [theirs]


def test_staff_without_a_role_and_anonymous_visitors_see_no_case():
    CollectionCaseFactory()
    assert CollectionCase.objects.visible_to(UserFactory()).count() == 0
    assert CollectionCase.objects.visible_to(AnonymousUser()).count() == 0


def test_operations_admin_manages_roles_but_cannot_add_or_delete_payments():
    admin = _user(Role.OPERATIONS_ADMIN)
    assert admin.has_perms(["auth.view_group", "accounts.change_user_roles", "orders.reverse_payment"])
    # What a role may do is declared in accounts.roles, not edited in the admin.
    assert not admin.has_perm("auth.change_group")
    assert not admin.has_perm("orders.add_payment")
    assert not admin.has_perm("orders.delete_payment")
    assert not admin.has_perm("orders.delete_paymentallocation")

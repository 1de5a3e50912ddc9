"""What the audit trail records: sign-ins, changes with old → new values, reveals, resets."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditLine, CreditLineStatus, Customer, User
from accounts.roles import Role
from accounts.services import credit_lines_freeze_overdue
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from orders.models import Installment
from tests.audit.conftest import MASKED_ID, MASKED_PHONE, NATIONAL_ID, PHONE, assert_no_raw_numbers
from tests.factories import CustomerFactory, UserFactory, delivered_order

PASSWORD = "correct horse battery staple"


def _events(model, obj_id, action=None):
    events = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=str(obj_id)
    )
    return events.filter(action=action) if action else events


# --- Sign-ins ------------------------------------------------------------------------------------


def test_a_failed_sign_in_records_the_name_tried_the_address_and_the_browser(client, db):
    UserFactory(username="risk1")

    response = client.post(
        reverse("login"),
        {"username": "risk1", "password": "wrong password"},
        HTTP_USER_AGENT="Mozilla/5.0 test",
        REMOTE_ADDR="10.1.2.3",
    )

    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert (event.actor, event.actor_username) == (None, "risk1")
    assert (event.ip_address, event.user_agent) == ("10.1.2.3", "Mozilla/5.0 test")
    assert "wrong password" not in str(event.payload) + event.reason


def test_a_phone_number_typed_as_username_is_stored_masked(client, db):
    client.post(reverse("login"), {"username": PHONE, "password": "x"})
    assert AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED).actor_username == MASKED_PHONE


def test_a_sign_in_and_a_sign_out_are_recorded_with_the_user(client, db):
    user = UserFactory(username="risk1", roles=[Role.RISK_ANALYST])

    client.post(
        reverse("login"), {"username": "risk1", "password": PASSWORD}, HTTP_USER_AGENT="Mozilla/5.0 test"
    )
    client.logout()

    login, logout = AuditEvent.objects.order_by("id").filter(action__in=["login", "logout"])
    assert (login.action, login.actor, login.actor_username) == ("login", user, "risk1")
    assert login.ip_address == "127.0.0.1" and login.user_agent == "Mozilla/5.0 test"
    assert (logout.action, logout.actor) == ("logout", user)


def test_a_sign_in_changes_last_login_without_a_change_event(client, db):
    user = UserFactory(username="risk1")
    before = AuditEvent.objects.filter(action=AuditAction.CHANGED).count()

    client.force_login(user)

    assert AuditEvent.objects.filter(action=AuditAction.CHANGED).count() == before


# --- Changes from the history tables -------------------------------------------------------------


def test_a_new_customer_is_recorded_with_its_values_and_the_numbers_masked(db):
    customer = CustomerFactory(phone=PHONE, national_id=NATIONAL_ID, name="张三")

    event = _events(Customer, customer.pk).get()

    assert event.action == AuditAction.CREATED and event.sign == "+"
    assert event.changes["name"] == [None, "张三"]
    assert event.changes["phone"] == [None, MASKED_PHONE]
    assert event.changes["national_id"] == [None, MASKED_ID]
    assert event.object_repr == str(customer)
    assert_no_raw_numbers(str(event.changes))


def test_a_change_records_who_and_only_the_changed_fields_old_and_new(db, ops_admin):
    customer = CustomerFactory(phone=PHONE, city="深圳市")
    customer.phone = "13900001111"
    customer.city = "广州市"
    customer._history_user = ops_admin
    customer.save()

    event = _events(Customer, customer.pk, AuditAction.CHANGED).get()

    assert event.actor == ops_admin and event.actor_username == "ops"
    assert event.changes == {"city": ["深圳市", "广州市"], "phone": [MASKED_PHONE, "139****1111"]}
    assert event.history_id == customer.history.latest().pk
    assert event.created_at == customer.history.latest().history_date


def test_a_deletion_records_what_was_there(db):
    customer = CustomerFactory(phone=PHONE)
    contact = customer.emergency_contacts.create(name="李四", relationship="sibling", phone="13700002222")
    pk = contact.pk

    contact.delete()

    event = _events(type(contact), pk, AuditAction.DELETED).get()
    assert event.sign == "-"
    assert event.changes["name"] == ["李四", None]
    assert event.changes["phone"] == ["137****2222", None]


def test_a_role_change_names_the_roles_before_and_after(db, ops_admin):
    staff = UserFactory(username="newcomer", roles=[Role.COLLECTIONS_AGENT])
    staff._history_user = ops_admin
    last = AuditEvent.objects.latest("id").pk

    staff.groups.set([Group.objects.get(name=Role.RISK_ANALYST)])

    events = _events(User, staff.pk, AuditAction.CHANGED).filter(pk__gt=last).order_by("id")
    assert {e.actor for e in events} == {ops_admin}
    changes = [e.changes["groups"] for e in events]
    # set() removes, then adds: two history rows, two events.
    assert changes == [[["Collections agent"], []], [[], ["Risk analyst"]]]


def test_a_change_rolled_back_leaves_no_event(db):
    customer = CustomerFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        customer.city = "广州市"
        customer.save()
        raise RuntimeError("rolled back")

    assert not _events(Customer, customer.pk, AuditAction.CHANGED).exists()


def test_rows_written_in_bulk_with_history_are_recorded_in_few_queries(db, django_assert_max_num_queries):
    """The sweep freezes lines in bulk with their history rows: one event per line, not per query."""
    customers = CustomerFactory.create_batch(20)

    with django_assert_max_num_queries(8):
        frozen = credit_lines_freeze_overdue(
            on=datetime.date(2026, 3, 20),
            dpd_by_customer={c.pk: 5 for c in customers},
            freeze_at_dpd=1,
        )

    assert frozen == 20
    events = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(CreditLine), action=AuditAction.CHANGED
    )
    assert events.count() == 20
    event = events.get(object_id=str(customers[0].credit_line.pk))
    assert event.object_repr == str(CreditLine.objects.get(pk=event.object_id))
    assert event.changes["status"] == [CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN]
    assert event.reason == "overdue sweep"
    assert event.actor is None


def test_a_batch_is_named_through_one_to_one_relations_too(db, django_assert_max_num_queries):
    """A credit line's name follows its customer (a one-to-one field): a batch written without
    the customers loaded is still named by them, from one query for the whole batch."""
    from simple_history.utils import bulk_update_with_history

    CustomerFactory.create_batch(5)
    lines = list(CreditLine.objects.order_by("pk"))  # without their customers
    for line in lines:
        line.grade = "B"

    with django_assert_max_num_queries(8):
        bulk_update_with_history(lines, CreditLine, ["grade"], default_change_reason="regrade")

    names = dict(AuditEvent.objects.filter(reason="regrade").values_list("object_id", "object_repr"))
    assert names == {str(line.pk): str(CreditLine.objects.get(pk=line.pk)) for line in lines}


def test_a_schedule_built_at_delivery_is_recorded_per_instalment(db):
    order = delivered_order(amount="1000.00")

    events = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Installment), action=AuditAction.CREATED
    )

    assert events.count() == 3
    first = events.get(object_id=str(order.installments.get(sequence=1).pk))
    assert first.changes["principal_due"] == [None, "333.34"]
    assert first.reason == "schedule built at delivery"


def test_a_change_made_in_the_admin_is_recorded_with_the_admin_user(verified_client, ops_admin, customer):
    client = verified_client(ops_admin)
    line = customer.credit_line
    url = reverse("admin:accounts_creditline_change", args=[line.pk])
    data = {"limit": "15000.00", "grade": "B", "score": "700", "status": "active", "status_reason": ""}

    assert client.post(url, data, REMOTE_ADDR="10.9.8.7").status_code == 302

    event = _events(CreditLine, line.pk, AuditAction.CHANGED).get()
    assert event.actor == ops_admin
    assert event.changes["limit"] == ["20000.00", "15000.00"]
    assert event.changes["grade"] == ["A", "B"]
    assert event.ip_address == "10.9.8.7"


# --- Acts recorded by other code -----------------------------------------------------------------


def test_audit_record_keeps_the_act_with_its_object_reason_and_payload(rf, db, manager, customer):
    request = rf.get("/", HTTP_USER_AGENT="agent\x00string", REMOTE_ADDR="not an address")

    event = audit_record(
        actor=manager,
        action="export",
        obj=customer,
        reason=f"asked by {PHONE}",
        payload={"amount": Decimal("1.50"), "when": timezone.now(), "note": "a\x00b"},
        request=request,
    )

    event.refresh_from_db()
    assert (event.actor, event.object_id, event.content_type.model) == (manager, str(customer.pk), "customer")
    assert event.reason == f"asked by {MASKED_PHONE}"
    assert event.payload["amount"] == "1.50" and event.payload["note"] == "ab"
    assert event.user_agent == "agentstring" and event.ip_address is None


def test_an_unknown_action_is_refused(db):
    with pytest.raises(ValueError):
        audit_record(actor=None, action="launch_missiles")


def test_a_second_factor_reset_is_recorded(db, ops_admin):
    signals = pytest.importorskip("accounts.signals")
    staff = UserFactory(username="lost-phone")

    signals.second_factor_reset.send(sender=User, user=staff, by=ops_admin, reason="new phone", request=None)

    event = AuditEvent.objects.get(action=AuditAction.SECOND_FACTOR_RESET)
    assert (event.actor, event.object_id, event.reason) == (ops_admin, str(staff.pk), "new phone")

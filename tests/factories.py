"""factory_boy factories for every model, and the named personas used by tests and the demo."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import CreditLine, Customer, EmergencyContact, Grade, User
from collection.models import CollectionCase
from orders.models import Channel, Merchant, Order, Payment, Plan
from orders.services import order_deliver, order_place, order_ship, payment_post


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=[str(r) for r in extracted]))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    platform_user_id = factory.Sequence(lambda n: f"dy{100000 + n}")
    name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    national_id = factory.Sequence(lambda n: f"11010119900101{n % 10000:04d}")
    province = "广东省"
    city = "深圳市"
    district = "南山区"
    street = factory.Faker("street_address", locale="zh_CN")

    credit_line = factory.RelatedFactory("tests.factories.CreditLineFactory", factory_related_name="customer")


class CreditLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditLine

    customer = factory.SubFactory(CustomerFactory, credit_line=None)
    limit = Decimal("20000.00")
    grade = Grade.A
    score = 720


class EmergencyContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmergencyContact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name", locale="zh_CN")
    relationship = "sibling"
    phone = factory.Sequence(lambda n: f"139{n:08d}")


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Merchant {n}")
    category = "apparel"


class CollectionCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CollectionCase

    customer = factory.SubFactory(CustomerFactory)


_order_seq = iter(range(1, 10**9))


def delivered_order(
    *,
    customer: Customer | None = None,
    amount: Decimal | str = "1000.00",
    plan: Plan = Plan.INSTALMENTS_3,
    delivered_on: datetime.date | None = None,
    merchant: Merchant | None = None,
) -> Order:
    """An approved, shipped and delivered order with its schedule, built through the services."""
    customer = customer or CustomerFactory()
    delivered_on = delivered_on or timezone.localdate()
    noon = timezone.make_aware(datetime.datetime.combine(delivered_on, datetime.time(12)))
    order = order_place(
        customer=customer,
        merchant=merchant or MerchantFactory(),
        external_reference=f"DY-ORDER-{next(_order_seq)}",
        amount=Decimal(amount),
        plan=plan,
        channel=Channel.SHORT_VIDEO,
        item_summary="连衣裙 dress",
        placed_at=noon - datetime.timedelta(days=2),
    )
    assert order.status == "approved", order.decline_reasons
    order_ship(order=order, shipped_at=noon - datetime.timedelta(days=1))
    order_deliver(order=order, delivered_at=noon)
    order.refresh_from_db()
    return order


def noon(day: datetime.date) -> datetime.datetime:
    """Midday of a business date in the console's time zone: the same business date anywhere in CI."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


_payment_seq = iter(range(1, 10**9))


def posted_payment(
    *,
    customer: Customer,
    amount: Decimal | str,
    on: datetime.date | None = None,
    reference: str | None = None,
) -> Payment:
    """A payment received from the provider at noon on `on` (default today), posted through the
    service; today, at noon or now, whichever is earlier (a payment is never received in the
    future, and before noon in TIME_ZONE today's noon has not come)."""
    day = on if on is not None else timezone.localdate()
    received_at = noon(day) if day != timezone.localdate() else min(noon(day), timezone.now())
    payment, _replayed = payment_post(
        customer=customer,
        amount=Decimal(amount),
        reference=reference or f"ALIPAY-{next(_payment_seq):010d}",
        received_at=received_at,
    )
    return payment


def waiver_requester() -> User:
    """A collections agent who asks for a waiver that someone else approves (orders.services.fee_waive)."""
    from accounts.roles import Role

    return UserFactory(roles=[Role.COLLECTIONS_AGENT])

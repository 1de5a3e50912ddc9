"""A small overdue book written with bulk inserts, for tests that need thousands of instalments."""

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import CreditLine, Customer, Grade
from bnpl_admin.money import apply_rate
from orders.ledger import schedule_lines
from orders.models import Channel, Installment, Merchant, Order, OrderStatus, Plan

RATE_3 = Decimal("0.018")


def overdue_book(*, customers: int, on: datetime.date, orders_each: int = 2) -> list[Installment]:
    """`customers` customers with `orders_each` ¥1,000.00 orders in 3, delivered 20 to 80 days
    before `on` (so one or two instalments each are overdue), nothing paid."""
    merchant = Merchant.objects.create(name="Book merchant", category="apparel")
    made = Customer.objects.bulk_create(
        Customer(platform_user_id=f"book{n}", name=f"客户{n}", phone=f"137{n:08d}") for n in range(customers)
    )
    CreditLine.objects.bulk_create(
        CreditLine(customer=c, limit=Decimal("20000.00"), grade=Grade.A) for c in made
    )
    orders = []
    for n, customer in enumerate(made):
        for k in range(orders_each):
            delivered = on - datetime.timedelta(days=20 + (n * 7 + k * 13) % 60)
            orders.append(
                Order(
                    customer=customer,
                    merchant=merchant,
                    external_reference=f"BOOK-{n}-{k}",
                    channel=Channel.LIVESTREAM,
                    item_summary="耳机 earphones",
                    amount=Decimal("1000.00"),
                    plan=Plan.INSTALMENTS_3,
                    fee_rate=RATE_3,
                    fee_amount=apply_rate(Decimal("1000.00"), RATE_3),
                    status=OrderStatus.DELIVERED,
                    placed_at=timezone.now(),
                    delivered_at=timezone.now(),
                )
            )
            orders[-1].delivered_on = delivered
    Order.objects.bulk_create(orders)
    installments = [
        Installment(
            order=order,
            customer_id=order.customer_id,
            sequence=line.sequence,
            due_date=line.due_date,
            principal_due=line.principal,
            fee_due=line.fee,
        )
        for order in orders
        for line in schedule_lines(
            principal=order.amount,
            fee_rate=order.fee_rate,
            installments=3,
            delivered_on=order.delivered_on,
            trial_days=14,
        )
    ]
    return Installment.objects.bulk_create(installments, batch_size=2000)


def expected_late_fee(installment: Installment, on: datetime.date) -> Decimal:
    """DESIGN.md's rule for one unpaid instalment of a ¥1,000 order (the cap is out of reach)."""
    fee_days = max(0, (on - installment.due_date).days - 3)
    daily = apply_rate(installment.principal_due, Decimal("0.0005"))
    return daily * fee_days

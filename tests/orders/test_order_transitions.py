"""An order's status moves only along ORDER_TRANSITIONS (orders.services.order_transition)."""

import pytest

from orders.models import ORDER_TRANSITIONS, Order, OrderEvent, OrderStatus
from orders.services import OrderError, order_transition
from tests.factories import delivered_order

pytestmark = pytest.mark.django_db

PAIRS = [(old, new) for old in OrderStatus for new in OrderStatus if old != new]


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{o.value}->{n.value}" for o, n in PAIRS])
def test_an_order_moves_only_along_the_map(old, new):
    order = delivered_order()
    Order.objects.filter(pk=order.pk).update(status=old)
    order.refresh_from_db()
    events = OrderEvent.objects.filter(order=order).count()

    if new in ORDER_TRANSITIONS[old]:
        order_transition(order=order, to=new, reason="test")
        order.refresh_from_db()
        assert order.status == new
        assert OrderEvent.objects.filter(order=order).count() == events + 1
    else:
        with pytest.raises(OrderError):
            order_transition(order=order, to=new, reason="test")
        order.refresh_from_db()
        assert order.status == old
        assert OrderEvent.objects.filter(order=order).count() == events

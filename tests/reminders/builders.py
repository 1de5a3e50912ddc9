"""Builders for the reminder tests: a fixed business date, instalments due on a day, a stub SMS gateway."""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from orders.models import Installment, Order, Plan
from tests.factories import CustomerFactory, delivered_order

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# A business date with nothing special about it (after the US switch to summer time on 8 March).
D = datetime.date(2026, 3, 10)


def at(day: datetime.date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def instalment_due(
    due: datetime.date, *, customer=None, amount: str = "1000.00", **customer_fields
) -> Installment:
    """A pay-later order delivered 14 days (the trial window) before `due`: its one instalment."""
    customer = customer or CustomerFactory(**customer_fields)
    order = delivered_order(
        customer=customer, amount=amount, plan=Plan.PAY_LATER, delivered_on=due - days(14)
    )
    installment = order.installments.get()
    assert installment.due_date == due
    return installment


def put_on_hold(installment: Installment, hold: str = "dispute") -> None:
    Order.objects.filter(pk=installment.order_id).update(hold=hold, hold_since=D)


class StubGateway:
    """A local SMS gateway: answers each POST with the next scripted status (the last one repeats)."""

    def __init__(self):
        self.script: list[int] = [200]
        self.requests: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gateway.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                status = gateway.script[min(len(gateway.requests), len(gateway.script)) - 1]
                answer = (
                    {"id": f"gw-{len(gateway.requests)}"}
                    if status < 300
                    else {"error": f"stub says {status}"}
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

"""The order decision on the bench book: decisions per second, per-decision latency, queries each.

Run from a checkout after `make bench` built the book (it reuses it): `python -m bench.decisions`
(`--count 2000`); `bench.run` calls measure_decisions too and reports its figures. Every decision
is made in a transaction that is rolled back, so the book is left as it was.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

# The target: a decision in under 20 ms on the bench book.
DECISION_TARGET_MS = 20.0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_decisions(*, count: int = 1000, seed: int = 20_260_320, say=print) -> dict:
    """`count` orders of random bench customers decided through decisions.services.order_decide,
    one by one as the platform would call it: per-decision p50/p95 in ms, decisions per second
    over the whole run, and the queries of one decision (the same for every customer)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import Customer
    from bench.run import rolled_back
    from decisions.services import order_decide
    from orders.models import Channel, Merchant

    rng = random.Random(seed)
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return {"count": 0, "met": None, "why": "the book has no customers"}
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=rng.sample(ids, min(count, len(ids))))}
    picks = [customers[rng.choice(list(customers))] for _ in range(count)]
    merchants = list(Merchant.objects.order_by("pk")[:20])
    channels = list(Channel.values)
    calls = [
        {
            "customer": customer,
            "amount": Decimal(rng.randrange(1_000, 300_000)) / 100,
            "merchant": rng.choice(merchants),
            "channel": rng.choice(channels),
        }
        for customer in picks
    ]
    timings: list[float] = []
    with rolled_back():
        with CaptureQueriesContext(connection) as one:
            order_decide(**calls[0])  # also warms the decision log's head row
        with CaptureQueriesContext(connection) as second:
            order_decide(**calls[0])
        started = time.perf_counter()
        for call in calls:
            at = time.perf_counter()
            # Each decision in its own savepoint, as the platform's call is its own transaction.
            with transaction.atomic():
                order_decide(placed_at=timezone.now(), **call)
            timings.append((time.perf_counter() - at) * 1000)
        seconds = time.perf_counter() - started
        outcomes = _outcomes()
    p50, p95 = _percentile(timings, 0.5), _percentile(timings, 0.95)
    result = {
        "count": count,
        "seconds": round(seconds, 3),
        "decisions_per_s": round(count / seconds, 1),
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(max(timings), 2),
        "queries_per_decision": len(second),
        "queries_first_decision": len(one),
        "outcomes": outcomes,
        "target_ms": DECISION_TARGET_MS,
        "met": p95 < DECISION_TARGET_MS,
    }
    say(
        f"order decisions: {result['decisions_per_s']}/s, p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms, {result['queries_per_decision']} queries each ({outcomes})"
    )
    return result


def _outcomes() -> dict:
    from django.db.models import Count

    from decisions.models import OrderDecision

    return {
        row["outcome"]: row["n"] for row in OrderDecision.objects.values("outcome").annotate(n=Count("pk"))
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import os

    parser = argparse.ArgumentParser(prog="python -m bench.decisions", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bnpl_admin.settings.local")
    os.environ["DEBUG"] = "0"
    from bench.run import DEFAULT_DATABASE_URL, ROOT

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    from bench.run import machine

    result = {"machine": machine(), "decisions": measure_decisions(count=args.count)}
    output = ROOT / "var" / "bench" / "decisions.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

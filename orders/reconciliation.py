"""Checks that every stored total agrees with the entries it summarises (DESIGN.md, "Money").

Instalments store paid and waived totals for speed; allocations and waivers are the truth.
Each check is one grouped query, so the whole book is checked in a few statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from bnpl_admin.money import ZERO

from .models import AllocationKind, Component, Installment, Payment, PaymentStatus, Waiver
from .selectors import MONEY


@dataclass(frozen=True)
class Mismatch:
    kind: str
    object_id: int
    stored: Decimal
    derived: Decimal

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id}: stored {self.stored}, entries say {self.derived}"


def _cents(expression) -> Round:
    """A sum rounded to the fen in SQL: SQLite adds decimals in binary floating point."""
    return Round(expression, 2, output_field=MONEY)


def _allocated(component: Component) -> Coalesce:
    from .models import PaymentAllocation

    total = (
        PaymentAllocation.objects.filter(installment=OuterRef("pk"), component=component)
        .values("installment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return _cents(Coalesce(Subquery(total, output_field=MONEY), Value(ZERO), output_field=MONEY))


def _waived(component: Component) -> Coalesce:
    total = (
        Waiver.objects.filter(installment=OuterRef("pk"), component=component)
        .values("installment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return _cents(Coalesce(Subquery(total, output_field=MONEY), Value(ZERO), output_field=MONEY))


INSTALLMENT_CHECKS = (
    ("principal_paid", _allocated(Component.PRINCIPAL)),
    ("fee_paid", _allocated(Component.FEE)),
    ("late_fee_paid", _allocated(Component.LATE_FEE)),
    ("fee_waived", _waived(Component.FEE)),
    ("late_fee_waived", _waived(Component.LATE_FEE)),
)


def installment_mismatches(limit: int = 100) -> list[Mismatch]:
    found: list[Mismatch] = []
    for field, derived in INSTALLMENT_CHECKS:
        rows = (
            Installment.objects.annotate(derived=derived)
            .filter(~Q(**{field: F("derived")}))
            .values_list("pk", field, "derived")[:limit]
        )
        found += [Mismatch(f"installment.{field}", pk, stored, d) for pk, stored, d in rows]
    return found


def payment_mismatches(limit: int = 100) -> list[Mismatch]:
    """A payment never allocates more than it brought, and when posted it split exactly."""
    found: list[Mismatch] = []
    over = (
        Payment.objects.filter(status=PaymentStatus.POSTED)
        .annotate(allocated=_cents(Coalesce(Sum("allocations__amount"), Value(ZERO), output_field=MONEY)))
        .filter(allocated__gt=F("amount"))
        .values_list("pk", "amount", "allocated")[:limit]
    )
    found += [Mismatch("payment.over_allocated", pk, amount, a) for pk, amount, a in over]
    at_post = (
        Payment.objects.annotate(
            at_post=_cents(
                Coalesce(
                    # What a payment allocated when posted: to instalments owing, then (after a
                    # write-off) as recoveries; the rest was credit balance.
                    Sum(
                        "allocations__amount",
                        filter=Q(allocations__kind__in=[AllocationKind.PAYMENT, AllocationKind.RECOVERY]),
                    ),
                    Value(ZERO),
                    output_field=MONEY,
                )
            )
        )
        .filter(~Q(amount=_cents(F("at_post") + F("credit_created"))))
        .values_list("pk", "amount", "at_post", "credit_created")[:limit]
    )
    found += [Mismatch("payment.allocations_plus_credit", pk, amount, a + c) for pk, amount, a, c in at_post]
    reversed_net = (
        Payment.objects.filter(status=PaymentStatus.REVERSED)
        .annotate(net=_cents(Coalesce(Sum("allocations__amount"), Value(ZERO), output_field=MONEY)))
        .exclude(net=ZERO)
        .values_list("pk", "net")[:limit]
    )
    found += [Mismatch("payment.reversed_not_zero", pk, ZERO, net) for pk, net in reversed_net]
    return found


def ledger_mismatches(limit: int = 100) -> list[Mismatch]:
    return installment_mismatches(limit) + payment_mismatches(limit)


def ledgers_reconcile(*, limit: int = 100, actor=None) -> list[Mismatch]:
    """Run every check and write the result to the audit trail (beat runs it nightly after the
    sweep; `reconcile_ledgers` too): the operations check reads the latest one."""
    from audit.models import AuditAction
    from audit.services import audit_record

    mismatches = ledger_mismatches(limit)
    audit_record(
        actor=actor,
        action=AuditAction.LEDGERS_RECONCILED,
        reason=f"{len(mismatches)} mismatch(es)" if mismatches else "every stored total matches its entries",
        payload={"mismatches": len(mismatches), "examples": [str(m) for m in mismatches[:20]]},
    )
    return mismatches


def ledgers_last_reconciliation():
    """The latest reconciliation recorded in the audit trail (an AuditEvent), or None."""
    from audit.models import AuditAction, AuditEvent

    return (
        AuditEvent.objects.filter(action=AuditAction.LEDGERS_RECONCILED)
        .order_by("-created_at", "-id")
        .first()
    )

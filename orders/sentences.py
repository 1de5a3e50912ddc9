"""Order events read as sentences, in the reader's language (bnpl_admin.sentences says why)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from bnpl_admin.sentences import Renderer, choice, money, plain, sentence, then, with_reason

from .models import AllocationKind, Component, Hold, OrderEventType, OrderStatus, Plan


def order_event_sentence(kind: str, payload: Mapping | None) -> str:
    """An OrderEvent (its `type` and `payload`) as a sentence."""
    return sentence(_ORDER_RENDERERS, kind, payload)


_DECLINE_REASONS = {
    "customer_not_active": gettext_lazy("the customer is not active"),
    "credit_line_not_active": gettext_lazy("the credit line is not active"),
    "grade_no_credit": gettext_lazy("the grade allows no credit"),
    "over_available_limit": gettext_lazy("the amount is over the available limit"),
}


def _order_status(value) -> str:
    return choice(OrderStatus, value)


def _hold(payload: Mapping) -> str:
    return choice(Hold, payload.get("kind") or payload.get("hold"))


def _component(value) -> str:
    return choice(Component, value)


def _placed(p: Mapping) -> str:
    return _("Placed for %(amount)s, %(plan)s.") % {
        "amount": money(p["amount"]),
        "plan": choice(Plan, p["plan"]),
    }


def _declined(p: Mapping) -> str:
    reasons = [str(_DECLINE_REASONS.get(code, code)) for code in p["reasons"]]
    return _("Declined: %(reasons)s.") % {"reasons": _("; ").join(reasons)}


def _delivered(p: Mapping) -> str:
    count = int(p["installments"])
    return ngettext(
        "Delivered; a schedule of %(count)d payment was built, due on %(first_due)s.",
        "Delivered; a schedule of %(count)d instalments was built, the first due on %(first_due)s.",
        count,
    ) % {"count": count, "first_due": p["first_due"]}


def _allocation_lines(lines) -> str:
    return _("; ").join(
        _("instalment %(sequence)s %(component)s %(amount)s")
        % {"sequence": sequence, "component": _component(component), "amount": money(amount)}
        for sequence, component, amount in lines
    )


def _payment_allocated(p: Mapping) -> str:
    return _("Payment %(payment)s allocated (%(kind)s): %(lines)s.") % {
        "payment": p["payment"],
        "kind": choice(AllocationKind, p.get("kind")),
        "lines": _allocation_lines(p["lines"]),
    }


def _payment_reversed(p: Mapping) -> str:
    return with_reason(_("Payment %(payment)s reversed.") % {"payment": p["payment"]}, p)


def _fee_waived(p: Mapping) -> str:
    return with_reason(
        _("%(amount)s of instalment %(sequence)s's %(component)s waived.")
        % {"amount": money(p["amount"]), "sequence": p["sequence"], "component": _component(p["component"])},
        p,
    )


def _returned(p: Mapping) -> str:
    values = {"amount": money(p["amount"]), "refunded": money(p.get("refunded") or 0)}
    sentence = (
        _("Goods worth %(amount)s returned in full; %(refunded)s became credit balance.")
        if p.get("full")
        else _("Goods worth %(amount)s returned in part; %(refunded)s became credit balance.")
    ) % values
    return with_reason(sentence, p)


def _hold_opened(p: Mapping) -> str:
    if p.get("since"):
        return _("Collection paused (%(hold)s) from %(since)s.") % {"hold": _hold(p), "since": p["since"]}
    return _("Collection paused (%(hold)s).") % {"hold": _hold(p)}


def _hold_closed(p: Mapping) -> str:
    sentence = _("Collection resumed: the hold (%(hold)s) from %(since)s to %(until)s is closed.") % {
        "hold": _hold(p),
        "since": p["since"],
        "until": p["until"],
    }
    paused = [
        ngettext(
            "instalment %(sequence)s paused %(days)d day",
            "instalment %(sequence)s paused %(days)d days",
            int(days),
        )
        % {"sequence": sequence, "days": int(days)}
        for sequence, days in p.get("paused") or ()
    ]
    if paused:
        sentence = then(sentence, _("%(paused)s.") % {"paused": _("; ").join(paused)})
    if p.get("outcome"):
        sentence = then(sentence, _("Outcome: %(outcome)s.") % {"outcome": p["outcome"]})
    return sentence


def _order_status_changed(p: Mapping) -> str:
    return with_reason(
        _("Status changed from %(old)s to %(new)s.")
        % {"old": _order_status(p["old"]), "new": _order_status(p["new"])},
        p,
    )


def _order_label(kind: str) -> Renderer:
    """A kind whose payload says nothing more than its name (shipped, completed)."""

    def render(p: Mapping) -> str:
        label = choice(OrderEventType, kind)
        return f"{label}." if not p else f"{label}: {plain(p)}"

    return render


_ORDER_RENDERERS: dict[str, Renderer] = {
    "placed": _placed,
    "declined": _declined,
    "shipped": _order_label("shipped"),
    "delivered": _delivered,
    "payment_allocated": _payment_allocated,
    "payment_reversed": _payment_reversed,
    "fee_waived": _fee_waived,
    "returned": _returned,
    "hold_opened": _hold_opened,
    "hold_closed": _hold_closed,
    "completed": _order_label("completed"),
    "reopened": _order_label("reopened"),
    "status_changed": _order_status_changed,
}


# --- Restructures (settlements app) ----------------------------------------------------------


def _restructured(p: Mapping) -> str:
    months = int(p["months"])
    new = p.get("new") or []
    total = sum((Decimal(str(line[2])) for line in new), Decimal("0.00"))
    sentence = ngettext(
        "What was left (%(total)s) spread over %(months)d new monthly instalment.",
        "What was left (%(total)s) spread over %(months)d new monthly instalments.",
        months,
    ) % {"total": money(total), "months": months}
    return with_reason(sentence, p)


_ORDER_RENDERERS["restructured"] = _restructured

"""Events read as sentences: the kind and JSON payload of an order event, a case event or an audit
event, as one line in the reader's language.

The services store payloads as small dicts of machine names and values ({"old": "open", "new":
"promised", "reason": "..."}), which is what an analysis wants and what the CSV exports keep.
People read these sentences instead. Each renderer takes only the event's kind and payload (no
model instance), so it works for any event table that has those two fields; a payload that lacks
what its renderer expects (an old event, a demo row) is shown as its plain key: value pairs rather
than failing, and an unknown kind the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

Renderer = Callable[[Mapping], str]


def order_event_sentence(kind: str, payload: Mapping | None) -> str:
    """An OrderEvent (its `type` and `payload`) as a sentence."""
    return _sentence(_ORDER_RENDERERS, kind, payload)


def case_event_sentence(kind: str, payload: Mapping | None) -> str:
    """A CaseEvent (its `type` and `payload`) as a sentence."""
    return _sentence(_CASE_RENDERERS, kind, payload)


def audit_details_sentence(action: str, payload: Mapping | None) -> str:
    """The details (payload) of an audit event as a sentence; empty when there are none."""
    if not payload:
        return ""
    return _sentence(_AUDIT_RENDERERS, action, payload)


def _sentence(renderers: Mapping[str, Renderer], kind: str, payload: Mapping | None) -> str:
    payload = payload if isinstance(payload, Mapping) else {}
    renderer = renderers.get(str(kind))
    if renderer is not None:
        try:
            return renderer(payload)
        except (KeyError, TypeError, ValueError, IndexError, InvalidOperation):
            pass  # an older or hand-made payload: shown as it is stored
    return plain(payload)


def plain(payload: Mapping) -> str:
    """A payload as `key: value` pairs, for a kind without a renderer."""
    return "; ".join(f"{key}: {_text(value)}" for key, value in sorted(payload.items()))


def _then(first: str, second: str) -> str:
    """Two sentences in a row: a space after an English full stop, none after a Chinese one."""
    return f"{first}{second}" if first.endswith(("。", "）", "：")) else f"{first} {second}"


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, Mapping):
        return plain(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def _money(value) -> str:
    return f"¥{Decimal(str(value)):,.2f}"


def _choice(choices, value) -> str:
    """A stored choice value by its label; a value the choices no longer hold, as stored."""
    return str(dict(choices.choices).get(value, value)) if value not in (None, "") else "—"


# Reasons the services and the sweep write in English, read in the reader's language. A reason a
# person typed is shown as typed.
_SYSTEM_REASONS = {
    "nothing overdue": gettext_lazy("nothing overdue"),
    "paid in full": gettext_lazy("paid in full"),
    "paid": gettext_lazy("paid"),
    "goods returned": gettext_lazy("goods returned"),
    "reopened for a return": gettext_lazy("reopened for a return"),
    "round robin": gettext_lazy("round robin"),
}
_DECLINE_REASONS = {
    "customer_not_active": gettext_lazy("the customer is not active"),
    "credit_line_not_active": gettext_lazy("the credit line is not active"),
    "grade_no_credit": gettext_lazy("the grade allows no credit"),
    "over_available_limit": gettext_lazy("the amount is over the available limit"),
}


def _reason(payload: Mapping) -> str:
    reason = str(payload.get("reason") or "").strip()
    return str(_SYSTEM_REASONS.get(reason, reason))


def _with_reason(sentence: str, payload: Mapping) -> str:
    reason = _reason(payload)
    return (
        _("%(sentence)s Reason: %(reason)s.") % {"sentence": sentence, "reason": reason}
        if reason
        else sentence
    )


# --- Orders ------------------------------------------------------------------------------------


def _order_status(value) -> str:
    from orders.models import OrderStatus

    return _choice(OrderStatus, value)


def _hold(payload: Mapping) -> str:
    from orders.models import Hold

    return _choice(Hold, payload.get("kind") or payload.get("hold"))


def _component(value) -> str:
    from orders.models import Component

    return _choice(Component, value)


def _placed(p: Mapping) -> str:
    from orders.models import Plan

    return _("Placed for %(amount)s, %(plan)s.") % {
        "amount": _money(p["amount"]),
        "plan": _choice(Plan, p["plan"]),
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
        % {"sequence": sequence, "component": _component(component), "amount": _money(amount)}
        for sequence, component, amount in lines
    )


def _payment_allocated(p: Mapping) -> str:
    from orders.models import AllocationKind

    return _("Payment %(payment)s allocated (%(kind)s): %(lines)s.") % {
        "payment": p["payment"],
        "kind": _choice(AllocationKind, p.get("kind")),
        "lines": _allocation_lines(p["lines"]),
    }


def _payment_reversed(p: Mapping) -> str:
    return _with_reason(_("Payment %(payment)s reversed.") % {"payment": p["payment"]}, p)


def _fee_waived(p: Mapping) -> str:
    return _with_reason(
        _("%(amount)s of instalment %(sequence)s's %(component)s waived.")
        % {"amount": _money(p["amount"]), "sequence": p["sequence"], "component": _component(p["component"])},
        p,
    )


def _returned(p: Mapping) -> str:
    values = {"amount": _money(p["amount"]), "refunded": _money(p.get("refunded") or 0)}
    sentence = (
        _("Goods worth %(amount)s returned in full; %(refunded)s became credit balance.")
        if p.get("full")
        else _("Goods worth %(amount)s returned in part; %(refunded)s became credit balance.")
    ) % values
    return _with_reason(sentence, p)


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
        sentence = _then(sentence, _("%(paused)s.") % {"paused": _("; ").join(paused)})
    if p.get("outcome"):
        sentence = _then(sentence, _("Outcome: %(outcome)s.") % {"outcome": p["outcome"]})
    return sentence


def _order_status_changed(p: Mapping) -> str:
    return _with_reason(
        _("Status changed from %(old)s to %(new)s.")
        % {"old": _order_status(p["old"]), "new": _order_status(p["new"])},
        p,
    )


def _order_label(kind: str) -> Renderer:
    """A kind whose payload says nothing more than its name (shipped, completed)."""

    def render(p: Mapping) -> str:
        from orders.models import OrderEventType

        label = _choice(OrderEventType, kind)
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


# --- Collection cases ------------------------------------------------------------------------------


def _case_status(value) -> str:
    from collection.models import CaseStatus

    return _choice(CaseStatus, value)


def _bucket(value) -> str:
    from collection.models import Bucket

    return _choice(Bucket, value)


def _by_sweep(sentence: str, p: Mapping) -> str:
    if p.get("by") == "sweep" and p.get("date"):
        return _then(sentence, _("(nightly sweep of %(date)s)") % {"date": p["date"]})
    return sentence


def _dpd(p: Mapping) -> int:
    return int(p["dpd"] if "dpd" in p else p["days_past_due"])


def _case_opened(p: Mapping) -> str:
    dpd = _dpd(p)
    sentence = ngettext(
        "Opened at %(dpd)d day past due (%(bucket)s).",
        "Opened at %(dpd)d days past due (%(bucket)s).",
        dpd,
    ) % {"dpd": dpd, "bucket": _bucket(p["bucket"])}
    return _by_sweep(sentence, p)


def _case_ageing(p: Mapping) -> str:
    dpd = _dpd(p)
    sentence = ngettext(
        "Moved from %(old)s to %(new)s at %(dpd)d day past due.",
        "Moved from %(old)s to %(new)s at %(dpd)d days past due.",
        dpd,
    ) % {"old": _bucket(p["old"]), "new": _bucket(p["new"]), "dpd": dpd}
    return _by_sweep(sentence, p)


def _case_assigned(p: Mapping) -> str:
    agent = p.get("agent")
    sentence = _("Assigned to %(agent)s.") % {"agent": agent} if agent else _("Unassigned.")
    rule = str(p.get("rule") or "")
    if rule:
        sentence = _then(sentence, _("Rule: %(rule)s.") % {"rule": _SYSTEM_REASONS.get(rule, rule)})
    return sentence


def _case_status_changed(p: Mapping) -> str:
    return _with_reason(
        _("Status changed from %(old)s to %(new)s.")
        % {"old": _case_status(p["old"]), "new": _case_status(p["new"])},
        p,
    )


def _case_closed(p: Mapping) -> str:
    sentence = (
        _("Closed as %(status)s.") % {"status": _case_status(p["new"])} if p.get("new") else _("Closed.")
    )
    return _by_sweep(_with_reason(sentence, p), p)


def _case_note(p: Mapping) -> str:
    text = p.get("text") or p.get("note")
    if not text:
        raise KeyError("text")
    return str(text)


_CASE_RENDERERS: dict[str, Renderer] = {
    "opened": _case_opened,
    "ageing": _case_ageing,
    "assigned": _case_assigned,
    "status_changed": _case_status_changed,
    "closed": _case_closed,
    "note": _case_note,
}


# --- The audit trail's own acts ------------------------------------------------------------------


def _field_name(value) -> str:
    """A revealable field (audit.services.REVEALABLE_FIELDS) by its label."""
    from accounts.models import Customer
    from bnpl_admin.labels import field_label

    return str(field_label(Customer, str(value)))


def _export(p: Mapping) -> str:
    rows = int(p["rows"])
    sentence = ngettext(
        "%(rows)d row of the list %(list)s exported.",
        "%(rows)d rows of the list %(list)s exported.",
        rows,
    ) % {"rows": rows, "list": p["list"]}
    if p.get("truncated"):
        sentence = _then(sentence, _("The file stopped at the export limit."))
    filters = p.get("filters") or {}
    if filters:
        sentence = _then(sentence, _("Filters: %(filters)s.") % {"filters": plain(filters)})
    return sentence


def _pii_reveal(p: Mapping) -> str:
    field = _field_name(p["field"])
    if p.get("via") == "search":
        found = int(p.get("found") or 0)
        return ngettext(
            "Found by a search of the %(field)s %(term)s (%(found)d row found).",
            "Found by a search of the %(field)s %(term)s (%(found)d rows found).",
            found,
        ) % {"field": field, "term": p.get("term") or "—", "found": found}
    return _("%(field)s revealed.") % {"field": field}


def _password_set(p: Mapping) -> str:
    sessions, devices = int(p["sessions_ended"]), int(p["second_factor_devices_removed"])
    return _("Their sessions ended: %(sessions)d; second-factor devices removed: %(devices)d.") % {
        "sessions": sessions,
        "devices": devices,
    }


def _lockout_lifted(p: Mapping) -> str:
    return _("Lockout of %(username)s from %(address)s lifted.") % {
        "username": p["username"] or "—",
        "address": p.get("ip_address") or "—",
    }


_AUDIT_RENDERERS: dict[str, Renderer] = {
    "export": _export,
    "pii_reveal": _pii_reveal,
    "password_set": _password_set,
    "lockout_lifted": _lockout_lifted,
}

"""Events read as sentences: the shared parts of the renderers in orders.sentences,
collection.sentences and audit.sentences.

The services store event payloads as small dicts of machine names and values ({"old": "open",
"new": "promised", "reason": "..."}), which is what an analysis wants and what the CSV exports
keep. People read sentences instead. A renderer takes only an event's kind and payload (no model
instance), so it serves any event table with those two fields; a payload that lacks what its
renderer expects (an old event, a demo row) is shown as its plain key: value pairs rather than
failing, and an unknown kind the same way. Each app keeps the renderers of its own events, so
no app imports one above it (the import contract in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

Renderer = Callable[[Mapping], str]


def sentence(renderers: Mapping[str, Renderer], kind: str, payload: Mapping | None) -> str:
    """`payload` of an event of `kind` by its renderer, or as stored when it has none or it cannot read it."""
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


def then(first: str, second: str) -> str:
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


def money(value) -> str:
    return f"¥{Decimal(str(value)):,.2f}"


def choice(choices, value) -> str:
    """A stored choice value by its label; a value the choices no longer hold, as stored."""
    return str(dict(choices.choices).get(value, value)) if value not in (None, "") else "—"


# Reasons the services and the sweep write in English, read in the reader's language. A reason a
# person typed is shown as typed.
SYSTEM_REASONS = {
    "nothing overdue": gettext_lazy("nothing overdue"),
    "paid in full": gettext_lazy("paid in full"),
    "paid": gettext_lazy("paid"),
    "goods returned": gettext_lazy("goods returned"),
    "reopened for a return": gettext_lazy("reopened for a return"),
    "round robin": gettext_lazy("round robin"),
    "by load": gettext_lazy("by load"),
    # Promises to pay (collection.services): the case's history rows keep these reasons.
    "contact reached": gettext_lazy("a contact"),
    "promise: made": gettext_lazy("promise made"),
    "promise: kept": gettext_lazy("promise kept"),
    "promise: broken": gettext_lazy("promise broken"),
    "promise: reopened": gettext_lazy("promise reopened after a reversal"),
    "re-decided after a reversal": gettext_lazy("re-decided after a reversal"),
}


def reason_text(payload: Mapping) -> str:
    reason = str(payload.get("reason") or "").strip()
    return str(SYSTEM_REASONS.get(reason, reason))


def with_reason(sentence: str, payload: Mapping) -> str:
    reason = reason_text(payload)
    return (
        _("%(sentence)s Reason: %(reason)s.") % {"sentence": sentence, "reason": reason}
        if reason
        else sentence
    )

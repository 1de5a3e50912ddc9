"""The details (payload) of an audit event read as a sentence, in the reader's language
(bnpl_admin.sentences says why)."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Customer
from bnpl_admin.labels import field_label
from bnpl_admin.sentences import Renderer, plain, sentence, then


def audit_details_sentence(action: str, payload: Mapping | None) -> str:
    """The details (payload) of an audit event as a sentence; empty when there are none."""
    if not payload:
        return ""
    return sentence(_AUDIT_RENDERERS, action, payload)


def _field_name(value) -> str:
    """A revealable field (audit.services.REVEALABLE_FIELDS) by its label."""
    return str(field_label(Customer, str(value)))


def _export(p: Mapping) -> str:
    rows = int(p["rows"])
    sentence = ngettext(
        "%(rows)d row of the list %(list)s exported.",
        "%(rows)d rows of the list %(list)s exported.",
        rows,
    ) % {"rows": rows, "list": p["list"]}
    if p.get("truncated"):
        sentence = then(sentence, _("The file stopped at the export limit."))
    filters = p.get("filters") or {}
    if filters:
        sentence = then(sentence, _("Filters: %(filters)s.") % {"filters": plain(filters)})
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

"""Collection case events read as sentences, in the reader's language (bnpl_admin.sentences says why)."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bnpl_admin.sentences import SYSTEM_REASONS, Renderer, choice, sentence, then, with_reason
from policy.conduct import PROFILES, Decision

from .models import Bucket, CaseStatus, ContactChannel, ContactOutcome, ContactParty


def case_event_sentence(kind: str, payload: Mapping | None) -> str:
    """A CaseEvent (its `type` and `payload`) as a sentence."""
    return sentence(_CASE_RENDERERS, kind, payload)


def _case_status(value) -> str:
    return choice(CaseStatus, value)


def _bucket(value) -> str:
    return choice(Bucket, value)


def _by_sweep(sentence: str, p: Mapping) -> str:
    if p.get("by") == "sweep" and p.get("date"):
        return then(sentence, _("(nightly sweep of %(date)s)") % {"date": p["date"]})
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
        sentence = then(sentence, _("Rule: %(rule)s.") % {"rule": SYSTEM_REASONS.get(rule, rule)})
    return sentence


def _case_status_changed(p: Mapping) -> str:
    return with_reason(
        _("Status changed from %(old)s to %(new)s.")
        % {"old": _case_status(p["old"]), "new": _case_status(p["new"])},
        p,
    )


def _case_closed(p: Mapping) -> str:
    sentence = (
        _("Closed as %(status)s.") % {"status": _case_status(p["new"])} if p.get("new") else _("Closed.")
    )
    return _by_sweep(with_reason(sentence, p), p)


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


# --- Contacts under the conduct rules ---------------------------------------------------------


def _contact_words(p: Mapping) -> dict[str, str]:
    return {
        "channel": choice(ContactChannel, p["channel"]),
        "party": choice(ContactParty, p["party"]),
        "outcome": choice(ContactOutcome, p["outcome"]),
    }


def _case_contact(p: Mapping) -> str:
    return _("Contact by %(channel)s with the %(party)s: %(outcome)s.") % _contact_words(p)


def _case_contact_refused(p: Mapping) -> str:
    words = _contact_words(p)
    sentence = _("Contact by %(channel)s with the %(party)s refused by the conduct rules.") % words
    reason = str(p.get("reason") or "")
    if reason:
        sentence = then(
            sentence,
            Decision(allowed=False, reason_code=reason, profile=PROFILES.get(p.get("profile", ""))).message,
        )
    return sentence


_CASE_RENDERERS["contact"] = _case_contact
_CASE_RENDERERS["contact_refused"] = _case_contact_refused


# --- Home visits (written by the visits app; read from the payload only) ------------------------


def _visit_requested(p: Mapping) -> str:
    sentence = _("Home visit requested for %(date)s.") % {"date": p["proposed_date"]}
    if p.get("manager_decision"):
        sentence = then(sentence, _("(by a manager's decision)"))
    return with_reason(sentence, p)


def _visit_approved(p: Mapping) -> str:
    agents = p.get("field_agents") or []
    return _("Home visit approved for %(when)s with %(agents)s.") % {
        "when": str(p["scheduled_for"])[:16].replace("T", " "),
        "agents": ", ".join(str(a) for a in agents),
    }


def _visit_rejected(p: Mapping) -> str:
    if "visit" not in p:
        raise KeyError("visit")  # a payload without its visit is shown as stored
    return with_reason(_("Home visit rejected."), p)


def _visit_checked_in(p: Mapping) -> str:
    if p["position_refused"]:
        return _("The field agents checked in (position refused).")
    return _("The field agents checked in.")


def _visit_done(p: Mapping) -> str:
    outcome = str(p["outcome"])
    labels = {
        "met_debtor": _("Met the debtor"),
        "promise_made": _("Promise to pay made"),
        "paid_on_site": _("Paid on site"),
        "not_home": _("Nobody at home"),
        "refused": _("Refused to talk"),
        "wrong_address": _("Wrong address"),
        "moved_away": _("Moved away"),
        "other": _("Other"),
    }
    return _("Home visit done: %(outcome)s.") % {"outcome": labels.get(outcome, outcome)}


_CASE_RENDERERS["visit_requested"] = _visit_requested
_CASE_RENDERERS["visit_approved"] = _visit_approved
_CASE_RENDERERS["visit_rejected"] = _visit_rejected
_CASE_RENDERERS["visit_checked_in"] = _visit_checked_in
_CASE_RENDERERS["visit_done"] = _visit_done

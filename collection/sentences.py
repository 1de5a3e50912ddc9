"""Collection case events read as sentences, in the reader's language (bnpl_admin.sentences says why)."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from bnpl_admin.sentences import SYSTEM_REASONS, Renderer, choice, money, sentence, then, with_reason
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


# What an OPENED event may hold: the sweep's {by, date, dpd, bucket} (cases_age), case_open's
# {assigned_agent, agent, agent_name, reason}, the demo book's {days_past_due, bucket}.
_OPENED_KEYS = {"by", "date", "dpd", "days_past_due", "assigned_agent", "agent", "agent_name", "reason"}
# case_open's reason when a person opens the case in the data admin (collection.admin).
_OPENED_IN_ADMIN = "admin"


def _case_opened(p: Mapping) -> str:
    """Who opened the case, then its days past due and bucket, then its agent by name or
    "unassigned" ("Case opened in the data admin, assigned to 王芳."): each part only when the
    payload has it."""
    if not _OPENED_KEYS & set(p):
        raise KeyError("opened")  # nothing this renderer knows: shown as stored
    reason = str(p.get("reason") or "").strip()
    if p.get("by") == "sweep":
        opened = (
            _("Case opened by the nightly sweep of %(date)s") % {"date": p["date"]}
            if p.get("date")
            else _("Case opened by the nightly sweep")
        )
    elif reason == _OPENED_IN_ADMIN:
        opened = _("Case opened in the data admin")
    else:
        opened = _("Case opened")
    if "dpd" in p or "days_past_due" in p:
        dpd = _dpd(p)
        figures = ngettext("%(dpd)d day past due, %(bucket)s", "%(dpd)d days past due, %(bucket)s", dpd) % {
            "dpd": dpd,
            "bucket": _bucket(p.get("bucket")),
        }
        opened = _("%(opened)s (%(figures)s)") % {"opened": opened, "figures": figures}
    # The agent by name, never by id: a payload with an id but no name (written before the name
    # was kept) says nothing of the agent; one whose agent is empty was opened unassigned.
    if "assigned_agent" in p or "agent" in p:
        name = p.get("agent_name") or p.get("agent")
        if name:
            assigned = _("assigned to %(agent)s") % {"agent": name}
        elif p.get("assigned_agent") is None:
            assigned = _("unassigned")
        else:
            assigned = ""
        if assigned:
            opened = _("%(opened)s, %(assigned)s") % {"opened": opened, "assigned": assigned}
    # Translators: the full stop that ends a sentence built of parts.
    sentence = _("%(sentence)s.") % {"sentence": opened}
    if reason == _OPENED_IN_ADMIN:
        return sentence
    return with_reason(sentence, p)


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
    if p.get("assignment_rule"):  # collection.assignment, after the sweep
        sentence = then(
            sentence, _("By the assignment rule for %(bucket)s.") % {"bucket": _bucket(p.get("bucket", ""))}
        )
    return sentence


def _case_status_changed(p: Mapping) -> str:
    reason = str(p.get("reason") or "")
    if reason in _CASE_REASONS:  # written by the collection services, in English
        p = {**p, "reason": str(_CASE_REASONS[reason])}
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


# --- Promises to pay ---------------------------------------------------------------------------

_CASE_REASONS = {
    "contact reached": gettext_lazy("a contact"),
    "promise: made": gettext_lazy("promise made"),
    "promise: kept": gettext_lazy("promise kept"),
    "promise: broken": gettext_lazy("promise broken"),
    "promise: reopened": gettext_lazy("promise reopened after a reversal"),
}


def _promise_words(p: Mapping) -> dict[str, str]:
    return {"amount": money(p["amount"]), "date": str(p["due_date"])}


def _promise_made(p: Mapping) -> str:
    return _("Promise to pay %(amount)s by %(date)s.") % _promise_words(p)


def _promise_kept(p: Mapping) -> str:
    words = {**_promise_words(p), "paid": money(p["paid"]), "decided": str(p["decided_on"])}
    return _by_sweep(
        _("Promise of %(amount)s by %(date)s kept: %(paid)s paid towards it by %(decided)s.") % words, p
    )


def _promise_broken(p: Mapping) -> str:
    words = {**_promise_words(p), "paid": money(p["paid"])}
    if p.get("by") == "reversal":
        return _(
            "Promise of %(amount)s by %(date)s broken after the reversal of payment %(payment)s: "
            "%(paid)s paid towards it by then."
        ) % {**words, "payment": p["payment"]}
    return _by_sweep(
        _("Promise of %(amount)s by %(date)s broken: %(paid)s paid towards it by then.") % words, p
    )


def _promise_cancelled(p: Mapping) -> str:
    words = {**_promise_words(p), "closed": str(p["decided_on"])}
    if p.get("by") == "reversal":
        words["payment"] = p["payment"]
        if p.get("superseded_by"):
            return (
                _(
                    "Promise of %(amount)s by %(date)s cancelled after the reversal of payment %(payment)s: "
                    "a newer promise waits on the case."
                )
                % words
            )
        return (
            _(
                "Promise of %(amount)s by %(date)s cancelled after the reversal of payment %(payment)s: "
                "the case closed on %(closed)s."
            )
            % words
        )
    return _by_sweep(
        _("Promise of %(amount)s by %(date)s cancelled: the case closed on %(closed)s.") % words, p
    )


def _promise_reopened(p: Mapping) -> str:
    return _(
        "Promise of %(amount)s by %(date)s reopened after the reversal of payment %(payment)s: "
        "it waits for its date again."
    ) % {**_promise_words(p), "payment": p["payment"]}


_CASE_RENDERERS["promise_made"] = _promise_made
_CASE_RENDERERS["promise_kept"] = _promise_kept
_CASE_RENDERERS["promise_broken"] = _promise_broken
_CASE_RENDERERS["promise_cancelled"] = _promise_cancelled
_CASE_RENDERERS["promise_reopened"] = _promise_reopened


# --- Settlements, restructures and write-offs (settlements app) -------------------------------
# The payload: the request's id and kind, and its terms (discounts, months or days past due).


def _arrangement_terms(p: Mapping) -> str:
    kind = p.get("kind")
    if kind == "settlement":
        return _(
            "a settlement forgiving %(late)s of late fees, %(fee)s of fees and %(principal)s of principal"
        ) % {
            "late": money(p["late_fee"]),
            "fee": money(p["fee"]),
            "principal": money(p["principal"]),
        }
    if kind == "restructure":
        return _("a restructure of what is left over %(months)s months") % {"months": int(p["months"])}
    if kind == "write_off":
        return _("a write-off at %(dpd)s days past due") % {"dpd": int(p["dpd"])}
    raise KeyError("kind")


def _arrangement(template: str) -> Renderer:
    def render(p: Mapping) -> str:
        return _by_sweep(
            with_reason(_(template) % {"terms": _arrangement_terms(p), "id": p["request"]}, p), p
        )

    return render


# Marked for translation here, translated when rendered (the reader's language).
_PROPOSED = gettext_noop("Proposed %(terms)s (request %(id)s).")
_APPROVED = gettext_noop("Approved %(terms)s (request %(id)s).")
_REJECTED = gettext_noop("Rejected %(terms)s (request %(id)s).")

_CASE_RENDERERS["settlement_proposed"] = _arrangement(_PROPOSED)
_CASE_RENDERERS["settlement_approved"] = _arrangement(_APPROVED)
_CASE_RENDERERS["settlement_rejected"] = _arrangement(_REJECTED)
_CASE_RENDERERS["write_off_proposed"] = _arrangement(_PROPOSED)
_CASE_RENDERERS["write_off_approved"] = _arrangement(_APPROVED)
_CASE_RENDERERS["write_off_rejected"] = _arrangement(_REJECTED)


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


def _visit_cancelled(p: Mapping) -> str:
    if "visit" not in p:
        raise KeyError("visit")  # a payload without its visit is shown as stored
    was = p.get("was")
    if was == "scheduled":
        sentence = _("Scheduled home visit cancelled.")
    elif was == "requested":
        sentence = _("Home visit request cancelled.")
    else:
        sentence = _("Home visit cancelled.")
    return with_reason(sentence, p)


_CASE_RENDERERS["visit_requested"] = _visit_requested
_CASE_RENDERERS["visit_approved"] = _visit_approved
_CASE_RENDERERS["visit_rejected"] = _visit_rejected
_CASE_RENDERERS["visit_checked_in"] = _visit_checked_in
_CASE_RENDERERS["visit_done"] = _visit_done
_CASE_RENDERERS["visit_cancelled"] = _visit_cancelled

"""The order decisions' section of a customer's risk page (bnpl_admin.customer_sections)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.http import urlencode

from bnpl_admin.customer_sections import SECTION_ROWS, newest

from .models import REVIEW_PERMISSION, Outcome
from .rules import reason_label
from .selectors import customer_decisions


def customer_section(*, customer, user) -> dict:
    """The customer's newest decisions (one query), each with its reasons in the reader's words;
    while one of them waits for review, a link to the review queue filtered to the customer.
    (Referrals wait hours, not months: one waiting is among the newest.)"""
    decisions = customer_decisions(customer=customer, limit=SECTION_ROWS + 1)
    may_review = user.has_perm(REVIEW_PERMISSION)
    data = newest([(d, [reason_label(code) for code in d.reason_codes]) for d in decisions])
    waiting = any(d.outcome == Outcome.REFER and not d.review_outcome for d, _reasons in data["rows"])
    data["may_review"] = may_review
    data["queue_url"] = (
        f"{reverse('decisions:review_queue')}?{urlencode({'platform_user_id': customer.platform_user_id})}"
        if may_review and waiting
        else None
    )
    return data

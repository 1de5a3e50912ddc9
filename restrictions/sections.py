"""The restrictions' section of a customer's risk page (bnpl_admin.customer_sections)."""

from __future__ import annotations

from bnpl_admin.customer_sections import SECTION_ROWS, newest

from .forms import RestrictForm
from .models import PERMISSION_RESTRICT, PERMISSION_VIEW_JOBS
from .selectors import customer_restrictions, line_actions


def customer_section(*, customer, user) -> dict:
    """Every freeze, unfreeze and closure of the customer's line, newest first (one query), and,
    for an analyst who may restrict lines, the one-line form: it posts to the customer's
    restriction page, which comes back to the risk page once the line is changed."""
    data = newest(customer_restrictions(customer=customer, limit=SECTION_ROWS + 1))
    # The risk page reads the customer with the line (risk.selectors.customer_risk): no query here.
    line = getattr(customer, "credit_line", None)
    may_restrict = user.has_perm(PERMISSION_RESTRICT)
    actions = line_actions(line=line) if may_restrict else []
    data.update(
        may_restrict=may_restrict,
        may_view_jobs=user.has_perm(PERMISSION_VIEW_JOBS),
        line=line,
        # The ids are prefixed so they cannot clash with the page's other forms.
        restrict_form=RestrictForm(actions=actions, auto_id="restrict_%s") if actions else None,
    )
    return data

"""What operations must look at: the sweep late or stuck, reminders waiting, ledgers that disagree.

One list of problems, read by the operations check (`/healthz/operations/`, polled by
monitoring) and by the home page of operations admins and managers, so both say the same.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.reconciliation import ledgers_last_reconciliation
from reminders.selectors import reminders_waiting_late
from sweep.selectors import chunks_stuck, sweep_overdue


@dataclass(frozen=True)
class Problem:
    code: str  # stable, for monitoring rules
    message: str  # for people, in the request's language


def operations_problems(*, now: datetime.datetime | None = None) -> list[Problem]:
    now = now or timezone.now()
    problems = []
    late = sweep_overdue(now=now)
    if late is not None:
        problems.append(
            Problem(
                "sweep_late",
                _("The nightly sweep for %(date)s is not done; it should have finished by %(hour)02d:00.")
                % {"date": late.isoformat(), "hour": settings.SWEEP_DONE_BY_HOUR},
            )
        )
    stuck = chunks_stuck(now=now)
    if stuck:
        problems.append(
            Problem(
                "sweep_chunks_stuck",
                ngettext(
                    "%(n)s sweep chunk has waited longer than its lease without a worker.",
                    "%(n)s sweep chunks have waited longer than their lease without a worker.",
                    stuck,
                )
                % {"n": stuck},
            )
        )
    waiting = reminders_waiting_late(
        now=now, late_after=datetime.timedelta(seconds=settings.REMINDERS_LATE_AFTER_SECONDS)
    )
    if waiting:
        problems.append(
            Problem(
                "reminders_late",
                ngettext(
                    "%(n)s reminder is waiting past its time to go out.",
                    "%(n)s reminders are waiting past their time to go out.",
                    waiting,
                )
                % {"n": waiting},
            )
        )
    reconciliation = ledgers_last_reconciliation()
    mismatches = (reconciliation.payload or {}).get("mismatches", 0) if reconciliation else 0
    if mismatches:
        problems.append(
            Problem(
                "ledger_mismatch",
                ngettext(
                    "The ledger reconciliation of %(when)s found %(n)s mismatch; see the audit trail.",
                    "The ledger reconciliation of %(when)s found %(n)s mismatches; see the audit trail.",
                    mismatches,
                )
                % {
                    "n": mismatches,
                    "when": timezone.localtime(reconciliation.created_at).strftime("%Y-%m-%d %H:%M"),
                },
            )
        )
    return problems

"""Work of the collections app chained after other apps' news (bnpl_admin.signals, orders.signals)."""

from __future__ import annotations

from django.db import transaction

from bnpl_admin.signals import sweep_done
from orders.signals import books_changed, payment_reversed


def promises_decide_after_sweep(sender, *, business_date, **kwargs) -> None:
    """After a night's sweep, decide the promises due before its date: a task of its own,
    published once the sweep's work is committed (robust: with the broker down the sweep is still
    done; the next night's task decides the promises this one would have)."""
    from .tasks import promises_decide_task

    on = business_date.isoformat()
    transaction.on_commit(lambda: promises_decide_task.delay(on), robust=True)


def case_amounts_after_books_changed(sender, *, customer_ids, **kwargs) -> None:
    """An orders service changed these customers' books: their open cases' amount overdue
    follows, in the same transaction (rolled back with the change)."""
    from .services import case_amounts_refresh

    case_amounts_refresh(customer_ids=customer_ids)


def promises_redecide_on_reversal(sender, *, payment, by=None, **kwargs) -> None:
    """A reversed payment no longer keeps a promise: re-decide the promises it counted towards, in
    the reversal's transaction (inline, not a task: the ledger and its decisions change together)."""
    from .services import promises_redecide_after_reversal

    promises_redecide_after_reversal(payment=payment, by=by)


def connect() -> None:
    sweep_done.connect(promises_decide_after_sweep, dispatch_uid="collections.promises_decide")
    books_changed.connect(case_amounts_after_books_changed, dispatch_uid="collections.case_amounts")
    payment_reversed.connect(promises_redecide_on_reversal, dispatch_uid="collections.promises_redecide")

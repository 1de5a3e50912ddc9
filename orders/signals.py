"""Domain signals the orders app publishes, for the apps that act on them (reminders' receipt,
collections' promises to pay).

The orders app imports none of its subscribers: an app that needs to act when money moves
connects a receiver in its AppConfig.ready, and the import contract (pyproject.toml) keeps
the dependency pointing that way.
"""

from django.dispatch import Signal

# Sent by orders.services.payment_post inside its transaction, once the new payment is
# allocated, never for a replayed reference. Keyword argument: payment. A receiver writes in
# that transaction (an outbox row, a receipt), so its rows exist exactly when the payment
# does; an exception in a receiver rolls the payment back with them.
payment_posted = Signal()

# Sent by every orders service that may change what a customer owes or which of their
# instalments are overdue (payments, credit, reversals, waivers, returns, holds, restructures,
# write-offs: each catches the customer's books up first), inside its transaction, after the
# change. Keyword argument: customer_ids. A receiver keeps figures derived from the books in
# step with them (collection's amount overdue on a case); the sweep refreshes them for itself.
books_changed = Signal()

# Sent by orders.services.payment_reverse inside its transaction, once the payment is marked
# reversed and its allocations undone. Keyword arguments: payment, by (who reversed it). The
# collections app re-decides the promises to pay the payment counted towards; as above, an
# exception in a receiver rolls the reversal back.
payment_reversed = Signal()

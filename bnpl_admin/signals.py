"""Signals between apps that neither may import: the lower one sends, the higher ones listen.

`sweep_done` is sent once when a night's sweep run is done (sweep.services.sweep_finish), after
its transaction commits. The work chained after the sweep (case assignment rules, broken
promises, write-off proposals, nightly rescoring) connects a receiver in its app's
`AppConfig.ready` that publishes its own idempotent Celery task; a receiver must not do the work
inline, so one slow follower never delays the others.
"""

from django.dispatch import Signal

# Arguments: business_date (datetime.date), run_id (int).
sweep_done = Signal()

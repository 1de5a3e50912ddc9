"""An outbox backend whose 25th message stalls after being stored: where test_worker.py kills the worker."""

import itertools
import time

from reminders.backends import OutboxBackend

STALL_ON = 25
STALL_SECONDS = 2.0
_sends = itertools.count(1)


class SlowOutboxBackend(OutboxBackend):
    def send(self, message):
        provider_id = super().send(message)
        # Stored in the outbox, not yet recorded as sent: a kill now is the crash that matters.
        time.sleep(STALL_SECONDS if next(_sends) == STALL_ON else 0.005)
        return provider_id

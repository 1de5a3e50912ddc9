"""Signals of staff sign-in security, for the apps that keep a record of it (the audit trail)."""

from django.dispatch import Signal

# Sent by accounts.otp.second_factor_reset inside its transaction, after the devices are gone.
# Keyword arguments: user (whose factor was reset), by (who reset it), reason (text),
# request (the admin request, or None outside a request).
second_factor_reset = Signal()

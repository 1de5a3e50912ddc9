"""Signals of staff sign-in security, for the apps that keep a record of it (the audit trail).

The accounts app imports none of its subscribers: the audit trail connects to these in its
AppConfig.ready (audit.receivers), so the dependency points from audit to accounts.
"""

from django.dispatch import Signal

# Sent by accounts.otp.second_factor_reset inside its transaction, after the devices are gone.
# Keyword arguments: user (whose factor was reset), by (who reset it), reason (text),
# request (the admin request, or None outside a request).
second_factor_reset = Signal()

# Sent by accounts.services.user_set_password_by inside its transaction, once the password is
# set, the sessions ended and the second factor removed. Keyword arguments: user, by, reason
# (text), sessions_ended and second_factor_devices_removed (counts), request (or None).
password_set_by_other = Signal()

# Sent by accounts.services.sign_in_lockout_lift inside its transaction, once per django-axes
# access attempt, before it is deleted. Keyword arguments: attempt, by, request (or None).
sign_in_lockout_lifted = Signal()

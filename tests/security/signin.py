"""Helpers for the sign-in security tests: the password step, and codes an authenticator would show."""

import time

from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "correct horse battery staple"


def password_step(client, username: str, password: str = PASSWORD, **extra):
    """Post the sign-in form (step one) and return the response, not followed."""
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def _codes(device: TOTPDevice, offsets) -> list[str]:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = time.time()
    codes = []
    for offset in offsets:
        totp.time = now + offset * device.step
        codes.append(f"{totp.token():0{device.digits}d}")
    return codes


def current_code(device: TOTPDevice) -> str:
    """What the user's authenticator app shows now."""
    return _codes(device, [0])[0]


def wrong_code(device: TOTPDevice) -> str:
    """Six digits the device accepts at no time step it tolerates around now."""
    valid = set(_codes(device, range(-device.tolerance - 1, device.tolerance + 2)))
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)

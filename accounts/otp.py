"""Second factors of staff users (django-otp): enrolment, verification, backup codes, reset, demo codes."""

from __future__ import annotations

import re
from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from bnpl_admin.errors import DomainError

from . import signals

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
_SEPARATORS = re.compile(r"[\s-]+")


class SecondFactorError(DomainError):
    """A code that did not pass; the message is safe to show."""


def has_second_factor(user) -> bool:
    """Whether the user can pass the second step: a confirmed authenticator or an unused backup code."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or StaticToken.objects.filter(device__user=user, device__confirmed=True).exists()
    )


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def code_normalize(code: str) -> str:
    """What people type: spaces and dashes between groups, capitals from a printout."""
    return _SEPARATORS.sub("", code).lower()


def _new_backup_code() -> str:
    # Eight base32 characters (40 bits), always with a letter, so a backup code can never be
    # taken for an authenticator's all-digit code (second_factor_verify tells them apart).
    while True:
        code = StaticToken.random_token()
        if not code.isdigit():
            return code


# --- Enrolment -------------------------------------------------------------------------------


def totp_device_pending(*, user) -> TOTPDevice:
    """The authenticator the user is enrolling: made on the first call, the same key after a reload."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_secret_text(device: TOTPDevice) -> str:
    """The key as people type it into an app without a camera: base32 in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_svg(device: TOTPDevice) -> SafeString:
    """The otpauth:// URL as an inline SVG QR code: shapes only, no script and no style attribute."""
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=12, border=4
    )
    svg = image.to_string(encoding="unicode")
    label = escape(_("QR code for your authenticator app"))
    # The SVG is built by qrcode from our own URL: path data and numbers, nothing a user typed.
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


def totp_enrol_confirm(*, user, token: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a code from it; returns it and ten new backup codes.

    It replaces any authenticator the user had, and the new backup codes replace the old.
    """
    codes: list[str] = []
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        )
        # verify_token records a failure for throttling: let it commit, so no exception in here.
        verified = device is not None and device.verify_token(code_normalize(token))
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            codes = backup_codes_issue(user=user)
    if not verified:
        raise SecondFactorError(_("That code did not match. Check the time on your phone and try again."))
    return device, codes


@transaction.atomic
def backup_codes_issue(*, user) -> list[str]:
    """Ten new one-time backup codes for the user; any older ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes: set[str] = set()
    while len(codes) < BACKUP_CODE_COUNT:
        codes.add(_new_backup_code())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in sorted(codes))
    return sorted(codes)


# --- The second step -------------------------------------------------------------------------


def second_factor_verify(*, user, code: str) -> Device:
    """The device that accepts `code`: the authenticator for digits, a backup code otherwise.

    Each try goes to the one kind of device it can match, so a backup code never counts as a
    failure against the authenticator's throttle (django-otp slows a device down after each
    failure). A backup code is used up by passing.
    """
    code = code_normalize(code)
    model = TOTPDevice if code.isdigit() else StaticDevice
    for device in model.objects.devices_for_user(user, confirmed=True).order_by("pk"):
        # django_otp.verify_token locks the device row, so one backup code cannot pass twice
        # in two requests at once.
        verified = verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified
    raise SecondFactorError(
        _("That code is not valid. Try the current code from your app, or a backup code.")
    )


# --- Reset by an operations admin --------------------------------------------------------------


@transaction.atomic
def second_factor_reset(*, user, by, reason: str = "", request=None) -> int:
    """Remove the user's authenticators and backup codes; they enrol again at their next step.

    Refused (DomainError) unless `by` may change `user`'s account (accounts.services): nobody
    resets their own factor or, unless a superuser, a superuser's or an operations admin's.
    Recorded on the user's history (who reset whose factor, and when) and announced with
    accounts.signals.second_factor_reset for the audit trail. Returns the devices removed.
    """
    from .services import user_manage_check

    user_manage_check(user=user, by=by)
    removed = second_factor_devices_delete(user=user)

    # The history table records a row on save: write one column with the value it already has,
    # so the row carries who and why without undoing anyone's concurrent change to the user.
    user._history_user = by
    user._change_reason = f"second factor reset by {by.get_username()}"[:100]
    user.save(update_fields=["is_active"])

    signals.second_factor_reset.send(
        sender=type(user), user=user, by=by, reason=reason or user._change_reason, request=request
    )
    return removed


def second_factor_devices_delete(*, user) -> int:
    """Delete every authenticator and set of backup codes of `user`; the caller checks who asks."""
    removed = TOTPDevice.objects.filter(user=user).count() + StaticDevice.objects.filter(user=user).count()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    return removed


# --- Demo -----------------------------------------------------------------------------------


def demo_backup_code(user) -> str:
    """Give a demo user one fresh backup code and return it, for seed_demo to print with the password.

    Refused unless DEBUG or BNPL_ALLOW_DEMO_CODES is on: production has no such shortcut.
    """
    if not (settings.DEBUG or getattr(settings, "BNPL_ALLOW_DEMO_CODES", False)):
        raise ImproperlyConfigured(
            "demo_backup_code() hands out sign-in codes and is for the demo only: "
            "it needs DEBUG or BNPL_ALLOW_DEMO_CODES."
        )
    with transaction.atomic():
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
        )
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        code = _new_backup_code()
        device.token_set.create(token=code)
    return code

"""Checks of an uploaded visit photo, by opening it with Pillow: what the file IS, not what its
name or the browser claims."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from bnpl_admin.errors import DomainError

# Pillow's format name → the content type the photo is stored and served with.
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class PhotoRefused(DomainError):
    pass


@dataclass(frozen=True)
class CheckedPhoto:
    content: bytes
    content_type: str
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.content)


def photo_check(upload) -> CheckedPhoto:
    """Read an uploaded file and return it checked, or raise PhotoRefused saying why."""
    limit = settings.VISITS_PHOTO_MAX_BYTES
    name = str(getattr(upload, "name", "") or "")[:100]
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise _too_big(name, limit)
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise _too_big(name, limit)
    if not content:
        raise PhotoRefused(_("The file %(name)s is empty.") % {"name": name}, code="photo_empty")
    not_an_image = PhotoRefused(
        _("The file %(name)s is not a JPEG, PNG or WebP image.") % {"name": name}, code="photo_type"
    )
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                image_format = image.format
                width, height = image.size
                if image_format not in ALLOWED_FORMATS:
                    raise not_an_image
                _bounds_check(name, width, height)
                image.verify()
            # verify() leaves the image unusable; decoding the pixels catches a truncated file.
            with Image.open(io.BytesIO(content)) as image:
                image.load()
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise not_an_image from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # what Pillow raises for a broken file
        raise not_an_image from exc
    return CheckedPhoto(
        content=content, content_type=ALLOWED_FORMATS[image_format], width=width, height=height
    )


def _too_big(name: str, limit: int) -> PhotoRefused:
    return PhotoRefused(
        _("The file %(name)s is larger than %(limit)s.") % {"name": name, "limit": filesizeformat(limit)},
        code="photo_size",
    )


def _bounds_check(name: str, width: int, height: int) -> None:
    side, pixels = settings.VISITS_PHOTO_MAX_SIDE, settings.VISITS_PHOTO_MAX_PIXELS
    if width < 1 or height < 1 or width > side or height > side or width * height > pixels:
        raise PhotoRefused(
            _("The image %(name)s is %(width)s × %(height)s pixels; at most %(side)s pixels a side.")
            % {"name": name, "width": width, "height": height, "side": side},
            code="photo_dimensions",
        )

"""Photo evidence is checked by opening it with Pillow: the type it IS (JPEG, PNG, WebP), its size
and its pixel dimensions, whatever its name or the browser's claim says."""

from __future__ import annotations

import contextlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from visits.photos import PhotoRefused, photo_check

from .builders import png_bytes


def upload(content: bytes, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.mark.parametrize(
    ("image_format", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_jpeg_png_and_webp_are_taken_with_the_type_they_are(image_format, content_type):
    checked = photo_check(
        upload(png_bytes(image_format=image_format), name="x.bin", content_type="text/plain")
    )
    assert checked.content_type == content_type
    assert (checked.width, checked.height) == (40, 30)


def test_a_gif_is_refused():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    with pytest.raises(PhotoRefused) as excinfo:
        photo_check(upload(buffer.getvalue(), name="a.gif", content_type="image/gif"))
    assert excinfo.value.code == "photo_type"


def test_a_text_file_named_jpg_is_refused():
    with pytest.raises(PhotoRefused) as excinfo:
        photo_check(upload(b"<script>alert(1)</script>" * 10, name="evil.jpg"))
    assert excinfo.value.code == "photo_type"
    assert "evil.jpg" in excinfo.value.message


def test_a_truncated_image_is_refused():
    content = png_bytes(size=(200, 200), image_format="JPEG")
    with pytest.raises(PhotoRefused) as excinfo:
        photo_check(upload(content[: len(content) // 2]))
    assert excinfo.value.code == "photo_type"


def test_an_empty_file_is_refused():
    with pytest.raises(PhotoRefused) as excinfo:
        photo_check(upload(b""))
    assert excinfo.value.code == "photo_empty"


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.VISITS_PHOTO_MAX_BYTES = 1000
    content = png_bytes(size=(300, 300), image_format="PNG", color=(1, 2, 3))
    noisy = Image.effect_noise((300, 300), 100)
    buffer = io.BytesIO()
    noisy.save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 1000
    with pytest.raises(PhotoRefused) as excinfo:
        photo_check(upload(buffer.getvalue(), name="big.png"))
    assert excinfo.value.code == "photo_size"
    assert photo_check(upload(content[:0] or png_bytes(size=(4, 4)))).size <= 1000


def test_the_default_limit_is_five_megabytes(settings):
    assert settings.VISITS_PHOTO_MAX_BYTES == 5 * 1024 * 1024
    with pytest.raises(PhotoRefused) as excinfo:
        photo_check(upload(b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024)))
    assert excinfo.value.code == "photo_size"


def test_too_many_pixels_is_refused(settings):
    settings.VISITS_PHOTO_MAX_SIDE = 100
    with pytest.raises(PhotoRefused) as excinfo:
        photo_check(upload(png_bytes(size=(101, 10)), name="wide.png"))
    assert excinfo.value.code == "photo_dimensions"


def test_a_decompression_bomb_is_refused(settings):
    # A tiny PNG declaring a huge canvas: refused from its header, before its pixels are decoded.
    settings.VISITS_PHOTO_MAX_SIDE = 100_000
    settings.VISITS_PHOTO_MAX_PIXELS = 10**12
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buffer, format="PNG")
    with pytest.raises(PhotoRefused):
        photo_check(upload(buffer.getvalue(), name="bomb.png"))


@settings(max_examples=200, deadline=None)
@given(content=st.binary(min_size=0, max_size=2000))
def test_any_bytes_are_a_photo_or_a_refusal_never_a_crash(content):
    try:
        checked = photo_check(upload(content))
    except PhotoRefused as refusal:
        assert refusal.code.startswith("photo_")
    else:
        assert checked.content_type in {"image/jpeg", "image/png", "image/webp"}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_real_image_with_bytes_flipped_is_a_photo_or_a_refusal(data):
    content = bytearray(png_bytes(image_format=data.draw(st.sampled_from(["PNG", "JPEG", "WEBP"]))))
    for _ in range(data.draw(st.integers(1, 8))):
        content[data.draw(st.integers(0, len(content) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(PhotoRefused):
        photo_check(upload(bytes(content)))

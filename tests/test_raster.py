"""Ordinary images: identifying metadata removed, pixels untouched, every format."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from medanon import InputError, Scrubber
from medanon.raster import decode_image, detect_format, metadata_left, strip_metadata

SECRETS = [b"CanonEOS-SN-4471", b"Dr Hypolite Vasseur", b"2024:03:17", b"Clinique Saint"]


def _picture() -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray((rng.random((40, 60, 3)) * 255).astype("uint8"))


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "CanonEOS-SN-4471"  # Model (a serial here)
    exif[0x013B] = "Dr Hypolite Vasseur"  # Artist
    exif[0x0132] = "2024:03:17 10:15:00"  # DateTime
    exif[0x010E] = "Clinique Saint-Hilarion, patient photo"  # ImageDescription
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[2] = (45.0, 46.0, 40.0)  # GPSLatitude
    return exif


def _encode(fmt: str, orientation: int = 1) -> bytes:
    buffer = io.BytesIO()
    image = _picture()
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Dr Hypolite Vasseur")
        info.add_itxt("Comment", "Clinique Saint-Hilarion 2024:03:17")
        image.save(buffer, "PNG", pnginfo=info, exif=_exif())
    elif fmt == "jpeg":
        image.save(buffer, "JPEG", exif=_exif(orientation), comment=b"Clinique Saint-Hilarion")
    elif fmt == "webp":
        image.save(buffer, "WEBP", exif=_exif(), xmp=b"<x>Dr Hypolite Vasseur</x>", lossless=True)
    elif fmt == "tiff":
        image.save(buffer, "TIFF", exif=_exif())
    elif fmt == "bmp":
        image.save(buffer, "BMP")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tiff", "bmp"])
def test_metadata_goes_and_pixels_stay(fmt: str) -> None:
    data = _encode(fmt)
    assert detect_format(data) == fmt
    if fmt != "bmp":
        assert any(secret in data for secret in SECRETS)
    stripped = strip_metadata(data, fmt)
    for secret in SECRETS:
        assert secret not in stripped.data
    assert metadata_left(stripped.data, fmt) == []
    before, after = decode_image(data), decode_image(stripped.data)
    assert before is not None and after is not None
    assert np.array_equal(before, after)


def test_jpeg_is_not_recompressed_and_keeps_orientation() -> None:
    data = _encode("jpeg", orientation=6)
    stripped = strip_metadata(data, "jpeg")
    scan = data.index(b"\xff\xda")
    assert stripped.data.endswith(data[scan:])  # entropy-coded data copied as is
    assert set(stripped.removed) == {"EXIF/XMP", "COM"}
    shown = Image.open(io.BytesIO(stripped.data))
    assert shown.getexif().get(0x0112) == 6
    assert set(shown.getexif()) == {0x0112}


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_truncated_images_fail(fmt: str) -> None:
    data = _encode(fmt)
    with pytest.raises(InputError, match=r"truncated|corrupt"):
        strip_metadata(data[: len(data) - 40], fmt)


def test_scrub_file_handles_images_beside_dicom(scrubber: Scrubber, tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(_encode("jpeg"))
    before = source.read_bytes()
    result = scrubber.scrub_file(source, tmp_path / "out" / "photo.jpg")
    assert result.status == "ok", result.error
    assert result.actions["metadata_blocks_removed"] == 2
    assert result.warnings  # pixels not searched: said, not hidden
    data = (tmp_path / "out" / "photo.jpg").read_bytes()
    assert all(secret not in data for secret in SECRETS)
    assert source.read_bytes() == before
    png = tmp_path / "scan.png"
    ok, encoded = cv2.imencode(".png", np.zeros((4, 4), np.uint8))
    assert ok
    png.write_bytes(encoded.tobytes()[:30])  # truncated
    failed = scrubber.scrub_file(png, tmp_path / "out" / "scan.png")
    assert failed.status == "failed" and not (tmp_path / "out" / "scan.png").exists()

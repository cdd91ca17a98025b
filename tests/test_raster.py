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


# -- JPEG beyond the first scan: segments between scans, data after End of Image -----------------
def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body


def _progressive_with_comment() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
    between = _segment(0xFE, b"Dr Hypolite Vasseur") + _segment(0xE1, b"Exif\x00\x002024:03:17")
    return data[:second_scan] + between + data[second_scan:]


def _with_appended_jpeg() -> bytes:
    second = io.BytesIO()
    _picture().resize((16, 12)).save(second, "JPEG", exif=_exif())
    return _encode("jpeg") + second.getvalue()


def _with_trailer() -> bytes:
    return _encode("jpeg") + b"VENDOR\x00owner=Dr Hypolite Vasseur; shot 2024:03:17\x00"


@pytest.mark.parametrize(
    ("build", "names"),
    [
        (_progressive_with_comment, {"COM", "EXIF/XMP"}),
        (_with_appended_jpeg, {"EXIF/XMP", "COM", "trailer"}),
        (_with_trailer, {"EXIF/XMP", "COM", "trailer"}),
    ],
    ids=["comment between scans", "appended JPEG", "trailer after EOI"],
)
def test_jpeg_metadata_after_first_scan_goes(build, names: set[str]) -> None:
    data = build()
    assert set(metadata_left(data, "jpeg")) == names
    stripped = strip_metadata(data, "jpeg")
    assert set(stripped.removed) == names
    for secret in SECRETS:
        assert secret not in stripped.data
    assert b"Exif" not in stripped.data and b"VENDOR" not in stripped.data
    assert stripped.data.endswith(b"\xff\xd9")
    assert stripped.data.count(b"\xff\xd8") == 1  # no second image
    assert metadata_left(stripped.data, "jpeg") == []
    before, after = decode_image(data), decode_image(stripped.data)
    assert before is not None and after is not None
    assert np.array_equal(before, after)  # same entropy-coded data, same pixels
    shown = np.asarray(Image.open(io.BytesIO(stripped.data)))
    assert np.array_equal(shown, np.asarray(Image.open(io.BytesIO(data))))  # first picture


@pytest.mark.parametrize("progressive", [0, 1])
def test_jpeg_scans_and_restart_markers_are_copied_as_is(progressive: int) -> None:
    """Restart markers and stuffed 0xFF bytes belong to the scan: nothing of it changes."""
    picture = (np.random.default_rng(3).random((64, 96, 3)) * 255).astype("uint8")
    params = [cv2.IMWRITE_JPEG_PROGRESSIVE, progressive, cv2.IMWRITE_JPEG_RST_INTERVAL, 2]
    ok, encoded = cv2.imencode(".jpg", picture, params)
    assert ok
    data = encoded.tobytes()
    assert b"\xff\xd0" in data[data.index(b"\xff\xda") :]
    stripped = strip_metadata(data, "jpeg")
    assert stripped.data.endswith(data[data.index(b"\xff\xda") :])
    assert np.array_equal(decode_image(data), decode_image(stripped.data))


def test_jfif_thumbnail_goes_and_jfif_header_stays() -> None:
    data = _encode("jpeg")
    assert data[2:4] == b"\xff\xe0"
    jfif_end = 4 + int.from_bytes(data[4:6], "big")
    fields = data[6:18]  # identifier, version, units, densities
    with_thumbnail = _segment(0xE0, fields + bytes([2, 1]) + b"\x10\x20\x30" * 2)
    stripped = strip_metadata(data[:2] + with_thumbnail + data[jfif_end:], "jpeg")
    assert "JFIF thumbnail" in stripped.removed
    assert stripped.data[2:20] == b"\xff\xe0\x00\x10" + fields + b"\x00\x00"
    assert b"\x10\x20\x30" not in stripped.data[:40]
    assert metadata_left(stripped.data, "jpeg") == []


@pytest.mark.parametrize("cut", [2, 40, 400])
def test_truncated_progressive_jpeg_fails(cut: int) -> None:
    data = _progressive_with_comment()
    with pytest.raises(InputError, match=r"truncated|corrupt"):
        strip_metadata(data[: len(data) - cut], "jpeg")
    with pytest.raises(InputError, match=r"truncated|corrupt"):
        metadata_left(data[: len(data) - cut], "jpeg")

"""Ordinary images: identifying metadata removed, pixels untouched, every format."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin, TiffImagePlugin

from medanon import InputError, Scrubber, raster
from medanon.raster import (
    decode_image,
    detect_format,
    encode_image,
    frame_count,
    metadata_left,
    strip_metadata,
)

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


# -- JPEG: medanon's own orientation EXIF passes verification; only it --------------------------
@pytest.mark.parametrize("orientation", range(2, 9))
def test_jpeg_with_orientation_passes_verification(orientation: int) -> None:
    stripped = strip_metadata(_encode("jpeg", orientation), "jpeg")
    assert metadata_left(stripped.data, "jpeg") == []
    image = decode_image(stripped.data)
    again = encode_image(image, "jpeg", like=stripped.data)  # pixels redacted: encoded again
    assert metadata_left(again, "jpeg") == []
    assert Image.open(io.BytesIO(again)).getexif().get(0x0112) == orientation


def test_jpeg_exif_other_than_the_minimal_orientation_is_flagged() -> None:
    data = strip_metadata(_encode("jpeg", 6), "jpeg").data
    at = data.index(b"Exif\x00\x00")
    tampered = data[: at + 20] + b"J" + data[at + 21 :]  # one byte of the IFD changed
    assert metadata_left(tampered, "jpeg") == ["EXIF/XMP"]
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x013B] = "DOE^JOHN"
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", exif=exif.tobytes())
    assert metadata_left(buffer.getvalue(), "jpeg") == ["EXIF/XMP"]


def test_scrub_file_keeps_jpeg_orientation(scrubber: Scrubber, tmp_path: Path) -> None:
    source = tmp_path / "portrait.jpg"
    source.write_bytes(_encode("jpeg", orientation=6))
    result = scrubber.scrub_file(source, tmp_path / "out" / "portrait.jpg")
    assert result.status == "ok", result.error
    shown = Image.open(tmp_path / "out" / "portrait.jpg")
    assert dict(shown.getexif()) == {0x0112: 6}


# -- JPEG APP14: the standard Adobe segment only -------------------------------------------------
def _with_app14(body: bytes) -> bytes:
    """An APP14 in place of the JFIF header (with JFIF, decoders ignore the Adobe transform)."""
    data = _encode("jpeg")
    jfif_end = 4 + int.from_bytes(data[4:6], "big")
    return data[:2] + _segment(0xEE, body) + data[jfif_end:]


def test_app14_that_is_not_adobe_goes() -> None:
    data = _with_app14(b"DOE^JOHN 1961-04-12 MRN 99887766")
    assert set(metadata_left(data, "jpeg")) == {"EXIF/XMP", "COM", "APPn"}
    stripped = strip_metadata(data, "jpeg")
    assert b"DOE^JOHN" not in stripped.data and b"\xff\xee" not in stripped.data[:200]
    assert metadata_left(stripped.data, "jpeg") == []
    assert np.array_equal(decode_image(data), decode_image(stripped.data))


def test_standard_adobe_app14_stays_byte_for_byte() -> None:
    adobe = b"Adobe" + bytes([0, 100, 0, 0, 0, 0, 1])
    stripped = strip_metadata(_with_app14(adobe), "jpeg")
    assert _segment(0xEE, adobe) in stripped.data
    assert "Adobe fields" not in stripped.removed
    assert metadata_left(stripped.data, "jpeg") == []


def test_adobe_app14_with_extra_bytes_is_rewritten_with_its_transform() -> None:
    """Transform 0 makes a 3-component JPEG decode as RGB: the pixels depend on it."""
    data = _with_app14(b"Adobe" + bytes([0, 100]) + b"DOEJ" + b"\x00" + b"Hypolite Vasseur")
    plain = decode_image(_encode("jpeg"))
    assert not np.array_equal(decode_image(data), plain)
    assert "Adobe fields" in metadata_left(data, "jpeg")
    stripped = strip_metadata(data, "jpeg")
    assert "Adobe fields" in stripped.removed
    assert b"Vasseur" not in stripped.data and b"DOEJ" not in stripped.data
    assert _segment(0xEE, b"Adobe" + bytes([0, 100, 0, 0, 0, 0, 0])) in stripped.data
    assert metadata_left(stripped.data, "jpeg") == []
    assert np.array_equal(decode_image(data), decode_image(stripped.data))


def test_unknown_jpeg_marker_segment_goes() -> None:
    data = _encode("jpeg")
    sof = data.index(b"\xff\xc0")
    hidden = data[:sof] + _segment(0xF1, b"Dr Hypolite Vasseur") + data[sof:]
    assert "unknown marker" in metadata_left(hidden, "jpeg")
    stripped = strip_metadata(hidden, "jpeg")
    assert b"Vasseur" not in stripped.data
    assert metadata_left(stripped.data, "jpeg") == []


# -- WebP: only the image chunks -----------------------------------------------------------------
def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "little") + payload + b"\x00" * (len(payload) & 1)


def _riff(body: bytes) -> bytes:
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


def _frames(data: bytes) -> list[np.ndarray]:
    shown = Image.open(io.BytesIO(data))
    frames = []
    for index in range(getattr(shown, "n_frames", 1)):
        shown.seek(index)
        frames.append(np.asarray(shown.convert("RGBA")))
    return frames


def test_unknown_webp_chunk_goes() -> None:
    buffer = io.BytesIO()
    _picture().save(buffer, "WEBP", lossless=True)
    data = _riff(buffer.getvalue()[12:] + _riff_chunk(b"ICMT", b"Dr Hypolite Vasseur"))
    assert metadata_left(data, "webp") == ["ICMT"]
    stripped = strip_metadata(data, "webp")
    assert stripped.removed == ("ICMT",)
    assert b"Vasseur" not in stripped.data
    assert metadata_left(stripped.data, "webp") == []
    assert int.from_bytes(stripped.data[4:8], "little") == len(stripped.data) - 8
    assert np.array_equal(decode_image(data), decode_image(stripped.data))


def _animated_webp() -> bytes:
    frames = [_picture(), _picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    return buffer.getvalue()


def test_unknown_chunk_inside_an_animation_frame_goes() -> None:
    data = _animated_webp()
    at = data.index(b"ANMF")
    size = int.from_bytes(data[at + 4 : at + 8], "little")
    hidden = _riff_chunk(b"NOTE", b"Dr Hypolite Vasseur")
    anmf = _riff_chunk(b"ANMF", data[at + 8 : at + 8 + size] + hidden)
    data = _riff(data[12:at] + anmf + data[at + 8 + size + (size & 1) :])
    assert metadata_left(data, "webp") == ["NOTE"]
    stripped = strip_metadata(data, "webp")
    assert b"Vasseur" not in stripped.data and metadata_left(stripped.data, "webp") == []
    before, after = _frames(data), _frames(stripped.data)
    assert len(after) == 2 and all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_vp8x_flags_follow_the_chunks_kept() -> None:
    stripped = strip_metadata(_encode("webp"), "webp")
    assert stripped.data[12:16] == b"VP8X"
    assert stripped.data[20] & 0x0C == 0  # no EXIF, no XMP announced
    assert stripped.data[21:24] == b"\x00\x00\x00"


# -- PNG: iCCP profile name, trailer -------------------------------------------------------------
def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + kind + body + crc


def test_png_iccp_name_is_replaced_and_profile_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    _picture().save(buffer, "PNG")
    plain = buffer.getvalue()
    iccp = _png_chunk(b"iCCP", b"DOE JOHN 1961\x00\x00" + zlib.compress(profile))
    data = plain[:33] + iccp + plain[33:]
    assert metadata_left(data, "png") == ["iCCP name"]
    stripped = strip_metadata(data, "png")
    assert stripped.removed == ("iCCP name",)
    assert b"DOE JOHN" not in stripped.data
    assert metadata_left(stripped.data, "png") == []  # CRCs checked too
    shown = Image.open(io.BytesIO(stripped.data))
    assert shown.info["icc_profile"] == profile
    assert np.array_equal(decode_image(data), decode_image(stripped.data))


def test_png_trailer_after_iend_goes() -> None:
    buffer = io.BytesIO()
    _picture().save(buffer, "PNG")
    data = buffer.getvalue() + b"Dr Hypolite Vasseur"
    assert metadata_left(data, "png") == ["trailer"]
    stripped = strip_metadata(data, "png")
    assert stripped.data == buffer.getvalue() and stripped.removed == ("trailer",)


# -- BMP: written again from its pixels ---------------------------------------------------------
NAME = b"DUPONTEL^Marguerite PID48151623"


def _bmp(mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    picture = _picture()
    image = picture.convert(mode) if mode != "P" else picture.quantize(64)
    image.save(buffer, "BMP")
    return buffer.getvalue()


def _with_gap(data: bytes) -> bytes:
    offset = int.from_bytes(data[10:14], "little")
    gap = data[:offset] + NAME + data[offset:]
    size, new_offset = len(gap).to_bytes(4, "little"), (offset + len(NAME)).to_bytes(4, "little")
    return gap[:2] + size + gap[6:10] + new_offset + gap[14:]


def _with_reserved(data: bytes) -> bytes:
    return data[:6] + b"DOEJ" + data[10:]  # bfReserved1, bfReserved2


@pytest.mark.parametrize(
    ("build", "names"),
    [
        (lambda data: data + NAME, ["trailer"]),
        (_with_gap, ["gap"]),
        (_with_reserved, ["BMP header"]),
    ],
    ids=["trailer", "gap before pixels", "reserved header fields"],
)
def test_bmp_hidden_bytes_go(build, names: list[str]) -> None:
    data = build(_bmp())
    assert metadata_left(data, "bmp") == names
    stripped = strip_metadata(data, "bmp")
    assert NAME not in stripped.data and b"DOEJ" not in stripped.data
    assert metadata_left(stripped.data, "bmp") == []
    assert np.array_equal(decode_image(data), decode_image(stripped.data))


@pytest.mark.parametrize(("mode", "bits"), [("RGB", 24), ("L", 8), ("P", 24), ("1", 8)])
def test_bmp_rewrite_keeps_pixels(mode: str, bits: int) -> None:
    data = _bmp(mode)
    stripped = strip_metadata(data, "bmp")
    assert int.from_bytes(stripped.data[28:30], "little") == bits
    assert metadata_left(stripped.data, "bmp") == []
    assert np.array_equal(decode_image(data), decode_image(stripped.data))
    shown = np.asarray(Image.open(io.BytesIO(stripped.data)).convert("RGB"))
    assert np.array_equal(shown, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


# -- frame_count: every page and frame counted ---------------------------------------------------
def _pages(fmt: str, count: int, **options: object) -> bytes:
    pictures = [_picture().rotate(90 * index) for index in range(count)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, fmt, save_all=True, append_images=pictures[1:], **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("tiff", {}), ("png", {"duration": 100}), ("webp", {"duration": 100, "lossless": True})],
)
def test_frame_count_of_multi_page_and_animated_images(fmt: str, options: dict) -> None:
    data = _pages(fmt.upper(), 3, **options)
    assert detect_format(data) == fmt
    assert frame_count(data, fmt) == 3
    assert frame_count(_pages(fmt.upper(), 1, **options), fmt) == 1


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tiff", "bmp"])
def test_frame_count_of_single_images_is_one(fmt: str) -> None:
    assert frame_count(_encode(fmt), fmt) == 1


def test_frame_count_counts_an_apng_default_image_outside_the_animation() -> None:
    data = _pages("PNG", 3, duration=100, default_image=True)  # 1 default image + 2 frames
    assert frame_count(data, "png") == 3


def test_frame_count_rejects_a_looping_tiff_directory_chain() -> None:
    data = bytearray(_encode("tiff"))
    ifd = int.from_bytes(data[4:8], "little")
    count = int.from_bytes(data[ifd : ifd + 2], "little")
    data[ifd + 2 + 12 * count : ifd + 6 + 12 * count] = ifd.to_bytes(4, "little")
    with pytest.raises(InputError, match="corrupt TIFF"):
        frame_count(bytes(data), "tiff")


def test_frame_count_reads_bigtiff() -> None:
    ifd = (16).to_bytes(8, "little")
    entry = (256).to_bytes(2, "little") + (3).to_bytes(2, "little") + (1).to_bytes(8, "little")
    directory = (1).to_bytes(8, "little") + entry + (4).to_bytes(8, "little")
    second = 16 + len(directory) + 8
    first = directory + second.to_bytes(8, "little")
    data = b"II+\x00" + (8).to_bytes(2, "little") + b"\x00\x00" + ifd + first
    data += directory + (0).to_bytes(8, "little")
    assert frame_count(data, "tiff") == 2


# -- TIFF orientation: the picture displays as before ---------------------------------------------
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_tiff_orientation_still_displays_the_same(orientation: int) -> None:
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[0x0112] = orientation
    info[0x013B] = "Dr Hypolite Vasseur"
    buffer = io.BytesIO()
    _picture().save(buffer, "TIFF", tiffinfo=info)
    data = buffer.getvalue()
    stripped = strip_metadata(data, "tiff")
    assert b"Vasseur" not in stripped.data
    assert np.array_equal(decode_image(data), decode_image(stripped.data))
    shown = np.asarray(Image.open(io.BytesIO(stripped.data)).convert("RGB"))
    assert np.array_equal(shown, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    again = encode_image(decode_image(stripped.data), "tiff", like=stripped.data)
    redrawn = np.asarray(Image.open(io.BytesIO(again)).convert("RGB"))
    assert np.array_equal(redrawn, shown)


@pytest.mark.parametrize("orientation", [1, 6])
def test_tiff_orientation_tag_can_be_written(orientation: int) -> None:
    """The helper used when OpenCV leaves TIFF pixels as stored (before OpenCV 5)."""
    ok, encoded = cv2.imencodemulti(".tiff", [np.zeros((4, 6), np.uint8)] * 2)
    assert ok
    tagged = raster._with_tiff_orientations(encoded.tobytes(), [orientation, None])
    assert raster._tiff_orientations(tagged) == [orientation, None]
    assert frame_count(tagged, "tiff") == 2
    shown = Image.open(io.BytesIO(tagged))
    assert shown.size == ((4, 6) if orientation == 6 else (6, 4))  # Pillow turns it too


def test_tiff_verification_is_an_allowlist() -> None:
    """A private TIFF tag medanon has never heard of is reported as left, and the rewrite drops
    it (descriptive tags are not only the ones listed)."""
    from io import BytesIO

    from PIL import Image, TiffImagePlugin

    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[0xC7A1] = "DUPONTEL Marguerite"  # a private ASCII tag
    buffer = BytesIO()
    Image.new("L", (16, 16), 90).save(buffer, format="TIFF", tiffinfo=info)
    data = buffer.getvalue()
    assert "tag C7A1" in metadata_left(data, "tiff")
    stripped = strip_metadata(data, "tiff")
    assert metadata_left(stripped.data, "tiff") == [] and b"DUPONTEL" not in stripped.data

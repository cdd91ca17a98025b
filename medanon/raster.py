"""Ordinary images (PNG, JPEG, TIFF, BMP, WebP): recognise them and strip their metadata.

Photographs and screenshots carry identifying metadata beside the pixels: EXIF (dates, GPS
position, camera and lens serial numbers, owner and artist, an embedded thumbnail of the
unredacted picture), XMP, IPTC, text chunks and comments. medanon keeps only what a viewer needs
to draw the image (a whitelist, so unknown metadata goes too) and does it on the encoded bytes
when the pixels do not change, so a JPEG is not recompressed:

* JPEG: every marker segment up to End of Image is filtered, between scans too (progressive
  files); APP0 (JFIF, without thumbnail), APP14 (Adobe colour transform) and APP2 ICC profiles
  stay; APP1 (EXIF, XMP), APP13 (IPTC), other APPn and COM go, and so does anything after End
  of Image (vendor trailers, appended pictures). The scans are copied as they are. The EXIF
  orientation is kept alone in a minimal new EXIF segment, so the picture still displays upright.
* PNG: critical chunks and the rendering chunks (tRNS, gAMA, cHRM, sRGB, iCCP, sBIT, pHYs, bKGD)
  stay; text (tEXt, zTXt, iTXt), eXIf, tIME and any other chunk go.
* WebP: EXIF and XMP chunks go, and the VP8X flags say so.
* BMP has no metadata. TIFF keeps metadata in the same directories as the image structure, so
  it is decoded and written again losslessly by OpenCV, which writes no descriptive tags.

All functions are pure: bytes in, bytes out. :mod:`medanon.io` does the file I/O.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from .errors import InputError

FORMATS = ("png", "jpeg", "tiff", "bmp", "webp")
SUFFIXES = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".bmp": "bmp",
    ".webp": "webp",
}


def detect_format(data: bytes) -> str | None:
    """The raster format of ``data`` by its signature, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data.startswith(b"BM") and len(data) > 26:
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True)
class Stripped:
    """Result of :func:`strip_metadata`: new bytes and what was removed (names, no values)."""

    data: bytes
    removed: tuple[str, ...]


def strip_metadata(data: bytes, fmt: str) -> Stripped:
    """Remove identifying metadata from an encoded image; the pixels are untouched."""
    if fmt == "jpeg":
        return _strip_jpeg(data)
    if fmt == "png":
        return _strip_png(data)
    if fmt == "webp":
        return _strip_webp(data)
    if fmt == "bmp":
        return Stripped(data, ())
    if fmt == "tiff":
        return _rewrite_tiff(data)
    raise InputError(f"unsupported image format {fmt}")


def metadata_left(data: bytes, fmt: str) -> list[str]:
    """Names of identifying metadata blocks still in ``data`` (for verification after write)."""
    if fmt == "jpeg":
        return [name for name, _, _ in _jpeg_segments(data) if name in _JPEG_DROPPED_NAMES]
    if fmt == "png":
        return [kind for kind, _, _ in _png_chunks(data) if kind not in _PNG_KEEP]
    if fmt == "webp":
        return [kind for kind, _, _ in _webp_chunks(data) if kind in ("EXIF", "XMP ")]
    if fmt == "tiff":
        return _tiff_descriptive_tags(data)
    return []


def decode_image(data: bytes) -> object | None:
    """Decode an image with OpenCV (all pages' first, stored orientation), or None."""
    import cv2
    import numpy as np

    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return None if array is None or array.size == 0 else array


def encode_image(image: object, fmt: str, *, like: bytes) -> bytes:
    """Encode redacted pixels in ``fmt`` again, losslessly where the format allows (PNG, TIFF,
    BMP, WebP lossless); JPEG at quality 95, keeping the EXIF orientation of ``like``."""
    import cv2

    params = {
        "jpeg": [cv2.IMWRITE_JPEG_QUALITY, 95],
        "webp": [cv2.IMWRITE_WEBP_QUALITY, 101],  # above 100: lossless
    }.get(fmt, [])
    extension = {"jpeg": ".jpg", "tiff": ".tiff"}.get(fmt, "." + fmt)
    ok, encoded = cv2.imencode(extension, image, params)
    if not ok:
        raise InputError(f"{fmt.upper()} image cannot be encoded again")
    data = strip_metadata(bytes(encoded), fmt).data
    if fmt == "jpeg":
        orientation = next(
            (
                _exif_orientation(like[start + 4 : end])
                for name, start, end in _jpeg_segments(like)
                if name == "EXIF/XMP"
            ),
            None,
        )
        if orientation and orientation != 1:
            data = data[:2] + _minimal_exif(orientation) + data[2:]
    return data


# -- JPEG (ITU T.81 B.1.1) ---------------------------------------------------------------------
# "trailer": bytes after End of Image (vendor data, an appended second JPEG with its own EXIF,
# MPF pictures). "JFIF thumbnail": an APP0 JFIF segment carrying a thumbnail of the picture.
_JPEG_DROPPED_NAMES = {"EXIF/XMP", "IPTC", "COM", "APPn", "trailer", "JFIF thumbnail"}
# The end of entropy-coded data: the first 0xFF (fill bytes included) that starts a marker, i.e.
# is not followed by 0x00 (a stuffed 0xFF data byte) nor by RST0-7 (part of the scan, B.1.1.5).
_SCAN_END = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")


def _jpeg_segments(data: bytes) -> list[tuple[str, int, int]]:
    """(name, start, end) of every marker segment up to End of Image, then the trailer if any.

    Parsing continues after each Start of Scan (the "SOS" segment spans its header and its
    entropy-coded data), because progressive and multi-scan files have tables, comments and
    APPn segments between scans; everything after the first EOI is one "trailer" segment.
    """
    if not data.startswith(b"\xff\xd8"):
        raise InputError("not a JPEG file")
    segments = []
    scanned = False
    at = 2
    while at + 2 <= len(data):
        if data[at] != 0xFF:
            raise InputError("corrupt JPEG: marker expected")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:  # End of Image
            if not scanned:
                raise InputError("corrupt JPEG: no image data")
            segments.append(("EOI", at, at + 2))
            if at + 2 < len(data):
                segments.append(("trailer", at + 2, len(data)))
            return segments
        if marker == 0xD8:
            raise InputError("corrupt JPEG: Start of Image inside the image")
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            segments.append(("RST", at, at + 2))
            at += 2
            continue
        if at + 4 > len(data):
            break
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        end = at + 2 + length
        if length < 2 or end > len(data):
            raise InputError("corrupt JPEG: segment runs past the end")
        if marker == 0xDA:  # Start of Scan: entropy-coded data follows, up to the next marker
            found = _SCAN_END.search(data, end)
            if found is None:
                raise InputError("truncated JPEG: no End of Image marker")
            segments.append(("SOS", at, found.start()))
            scanned = True
            at = found.start()
            continue
        segments.append((_jpeg_name(marker, data[at + 4 : end]), at, end))
        at = end
    raise InputError("truncated JPEG: no End of Image marker")


def _jpeg_name(marker: int, body: bytes) -> str:
    if marker == 0xE0 and body.startswith(b"JFIF\x00"):
        return "JFIF" if len(body) <= 14 else "JFIF thumbnail"
    if marker == 0xEE:
        return "Adobe"
    if marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"):
        return "ICC"
    if marker == 0xE1:
        return "EXIF/XMP"
    if marker == 0xED:
        return "IPTC"
    if marker == 0xFE:
        return "COM"
    if 0xE0 <= marker <= 0xEF:
        return "APPn"
    return f"M{marker:02X}"


def _strip_jpeg(data: bytes) -> Stripped:
    """Keep the whitelisted segments byte for byte (no recompression), up to End of Image.

    The orientation is read from EXIF before the first scan only, where viewers look for it.
    A JFIF header with a thumbnail is kept without it (thumbnail size set to 0 by 0).
    """
    kept = [b"\xff\xd8"]
    removed = []
    orientation = None
    scanned = False
    for name, start, end in _jpeg_segments(data):
        if name == "EXIF/XMP" and not scanned:
            orientation = orientation or _exif_orientation(data[start + 4 : end])
        scanned = scanned or name == "SOS"
        if name == "JFIF thumbnail":
            kept.append(b"\xff\xe0\x00\x10" + data[start + 4 : start + 16] + b"\x00\x00")
        if name in _JPEG_DROPPED_NAMES:
            removed.append(name)
            continue
        kept.append(data[start:end])
    if orientation and orientation != 1:
        insert_at = 2 if kept[1:2] and kept[1].startswith(b"\xff\xe0") else 1
        kept.insert(insert_at, _minimal_exif(orientation))
    return Stripped(b"".join(kept), tuple(sorted(set(removed))))


def _exif_orientation(body: bytes) -> int | None:
    """The Orientation tag (0x0112) of an EXIF APP1 body, or None."""
    if not body.startswith(b"Exif\x00\x00") or len(body) < 14:
        return None
    tiff = body[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return None
    try:
        ifd = struct.unpack(order + "I", tiff[4:8])[0]
        count = struct.unpack(order + "H", tiff[ifd : ifd + 2])[0]
        for index in range(count):
            entry = tiff[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            if tag == 0x0112 and kind == 3:
                value = int(struct.unpack(order + "H", entry[8:10])[0])
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None


def _minimal_exif(orientation: int) -> bytes:
    """An APP1 EXIF segment holding only Orientation (EXIF 2.3, one IFD0 entry)."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


# -- PNG (ISO/IEC 15948, 5.3 chunk layout) ------------------------------------------------------
_PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"sBIT",
    b"pHYs",
    b"bKGD",
    b"acTL",  # animated PNG frames: image structure, not metadata
    b"fcTL",
    b"fdAT",
}


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    chunks = []
    at = 8
    while at + 12 <= len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        kind = data[at + 4 : at + 8]
        end = at + 12 + length
        if end > len(data):
            raise InputError("corrupt PNG: chunk runs past the end")
        if zlib.crc32(data[at + 4 : end - 4]) != struct.unpack(">I", data[end - 4 : end])[0]:
            raise InputError("corrupt PNG: chunk checksum mismatch")
        chunks.append((kind, at, end))
        at = end
        if kind == b"IEND":
            break
    if not chunks or chunks[-1][0] != b"IEND":
        raise InputError("truncated PNG: no IEND chunk")
    return chunks


def _strip_png(data: bytes) -> Stripped:
    kept = [data[:8]]
    removed = []
    for kind, start, end in _png_chunks(data):
        if kind in _PNG_KEEP:
            kept.append(data[start:end])
        else:
            removed.append(kind.decode("latin-1"))
    return Stripped(b"".join(kept), tuple(sorted(set(removed))))


# -- WebP (RIFF container, Google WebP container specification) ---------------------------------
def _webp_chunks(data: bytes) -> list[tuple[str, int, int]]:
    chunks = []
    at = 12
    while at + 8 <= len(data):
        kind = data[at : at + 4].decode("latin-1")
        size = struct.unpack("<I", data[at + 4 : at + 8])[0]
        end = at + 8 + size + (size & 1)
        if at + 8 + size > len(data):
            raise InputError("corrupt WebP: chunk runs past the end")
        chunks.append((kind, at, min(end, len(data))))
        at = end
    return chunks


def _strip_webp(data: bytes) -> Stripped:
    kept = []
    removed = []
    for kind, start, end in _webp_chunks(data):
        if kind in ("EXIF", "XMP "):
            removed.append(kind.strip())
            continue
        chunk = data[start:end]
        if kind == "VP8X":  # flags: bit 3 EXIF, bit 2 XMP (container spec, extended format)
            flags = chunk[8] & ~0x0C
            chunk = chunk[:8] + bytes([flags]) + chunk[9:]
        kept.append(chunk)
    body = b"WEBP" + b"".join(kept)
    return Stripped(b"RIFF" + struct.pack("<I", len(body)) + body, tuple(sorted(set(removed))))


# -- TIFF (TIFF 6.0) -----------------------------------------------------------------------------
# Descriptive tags that may identify: documents, descriptions, makers, dates, artists, hosts,
# copyright, EXIF/GPS/Interoperability directories, XMP, IPTC, Photoshop resources.
_TIFF_DESCRIPTIVE = {
    0x010D,
    0x010E,
    0x010F,
    0x0110,
    0x0131,
    0x0132,
    0x013B,
    0x013C,
    0x8298,
    0x8769,
    0x8825,
    0xA005,
    0x02BC,
    0x83BB,
    0x8649,
}


def _tiff_descriptive_tags(data: bytes) -> list[str]:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise InputError("not a TIFF file")
    found = []
    try:
        ifd = struct.unpack(order + "I", data[4:8])[0]
        seen = set()
        while ifd and ifd not in seen and ifd + 2 <= len(data):
            seen.add(ifd)
            count = struct.unpack(order + "H", data[ifd : ifd + 2])[0]
            for index in range(count):
                tag = struct.unpack(order + "H", data[ifd + 2 + 12 * index : ifd + 4 + 12 * index])[
                    0
                ]
                if tag in _TIFF_DESCRIPTIVE:
                    found.append(f"tag {tag:04X}")
            next_at = ifd + 2 + 12 * count
            ifd = struct.unpack(order + "I", data[next_at : next_at + 4])[0]
    except struct.error:
        raise InputError("corrupt TIFF: directory runs past the end") from None
    return found


def _rewrite_tiff(data: bytes) -> Stripped:
    import cv2
    import numpy as np

    removed = tuple(sorted(set(_tiff_descriptive_tags(data))))
    ok, pages = cv2.imdecodemulti(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if not ok or not pages:
        raise InputError("TIFF cannot be decoded")
    ok, encoded = cv2.imencodemulti(".tiff", list(pages))
    if not ok:
        raise InputError("TIFF cannot be encoded again")
    return Stripped(bytes(encoded), removed)

"""Ordinary images (PNG, JPEG, TIFF, BMP, WebP): recognise them and strip their metadata.

Photographs and screenshots carry identifying metadata beside the pixels: EXIF (dates, GPS
position, camera and lens serial numbers, owner and artist, an embedded thumbnail of the
unredacted picture), XMP, IPTC, text chunks and comments. medanon keeps only what a viewer needs
to draw the image (a whitelist, so unknown metadata goes too) and does it on the encoded bytes
when the pixels do not change, so a JPEG is not recompressed:

* JPEG: every marker segment up to End of Image is filtered, between scans too (progressive
  files); APP0 (JFIF, without thumbnail), APP14 (Adobe colour transform, rewritten to its
  standard 12 bytes) and APP2 ICC profiles stay; APP1 (EXIF, XMP), APP13 (IPTC), other APPn,
  COM and unknown markers go, and so does anything after End of Image (vendor trailers,
  appended pictures). The scans are copied as they are. The EXIF orientation is kept alone in a
  minimal new EXIF segment, so the picture still displays upright.
* PNG: critical chunks and the rendering chunks (tRNS, gAMA, cHRM, sRGB, iCCP, sBIT, pHYs, bKGD)
  stay, the free-text name of an iCCP profile replaced by a fixed one; text (tEXt, zTXt, iTXt),
  eXIf, tIME, any other chunk and bytes after IEND go.
* WebP: only the image chunks (VP8, VP8L, VP8X, ALPH, ANIM, ANMF, ICCP) stay, inside animation
  frames too; EXIF, XMP and any other chunk go, and the VP8X flags say so.
* BMP has no metadata blocks, but bytes may hide after the pixel array or in a gap before it,
  so a BMP is decoded and written again by OpenCV. TIFF keeps metadata in the same directories
  as the image structure, so it is decoded and written again losslessly by OpenCV, which writes
  no descriptive tags; a page with an Orientation tag displays as before (OpenCV 5 decodes it
  turned upright, otherwise the tag is written back).

All functions are pure: bytes in, bytes out. :mod:`medanon.io` does the file I/O.
"""

from __future__ import annotations

import functools
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

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


# Formats recognised by their signature but not handled: named in the error, so that a phone's
# HEIC photo or an animated GIF is not reported as "not a DICOM file".
_UNSUPPORTED_BRANDS = {
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"hevc": "HEIC",
    b"heim": "HEIC",
    b"heis": "HEIC",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
}


def unsupported_format(data: bytes) -> str | None:
    """The name of a known image or document format medanon does not handle, or None."""
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[4:8] == b"ftyp":
        return _UNSUPPORTED_BRANDS.get(data[8:12])
    if data.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or data.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    if data.startswith(b"\xff\x0a") or data.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JPEG XL"
    if data.startswith(b"%PDF-"):
        return "PDF"
    if data.startswith(b"PK\x03\x04"):
        return "ZIP archive"
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
        return _rewrite_bmp(data)
    if fmt == "tiff":
        return _rewrite_tiff(data)
    raise InputError(f"unsupported image format {fmt}")


def metadata_left(data: bytes, fmt: str) -> list[str]:
    """Names of identifying metadata blocks still in ``data`` (for verification after write).

    What :func:`strip_metadata` writes itself passes: medanon's minimal orientation EXIF in a
    JPEG, the fixed iCCP profile name in a PNG, the BMP that OpenCV writes for the pixels.
    """
    if fmt == "jpeg":
        return [
            name
            for name, start, end in _jpeg_segments(data)
            if name in _JPEG_DROPPED_NAMES and data[start:end] not in _MINIMAL_EXIFS
        ]
    if fmt == "png":
        return _png_metadata_left(data)
    if fmt == "webp":
        return _webp_metadata_left(data)
    if fmt == "tiff":
        return _tiff_descriptive_tags(data)
    if fmt == "bmp":
        return _bmp_metadata_left(data)
    return []


def frame_count(data: bytes, fmt: str) -> int:
    """How many pictures ``data`` holds: TIFF pages, APNG or animated WebP frames; 1 otherwise.

    Only the first picture is decoded and cleaned (:func:`decode_image`), so a caller that must
    clean pixels refuses files where this is above 1 rather than pass the other pages unseen.
    """
    if fmt == "tiff":
        return max(1, len(_tiff_ifd_offsets(data)))
    if fmt == "png":
        return _png_frame_count(data)
    if fmt == "webp":
        return max(1, sum(kind == "ANMF" for kind, _, _ in _webp_chunks(data)))
    if fmt in ("jpeg", "bmp"):
        return 1  # pictures appended to a JPEG are a trailer, removed by strip_metadata
    raise InputError(f"unsupported image format {fmt}")


def jpeg_orientation(data: bytes) -> int:
    """The EXIF Orientation (1-8) a viewer applies to a JPEG's stored pixels; 1 when none.

    OpenCV decodes JPEG pixels as stored (``IMREAD_UNCHANGED``): a phone's portrait photo
    comes out turned, and the text and face stages must see it as displayed."""
    for name, start, end in _jpeg_segments(data):
        if name.startswith("EXIF") or data[start : start + 2] == b"\xff\xe1":
            found = _exif_orientation(data[start + 4 : end])
            if found is not None:
                return found
    return 1


def to_displayed(image: Any, orientation: int) -> Any:
    """Stored pixels turned as EXIF ``orientation`` tells a viewer (TIFF/EXIF 2.3 tag 0x0112)."""
    turns = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: a.swapaxes(0, 1)[:, ::-1],
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: a.swapaxes(0, 1)[::-1],
    }
    return np.ascontiguousarray(turns.get(orientation, turns[1])(image))


def to_stored(image: Any, orientation: int) -> Any:
    """The inverse of :func:`to_displayed`: displayed pixels back in stored order."""
    inverse = {6: 8, 8: 6}.get(orientation, orientation)  # the others undo themselves
    return to_displayed(image, inverse)


def decode_image(data: bytes) -> object | None:
    """Decode an image with OpenCV (the first page or frame), or None.

    JPEG, PNG and WebP pixels are as stored (EXIF orientation not applied); OpenCV 5 turns
    TIFF pages upright by their Orientation tag (see :func:`_opencv_turns_tiff`).
    """
    import cv2

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
    if fmt == "tiff" and not _opencv_turns_tiff():
        data = _with_tiff_orientations(data, _tiff_orientations(like)[:1])
    return data


# -- JPEG (ITU T.81 B.1.1) ---------------------------------------------------------------------
# "trailer": bytes after End of Image (vendor data, an appended second JPEG with its own EXIF,
# MPF pictures). "JFIF thumbnail": an APP0 JFIF segment carrying a thumbnail of the picture.
# "Adobe fields": an Adobe APP14 longer than standard or with version/flags medanon does not
# write; it is replaced by the standard segment with the same colour transform (same pixels).
_JPEG_DROPPED_NAMES = {
    "EXIF/XMP",
    "IPTC",
    "COM",
    "APPn",
    "trailer",
    "JFIF thumbnail",
    "Adobe fields",
    "unknown marker",
}
# Non-APPn segments kept: frame headers SOF0-15 (but JPG, C8), DHT, DAC, DQT, DNL, DRI, DHP, EXP.
# Any other marker segment (JPGn, reserved) is not read by decoders and can carry anything.
_JPEG_TABLE_MARKERS = frozenset(set(range(0xC0, 0xD0)) - {0xC8} | set(range(0xDB, 0xE0)))
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
        return _adobe_name(body)
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
    return f"M{marker:02X}" if marker in _JPEG_TABLE_MARKERS else "unknown marker"


def _adobe_app14(transform: int) -> bytes:
    """The Adobe APP14 segment medanon keeps: version 100, no flags, the colour transform.

    Decoders read only the transform byte (libjpeg: 'Adobe' and at least 12 bytes), so
    writing the other fields as constants changes no pixel and leaves no room for text.
    """
    body = b"Adobe" + struct.pack(">HHHB", 100, 0, 0, transform)
    return b"\xff\xee" + struct.pack(">H", len(body) + 2) + body


def _adobe_name(body: bytes) -> str:
    """'Adobe' for the standard segment, 'Adobe fields' for one to rewrite, else 'APPn'."""
    if not body.startswith(b"Adobe") or len(body) < 12:
        return "APPn"  # not read by decoders: any APP14 payload, dropped
    return "Adobe" if _adobe_app14(body[11])[4:] == body else "Adobe fields"


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
        if name == "Adobe fields":
            kept.append(_adobe_app14(data[start + 15]))  # body[11]: the colour transform
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


# The only APP1 segments an output may hold: medanon's own, Orientation alone.
_MINIMAL_EXIFS = frozenset(_minimal_exif(orientation) for orientation in range(1, 9))


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


# The iCCP profile name is free Latin-1 text (ISO/IEC 15948, 11.3.3.3): it is written anew.
_ICC_NAME = b"ICC profile"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_end(chunks: list[tuple[bytes, int, int]]) -> int:
    """Where the IEND chunk ends: anything after it is a trailer no decoder reads."""
    return chunks[-1][2]


def _iccp_renamed(body: bytes) -> bytes | None:
    """The iCCP chunk body with the fixed profile name, compressed profile kept; None when the
    body is not a name (1-79 bytes), a zero byte and compression method 0."""
    separator = body.find(b"\x00", 0, 80)
    if separator < 1 or body[separator + 1 : separator + 2] != b"\x00":
        return None
    return _ICC_NAME + body[separator:]


def _strip_png(data: bytes) -> Stripped:
    kept = [data[:8]]
    removed = []
    chunks = _png_chunks(data)
    for kind, start, end in chunks:
        if kind == b"iCCP":
            body = _iccp_renamed(data[start + 8 : end - 4])
            if body is None:
                removed.append("iCCP")
                continue
            if body != data[start + 8 : end - 4]:
                removed.append("iCCP name")
            kept.append(_png_chunk(kind, body))
        elif kind in _PNG_KEEP:
            kept.append(data[start:end])
        else:
            removed.append(kind.decode("latin-1"))
    if _png_end(chunks) < len(data):
        removed.append("trailer")
    return Stripped(b"".join(kept), tuple(sorted(set(removed))))


def _png_metadata_left(data: bytes) -> list[str]:
    chunks = _png_chunks(data)
    left = [kind.decode("latin-1") for kind, _, _ in chunks if kind not in _PNG_KEEP]
    for kind, start, end in chunks:
        body = data[start + 8 : end - 4]
        if kind == b"iCCP" and _iccp_renamed(body) != body:
            left.append("iCCP name")
    if _png_end(chunks) < len(data):
        left.append("trailer")
    return left


def _png_frame_count(data: bytes) -> int:
    """Pictures in an APNG: one per fcTL, plus the default image when it is not a frame.

    acTL num_frames is taken too, whichever is larger, so a file that declares fewer frames
    than it carries (or more) is never counted as a single picture.
    """
    declared = controls = 0
    default_is_frame = seen_idat = False
    for kind, start, _ in _png_chunks(data):
        if kind == b"acTL":
            declared = struct.unpack(">I", data[start + 8 : start + 12])[0]
        elif kind == b"fcTL":
            controls += 1
            default_is_frame = default_is_frame or not seen_idat
        elif kind == b"IDAT":
            seen_idat = True
    if not declared and not controls:
        return 1
    return max(declared, controls + (0 if default_is_frame else 1), 1)


# -- WebP (RIFF container, Google WebP container specification) ---------------------------------
# The image chunks; anything else (EXIF, XMP, unknown chunks readers skip) goes.
_WEBP_KEEP = frozenset({"VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP"})
# Inside an ANMF chunk, after its 16-byte header: the frame's alpha and bitstream only.
_WEBP_FRAME_KEEP = frozenset({"ALPH", "VP8 ", "VP8L"})
_ANMF_HEADER = 16
# VP8X flags byte: bit 5 ICC profile, 4 alpha, 3 EXIF, 2 XMP, 1 animation; others reserved.
_VP8X_ICC, _VP8X_ALPHA, _VP8X_ANIMATION = 0x20, 0x10, 0x02


def _webp_chunks(data: bytes, at: int = 12, stop: int | None = None) -> list[tuple[str, int, int]]:
    """(kind, start, end) of the chunks from ``at`` to ``stop`` (the RIFF size by default).

    Bytes after the RIFF size, or too few for a chunk header, are one "trailer" chunk.
    """
    limit = len(data) if stop is None else stop
    if stop is None:
        stop = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    chunks = []
    while at + 8 <= stop:
        kind = data[at : at + 4].decode("latin-1")
        size = struct.unpack("<I", data[at + 4 : at + 8])[0]
        end = at + 8 + size + (size & 1)
        if at + 8 + size > stop:
            raise InputError("corrupt WebP: chunk runs past the end")
        chunks.append((kind, at, min(end, stop)))
        at = end
    if at < limit:
        chunks.append(("trailer", at, limit))
    return chunks


def _webp_chunk(kind: str, payload: bytes) -> bytes:
    """A RIFF chunk with a zero pad byte when the payload is odd."""
    pad = b"\x00" if len(payload) & 1 else b""
    return kind.encode("latin-1") + struct.pack("<I", len(payload)) + payload + pad


def _webp_payload(data: bytes, start: int) -> bytes:
    size = struct.unpack("<I", data[start + 4 : start + 8])[0]
    return data[start + 8 : start + 8 + size]


def _anmf_frame(data: bytes, start: int) -> tuple[bytes, list[str]]:
    """An ANMF chunk with only its image subchunks (reserved flag bits cleared); dropped names."""
    payload = _webp_payload(data, start)
    if len(payload) < _ANMF_HEADER:
        raise InputError("corrupt WebP: animation frame too short")
    header = payload[: _ANMF_HEADER - 1] + bytes([payload[_ANMF_HEADER - 1] & 0x03])
    kept, removed = [], []
    stop = start + 8 + len(payload)
    for kind, at, _ in _webp_chunks(data, start + 8 + _ANMF_HEADER, stop):
        if kind in _WEBP_FRAME_KEEP:
            kept.append(_webp_chunk(kind, _webp_payload(data, at)))
        else:
            removed.append(kind.strip())
    return _webp_chunk("ANMF", header + b"".join(kept)), removed


def _vp8x(payload: bytes, has_icc: bool) -> bytes:
    """VP8X with EXIF, XMP and reserved flags cleared, ICC set when an ICCP chunk stays."""
    if len(payload) < 10:
        raise InputError("corrupt WebP: VP8X chunk too short")
    flags = payload[0] & (_VP8X_ALPHA | _VP8X_ANIMATION) | (_VP8X_ICC if has_icc else 0)
    return _webp_chunk("VP8X", bytes([flags, 0, 0, 0]) + payload[4:10])


def _strip_webp(data: bytes) -> Stripped:
    chunks = _webp_chunks(data)
    has_icc = any(kind == "ICCP" for kind, _, _ in chunks)
    kept = []
    removed = []
    for kind, start, _ in chunks:
        if kind not in _WEBP_KEEP:
            removed.append(kind.strip())
        elif kind == "VP8X":
            kept.append(_vp8x(_webp_payload(data, start), has_icc))
        elif kind == "ANMF":
            frame, dropped = _anmf_frame(data, start)
            kept.append(frame)
            removed.extend(dropped)
        else:
            kept.append(_webp_chunk(kind, _webp_payload(data, start)))
    body = b"WEBP" + b"".join(kept)
    return Stripped(b"RIFF" + struct.pack("<I", len(body)) + body, tuple(sorted(set(removed))))


def _webp_metadata_left(data: bytes) -> list[str]:
    left = []
    for kind, start, _ in _webp_chunks(data):
        if kind not in _WEBP_KEEP:
            left.append(kind.strip())
        elif kind == "ANMF":
            left.extend(_anmf_frame(data, start)[1])
    return left


# -- BMP (Windows bitmap: BITMAPFILEHEADER, then an info header, palette, pixel array) ----------
def _encode_bmp(image: object) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".bmp", image)
    if not ok:
        raise InputError("BMP cannot be encoded again")
    return bytes(encoded)


def _rewrite_bmp(data: bytes) -> Stripped:
    """The BMP written again by OpenCV from its decoded pixels: same pixel values, no bytes
    beyond the header, palette and pixel array (a trailer, a gap before bfOffBits, a V4/V5
    header's colour-space fields or profile name).

    OpenCV writes 8-bit grey, 24-bit BGR or 32-bit BGRA (as it decodes them): a palette BMP in
    colour becomes 24-bit, a 1- or 4-bit grey one 8-bit, 16-bit ones 24-bit. The decoded
    pixels are the same; the file may be larger.
    """
    image = decode_image(data)
    if image is None:
        raise InputError("BMP cannot be decoded")
    return Stripped(_encode_bmp(image), tuple(sorted(set(_bmp_extras(data)))))


def _bmp_metadata_left(data: bytes) -> list[str]:
    """Hidden bytes found, or "BMP header" when ``data`` is not what OpenCV writes for its
    pixels: only the canonical file is accepted (whitelist), whatever field differs."""
    extras = _bmp_extras(data)
    if extras:
        return extras
    image = decode_image(data)
    if image is None:
        raise InputError("BMP cannot be decoded")
    return [] if _encode_bmp(image) == data else ["BMP header"]


def _bmp_extras(data: bytes) -> list[str]:
    """ "gap" when bfOffBits leaves bytes between palette and pixels, "trailer" when bytes
    follow the pixel array (uncompressed and RLE files; others are judged by re-encoding)."""
    try:
        offset, header = struct.unpack("<I", data[10:14])[0], struct.unpack("<I", data[14:18])[0]
        if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries
            width, height, _, bits = struct.unpack("<HHHH", data[18:26])
            compression, colours, image_size, entry = 0, 0, 0, 3
        else:
            width, height, _, bits, compression, image_size = struct.unpack("<iiHHII", data[18:38])
            colours, entry = struct.unpack("<I", data[46:50])[0], 4
    except struct.error:
        raise InputError("corrupt BMP: header runs past the end") from None
    palette = (colours or 1 << bits) * entry if 1 <= bits <= 8 else 0
    masks = {3: 12, 6: 16}.get(compression, 0) if header == 40 else 0
    extras = ["gap"] if offset > 14 + header + masks + palette else []
    if compression in (0, 3, 6):
        pixels = (width * bits + 31) // 32 * 4 * abs(height)
    elif compression in (1, 2):
        pixels = image_size
    else:
        return extras
    if len(data) > offset + pixels:
        extras.append("trailer")
    return extras


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


def _tiff_ifd_offsets(data: bytes) -> list[int]:
    """Offsets of the image directories (pages) in the IFD chain, classic TIFF or BigTIFF."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise InputError("not a TIFF file")
    big = struct.unpack(order + "H", data[2:4])[0] == 43
    offset, count, entry = ("Q", "Q", 20) if big else ("I", "H", 12)
    offsets: list[int] = []
    try:
        ifd = struct.unpack(order + offset, data[8:16] if big else data[4:8])[0]
        while ifd:
            if ifd in offsets:
                raise InputError("corrupt TIFF: directory chain loops")
            offsets.append(ifd)
            entries = struct.unpack_from(order + count, data, ifd)[0]
            next_at = ifd + struct.calcsize(order + count) + entry * entries
            ifd = struct.unpack_from(order + offset, data, next_at)[0]
    except struct.error:
        raise InputError("corrupt TIFF: directory runs past the end") from None
    return offsets


def _tiff_descriptive_tags(data: bytes) -> list[str]:
    """Tags of any page outside the allowed image-structure tags (an allowlist: a tag medanon
    does not know may describe; the known descriptive ones are in ``_TIFF_DESCRIPTIVE``)."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise InputError("not a TIFF file")
    big = struct.unpack(order + "H", data[2:4])[0] == 43
    count_format, entry = ("Q", 20) if big else ("H", 12)
    found = []
    try:
        for ifd in _tiff_ifd_offsets(data):
            count = struct.unpack_from(order + count_format, data, ifd)[0]
            first = ifd + struct.calcsize(order + count_format)
            for index in range(count):
                tag = struct.unpack_from(order + "H", data, first + entry * index)[0]
                if tag not in _TIFF_IMAGE_TAGS or tag in _TIFF_DESCRIPTIVE:
                    found.append(f"tag {tag:04X}")
    except struct.error:
        raise InputError("corrupt TIFF: directory runs past the end") from None
    return found


# Tags that only say how to draw the image (TIFF 6.0 baseline and extensions, ICC profile).
_TIFF_IMAGE_TAGS = frozenset(
    {
        0x00FE, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, 0x0112, 0x0115, 0x0116,
        0x0117, 0x0118, 0x0119, 0x011A, 0x011B, 0x011C, 0x0124, 0x0125, 0x0128, 0x0129,
        0x013D, 0x0140, 0x0142, 0x0143, 0x0144, 0x0145, 0x0152, 0x0153, 0x0154, 0x0155,
        0x015B, 0x0211, 0x0212, 0x0213, 0x0214, 0x8773,
    }
)  # fmt: skip


def _tiff_orientations(data: bytes) -> list[int | None]:
    """The Orientation tag (0x0112, SHORT, 1-8) of each page of a classic TIFF, None if absent."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or data[2:4] not in (b"*\x00", b"\x00*"):
        return []
    found: list[int | None] = []
    for ifd in _tiff_ifd_offsets(data):
        value = None
        for tag, kind, count, field in _tiff_entries(data, order, ifd):
            if tag == 0x0112 and kind == 3 and count == 1:
                orientation = struct.unpack(order + "H", field[:2])[0]
                value = orientation if 1 <= orientation <= 8 else None
        found.append(value)
    return found


def _tiff_entries(data: bytes, order: str, ifd: int) -> list[tuple[int, int, int, bytes]]:
    """(tag, type, count, 4-byte value field) of each entry of a classic TIFF directory."""
    count = struct.unpack_from(order + "H", data, ifd)[0]
    entries = []
    for index in range(count):
        at = ifd + 2 + 12 * index
        tag, kind, number = struct.unpack_from(order + "HHI", data, at)
        entries.append((tag, kind, number, data[at + 8 : at + 12]))
    return entries


def _with_tiff_orientations(data: bytes, orientations: list[int | None]) -> bytes:
    """``data`` (a classic TIFF) with the Orientation tag of each page set as given.

    A page's directory is copied to the end of the file with the tag added (entries sorted by
    tag, as TIFF 6.0 requires) and the pointer to it updated: the pixel data and the values the
    other entries point to do not move. The old directory stays as unused bytes (OpenCV's own).
    """
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or data[2:4] not in (b"*\x00", b"\x00*"):
        return data
    out = bytearray(data)
    pointer_at = 4
    for ifd, orientation in zip(_tiff_ifd_offsets(data), orientations, strict=False):
        count = struct.unpack_from(order + "H", data, ifd)[0]
        next_at = ifd + 2 + 12 * count
        if orientation is None:
            pointer_at = next_at
            continue
        entries = [
            data[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
            for index in range(count)
            if struct.unpack_from(order + "H", data, ifd + 2 + 12 * index)[0] != 0x0112
        ]
        entries.append(struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0))
        entries.sort(key=lambda entry: struct.unpack(order + "H", entry[:2])[0])
        if len(out) & 1:
            out += b"\x00"  # directories start on a word boundary
        new_ifd = len(out)
        out += struct.pack(order + "H", len(entries)) + b"".join(entries)
        out += data[next_at : next_at + 4]
        struct.pack_into(order + "I", out, pointer_at, new_ifd)
        pointer_at = new_ifd + 2 + 12 * len(entries)
    return bytes(out)


@functools.cache
def _opencv_turns_tiff() -> bool:
    """Whether OpenCV applies the TIFF Orientation tag when it decodes (OpenCV 5 does, even
    with IMREAD_UNCHANGED, unlike for JPEG): found once on a 1 by 2 probe tagged 6 (turned).

    Then the decoded pages are already upright and are written without the tag (writing it
    would turn them twice); otherwise they are as stored and the tag is written back.
    """
    import cv2

    ok, encoded = cv2.imencode(".tiff", np.zeros((1, 2), np.uint8))
    probe = _with_tiff_orientations(bytes(encoded), [6]) if ok else b""
    turned = cv2.imdecode(np.frombuffer(probe, np.uint8), cv2.IMREAD_UNCHANGED) if ok else None
    return turned is not None and turned.shape[:2] == (2, 1)


def _rewrite_tiff(data: bytes) -> Stripped:
    """Every page decoded and written again by OpenCV (no descriptive tags), so that each
    page displays as before: upright pixels when OpenCV applied the orientation, else the
    stored pixels with their Orientation tag put back (:func:`_opencv_turns_tiff`)."""
    import cv2

    removed = tuple(sorted(set(_tiff_descriptive_tags(data))))
    ok, pages = cv2.imdecodemulti(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if not ok or not pages:
        raise InputError("TIFF cannot be decoded")
    ok, encoded = cv2.imencodemulti(".tiff", list(pages))
    if not ok:
        raise InputError("TIFF cannot be encoded again")
    if _opencv_turns_tiff():
        return Stripped(bytes(encoded), removed)
    return Stripped(_with_tiff_orientations(bytes(encoded), _tiff_orientations(data)), removed)

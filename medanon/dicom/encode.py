"""Serialise a de-identified dataset as a DICOM Part 10 file, fast.

Most elements of a header leave the engine untouched (pixel data, geometry, acquisition
parameters). For those, the encoded bytes of the input are copied as they are: header and value,
located by the element's ``value_tell`` and checked against its tag and length. Only elements
that changed are encoded by pydicom. Output is byte-identical run after run, and parses to the
same dataset as pydicom's own writer gives (tests/test_encode.py). Transfer syntaxes other than
Implicit/Explicit VR Little Endian (and encapsulated ones, which are Explicit VR Little Endian
outside Pixel Data) go through pydicom's writer whole.
"""

from __future__ import annotations

import struct
from io import BytesIO

from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.multival import MultiValue
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian

UNDEFINED_LENGTH = 0xFFFFFFFF
PIXEL_DATA = 0x7FE00010
SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
# VRs whose explicit-VR header is 12 bytes (PS3.5 7.1.2).
LONG_HEADER_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)


def encode_part10(dataset: Dataset, source: bytes | None = None) -> bytes:
    """Preamble, ``DICM``, File Meta and dataset, copying unchanged elements from ``source``
    (the bytes ``dataset`` was read from), if given."""
    return encode_with_pixel_span(dataset, source)[0]


def encode_with_pixel_span(
    dataset: Dataset, source: bytes | None = None
) -> tuple[bytes, tuple[int, int] | None]:
    """As :func:`encode_part10`, also returning where the top-level Pixel Data element lies in
    the output (None when unknown), so that text searches can skip the image bytes."""
    syntax = UID(str(dataset.file_meta.TransferSyntaxUID))
    if source is None or syntax in (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian):
        buffer = BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue(), None
    writer = _Writer(syntax.is_implicit_VR, dataset.get("SpecificCharacterSet"))
    chunks = [dataset.preamble or b"\x00" * 128, b"DICM", _file_meta(dataset.file_meta)]
    pixel_span = None
    for element in dataset.elements():
        tag = int(element.tag)
        chunk = None
        if isinstance(element, RawDataElement):
            span = _raw_span(element, source, writer.implicit)
            if span is not None:
                chunk = source[span[0] : span[1]]
        if chunk is None:
            chunk = writer.element(dataset, tag, element)
        if tag == PIXEL_DATA:
            offset = sum(len(c) for c in chunks)
            pixel_span = (offset, offset + len(chunk))
        chunks.append(chunk)
    return b"".join(chunks), pixel_span


def _file_meta(meta: Dataset) -> bytes:
    """File Meta Information (PS3.10 7.1): Explicit VR Little Endian, group length first."""
    writer = _Writer(False, None)
    body = b"".join(
        writer.element(meta, int(tag)) for tag in sorted(meta.keys()) if int(tag) != 0x00020000
    )
    return struct.pack("<HH2sHI", 0x0002, 0x0000, b"UL", 4, len(body)) + body


class _Writer:
    """Little-endian element encoder for the values medanon writes, with pydicom's writer as
    the fallback for anything else (PS3.5 7.1 element encoding, 7.5 nesting)."""

    def __init__(self, implicit: bool, character_set: object) -> None:
        self.implicit = implicit
        self.encodings = convert_encodings(character_set or default_encoding)
        # One character set: text is one str.encode; ISO 2022 switching goes to pydicom.
        self.codec = self.encodings[0] if len(self.encodings) == 1 else None

    def element(
        self, dataset: Dataset, tag: int, element: DataElement | RawDataElement | None = None
    ) -> bytes:
        if element is None:
            element = dataset.get_item(tag)
        fast = self._fast(element) if not isinstance(element, RawDataElement) else None
        if fast is None:
            fast = self._raw(element) if isinstance(element, RawDataElement) else None
        if fast is not None:
            return fast
        body = DicomBytesIO()
        body.is_little_endian, body.is_implicit_VR = True, self.implicit
        write_data_element(body, dataset[tag], self.encodings)
        return body.getvalue()

    def dataset(self, dataset: Dataset) -> bytes:
        """A sequence item's elements; an item that declares its own Specific Character Set
        (PS3.5 7.5.1) has its text encoded with it, not with the enclosing one."""
        writer = self
        own = dataset.get_item(0x00080005)
        if own is not None:
            declared = dataset.get("SpecificCharacterSet")
            encodings = convert_encodings(declared or default_encoding)
            if encodings != self.encodings:
                writer = _Writer(self.implicit, declared)
        return b"".join(writer.element(dataset, int(e.tag), e) for e in dataset.elements())

    def _header(self, tag: int, vr: str, length: int) -> bytes:
        if self.implicit:
            return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, length)
        if vr.encode() in LONG_HEADER_VRS:
            return struct.pack("<HH2s2xI", tag >> 16, tag & 0xFFFF, vr.encode(), length)
        if length > 0xFFFF:
            raise OverflowError
        return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)

    def _raw(self, element: RawDataElement) -> bytes | None:
        """An unchanged element inside a sequence item: its value bytes, a new header."""
        vr, value = element.VR, element.value
        if (
            vr is None
            or not isinstance(value, bytes)
            or not element.is_little_endian
            or bool(element.is_implicit_VR) != self.implicit
            or (vr == "SQ" and element.length == UNDEFINED_LENGTH and not self.implicit)
        ):
            return None
        if len(value) % 2:
            return None
        try:
            return self._header(int(element.tag), vr, len(value)) + value
        except OverflowError:
            return None

    def _fast(self, element: DataElement) -> bytes | None:
        vr, value, tag = element.VR, element.value, int(element.tag)
        try:
            if vr == "SQ":
                payload = b"".join(
                    ITEM + self.dataset(item) + ITEM_DELIMITER for item in value or []
                )
                return self._header(tag, "SQ", UNDEFINED_LENGTH) + payload + SEQUENCE_DELIMITER
            payload = self._payload(vr, value)
            if payload is None:
                return None
            return self._header(tag, vr, len(payload)) + payload
        except (OverflowError, UnicodeError, LookupError, struct.error, TypeError, ValueError):
            return None

    def _payload(self, vr: str, value: object) -> bytes | None:
        values = _as_list(value)
        if vr in _TEXT_VRS or vr in _ASCII_VRS:
            if any(isinstance(v, bytes) for v in values):
                return None
            text = "\\".join("" if v is None else str(v) for v in values)
            if vr in _TEXT_VRS:
                if self.codec is None:
                    return None
                data = text.encode(self.codec)
            else:
                data = text.encode("ascii")
            if len(data) % 2:
                data += b"\x00" if vr == "UI" else b" "
            return data
        if vr in _PACK:
            return struct.pack(f"<{len(values)}{_PACK[vr]}", *values) if values else b""
        if vr in ("OB", "OW", "UN") and isinstance(value, bytes):
            return value + (b"\x00" if len(value) % 2 else b"")
        return None


def _as_list(value: object) -> list[object]:
    if value is None or value == "":
        return []
    if isinstance(value, (MultiValue, list, tuple)):
        return list(value)
    return [value]


ITEM = b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
ITEM_DELIMITER = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
_TEXT_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})  # Specific Character Set
_ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR"})
_PACK = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "UV": "Q", "SV": "q"}


def _raw_span(element: RawDataElement, source: bytes, implicit: bool) -> tuple[int, int] | None:
    """Byte range of an unchanged element in ``source``, or None when it cannot be proven."""
    value_tell, length = element.value_tell, element.length
    if (
        value_tell is None
        or not isinstance(element.value, bytes)
        or not element.is_little_endian
        or bool(element.is_implicit_VR) != implicit
    ):
        return None
    if length == UNDEFINED_LENGTH:
        # Undefined length (PS3.5 7.5.2): pydicom keeps the value without its delimiter.
        end = value_tell + len(element.value)
        if source[end : end + 8] != SEQUENCE_DELIMITER:
            return None
        end += 8
    else:
        end = value_tell + length
        if end > len(source):
            return None
    start = _header_start(int(element.tag), value_tell, length, source, implicit)
    return None if start is None else (start, end)


def _header_start(
    tag: int, value_tell: int, length: int, source: bytes, implicit: bool
) -> int | None:
    """Where the element's header starts, checked against its tag, VR form and length."""
    tag_bytes = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if implicit:
        start = value_tell - 8
        ok = start >= 0 and source[start : start + 4] == tag_bytes
        return start if ok and struct.unpack_from("<I", source, start + 4)[0] == length else None
    start = value_tell - 8  # short header: tag, VR, 2-byte length
    if start >= 0 and source[start : start + 4] == tag_bytes:
        vr = source[start + 4 : start + 6]
        if vr not in LONG_HEADER_VRS and struct.unpack_from("<H", source, start + 6)[0] == length:
            return start
    start = value_tell - 12  # long header: tag, VR, 2 reserved bytes, 4-byte length
    if start >= 0 and source[start : start + 4] == tag_bytes:
        vr = source[start + 4 : start + 6]
        if vr in LONG_HEADER_VRS and struct.unpack_from("<I", source, start + 8)[0] == length:
            return start
    return None

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
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian

UNDEFINED_LENGTH = 0xFFFFFFFF
# VRs whose explicit-VR header is 12 bytes (PS3.5 7.1.2).
LONG_HEADER_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)


def encode_part10(dataset: Dataset, source: bytes | None = None) -> bytes:
    """Preamble, ``DICM``, File Meta and dataset, copying unchanged elements from ``source``
    (the bytes ``dataset`` was read from), if given."""
    syntax = UID(str(dataset.file_meta.TransferSyntaxUID))
    if source is None or syntax in (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian):
        buffer = BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()
    implicit = syntax.is_implicit_VR
    head = DicomBytesIO()
    head.is_little_endian, head.is_implicit_VR = True, False
    head.write(dataset.preamble or b"\x00" * 128)
    head.write(b"DICM")
    write_file_meta_info(head, dataset.file_meta, enforce_standard=True)
    encodings = convert_encodings(dataset.get("SpecificCharacterSet") or default_encoding)
    chunks = [head.getvalue()]
    for tag in sorted(dataset.keys()):
        element = dataset.get_item(tag)
        span = _raw_span(element, source, implicit) if isinstance(element, RawDataElement) else None
        if span is not None:
            chunks.append(source[span[0] : span[1]])
            continue
        body = DicomBytesIO()
        body.is_little_endian, body.is_implicit_VR = True, implicit
        write_data_element(body, dataset[tag], encodings)
        chunks.append(body.getvalue())
    return b"".join(chunks)


def _raw_span(element: RawDataElement, source: bytes, implicit: bool) -> tuple[int, int] | None:
    """Byte range of an unchanged element in ``source``, or None when it cannot be proven."""
    value_tell, length = element.value_tell, element.length
    if (
        value_tell is None
        or length == UNDEFINED_LENGTH
        or not element.is_little_endian
        or bool(element.is_implicit_VR) != implicit
        or value_tell + length > len(source)
    ):
        return None
    tag = int(element.tag)
    tag_bytes = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if implicit:
        start = value_tell - 8
        ok = start >= 0 and source[start : start + 4] == tag_bytes
        if ok and struct.unpack_from("<I", source, start + 4)[0] == length:
            return start, value_tell + length
        return None
    start = value_tell - 8
    if start >= 0 and source[start : start + 4] == tag_bytes:
        vr = source[start + 4 : start + 6]
        if vr not in LONG_HEADER_VRS and struct.unpack_from("<H", source, start + 6)[0] == length:
            return start, value_tell + length
    start = value_tell - 12
    if start >= 0 and source[start : start + 4] == tag_bytes:
        vr = source[start + 4 : start + 6]
        if vr in LONG_HEADER_VRS and struct.unpack_from("<I", source, start + 8)[0] == length:
            return start, value_tell + length
    return None

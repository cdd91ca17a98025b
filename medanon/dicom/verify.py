"""Verification after write: the output, read back as bytes, must not contain any identifying
value of its input.

Two levels, so that the common case is fast and every hit is explained:

1. the whole file (preamble, File Meta, every element at every depth, private ones included,
   the deflated body inflated) is searched as bytes for the patient's names, IDs and original
   instance UIDs (:class:`~medanon.dicom.identifiers.Needles`, case-insensitive);
2. only on a byte hit is the file parsed and every element's decoded value checked, which
   confirms or clears the hit and names the attribute.

A hit names the attribute (keyword or tag) and the kind of value found (``name``, ``id``,
``uid``), never the value.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from pydicom import dcmread
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.filereader import _read_file_meta_info
from pydicom.multival import MultiValue
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from ..errors import VerificationError
from .identifiers import Identifiers, Needles, dictionary_vr
from .markers import IMPLEMENTATION_CLASS_UID
from .values import ECHO_VRS

# Strings whose syntax leaves no room for a name: defined terms (ImageType PERFUSION, body part
# HAND) must not fail the file of a patient whose name is one of those words.
SYNTAX_VRS = frozenset({"CS", "DS", "IS", "DA", "DT", "TM", "AS"})
# Image bulk data, left out of the byte search (see verify_output).
PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})


def find_leaks(dataset: Dataset, identifiers: Identifiers, path: str = "") -> list[str]:
    """Places in ``dataset`` where an identifying value of the input remains.

    Every element is checked, whatever its VR: text values as decoded (character set, accents),
    every other value as its raw bytes, so a name kept in an OB document, an element written
    with a wrong VR or swallowed by a bad length is still caught (a byte hit is never cleared
    just because its element is not text).
    """
    leaks = []
    for location, vr, texts in _element_texts(dataset):
        for text in texts:
            if vr == "UI":
                if text.strip("\x00 ") in identifiers.uids:
                    leaks.append(f"{path}{location}: uid")
                continue
            for kind in identifiers.find_patient(text):
                leaks.append(f"{path}{location}: {kind}")
    return list(dict.fromkeys(leaks))  # a value is seen decoded and as bytes: say it once


def _element_texts(dataset: Dataset, prefix: str = "") -> Iterator[tuple[str, str, list[str]]]:
    """``(location, VR, texts)`` of every element at every depth, Pixel Data left out."""
    for raw in dataset.elements():
        tag = raw.tag
        if tag in PIXEL_TAGS and not prefix:
            continue
        name = keyword_for_tag(tag) or f"({tag.group:04X},{tag.element:04X})"
        vr = raw.VR or dictionary_vr(tag)
        if vr == "SQ":
            for index, item in enumerate(dataset[tag].value or []):
                yield from _element_texts(item, f"{prefix}{name}[{index}].")
            continue
        texts = []
        if vr in ECHO_VRS:
            texts += _as_texts(dataset[tag].value)  # decoded with the character set
        if isinstance(raw.value, bytes) and vr not in SYNTAX_VRS:
            texts.append(raw.value.decode("latin-1"))  # and as bytes, whatever the VR says
        yield f"{prefix}{name}", vr, texts


def _as_texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bytes):
        return [value.decode("latin-1")]
    if isinstance(value, (MultiValue, list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def verify_output(
    data: bytes,
    identifiers: Identifiers,
    sop_instance_uid: str,
    pixel_span: tuple[int, int] | None = None,
) -> None:
    """Check written bytes; raise :class:`VerificationError` on any leak or defect.

    ``pixel_span``, where the encoder put the top-level Pixel Data element, is left out of the
    byte search: image bytes are not text (burned-in text is the pixel stage's to find), and
    searching megabytes of them would dominate the cost.
    """
    if data[:128] != b"\x00" * 128 or data[128:132] != b"DICM":
        raise VerificationError("output preamble is not zero or the DICM prefix is missing")
    stream = BytesIO(data)
    stream.seek(132)
    try:
        meta = _read_file_meta_info(stream)
    except Exception as exc:
        raise VerificationError(f"output file meta cannot be read ({type(exc).__name__})") from None
    problems = []
    if str(meta.get("MediaStorageSOPInstanceUID", "")) != sop_instance_uid:
        problems.append("MediaStorageSOPInstanceUID is not the new SOP Instance UID")
    if "SourceApplicationEntityTitle" in meta:
        problems.append("file meta keeps a source AE title")
    if str(meta.get("ImplementationClassUID", "")) != IMPLEMENTATION_CLASS_UID:
        problems.append("file meta implementation class is not medanon's")
    body = data if pixel_span is None else data[: pixel_span[0]] + data[pixel_span[1] :]
    if meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
        try:
            body = data[: stream.tell()] + zlib.decompress(data[stream.tell() :], -zlib.MAX_WBITS)
        except zlib.error:
            problems.append("deflated body cannot be inflated")
    needles = Needles(identifiers.raw_patient)
    if (
        pixel_span is not None
        and _encapsulated(meta)
        and needles.hit_ascii(data[pixel_span[0] : pixel_span[1]])
    ):  # compressed frames are no text, but their container can hide some (offset table,
        # extra fragments, JPEG segments): a hit there fails the file
        problems.append("PixelData: identifying bytes in the encapsulated data")
    if needles and needles.hit(body):
        try:
            dataset = dcmread(BytesIO(data))
        except Exception as exc:
            raise VerificationError(f"output cannot be read back ({type(exc).__name__})") from None
        if "SOPInstanceUID" in dataset and str(dataset.SOPInstanceUID) != sop_instance_uid:
            problems.append("MediaStorageSOPInstanceUID differs from SOPInstanceUID")
        problems += find_leaks(dataset.file_meta, identifiers, "FileMeta.")
        problems += find_leaks(dataset, identifiers)
    if problems:
        shown = "; ".join(problems[:5])
        if len(problems) > 5:
            shown += f" (+{len(problems) - 5} more)"
        raise VerificationError(f"output failed verification: {shown}")


def _encapsulated(meta: Dataset) -> bool:
    syntax = meta.get("TransferSyntaxUID")
    return bool(syntax) and UID(str(syntax)).is_encapsulated

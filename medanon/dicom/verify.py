"""Verification after write: the output, read back from disk, must not contain any identifying
value of its input.

Every element is searched at every depth, private ones and those of the File Meta Information
included, and the 128-byte preamble must be zero. A hit names the attribute (keyword or tag) and
the kind of value found (``name``, ``id``, ``uid``), never the value.
"""

from __future__ import annotations

from io import BytesIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from ..errors import VerificationError
from .identifiers import Identifiers
from .markers import IMPLEMENTATION_CLASS_UID
from .values import ECHO_VRS


def find_leaks(dataset: Dataset, identifiers: Identifiers, path: str = "") -> list[str]:
    """Places in ``dataset`` where an identifying value of the input remains."""
    leaks = []
    for location, element in _elements(dataset):
        vr = element.VR
        if vr not in ECHO_VRS and not (element.tag.is_private and vr in ("OB", "UN", "LO")):
            continue
        value = element.value
        if value is None:
            continue
        if isinstance(value, bytes):
            texts = [value.decode("latin-1")]
        elif isinstance(value, (MultiValue, list, tuple)):
            texts = [str(v) for v in value]
        else:
            texts = [str(value)]
        for text in texts:
            if vr == "UI":
                if text.strip("\x00 ") in identifiers.uids:
                    leaks.append(f"{path}{location}: uid")
                continue
            for kind in identifiers.find_patient(text):
                leaks.append(f"{path}{location}: {kind}")
    return leaks


def _elements(dataset: Dataset, prefix: str = ""):  # type: ignore[no-untyped-def]
    for element in dataset:
        name = element.keyword or f"({element.tag.group:04X},{element.tag.element:04X})"
        if element.VR == "SQ":
            for index, item in enumerate(element.value or []):
                yield from _elements(item, f"{prefix}{name}[{index}].")
        else:
            yield f"{prefix}{name}", element


def verify_output(data: bytes, identifiers: Identifiers, sop_instance_uid: str) -> None:
    """Read back written bytes and raise :class:`VerificationError` on any leak or defect."""
    if data[:128] != b"\x00" * 128 or data[128:132] != b"DICM":
        raise VerificationError("output preamble is not zero or the DICM prefix is missing")
    try:
        dataset = dcmread(BytesIO(data))
    except Exception as exc:
        raise VerificationError(f"output cannot be read back: {type(exc).__name__}") from None
    meta = dataset.file_meta
    problems = []
    if str(meta.get("MediaStorageSOPInstanceUID", "")) != sop_instance_uid:
        problems.append("MediaStorageSOPInstanceUID is not the new SOP Instance UID")
    if "SOPInstanceUID" in dataset and str(dataset.SOPInstanceUID) != sop_instance_uid:
        problems.append("MediaStorageSOPInstanceUID differs from SOPInstanceUID")
    if "SourceApplicationEntityTitle" in meta:
        problems.append("file meta keeps a source AE title")
    if str(meta.get("ImplementationClassUID", "")) != IMPLEMENTATION_CLASS_UID:
        problems.append("file meta implementation class is not medanon's")
    problems += find_leaks(meta, identifiers, "FileMeta.")
    problems += find_leaks(dataset, identifiers)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        )
        raise VerificationError(f"output failed verification: {shown}")

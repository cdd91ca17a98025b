"""What a de-identified dataset says about itself, and its regenerated File Meta Information.

PS3.15 E.1.1 and PS3.3 C.7.1.1: Patient Identity Removed (0012,0062) YES, De-identification
Method (0012,0063) and De-identification Method Code Sequence (0012,0064) with the CID 7050 codes
of the profile and options actually applied; Longitudinal Temporal Information Modified
(0028,0303). PS3.10 7.1: the File Meta Information is rebuilt, naming medanon as the
implementation and carrying no source AE title.
"""

from __future__ import annotations

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from .._version import __version__
from ..policy import Policy
from .table import BASIC_PROFILE_CODE, EDITION, Option, cid_7050

# medanon's Implementation Class UID: a 2.25 UID made once from UUID v5 of a fixed name (PS3.5 B.2).
IMPLEMENTATION_CLASS_UID = UID("2.25.92557149664675225065577911742964392132")
IMPLEMENTATION_VERSION_NAME = ("MEDANON_" + __version__.replace(".", "_"))[:16]


def method_description(policy: Policy) -> list[str]:
    """The De-identification Method text: tool, profile, options, table edition (LO, <= 64 chars
    a value)."""
    values = [
        f"medanon {__version__}",
        f"profile {policy.name}"[:64],
        f"PS3.15 {EDITION} Table E.1-1",
    ]
    names = sorted(o.cli_name for o in policy.options) or ["none"]
    line = "options"
    for name in names:
        if len(line) + 1 + len(name) > 64:
            values.append(line)
            line = "options"
        line += " " + name
    values.append(line)
    return values


def method_codes(policy: Policy, extra_codes: tuple[str, ...] = ()) -> list[Dataset]:
    """CID 7050 items for the basic profile, each option in force, and ``extra_codes`` (113101
    Clean Pixel Data, 113102 Clean Recognizable Visual Features, set by the pixel stages)."""
    values = [BASIC_PROFILE_CODE, *sorted(o.code_value for o in policy.options), *extra_codes]
    codes = cid_7050()
    items = []
    for value in sorted(set(values)):
        code = codes[value]
        item = Dataset()
        item.add_new(0x00080100, "SH", code.value)  # Code Value
        item.add_new(0x00080102, "SH", code.scheme)  # Coding Scheme Designator
        item.add_new(0x00080104, "LO", code.meaning)  # Code Meaning
        items.append(item)
    return items


def longitudinal_marker(policy: Policy) -> str:
    """(0028,0303) Longitudinal Temporal Information Modified (PS3.3 C.7.6.1.1.10)."""
    if Option.RETAIN_LONGITUDINAL_FULL_DATES in policy.options:
        return "UNMODIFIED"
    if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in policy.options:
        return "MODIFIED"
    return "REMOVED"


def add_markers(dataset: Dataset, policy: Policy, extra_codes: tuple[str, ...] = ()) -> None:
    """Mark ``dataset`` as de-identified (PS3.15 E.1.1 items 6-8); ``extra_codes`` are the
    CID 7050 codes of pixel cleaning actually done and verified."""
    dataset.add_new(0x00120062, "CS", "YES")  # Patient Identity Removed
    dataset.add_new(0x00120063, "LO", method_description(policy))  # De-identification Method
    dataset.add_new(0x00120064, "SQ", method_codes(policy, extra_codes))  # ... Code Sequence
    dataset.add_new(0x00280303, "CS", longitudinal_marker(policy))


def transfer_syntax_of(dataset: Dataset) -> UID:
    """The transfer syntax the dataset was read in (also for files without File Meta)."""
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return UID(str(meta.TransferSyntaxUID))
    implicit, little = dataset.original_encoding
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little or little is None else ExplicitVRBigEndian


def regenerate_file_meta(
    dataset: Dataset, transfer_syntax: UID, sop_class: str, sop_instance: str
) -> None:
    """Replace the File Meta Information (PS3.10 7.1) and zero the preamble.

    ``sop_instance`` is the new SOP Instance UID, so MediaStorageSOPInstanceUID matches it.
    """
    meta = FileMetaDataset()
    meta.add_new(0x00020001, "OB", b"\x00\x01")  # File Meta Information Version
    meta.add_new(0x00020002, "UI", UID(sop_class))  # Media Storage SOP Class UID
    meta.add_new(0x00020003, "UI", UID(sop_instance))  # Media Storage SOP Instance UID
    meta.add_new(0x00020010, "UI", transfer_syntax)  # Transfer Syntax UID
    meta.add_new(0x00020012, "UI", IMPLEMENTATION_CLASS_UID)  # Implementation Class UID
    meta.add_new(0x00020013, "SH", IMPLEMENTATION_VERSION_NAME)  # Implementation Version Name
    dataset.file_meta = meta
    dataset.preamble = b"\x00" * 128

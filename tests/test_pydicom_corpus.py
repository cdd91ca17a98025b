"""Every file of pydicom's own test corpus that pydicom reads must de-identify, or fail for a
documented reason (a DICOMDIR, a fragment with no SOP Class UID anywhere, a truncated file).

The folder is globbed on disk: ``pydicom.data.get_testdata_files`` with broad patterns would try
to download the larger test files. One test per profile loops over all files, so the whole
corpus runs in a couple of seconds.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from medanon import Keyring, Scrubber, load_policy
from medanon.io import MEDIA_DIRECTORY_STORAGE

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

# Files of the corpus cut short on purpose (pydicom reads them without complaint, medanon.io
# finds the truncation): Pixel Data 62 bytes short; Beam Sequence cut.
TRUNCATED = {"MR_truncated.dcm", "rtplan_truncated.dcm"}


def _read(path: Path) -> Dataset | None:
    """The dataset, when pydicom reads ``path`` without force; else None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path)
        except Exception:
            return None


def corpus() -> list[tuple[Path, Dataset]]:
    files = sorted(p for p in TEST_FILES.rglob("*") if p.is_file())
    readable = [(p, ds) for p in files if (ds := _read(p)) is not None]
    return readable


def expected_failure(path: Path, ds: Dataset) -> str | None:
    """The documented reason this file cannot be de-identified, as a substring of the error."""
    if path.name in TRUNCATED:
        return "truncated"
    meta = ds.file_meta or Dataset()
    if (
        str(meta.get("MediaStorageSOPClassUID", "")) == MEDIA_DIRECTORY_STORAGE
        or "DirectoryRecordSequence" in ds
    ):
        return "DICOMDIR"
    if not str(ds.get("SOPClassUID", "") or "") and not str(
        meta.get("MediaStorageSOPClassUID", "") or ""
    ):
        return "SOP Class UID"
    return None


def check_output(source: Path, source_ds: Dataset, output: Path) -> list[str]:
    """What is wrong with one ok output (empty list when nothing)."""
    problems = []
    data = output.read_bytes()
    if data[:128] != b"\x00" * 128:
        problems.append("preamble is not all zero")
    if data[128:132] != b"DICM":
        problems.append("no DICM prefix")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(output)
        except Exception as exc:
            return [*problems, f"output unreadable ({type(exc).__name__})"]
    meta = ds.file_meta
    if "SOPInstanceUID" in ds and meta.get("MediaStorageSOPInstanceUID") != ds.SOPInstanceUID:
        problems.append("MediaStorageSOPInstanceUID != SOPInstanceUID")
    if not meta.get("MediaStorageSOPInstanceUID"):
        problems.append("no MediaStorageSOPInstanceUID")
    if ds.get("PatientIdentityRemoved") != "YES":
        problems.append(f"PatientIdentityRemoved is {ds.get('PatientIdentityRemoved')!r}")
    if 0x00020016 in meta:
        problems.append("file meta keeps (0002,0016) SourceApplicationEntityTitle")
    if "PixelData" in source_ds:
        if "PixelData" not in ds:
            problems.append("PixelData removed")
        elif ds.PixelData != source_ds.PixelData:
            problems.append("PixelData bytes changed")
        if meta.TransferSyntaxUID != source_ds.file_meta.get(
            "TransferSyntaxUID", meta.TransferSyntaxUID
        ):
            problems.append("transfer syntax changed")
    name = str(source_ds.get("PatientName", "") or "")
    if len(name) >= 3 and name.encode() in data:
        problems.append("the input's PatientName is still in the output")
    return problems


@pytest.mark.parametrize("profile", ["basic", "research"])
def test_corpus(profile: str, keyring: Keyring, tmp_path: Path) -> None:
    scrubber = Scrubber(load_policy(profile), keyring)
    files = corpus()
    assert len(files) > 100, "pydicom's test files were not found"
    failures: list[str] = []
    failed: set[str] = set()
    for index, (path, source_ds) in enumerate(files):
        name = str(path.relative_to(TEST_FILES))
        before = path.read_bytes()
        output = tmp_path / f"{index:03d}.dcm"
        result = scrubber.scrub_file(path, output)
        if path.read_bytes() != before:
            failures.append(f"{name}: input modified")
        reason = expected_failure(path, source_ds)
        if result.status == "failed":
            failed.add(name)
            if reason is None:
                failures.append(f"{name}: unexpected failure: {result.error}")
            elif reason not in (result.error or ""):
                failures.append(f"{name}: failed with {result.error!r}, expected {reason!r}")
            if output.exists():
                failures.append(f"{name}: failed but an output was written")
            continue
        if result.status != "ok":
            failures.append(f"{name}: status {result.status}")
            continue
        if reason is not None:
            failures.append(f"{name}: expected to fail ({reason}) but status ok")
        failures += [f"{name}: {problem}" for problem in check_output(path, source_ds, output)]
    expected = {
        str(p.relative_to(TEST_FILES)) for p, ds in files if expected_failure(p, ds) is not None
    }
    unexpected_ok = sorted(expected - failed)
    assert not failures, f"{len(failures)} problem(s) under {profile}:\n" + "\n".join(failures)
    assert not unexpected_ok, f"expected to fail: {unexpected_ok}"
    assert failed == expected
    # The documented exceptions really occur in the corpus: the test checks each kind.
    reasons = {expected_failure(p, ds) for p, ds in files}
    assert {"DICOMDIR", "SOP Class UID", "truncated"} <= reasons

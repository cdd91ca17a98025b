"""The fast writer (raw bytes of unchanged elements copied) against pydicom's own writer."""

from __future__ import annotations

import warnings
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom import dcmread

from medanon import Keyring, Scrubber, load_policy
from medanon.dicom.encode import encode_part10
from medanon.errors import InputError
from medanon.io import parse_dicom

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _corpus() -> list[Path]:
    return sorted(p for p in TEST_FILES.rglob("*") if p.is_file() and p.suffix in ("", ".dcm"))


@pytest.mark.parametrize("profile", ["basic", "research"])
def test_fast_writer_matches_pydicom_writer(profile: str, keyring: Keyring) -> None:
    scrubber = Scrubber(load_policy(profile), keyring)
    checked, mismatches = 0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _corpus():
            raw = path.read_bytes()
            try:
                dataset = parse_dicom(raw)
                scrubber._scrub(dataset)
            except InputError:
                continue
            fast = encode_part10(dataset, raw)
            slow = encode_part10(dataset, None)
            a, b = dcmread(BytesIO(fast)), dcmread(BytesIO(slow))
            same = a == b and a.file_meta == b.file_meta and fast[:132] == slow[:132]
            if not same:
                mismatches.append(path.name)
            checked += 1
    assert checked > 100
    assert mismatches == []

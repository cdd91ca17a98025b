"""De-identification must not make a file less valid: dciodvfy (dicom3tools) finds no more errors
in an output than in its input, for every pydicom test file it can check.

Skipped when dciodvfy is not installed. Error lines are compared after replacing UIDs and
numbers, since remapped UIDs make the same error read differently.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian

from medanon import Keyring, Scrubber, load_policy

from .test_pydicom_corpus import TEST_FILES, corpus, expected_failure

DCIODVFY = shutil.which("dciodvfy")

pytestmark = pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not installed")


@dataclass(frozen=True)
class Check:
    crashed: bool  # killed by a signal (dciodvfy asserts on some files) or timed out
    read_failed: bool  # dciodvfy could not parse the dataset
    errors: tuple[str, ...]


def dciodvfy(path: Path) -> Check:
    try:
        proc = subprocess.run(
            [str(DCIODVFY), str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Check(True, True, ())
    lines = (proc.stdout + proc.stderr).splitlines()
    # Errors: lines starting with "Error", and "(gggg,eeee) ... - Error - ..." element lines.
    errors = tuple(line for line in lines if line.startswith("Error") or " - Error - " in line)
    read_failed = any("dataset read failed" in line for line in lines)
    return Check(proc.returncode < 0, read_failed, errors)


_NUMBERS = re.compile(r"\d+(?:\.\d+)*")


def normalised(line: str) -> str:
    """The error without its values: remapped UIDs, shifted dates and lengths differ."""
    return _NUMBERS.sub("#", line)


@cache
def checkable_inputs() -> tuple[tuple[Path, Check], ...]:
    """pydicom test files medanon should de-identify and dciodvfy can check: not crashing it, not
    deflated (dciodvfy does not inflate), parsed by it."""
    candidates = [
        path
        for path, ds in corpus()
        if expected_failure(path, ds) is None
        and (ds.file_meta or {}).get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        checks = list(pool.map(dciodvfy, candidates))
    return tuple(
        (path, check)
        for path, check in zip(candidates, checks, strict=True)
        if not check.crashed and not check.read_failed
    )


@pytest.mark.parametrize("profile", ["basic", "research"])
def test_no_new_dciodvfy_errors(profile: str, keyring: Keyring, tmp_path: Path) -> None:
    inputs = checkable_inputs()
    assert len(inputs) > 100, "too few pydicom test files can be checked"
    scrubber = Scrubber(load_policy(profile), keyring)
    outputs: list[tuple[Path, Check, Path]] = []
    for index, (path, before) in enumerate(inputs):
        output = tmp_path / f"{index:03d}.dcm"
        if scrubber.scrub_file(path, output).status == "ok":  # failures: test_pydicom_corpus
            outputs.append((path, before, output))
    assert len(outputs) > 100
    with ThreadPoolExecutor(max_workers=2) as pool:
        afters = list(pool.map(dciodvfy, [output for _, _, output in outputs]))
    offending = []
    for (path, before, _), after in zip(outputs, afters, strict=True):
        name = str(path.relative_to(TEST_FILES))
        if after.crashed:
            offending.append(f"{name}: dciodvfy crashed on the output, not on the input")
            continue
        if after.read_failed:
            offending.append(f"{name}: dciodvfy cannot read the output, it could read the input")
            continue
        if len(after.errors) > len(before.errors):
            new = Counter(map(normalised, after.errors)) - Counter(map(normalised, before.errors))
            lines = "\n    ".join(sorted(new.elements())) or "(same kinds, more of them)"
            offending.append(
                f"{name}: {len(before.errors)} -> {len(after.errors)} errors; new:\n    {lines}"
            )
    assert not offending, (
        f"{len(offending)} output(s) under {profile} are less valid than their input:\n"
        + "\n".join(offending)
    )

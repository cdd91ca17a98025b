"""Real ultrasound files with real burned-in test-patient text, from the ``deid-data`` package.

Philips and Siemens scanners wrote a test patient's name, MRN, birth date, exam date and time
and the hospital's name into these pixels (no real patient). Issue 3 asks that they come out
clean: every ink pixel of the identifying text hand-labelled below must be covered in the
output, in every frame, and Burned In Annotation may say NO only then.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from medanon import Keyring, Scrubber, load_policy
from medanon.text import is_available

deid_data = pytest.importorskip("deid_data")
pytestmark = pytest.mark.skipif(not is_available(), reason="Tesseract is not installed")

ULTRASOUNDS = Path(deid_data.__file__).parent / "data" / "ultrasounds"

# Identifying text, as (x0, y0, x1, y1) boxes around its ink: name, MRN, DOB, hospital,
# exam date and time (labelled by eye on the first frame).
PHI_BOXES: dict[str, list[tuple[int, int, int, int]]] = {
    "GREYSCALE_IMAGE.dcm": [
        (6, 3, 175, 22),
        (180, 3, 285, 22),
        (390, 3, 690, 22),
        (820, 3, 1012, 22),
    ],
    "RGB_IMAGE.dcm": [
        (2, 5, 230, 26),
        (2, 33, 140, 53),
        (500, 5, 720, 26),
        (774, 5, 884, 26),
        (500, 33, 772, 53),
    ],
    # The cine's top band, scaled to its 800 px width.
    "GREYSCALE_CINE.dcm": [
        (4, 2, 136, 17),
        (140, 2, 222, 17),
        (303, 2, 537, 17),
        (640, 2, 790, 17),
    ],
}


def _ink_covered(before: np.ndarray, after: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of the box's ink pixels (well above the band's median) changed in the output."""
    x0, y0, x1, y1 = box
    grey = before if before.ndim == 2 else before.max(axis=-1)
    region = grey[y0:y1, x0:x1].astype(np.int32)
    ink = region > np.median(region) + 60
    assert ink.sum() > 50, f"box {box} holds no text: the label is wrong"
    changed = before[y0:y1, x0:x1] != after[y0:y1, x0:x1]
    if changed.ndim == 3:
        changed = changed.any(axis=-1)
    return float((changed & ink).sum() / max(1, int(ink.sum())))


def _frames(array: np.ndarray, dataset: Dataset) -> np.ndarray:
    return array if int(dataset.get("NumberOfFrames", 1) or 1) > 1 else array[np.newaxis]


def _assert_clean(name: str, source: Dataset, clean: Dataset) -> None:
    before, after = _frames(source.pixel_array, source), _frames(clean.pixel_array, clean)
    assert before.shape == after.shape
    for index in range(before.shape[0]):
        for box in PHI_BOXES[name]:
            covered = _ink_covered(before[index], after[index], box)
            assert covered >= 0.99, f"{name} frame {index} box {box}: {covered:.3f} covered"
    assert clean.BurnedInAnnotation == "NO"
    codes = {item.CodeValue for item in clean.DeidentificationMethodCodeSequence}
    assert "113101" in codes


@pytest.fixture(scope="module")
def greyscale_cine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deid-cine")
    with zipfile.ZipFile(ULTRASOUNDS / "GREYSCALE_CINE.zip") as archive:
        archive.extract("GREYSCALE_CINE.dcm", folder)
    return folder / "GREYSCALE_CINE.dcm"


@pytest.mark.parametrize("name", ["GREYSCALE_IMAGE.dcm", "RGB_IMAGE.dcm"])
def test_social_profile_removes_every_burned_in_identifier(name: str, keyring: Keyring) -> None:
    source = dcmread(ULTRASOUNDS / name)
    clean, outcome = Scrubber(load_policy("social"), keyring).scrub_dataset(source)
    _assert_clean(name, source, clean)
    assert outcome.counts["pixel_text_regions_kept"] == 0  # all mode: every text region goes
    assert "ZZZ" not in str(clean.get("PatientName", ""))


@pytest.mark.parametrize("name", ["GREYSCALE_IMAGE.dcm", "RGB_IMAGE.dcm"])
def test_phi_mode_removes_every_burned_in_identifier(name: str, keyring: Keyring) -> None:
    """phi mode keeps technical labels but must still find these (MRN differs from the
    header's Patient ID, the date is month/day/year, OCR misreads part of the name)."""
    policy = dataclasses.replace(load_policy("research"), pixel_text="phi")
    source = dcmread(ULTRASOUNDS / name)
    clean, outcome = Scrubber(policy, keyring).scrub_dataset(source)
    _assert_clean(name, source, clean)
    assert outcome.counts["pixel_text_regions_kept"] > 0  # benign labels were kept


def test_cine_is_clean_in_every_frame(greyscale_cine: Path, keyring: Keyring) -> None:
    source = dcmread(greyscale_cine)
    assert int(source.NumberOfFrames) == 27
    clean, _ = Scrubber(load_policy("social"), keyring).scrub_dataset(source)
    _assert_clean("GREYSCALE_CINE.dcm", source, clean)


def test_cli_keeps_names_and_layout(tmp_path: Path) -> None:
    """The contract users' scripts rely on: same relative path and file name, a DICOM of the
    same dimensions."""
    from click.testing import CliRunner

    from medanon.cli import main

    inputs = tmp_path / "in" / "us"
    inputs.mkdir(parents=True)
    (inputs / "RGB_IMAGE.dcm").write_bytes((ULTRASOUNDS / "RGB_IMAGE.dcm").read_bytes())
    result = CliRunner().invoke(
        main, ["scrub", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--profile", "social"]
    )
    assert result.exit_code == 0, result.output
    out = dcmread(tmp_path / "out" / "us" / "RGB_IMAGE.dcm")
    assert (out.Rows, out.Columns, out.SamplesPerPixel) == (768, 1024, 3)
    _assert_clean("RGB_IMAGE.dcm", dcmread(inputs / "RGB_IMAGE.dcm"), out)

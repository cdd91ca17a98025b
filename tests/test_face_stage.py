"""Faces removed from photographs in the pipeline: DICOM VL photographs and ordinary pictures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from medanon import Keyring, Scrubber, load_policy
from medanon.faces import default_detector
from medanon.faces.headscan import is_head_scan
from medanon.faces.stage import is_photograph

skimage_data = pytest.importorskip("skimage.data")
pytestmark = pytest.mark.skipif(
    not default_detector().is_available(), reason="no face detector installed"
)
VL_PHOTOGRAPHIC = "1.2.840.10008.5.1.4.1.1.77.1.4"


def photo_dataset(rgb: np.ndarray | None = None) -> Dataset:
    if rgb is None:
        rgb = skimage_data.astronaut()  # public test picture shipped with scikit-image
    ds = Dataset()
    ds.SOPClassUID = VL_PHOTOGRAPHIC
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "XC"
    ds.PatientName = "DUPONTEL^Marguerite"
    ds.PatientID = "PID48151623"
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = rgb.tobytes()
    ds.file_meta = Dataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def test_face_removed_from_a_dicom_photograph(keyring: Keyring, tmp_path: Path) -> None:
    source = tmp_path / "photo.dcm"
    photo_dataset().save_as(source, enforce_file_format=True)
    policy = replace(load_policy("research"), faces=True)
    result = Scrubber(policy, keyring).scrub_file(source, tmp_path / "o.dcm")
    assert result.status == "ok", result.error
    assert result.actions["faces_removed"] >= 1
    out = dcmread(tmp_path / "o.dcm")
    assert out.RecognizableVisualFeatures == "NO"
    assert "113102" in {i.CodeValue for i in out.DeidentificationMethodCodeSequence}
    assert default_detector().detect(out.pixel_array) == []  # RGB, as the detector reads
    assert any("photograph of a person" in w for w in result.warnings)


def test_face_removed_from_a_jpeg_with_the_social_profile(keyring: Keyring, tmp_path: Path) -> None:
    source = tmp_path / "portrait.jpg"
    cv2.imwrite(str(source), cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    result = Scrubber(load_policy("social"), keyring).scrub_file(source, tmp_path / "o.jpg")
    assert result.status == "ok", result.error
    assert result.actions["faces_removed"] >= 1
    after = cv2.imread(str(tmp_path / "o.jpg"))
    assert default_detector().detect(cv2.cvtColor(after, cv2.COLOR_BGR2RGB)) == []


def test_photographs_and_head_scans_are_recognised() -> None:
    assert is_photograph(photo_dataset())
    ct = Dataset()
    ct.Modality = "CT"
    ct.BodyPartExamined = "HEAD"
    ct.SliceThickness = "1.25"
    assert not is_photograph(ct)
    assert is_head_scan(ct)  # the series-level check: tests/test_headscan.py
    ct.BodyPartExamined = "CHEST"
    assert not is_head_scan(ct)


def test_a_grey_secondary_capture_photograph_is_face_checked(
    keyring: Keyring, tmp_path: Path
) -> None:
    ds = photo_dataset()
    grey = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2GRAY)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
    ds.Modality = "OT"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    del ds.PlanarConfiguration
    ds.PixelData = grey.tobytes()
    assert is_photograph(ds)
    source = tmp_path / "sc.dcm"
    ds.save_as(source, enforce_file_format=True)
    policy = replace(load_policy("research"), faces=True)
    result = Scrubber(policy, keyring).scrub_file(source, tmp_path / "o.dcm")
    assert result.status == "ok", result.error
    assert result.actions["faces_removed"] >= 1
    assert default_detector().detect(dcmread(tmp_path / "o.dcm").pixel_array) == []


def test_a_16_bit_multiframe_secondary_capture_is_face_checked(keyring: Keyring) -> None:
    """Multi-frame grayscale word SC (16 bits): every frame searched as shown, filled itself."""
    grey = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 4
    ds = photo_dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word SC
    ds.Modality = "OT"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    del ds.PlanarConfiguration
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 10, 9
    ds.NumberOfFrames = 2
    ds.PixelData = np.stack([grey, grey]).tobytes()
    clean, outcome = Scrubber(replace(load_policy("research"), faces=True), keyring).scrub_dataset(
        ds
    )
    assert outcome.counts["faces_removed"] >= 2
    for frame in clean.pixel_array:
        shown = (frame.astype(np.float64) * (255.0 / max(1, int(frame.max())))).astype(np.uint8)
        assert default_detector().detect(shown) == []


def test_colour_photographs_reach_the_detector_in_its_channel_order(
    keyring: Keyring, tmp_path: Path
) -> None:
    """Files are decoded in OpenCV's BGR order and the detector reads RGB: fed BGR it sees blue
    faces, and on the benchmark's skin-tinted faces it removed 22-23 of 36 while the re-check,
    blind the same way, called the photographs clean (found by an audit). Four such faces on
    one canvas, through a PNG and through a DICOM VL photograph: all four filled."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import bench_faces
    finally:
        sys.path.pop(0)
    positives, _ = bench_faces.build(3, True)
    sample = next(s for s in positives if s.name == "profile-ish-rgb-1")
    assert len(sample.truths) == 4

    def all_filled(after_bgr: np.ndarray) -> bool:
        before_bgr = cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR)
        return all(
            (after_bgr[t.mask] != before_bgr[t.mask]).any(axis=1).mean() >= 0.9
            for t in sample.truths
        )

    source = tmp_path / "faces.png"
    cv2.imwrite(str(source), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
    result = Scrubber(load_policy("social"), keyring).scrub_file(source, tmp_path / "o.png")
    assert result.status == "ok", result.error
    after = cv2.imread(str(tmp_path / "o.png"))
    assert all_filled(after)
    assert default_detector().detect(cv2.cvtColor(after, cv2.COLOR_BGR2RGB)) == []

    dicom = tmp_path / "faces.dcm"
    photo_dataset(np.ascontiguousarray(sample.image)).save_as(dicom, enforce_file_format=True)
    policy = replace(load_policy("research"), faces=True)
    result = Scrubber(policy, keyring).scrub_file(dicom, tmp_path / "o.dcm")
    assert result.status == "ok", result.error
    assert all_filled(cv2.cvtColor(dcmread(tmp_path / "o.dcm").pixel_array, cv2.COLOR_RGB2BGR))

    from medanon.verdict import find_faces

    assert len(find_faces(cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))) >= 3  # BGR, as it says

"""Encapsulated Pixel Data rebuilt from its frames when pixels are cleaned: camera EXIF inside
a DICOM JPEG and bytes hidden in the container do not survive."""

from __future__ import annotations

import struct
from dataclasses import replace

import cv2
import numpy as np
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, RLELossless

from medanon import Keyring, Scrubber, load_policy
from medanon.pixels.fragments import rebuild_encapsulation
from tests.factories import phi_dataset

SECRET = b"Photographer DUPONTEL PID48151623"


def camera_jpeg() -> bytes:
    """A JPEG with an APP1 'EXIF' and a COM segment holding names, as cameras write them."""
    image = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    data = encoded.tobytes()
    app1 = b"\xff\xe1" + struct.pack(">H", len(SECRET) + 8) + b"Exif\x00\x00" + SECRET
    com = b"\xff\xfe" + struct.pack(">H", len(SECRET) + 2) + SECRET
    return data[:2] + app1 + com + data[2:]


def jpeg_dataset():  # type: ignore[no-untyped-def]
    ds = phi_dataset(rows=64, columns=64)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([camera_jpeg()])
    ds["PixelData"].VR = "OB"
    ds.LossyImageCompression = "01"
    return ds


def test_jpeg_frames_lose_app_and_com_segments_pixels_unchanged() -> None:
    ds = jpeg_dataset()
    before = ds.pixel_array.copy()
    removed = rebuild_encapsulation(ds)
    assert "encapsulation rebuilt" in removed and len(removed) >= 2
    assert SECRET not in ds.PixelData
    assert np.array_equal(dcmread_roundtrip(ds), before)


def dcmread_roundtrip(ds) -> np.ndarray:  # type: ignore[no-untyped-def]
    from io import BytesIO

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return dcmread(BytesIO(buffer.getvalue())).pixel_array


def test_canonical_encapsulation_is_left_byte_identical() -> None:
    ds = phi_dataset(rows=8, columns=8)
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.compress(RLELossless, np.zeros((8, 8), np.uint16), encoding_plugin="pydicom")
    before = ds.PixelData
    assert rebuild_encapsulation(ds) == []
    assert ds.PixelData == before


def test_pipeline_strips_camera_exif_when_cleaning_pixels(keyring: Keyring) -> None:
    policy = replace(load_policy("basic"), pixel_boxes=((0, 0, 2, 2),))
    clean, outcome = Scrubber(policy, keyring).scrub_dataset(jpeg_dataset())
    assert outcome.counts["pixel_encapsulation_cleaned"] == 1
    assert b"DUPONTEL" not in bytes(clean.PixelData)


def test_identifiers_hidden_in_the_container_fail_verification(tmp_path, keyring: Keyring) -> None:  # type: ignore[no-untyped-def]
    """Header-only profiles copy Pixel Data as it came; the patient's ID hidden in it is
    still found by verification, and the file fails rather than passing it on."""
    source = tmp_path / "in.dcm"
    jpeg_dataset().save_as(source, enforce_file_format=True)
    result = Scrubber(load_policy("basic"), keyring).scrub_file(source, tmp_path / "out.dcm")
    assert result.status == "failed" and "encapsulated" in (result.error or "")
    assert not (tmp_path / "out.dcm").exists()

"""Read an image file for the verdict: DICOM (first frame) or an ordinary image, with what its
metadata says about identification (attribute names only, never values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

__all__ = ["IMAGE_SUFFIXES", "LoadError", "Loaded", "is_candidate", "load_image"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
DICOM_SUFFIXES = {".dcm", ".dicom", ""}

# DICOM attributes whose presence (non-empty) identifies, unless Patient Identity Removed.
_DICOM_IDENTIFYING = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "OtherPatientIDs",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "InstitutionName",
    "InstitutionAddress",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "AccessionNumber",
    "DeviceSerialNumber",
)
_DICOM_VALUES = ("PatientName", "PatientID", "OtherPatientIDs", "AccessionNumber")
# EXIF tags (PS: tag numbers of CIPA DC-008) that identify a person, place, time or device.
_EXIF_BASE = {0x013B: "Artist", 0x8825: "GPSInfo", 0x8298: "Copyright"}
_EXIF_IFD = {
    0x9003: "DateTimeOriginal",
    0xA430: "CameraOwnerName",
    0xA431: "BodySerialNumber",
    0xA435: "LensSerialNumber",
    0x9004: "DateTimeDigitized",
}


class LoadError(Exception):
    """The file cannot be read as an image (message names no data value)."""


@dataclass
class Loaded:
    image: np.ndarray  # uint8, grey or BGR
    kind: str  # dicom | image
    identifying_metadata: list[str] = field(default_factory=list)
    identifying_values: list[str] = field(default_factory=list)
    modality: str | None = None
    declared_burned_in: bool = False


def is_candidate(path: Path) -> bool:
    """Whether a file found in a folder should be checked (images and DICOM files)."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES or suffix in (".dcm", ".dicom"):
        return True
    if suffix == "" and path.is_file():
        try:
            with path.open("rb") as fh:
                head = fh.read(132)
        except OSError:
            return False
        return head[128:132] == b"DICM"
    return False


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    a = arr.astype(np.float32)
    lo, hi = np.percentile(a, (0.5, 99.5)) if a.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1
    return np.clip((a - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)


def _load_dicom(path: Path) -> Loaded:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(str(path))
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise LoadError(f"{path}: not a readable DICOM file ({type(exc).__name__})") from exc
    if "PixelData" not in ds:
        raise LoadError(f"{path}: DICOM file without pixel data")
    try:
        arr = ds.pixel_array
    except Exception as exc:
        raise LoadError(f"{path}: cannot decode pixel data ({type(exc).__name__})") from exc
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    if frames > 1:
        arr = arr[0]
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if spp == 1:
        if photometric == "PALETTE COLOR":
            from pydicom.pixels import apply_color_lut

            img = cv2.cvtColor(_to_uint8(apply_color_lut(arr, ds)), cv2.COLOR_RGB2BGR)
        else:
            try:
                from pydicom.pixels import apply_modality_lut, apply_voi_lut

                arr = apply_voi_lut(apply_modality_lut(arr, ds), ds)
            except Exception:
                pass
            img = _to_uint8(np.asarray(arr))
            if photometric == "MONOCHROME1":
                img = 255 - img
    else:
        img = cv2.cvtColor(_to_uint8(np.asarray(arr)), cv2.COLOR_RGB2BGR)
    removed = str(ds.get("PatientIdentityRemoved", "")).upper() == "YES"
    found, values = [], []
    if not removed:
        for kw in _DICOM_IDENTIFYING:
            if str(ds.get(kw, "") or "").strip():
                found.append(kw)
        for kw in _DICOM_VALUES:
            v = str(ds.get(kw, "") or "").strip()
            if v:
                values.append(v)
    return Loaded(
        image=img,
        kind="dicom",
        identifying_metadata=found,
        identifying_values=values,
        modality=str(ds.get("Modality", "")) or None,
        declared_burned_in=str(ds.get("BurnedInAnnotation", "")).upper() == "YES",
    )


def _exif_identifying(path: Path, data: bytes) -> list[str]:
    found: list[str] = []
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        Image = None  # type: ignore[assignment]
    if Image is not None:
        try:
            with Image.open(path) as im:
                exif = im.getexif()
                for tag, name in _EXIF_BASE.items():
                    if tag in exif:
                        found.append(name)
                ifd = exif.get_ifd(0x8769)
                for tag, name in _EXIF_IFD.items():
                    if tag in ifd:
                        found.append(name)
                if exif.get_ifd(0x8825):
                    found.append("GPSInfo")
                info = im.info or {}
                for k in ("Author", "author", "Artist", "Location", "GPS"):
                    if k in info:
                        found.append(f"PNG text {k}")
        except Exception:
            pass
    if b"<x:xmpmeta" in data and re.search(rb"(creator|City|Location|GPS)", data):
        found.append("XMP creator/location")
    if data[:2] == b"\xff\xd8" and b"Exif\x00\x00" in data[:65536]:
        # An EXIF thumbnail (IFD1) may keep the uncropped original.
        seg = data[:65536]
        if seg.count(b"\xff\xd8") > 1:
            found.append("EXIF thumbnail")
    return sorted(set(found))


def load_image(path: Path) -> Loaded:
    """Read ``path`` (DICOM or an ordinary image) into a uint8 grey or BGR array."""
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({type(exc).__name__})") from exc
    if suffix in (".dcm", ".dicom") or data[128:132] == b"DICM":
        return _load_dicom(path)
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise LoadError(f"{path}: not a readable image")
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    arr = _to_uint8(arr)
    return Loaded(image=arr, kind="image", identifying_metadata=_exif_identifying(path, data))

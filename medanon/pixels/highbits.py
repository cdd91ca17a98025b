"""Bits above High Bit in native Pixel Data: cleared before the pixels are called clean.

PS3.5 8.1.1 leaves the bits of a stored sample above High Bit unused, and editions before 2004
let overlays live there (Overlay Bit Position, PS3.5 8.1.2, retired). Devices still write
text or graphics into them. Viewers and OCR never see those bits (they show Bits Stored), so
a name drawn there would survive every text check while the header says the pixels are clean.

When medanon cleans pixels it clears those bits (unsigned: zero; signed: the copy of the sign
bit the standard expects), which changes no displayed value. When it does not clean pixels,
the pipeline only warns.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID


def _layout(dataset: Dataset) -> tuple[str, int, int, bool] | None:
    """``(dtype, bits allocated, bits stored, signed)`` of native Pixel Data whose samples have
    unused high bits, or None (encapsulated data: the codec keeps Bits Stored)."""
    meta = getattr(dataset, "file_meta", None)
    syntax = UID(str(meta.get("TransferSyntaxUID", "") or "")) if meta is not None else UID("")
    if "PixelData" not in dataset or not syntax or syntax.is_encapsulated:
        return None
    try:
        allocated = int(dataset.BitsAllocated)
        stored = int(dataset.BitsStored)
        signed = int(dataset.get("PixelRepresentation", 0) or 0) == 1
    except (AttributeError, TypeError, ValueError):
        return None
    if allocated not in (8, 16, 32) or not 0 < stored < allocated:
        return None
    order = "<" if syntax.is_little_endian else ">"
    return f"{order}u{allocated // 8}", allocated, stored, signed


def _canonical(values: np.ndarray, allocated: int, stored: int, signed: bool) -> np.ndarray:
    """The samples with their unused high bits as the standard expects them."""
    low = values & ((1 << stored) - 1)
    if not signed:
        return low
    sign = (low >> (stored - 1)) & 1
    high = ((1 << (allocated - stored)) - 1) << stored
    return low | (sign * high).astype(values.dtype)


def _samples(dataset: Dataset) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The native samples, the same with canonical high bits, and their dtype; or None."""
    layout = _layout(dataset)
    if layout is None:
        return None
    dtype, allocated, stored, signed = layout
    raw = dataset.PixelData
    values = np.frombuffer(raw, dtype=dtype, count=len(raw) // np.dtype(dtype).itemsize)
    return values, _canonical(values, allocated, stored, signed), dtype


def has_unused_high_bits(dataset: Dataset) -> bool:
    """Whether native Pixel Data has set bits above High Bit (not a sign copy)."""
    samples = _samples(dataset)
    return samples is not None and not np.array_equal(samples[0], samples[1])


def clear_unused_high_bits(dataset: Dataset) -> bool:
    """Clear the bits above High Bit of native Pixel Data in place; True if any was set."""
    samples = _samples(dataset)
    if samples is None or np.array_equal(samples[0], samples[1]):
        return False
    values, clean, dtype = samples
    raw = dataset.PixelData
    dataset.PixelData = clean.astype(dtype, copy=False).tobytes() + raw[values.nbytes :]
    return True

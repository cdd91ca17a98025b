"""Bits above High Bit in native Pixel Data: cleared when pixels are cleaned, warned otherwise."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pydicom.uid import ExplicitVRBigEndian

from medanon import Keyring, Scrubber, load_policy
from medanon.pixels.highbits import clear_unused_high_bits, has_unused_high_bits
from tests.factories import phi_dataset


def dataset_with_hidden_text(signed: bool = False, big_endian: bool = False):  # type: ignore[no-untyped-def]
    """12 bits stored in 16; a name drawn in bit 15 (invisible to a viewer and to OCR)."""
    ds = phi_dataset(rows=64, columns=256)
    ds.BitsStored, ds.HighBit = 12, 11
    ds.PixelRepresentation = int(signed)
    base = np.tile(np.linspace(-900 if signed else 100, 1500, 256), (64, 1)).astype(np.int16)
    values = base.view(np.uint16) & 0x0FFF if not signed else base.view(np.uint16).copy()
    if signed:  # a proper 12-bit signed sample: bits 12-15 copy the sign
        values = np.where(base < 0, values | 0xF000, values & 0x0FFF).astype(np.uint16)
    mask = np.zeros((64, 256), np.uint8)
    cv2.putText(mask, "DUPONTEL", (5, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 3)
    values[mask > 0] ^= 0x8000
    if big_endian:
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
        ds.PixelData = values.astype(">u2").tobytes()
    else:
        ds.PixelData = values.astype("<u2").tobytes()
    return ds, values, mask


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_clearing_keeps_every_displayed_value(signed: bool, big_endian: bool) -> None:
    ds, values, _ = dataset_with_hidden_text(signed, big_endian)
    assert has_unused_high_bits(ds)
    assert clear_unused_high_bits(ds)
    assert not has_unused_high_bits(ds) and not clear_unused_high_bits(ds)
    order = ">u2" if big_endian else "<u2"
    after = np.frombuffer(ds.PixelData, order).reshape(64, 256)
    assert np.array_equal(after & 0x0FFF, values & 0x0FFF)  # stored bits unchanged
    if signed:
        sign = (after >> 11) & 1
        assert np.array_equal(after >> 12, sign * 0xF)
    else:
        assert not (after >> 12).any()


def test_pixel_cleaning_profiles_clear_them_others_warn(keyring: Keyring) -> None:
    ds, _, _ = dataset_with_hidden_text()
    clean, outcome = Scrubber(load_policy("basic"), keyring).scrub_dataset(ds)
    assert any("above High Bit" in w for w in outcome.warnings)
    assert clean.PixelData == ds.PixelData  # header-only: pixels as they came
    policy = load_policy("basic")
    from dataclasses import replace

    _, outcome = Scrubber(replace(policy, pixel_boxes=((0, 0, 4, 4),)), keyring).scrub_dataset(ds)
    assert outcome.counts["pixel_high_bits_cleared"] == 1


def test_pixels_kept_in_a_sequence_item_fail_pixel_cleaning(keyring: Keyring) -> None:
    """Pixel Data inside a kept sequence item is not searched: the file cannot be called
    clean, so it fails instead of getting Burned In Annotation NO."""
    from dataclasses import replace

    from pydicom.dataset import Dataset

    from medanon.errors import MedanonError

    ds = phi_dataset()
    item = Dataset()
    item.Rows, item.Columns, item.SamplesPerPixel = 8, 8, 1
    item.PhotometricInterpretation = "MONOCHROME2"
    item.BitsAllocated, item.BitsStored, item.HighBit, item.PixelRepresentation = 8, 8, 7, 0
    item.PixelData = bytes(64)
    ds.SharedFunctionalGroupsSequence = [item]
    policy = replace(load_policy("basic"), pixel_boxes=((0, 0, 2, 2),))
    with pytest.raises(MedanonError, match="nested-pixel-data"):
        Scrubber(policy, keyring).scrub_dataset(ds)

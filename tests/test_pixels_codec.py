"""Pixel decoding and lossless write-back (medanon.pixels.codec) over pydicom's own test corpus.

The corpus folder is globbed on disk: ``pydicom.data.get_testdata_files`` with broad patterns
would try to download the larger files. Every file with Pixel Data must decode, or fail closed
with a PixelError for a known reason; every decoded file must survive decode -> encode -> Part 10
bytes -> read -> decode with identical values, and stay byte-identical when nothing changed.
"""

from __future__ import annotations

import copy
import warnings
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

import medanon.pixels.codec as codec
from medanon.errors import InputError
from medanon.pixels import (
    PixelError,
    decode_frames,
    display_frames,
    encode_frames,
    icon_and_overlay_pixels,
)

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

# Files of the corpus that must fail closed, with a substring of the PixelError message.
EXPECTED_FAILURES = {
    # 12-bit JPEG Extended that pylibjpeg's libjpeg rejects (GDCM decodes it).
    "JPEG-lossy.dcm": "cannot decode JPEG Extended",
    # A sequence delimiter inside the codestream: openjpeg rejects the fragment.
    "JPEG2000-embedded-sequence-delimiter.dcm": "cannot decode JPEG 2000",
    "MR_truncated.dcm": "damaged",  # Pixel Data 62 bytes short
    "badVR.dcm": "NumberOfFrames is invalid",  # Number of Frames "1A"
    "meta_missing_tsyntax.dcm": "no Transfer Syntax UID",
    "nested_priv_SQ.dcm": "Rows is missing",  # Pixel Data without an Image Pixel module
}


def _read(path: Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _pixel_files() -> list[Path]:
    found = []
    for path in sorted(p for p in TEST_FILES.rglob("*") if p.is_file()):
        try:
            ds = _read(path)
        except Exception:
            continue
        if "PixelData" in ds:
            found.append(path)
    return found


PIXEL_FILES = _pixel_files()


def _roundtrip(ds: Dataset) -> Dataset:
    """Part 10 bytes and back, as a written output would be read."""
    buffer = BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in ds.iterall():  # decode raw elements: SC_rgb_jpeg.dcm says explicit, is implicit
            pass
        ds.save_as(buffer, enforce_file_format=True)
        return pydicom.dcmread(BytesIO(buffer.getvalue()))


def _load(name: str) -> Dataset:
    return _read(TEST_FILES / name)


# -- the whole corpus ---------------------------------------------------------------------------


def test_corpus_is_there() -> None:
    assert len(PIXEL_FILES) >= 90


def test_corpus_decodes_or_fails_closed() -> None:
    decoded, failed = [], {}
    for path in PIXEL_FILES:
        ds = _read(path)
        try:
            frames = decode_frames(ds)
        except PixelError as exc:
            failed[path.name] = str(exc)
            continue
        decoded.append(path.name)
        assert frames.array.ndim == (4 if frames.photometric == "RGB" else 3), path.name
        assert frames.array.dtype.byteorder in ("=", "|"), path.name
        assert frames.array.shape[1:3] == (ds.Rows, ds.Columns), path.name
    assert set(failed) == set(EXPECTED_FAILURES)
    for name, message in failed.items():
        assert EXPECTED_FAILURES[name] in message, (name, message)
    assert len(decoded) == len(PIXEL_FILES) - len(EXPECTED_FAILURES)


def test_corpus_roundtrip_changed_gives_identical_values() -> None:
    for path in PIXEL_FILES:
        if path.name in EXPECTED_FAILURES:
            continue
        ds = _read(path)
        frames = decode_frames(ds)
        encode_frames(ds, frames, True)
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian, path.name
        again = decode_frames(_roundtrip(ds))
        assert again.photometric == frames.photometric, path.name
        assert again.array.dtype == frames.array.dtype, path.name
        assert np.array_equal(again.array, frames.array), path.name
        assert not again.encapsulated
        # Lossy history is kept or added, never lost (PS3.3 C.7.6.1.1.5).
        if frames.lossy:
            assert ds.LossyImageCompression == "01", path.name


def test_corpus_unchanged_keeps_pixel_data_byte_identical() -> None:
    for path in PIXEL_FILES:
        if path.name in EXPECTED_FAILURES:
            continue
        ds = _read(path)
        before = ds.PixelData
        syntax = ds.file_meta.TransferSyntaxUID
        photometric = ds.PhotometricInterpretation
        frames = decode_frames(ds)
        encode_frames(ds, frames, False)
        encode_frames(ds, frames, np.zeros(frames.number_of_frames, dtype=bool))
        assert ds.PixelData == before, path.name
        assert ds.file_meta.TransferSyntaxUID == syntax, path.name
        assert ds.PhotometricInterpretation == photometric, path.name
        assert _roundtrip(ds).PixelData == before, path.name


# -- fail closed ------------------------------------------------------------------------------


def test_missing_codec_names_the_syntax_and_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Unavailable:
        is_available = False

    monkeypatch.setattr(codec, "get_decoder", lambda uid: Unavailable())
    ds = _load("MR_small_jpeg_ls_lossless.dcm")
    assert ds.file_meta.TransferSyntaxUID == JPEGLSLossless
    with pytest.raises(PixelError) as caught:
        decode_frames(ds)
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == (
        "cannot decode JPEG-LS Lossless Image Compression: install pylibjpeg-libjpeg or pyjpegls"
    )


def test_syntax_without_any_decoder_fails_closed() -> None:
    ds = _load("MR_small_RLE.dcm")
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 Main Profile
    with pytest.raises(PixelError, match="MPEG2 Main Profile / Main Level: no pixel decoder"):
        decode_frames(ds)


def test_undecodable_encapsulated_data_fails_closed_without_values() -> None:
    ds = _load("JPEG-lossy.dcm")
    with pytest.raises(PixelError) as caught:
        decode_frames(ds)
    message = str(caught.value)
    assert message.startswith("cannot decode JPEG Extended (Process 2 and 4)")
    assert str(ds.PatientName) not in message


def test_no_pixel_data_and_float_pixel_data_are_refused() -> None:
    ds = _load("CT_small.dcm")
    del ds.PixelData
    with pytest.raises(PixelError, match="no Pixel Data"):
        decode_frames(ds)
    ds.FloatPixelData = b"\x00" * 4
    with pytest.raises(PixelError, match="Float Pixel Data"):
        decode_frames(ds)


# -- photometric interpretations and layouts ---------------------------------------------------


def test_ybr_full_422_multiframe_jpeg_becomes_rgb_in_every_frame() -> None:
    ds = _load("examples_ybr_color.dcm")
    assert ds.PhotometricInterpretation == "YBR_FULL_422"
    assert ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    frames = decode_frames(ds)
    assert frames.array.shape == (30, 240, 320, 3)
    assert frames.photometric == "RGB" and frames.lossy
    frames.array[:, :20, :100] = 0  # redact a band in every frame
    encode_frames(ds, frames, True)
    assert ds.PhotometricInterpretation == "RGB"
    assert (ds.SamplesPerPixel, ds.PlanarConfiguration, ds.NumberOfFrames) == (3, 0, 30)
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (8, 8, 7, 0)
    assert ds.LossyImageCompression == "01"
    assert len(ds.PixelData) == 30 * 240 * 320 * 3
    again = decode_frames(_roundtrip(ds))
    assert np.array_equal(again.array, frames.array)
    assert not again.array[:, :20, :100].any()


def test_uncompressed_ybr_full_422_is_upsampled_and_converted_not_scrambled() -> None:
    ds = _load("SC_ybr_full_422_uncompressed.dcm")
    assert ds.PhotometricInterpretation == "YBR_FULL_422"
    frames = decode_frames(ds)
    reference = decode_frames(_load("SC_rgb_rle.dcm")).array  # the same test card, RGB
    assert frames.array.shape == reference.shape == (1, 100, 100, 3)
    error = np.abs(frames.array.astype(int) - reference.astype(int))
    assert error.max() <= 6  # chroma subsampling and rounding, not scrambled colours
    encode_frames(ds, frames, True)
    assert ds.PhotometricInterpretation == "RGB"
    assert len(ds.PixelData) == 100 * 100 * 3
    assert np.array_equal(decode_frames(_roundtrip(ds)).array, frames.array)


def test_palette_color_becomes_rgb_and_loses_its_lut() -> None:
    ds = _load("examples_palette.dcm")
    assert ds.PhotometricInterpretation == "PALETTE COLOR"
    frames = decode_frames(ds)
    assert frames.photometric == "RGB" and frames.array.dtype == np.uint8
    assert frames.array.shape == (1, 350, 800, 3)
    indices = np.frombuffer(ds.PixelData, dtype=np.uint8)[: 350 * 800].reshape(350, 800)
    red = np.frombuffer(ds.RedPaletteColorLookupTableData, dtype="<u2") // 256
    assert np.array_equal(frames.array[0, ..., 0], red[indices])
    encode_frames(ds, frames, True)
    assert (ds.PhotometricInterpretation, ds.SamplesPerPixel, ds.BitsAllocated) == ("RGB", 3, 8)
    assert not [e for e in ds if e.tag.group == 0x0028 and 0x1100 <= e.tag.element < 0x1300]
    assert np.array_equal(decode_frames(_roundtrip(ds)).array, frames.array)


def test_rgb_planar_configuration_1_reads_like_interleaved() -> None:
    ds = _load("examples_rgb_color.dcm")
    interleaved = decode_frames(ds).array
    planar = copy.deepcopy(ds)
    planar.PixelData = np.ascontiguousarray(interleaved[0].transpose(2, 0, 1)).tobytes()
    planar.PlanarConfiguration = 1
    frames = decode_frames(planar)
    assert frames.original_planar_configuration == 1
    assert np.array_equal(frames.array, interleaved)
    encode_frames(planar, frames, True)
    assert planar.PlanarConfiguration == 0
    assert planar.PixelData == interleaved.tobytes()


def test_big_endian_planar_rgb() -> None:
    ds = _load("ExplVR_BigEnd.dcm")
    assert ds.PlanarConfiguration == 1 and ds.file_meta.TransferSyntaxUID == ExplicitVRBigEndian
    frames = decode_frames(ds)
    assert frames.array.shape == (1, 60, 80, 3)
    encode_frames(ds, frames, True)
    assert ds.PlanarConfiguration == 0
    assert np.array_equal(decode_frames(_roundtrip(ds)).array, frames.array)


def test_monochrome1_is_kept_and_displayed_inverted() -> None:
    ds = _load("dicomdirtests/77654033/CR1/6154")
    frames = decode_frames(ds)
    assert frames.photometric == "MONOCHROME1"
    shown = display_frames(frames)
    assert shown.dtype == np.uint8 and shown.shape == frames.array.shape
    high = frames.array == frames.array.max()
    low = frames.array == frames.array.min()
    assert (shown[high] == 0).all() and (shown[low] == 255).all()  # 255 = white, as viewed
    encode_frames(ds, frames, True)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    assert np.array_equal(decode_frames(_roundtrip(ds)).array, frames.array)


def test_display_uses_full_range_so_overlays_at_the_maximum_survive() -> None:
    ds = _load("CT_small.dcm")
    frames = decode_frames(ds)
    frames.array[0, :5, :40] = frames.array.max()  # text drawn at the top plateau
    shown = display_frames(frames)
    assert (shown[0, :5, :40] == 255).all()
    assert shown.min() == 0
    rgb = display_frames(decode_frames(_load("SC_rgb_rle_16bit.dcm")))
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 100, 100, 3)
    assert rgb[0, 5, 50].tolist() == [255, 0, 0]


def test_signed_16_bit_keeps_sign_and_refuses_values_beyond_bits_stored() -> None:
    ds = _load("J2K_pixelrep_mismatch.dcm")  # signed, 13 bits stored, JPEG 2000 lossless
    frames = decode_frames(ds)
    assert frames.array.dtype == np.int16 and frames.array.min() == -2000
    frames.array[0, :10, :10] = -(1 << 12)  # the lowest 13-bit value
    encode_frames(ds, frames, True)
    assert (ds.PixelRepresentation, ds.BitsStored, ds.HighBit) == (1, 13, 12)
    assert np.array_equal(decode_frames(_roundtrip(ds)).array, frames.array)

    narrow = _load("693_J2KI.dcm")  # signed, 14 bits stored
    frames = decode_frames(narrow)
    frames.array[0, 0, 0] = 1 << 13
    with pytest.raises(PixelError, match="exceed Bits Stored"):
        encode_frames(narrow, frames, True)


def test_multiframe_monochrome_redacts_every_frame() -> None:
    ds = _load("rtdose.dcm")
    frames = decode_frames(ds)
    assert frames.array.shape == (15, 10, 10)
    frames.array[:, 0, :] = 0
    encode_frames(ds, frames, True)
    assert ds.NumberOfFrames == 15
    again = decode_frames(_roundtrip(ds)).array
    assert not again[:, 0, :].any() and np.array_equal(again, frames.array)


def test_big_endian_becomes_little_endian_with_same_values() -> None:
    big = _load("MR_small_bigendian.dcm")
    little = decode_frames(_load("MR_small.dcm")).array
    frames = decode_frames(big)
    assert np.array_equal(frames.array, little)
    encode_frames(big, frames, True)
    assert big.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    written = _roundtrip(big)
    assert np.array_equal(decode_frames(written).array, little)
    assert written.Rows == 64 and written.PatientName == _load("MR_small.dcm").PatientName


def test_deflated_dataset() -> None:
    ds = _load("image_dfl.dcm")
    assert ds.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian
    frames = decode_frames(ds)
    untouched = copy.deepcopy(ds)
    encode_frames(untouched, frames, False)
    assert untouched.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian
    frames.array[0, :16, :16] = 0
    encode_frames(ds, frames, False)  # the digest sees the change the caller did not report
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert not decode_frames(_roundtrip(ds)).array[0, :16, :16].any()


def test_bit_packed_1_bit() -> None:
    ds = _load("liver_1frame.dcm")
    frames = decode_frames(ds)
    assert frames.bits_allocated == 1 and set(np.unique(frames.array)) <= {0, 1}
    encode_frames(ds, frames, True)
    assert ds.BitsAllocated == 1 and len(ds.PixelData) == 512 * 512 // 8
    assert np.array_equal(decode_frames(_roundtrip(ds)).array, frames.array)


# -- output syntax and lossy history ------------------------------------------------------------


def test_rle_on_request_for_encapsulated_input_only() -> None:
    ds = _load("MR_small_jpeg_ls_lossless.dcm")
    frames = decode_frames(ds)
    encode_frames(ds, frames, True, compression="rle")
    assert ds.file_meta.TransferSyntaxUID == RLELossless
    assert "LossyImageCompression" not in ds
    assert np.array_equal(decode_frames(_roundtrip(ds)).array, frames.array)

    native = _load("CT_small.dcm")
    encode_frames(native, decode_frames(native), True, compression="rle")
    assert native.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian

    wide = _load("SC_rgb_rle_32bit.dcm")  # RLE cannot hold 32-bit RGB: native instead
    frames = decode_frames(wide)
    encode_frames(wide, frames, True, compression="rle")
    assert wide.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(decode_frames(_roundtrip(wide)).array, frames.array)


def test_lossy_step_is_recorded_when_the_header_did_not() -> None:
    ds = _load("JPEGLSNearLossless_08.dcm")
    assert ds.get("LossyImageCompression") != "01"
    frames = decode_frames(ds)
    assert frames.lossy and frames.lossy_step is not None
    encode_frames(ds, frames, True)
    assert ds.LossyImageCompression == "01"
    assert ds.LossyImageCompressionMethod == "ISO_14495_1"
    assert float(ds.LossyImageCompressionRatio) > 1


def test_lossy_history_in_the_header_is_kept_for_native_input() -> None:
    ds = _load("SC_ybr_full_422_uncompressed.dcm")  # native, but was JPEG once
    frames = decode_frames(ds)
    assert frames.lossy
    encode_frames(ds, frames, True)
    assert ds.LossyImageCompression == "01"
    assert ds.LossyImageCompressionMethod == "ISO_10918_1"


def test_lossless_input_makes_no_lossy_claim() -> None:
    ds = _load("examples_jpeg2k.dcm")  # JPEG 2000 Lossless Only, YBR_RCT
    frames = decode_frames(ds)
    assert not frames.lossy and frames.photometric == "RGB"
    encode_frames(ds, frames, True)
    assert ds.LossyImageCompression == "00"
    assert ds.PhotometricInterpretation == "RGB"


def test_shape_or_dtype_changes_are_refused() -> None:
    ds = _load("CT_small.dcm")
    frames = decode_frames(ds)
    wrong = codec.Frames(**{**frames.__dict__, "array": frames.array.astype(np.float32)})
    with pytest.raises(PixelError, match="data type"):
        encode_frames(ds, wrong, True)
    ds.Rows = 64
    with pytest.raises(PixelError, match="Rows and Columns"):
        encode_frames(ds, frames, True)


# -- other pixel containers ---------------------------------------------------------------------


def test_icon_and_overlay_are_reported() -> None:
    sites = icon_and_overlay_pixels(_load("examples_overlay.dcm"))
    kinds = {(s.kind, s.path) for s in sites}
    assert ("overlay", "(6000,3000)") in kinds
    assert ("icon", "(0088,0200)[0]") in kinds
    assert icon_and_overlay_pixels(_load("CT_small.dcm")) == []


def test_high_bit_overlays_in_pixel_data_are_reported_and_not_decoded() -> None:
    ds = _load("examples_overlay.dcm")  # 16 allocated, 12 stored, unsigned
    raw = np.frombuffer(ds.PixelData, dtype="<u2").copy()
    raw[:100] |= 1 << 12  # an overlay plane in bit 12
    ds.PixelData = raw.tobytes()
    del ds[0x60003000]
    ds[0x60000100].value = 16  # Overlay Bits Allocated: kept in Pixel Data (retired)
    ds[0x60000102].value = 12  # Overlay Bit Position
    kinds = {s.kind for s in icon_and_overlay_pixels(ds)}
    assert {"embedded-overlay", "unused-high-bits", "icon"} <= kinds
    assert "overlay" not in kinds
    frames = decode_frames(ds)
    assert frames.array.max() < 1 << 12  # the overlay bits are not pixel values
    encode_frames(ds, frames, True)
    assert "unused-high-bits" not in {s.kind for s in icon_and_overlay_pixels(ds)}


def test_signed_data_sign_extension_is_not_a_high_bit_overlay() -> None:
    ds = _load("CT_small.dcm")
    values = np.frombuffer(ds.PixelData, dtype="<i2")
    ds.BitsStored, ds.HighBit = 12, 11
    ds.PixelData = np.clip(values, -2048, 2047).astype("<i2").tobytes()
    assert icon_and_overlay_pixels(ds) == []


def _forget_lossy_history(ds: Dataset) -> None:
    for keyword in ("LossyImageCompression", "LossyImageCompressionMethod"):
        if keyword in ds:
            delattr(ds, keyword)
    if "LossyImageCompressionRatio" in ds:
        del ds.LossyImageCompressionRatio


def test_unrecorded_jpeg_baseline_is_recorded_as_lossy() -> None:
    ds = _load("SC_rgb_jpeg_dcmtk.dcm")
    _forget_lossy_history(ds)
    frames = decode_frames(ds)
    assert frames.lossy_step is not None and frames.lossy_step[0] == "ISO_10918_1"
    encode_frames(ds, frames, True)
    assert ds.LossyImageCompression == "01"
    assert ds.LossyImageCompressionMethod == "ISO_10918_1"


def test_jpeg_2000_lossiness_comes_from_the_codestream_or_stays_conservative() -> None:
    irreversible = _load("JPEG2000.dcm")  # 9-7 wavelet: lossy whatever the header says
    irreversible.LossyImageCompression = "00"
    frames = decode_frames(irreversible)
    assert frames.lossy and frames.lossy_step is not None
    assert frames.lossy_step[0] == "ISO_15444_1"

    reversible = _load("693_J2KI.dcm")  # 5-3 wavelet: lossless only if the header says so
    reversible.LossyImageCompression = "00"
    assert not decode_frames(reversible).lossy
    _forget_lossy_history(reversible)
    assert decode_frames(reversible).lossy


def test_unconvertible_photometric_fails_closed_without_quoting_it() -> None:
    ds = _load("CT_small.dcm")
    ds.PhotometricInterpretation = "DOE JANE"
    with pytest.raises(PixelError) as caught:
        decode_frames(ds)
    assert "DOE" not in str(caught.value)

"""Decode Pixel Data to one canonical array and write it back losslessly.

References are to DICOM 2026d: PS3.3 C.7.6.3 (Image Pixel module), C.7.6.1.1.5 (Lossy Image
Compression), C.9 (Overlays), F.7 (Icon Image Sequence); PS3.5 8 (Encoding of Pixel Data), 10
and A.4 (Transfer Syntaxes for encapsulation).

Fail closed: whatever cannot be decoded raises :class:`PixelError` (never a silent pass-through
of pixels nobody looked at). Messages name the transfer syntax and what is missing, never a data
value.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import generate_fragments, generate_frames
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, convert_color_space, get_decoder, pack_bits
from pydicom.pixels.utils import _get_jpg_parameters, compress
from pydicom.tag import BaseTag, Tag
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    JPEG2000MC,
    UID,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from medanon.errors import InputError

__all__ = [
    "Frames",
    "PixelError",
    "PixelSite",
    "decode_frames",
    "display_frames",
    "encode_frames",
    "icon_and_overlay_pixels",
]

PIXEL_DATA = Tag(0x7FE0, 0x0010)
ICON_IMAGE_SEQUENCE = Tag(0x0088, 0x0200)
# PS3.3 C.7.6.3: encapsulated-only attributes that describe the old fragments (PS3.5 A.4).
_ENCAPSULATION_TAGS = (Tag(0x7FE0, 0x0001), Tag(0x7FE0, 0x0002), Tag(0x7FE0, 0x0003))
# PS3.3 C.7.6.3 and C.7.9: Palette Color Lookup Table attributes, including the retired large
# and the segmented forms, and the alpha palette: meaningless once pixels are RGB.
_PALETTE_TAGS = tuple(
    Tag(0x0028, e)
    for e in (
        0x1101, 0x1102, 0x1103, 0x1104, 0x1111, 0x1112, 0x1113, 0x1199,
        0x1201, 0x1202, 0x1203, 0x1204, 0x1211, 0x1212, 0x1213, 0x1221, 0x1222, 0x1223,
    )
)  # fmt: skip
# PS3.3 C.7.6.3 / C.7.6.2 (Type 3): stored-value statistics and padding that a rewrite can make
# wrong (redaction adds new values; a palette index means nothing in RGB).
_STATISTICS_TAGS = (
    Tag(0x0028, 0x0106),
    Tag(0x0028, 0x0107),
    Tag(0x0028, 0x0108),
    Tag(0x0028, 0x0109),
)
_PADDING_TAGS = (Tag(0x0028, 0x0120), Tag(0x0028, 0x0121))

# PS3.5 10 and Annex A: what to install when pydicom has no working plugin for a syntax.
_LIBJPEG = "pylibjpeg and pylibjpeg-libjpeg"
_OPENJPEG = "pylibjpeg and pylibjpeg-openjpeg"
_INSTALL_HINTS: dict[str, str] = {
    JPEGBaseline8Bit: f"{_LIBJPEG}, or pillow",
    JPEGExtended12Bit: _LIBJPEG,
    JPEGLossless: _LIBJPEG,
    JPEGLosslessSV1: _LIBJPEG,
    JPEGLSLossless: "pylibjpeg-libjpeg or pyjpegls",
    JPEGLSNearLossless: "pylibjpeg-libjpeg or pyjpegls",
    JPEG2000Lossless: _OPENJPEG,
    JPEG2000: _OPENJPEG,
    HTJ2KLossless: _OPENJPEG,
    HTJ2KLosslessRPCL: _OPENJPEG,
    HTJ2K: _OPENJPEG,
    RLELossless: "pylibjpeg-rle",
}
# PS3.3 C.7.6.1.1.5.2: Lossy Image Compression Method defined terms, per always-lossy syntax.
_LOSSY_METHODS: dict[str, str] = {
    JPEGBaseline8Bit: "ISO_10918_1",
    JPEGExtended12Bit: "ISO_10918_1",
}
# Syntaxes whose codestream may be lossy or not (PS3.5 A.4.3, A.4.4, A.4.10): decided per file.
_JPEG_2000_FAMILY = frozenset({JPEG2000, JPEG2000MC, HTJ2K})
_J2K_METHOD = {JPEG2000: "ISO_15444_1", JPEG2000MC: "ISO_15444_2", HTJ2K: "ISO_15444_15"}

# PS3.3 C.7.6.3.1.2 defined terms (current and retired): safe to name in messages.
_KNOWN_PHOTOMETRIC = frozenset(
    {
        "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "HSV", "ARGB", "CMYK", "YBR_FULL",
        "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT", "XYB",
    }
)  # fmt: skip
Canonical = Literal["MONOCHROME1", "MONOCHROME2", "RGB"]


class PixelError(InputError):
    """Pixel Data cannot be decoded or written back; the file must not pass unredacted."""


@dataclass(frozen=True, eq=False)
class Frames:
    """Every frame of a dataset's Pixel Data in one canonical array, and how it was stored.

    Attributes
    ----------
    array : numpy.ndarray
        Shape (frames, rows, columns) for monochrome, (frames, rows, columns, 3) for colour,
        native byte order, planar configuration 0 (PS3.3 C.7.6.3.1.3). Monochrome arrays hold
        the stored values (no Modality or VOI LUT, PS3.3 C.11); colour arrays are RGB
        (YBR_* converted per PS3.3 C.7.6.3.1.2, PALETTE COLOR expanded through its LUT per
        C.7.6.3.1.6). The redaction stage changes this array in place (or a copy) and passes it
        to :func:`encode_frames`.
    photometric : {"MONOCHROME1", "MONOCHROME2", "RGB"}
        Photometric Interpretation of ``array``.
    bits_stored, pixel_representation : int
        Bits Stored and Pixel Representation of ``array`` (PS3.3 C.7.6.3.1.1).
    bits_allocated : int
        Bits Allocated to write back: 1 for bit-packed input, else the itemsize of ``array``.
    original_photometric : str
        Photometric Interpretation of the stored Pixel Data.
    original_bits_allocated, original_bits_stored, original_pixel_representation : int
        The stored Image Pixel module values.
    original_planar_configuration : int or None
        Planar Configuration of the stored data (None for one sample per pixel).
    transfer_syntax : pydicom.uid.UID
        Transfer Syntax of the input (PS3.5 10).
    encapsulated : bool
        Whether the input Pixel Data was encapsulated (compressed, PS3.5 A.4).
    lossy : bool
        Whether the pixels have been through lossy compression, now or before (PS3.3
        C.7.6.1.1.5). Conservative: an unknown history of a lossy-capable syntax counts as lossy.
    lossy_step : tuple of (str, str) or None
        (method, ratio) of the lossy compression of *this* encoding when the header does not
        record it yet; :func:`encode_frames` appends it (PS3.3 C.7.6.1.1.5.1-2).
    digest : bytes
        Digest of ``array`` as decoded: :func:`encode_frames` sees any change even when the
        caller says none.
    """

    array: NDArray[np.generic]
    photometric: Canonical
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    original_photometric: str
    original_bits_allocated: int
    original_bits_stored: int
    original_pixel_representation: int
    original_planar_configuration: int | None
    transfer_syntax: UID
    encapsulated: bool
    lossy: bool
    lossy_step: tuple[str, str] | None
    digest: bytes

    @property
    def number_of_frames(self) -> int:
        """Number of frames in ``array``."""
        return int(self.array.shape[0])

    @property
    def samples_per_pixel(self) -> int:
        """Samples per Pixel of ``array``: 3 for RGB, else 1."""
        return 3 if self.photometric == "RGB" else 1


@dataclass(frozen=True)
class PixelSite:
    """A place other than the main Pixel Data where a dataset carries pixels.

    Attributes
    ----------
    kind : str
        ``"icon"`` (Icon Image Sequence item, PS3.3 F.7), ``"overlay"`` (60xx Overlay Data,
        PS3.3 C.9.2), ``"embedded-overlay"`` (a 60xx overlay kept in unused high bits of Pixel
        Data, retired, PS3.5 8.1.2 of editions before 2004), ``"unused-high-bits"`` (bits above
        High Bit of native Pixel Data that are set; they may hold an undeclared overlay, PS3.5
        8.1.1), or ``"nested-pixel-data"`` (Pixel Data in any other sequence item).
    path : str
        Location as tags, e.g. ``"(0088,0200)[0]"`` or ``"(6000,3000)"``.
    detail : str
        Geometry and encoding, never a data value, e.g. ``"64x64, 1 frame(s)"``.
    """

    kind: Literal["icon", "overlay", "embedded-overlay", "unused-high-bits", "nested-pixel-data"]
    path: str
    detail: str


# -- decoding ---------------------------------------------------------------------------------


def decode_frames(ds: Dataset) -> Frames:
    """Decode every frame of ``ds``'s Pixel Data into a canonical :class:`Frames`.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with Pixel Data (7FE0,0010), the Image Pixel module (PS3.3 C.7.6.3) and a File
        Meta Transfer Syntax UID (PS3.10 7.1). ``ds`` is not modified.

    Returns
    -------
    Frames
        The frames (PS3.5 8.2 for the encapsulated syntaxes) and what :func:`encode_frames`
        needs to write them back.

    Raises
    ------
    PixelError
        No Pixel Data; Float or Double Float Pixel Data; no Transfer Syntax; a syntax without a
        working decoder (the message says what to install); an incomplete Image Pixel module;
        data the codec rejects; a photometric interpretation that cannot become RGB.
    """
    if PIXEL_DATA not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise PixelError("Float Pixel Data is not supported by the pixel stage")
        raise PixelError("the dataset has no Pixel Data")
    syntax = _transfer_syntax(ds)
    name = syntax.name or "an unknown transfer syntax"
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise PixelError(f"cannot decode {name}: no pixel decoder supports it") from None
    if not decoder.is_available:
        hint = _INSTALL_HINTS.get(syntax, "a decoding plugin for it")
        raise PixelError(f"cannot decode {name}: install {hint}")
    with warnings.catch_warnings():  # pydicom warns about odd values; the checks below decide
        warnings.simplefilter("ignore")
        stored = _image_pixel(ds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array, meta = decoder.as_array(ds, as_rgb=True)
    except Exception as exc:  # codec and validation errors of any type: fail closed
        raise PixelError(
            f"cannot decode {name}: the pixel data is damaged or unsupported ({type(exc).__name__})"
        ) from exc
    frames_found = int(str(meta.get("number_of_frames", 1)))
    samples = int(meta["samples_per_pixel"])
    if array.ndim == (2 if samples == 1 else 3):
        array = array[np.newaxis]
    if array.shape[0] != frames_found:
        raise PixelError(f"cannot decode {name}: the frame count does not match the data")
    array = array.astype(array.dtype.newbyteorder("="), copy=False)
    photometric = str(meta["photometric_interpretation"]).strip()
    bits_stored = int(meta["bits_stored"])
    representation = int(meta["pixel_representation"])
    if photometric == "PALETTE COLOR":
        array = _palette_to_rgb(ds, array)
        photometric, bits_stored, representation = "RGB", array.dtype.itemsize * 8, 0
    elif photometric in ("YBR_FULL", "YBR_FULL_422") and samples == 3:
        array = convert_color_space(array, "YBR_FULL", "RGB")
        photometric = "RGB"
    if photometric not in ("MONOCHROME1", "MONOCHROME2", "RGB"):
        term = (
            photometric if photometric in _KNOWN_PHOTOMETRIC else "its Photometric Interpretation"
        )
        raise PixelError(f"cannot decode {name}: {term} pixels cannot be converted to RGB")
    if (photometric == "RGB") != (array.ndim == 4 and array.shape[-1] == 3):
        raise PixelError(f"cannot decode {name}: Samples per Pixel does not match the data")
    array = np.ascontiguousarray(array)
    bits_allocated = 1 if stored["BitsAllocated"] == 1 else array.dtype.itemsize * 8
    lossy, step = _lossy_history(ds, syntax, array)
    return Frames(
        array=array,
        photometric=photometric,  # type: ignore[arg-type]
        bits_allocated=bits_allocated,
        bits_stored=bits_stored,
        pixel_representation=representation,
        original_photometric=str(ds.PhotometricInterpretation).strip(),
        original_bits_allocated=stored["BitsAllocated"],
        original_bits_stored=stored["BitsStored"],
        original_pixel_representation=stored["PixelRepresentation"],
        original_planar_configuration=(
            int(ds.get("PlanarConfiguration", 0) or 0) if stored["SamplesPerPixel"] > 1 else None
        ),
        transfer_syntax=syntax,
        encapsulated=syntax.is_encapsulated,
        lossy=lossy,
        lossy_step=step,
        digest=_digest(array),
    )


def _transfer_syntax(ds: Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    value = meta.get("TransferSyntaxUID") if meta is not None else None
    if not value:
        raise PixelError("cannot decode pixel data: the file has no Transfer Syntax UID")
    return UID(str(value))


def _image_pixel(ds: Dataset) -> dict[str, int]:
    """The integer Image Pixel module attributes every decoder needs (PS3.3 C.7.6.3)."""
    values: dict[str, int] = {}
    for keyword in (
        "Rows",
        "Columns",
        "SamplesPerPixel",
        "BitsAllocated",
        "BitsStored",
        "PixelRepresentation",
    ):
        try:
            values[keyword] = int(ds[keyword].value)
        except Exception:
            raise PixelError(f"cannot decode pixel data: {keyword} is missing or invalid") from None
    try:
        int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        raise PixelError("cannot decode pixel data: NumberOfFrames is invalid") from None
    if "PhotometricInterpretation" not in ds:
        raise PixelError("cannot decode pixel data: PhotometricInterpretation is missing")
    return values


def _palette_to_rgb(ds: Dataset, array: NDArray[np.generic]) -> NDArray[np.generic]:
    """PALETTE COLOR indices to RGB through the dataset's LUTs (PS3.3 C.7.6.3.1.5-6, C.7.9).

    A 16-bit table whose entries are all 8-bit values in 16 bits (every entry k * 257, or
    every entry k * 256 as many writers store 8-bit palettes) becomes uint8 k: one to one, so
    no colour is merged (k * 256 makes white 255/255 instead of 65280/65535). Any other 16-bit
    table stays uint16.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rgb = apply_color_lut(array, ds)
    except Exception as exc:
        raise PixelError("cannot decode PALETTE COLOR pixels: the palette is invalid") from exc
    if rgb.dtype.itemsize == 2:
        for step in (257, 256):
            if not np.any(rgb % step):
                return (rgb // step).astype(np.uint8)
    return rgb


def _lossy_history(
    ds: Dataset, syntax: UID, array: NDArray[np.generic]
) -> tuple[bool, tuple[str, str] | None]:
    """Whether the pixels were lossy compressed (PS3.3 C.7.6.1.1.5), and this encoding's
    unrecorded (method, ratio) if it is the lossy step."""
    recorded = str(ds.get("LossyImageCompression", "") or "").strip() == "01"
    method: str | None = _LOSSY_METHODS.get(syntax)
    if syntax == JPEGLSNearLossless:
        # PS3.5 A.4.3 / ISO 14495-1 C.2.3: NEAR = 0 in the scan header means lossless.
        near = [_get_jpg_parameters(f).get("lossy_error", 1) for f in _codestreams(ds)]
        method = "ISO_14495_1" if any(n != 0 for n in near) or not near else None
    elif syntax in _JPEG_2000_FAMILY:
        # ISO 15444-1 A.6.1: the COD wavelet transform; 9-7 irreversible is lossy. 5-3 may be
        # truncated too, so only the header's own "00" makes it lossless.
        said_lossless = str(ds.get("LossyImageCompression", "") or "").strip() == "00"
        reversible = all(_j2k_reversible(f) for f in _codestreams(ds))
        method = None if (reversible and said_lossless) else _J2K_METHOD[syntax]
    if method is None:
        return recorded, None
    if recorded:
        return True, None
    compressed = sum(len(f) for f in _fragments(ds)) or 1
    ratio = array.size * array.dtype.itemsize / compressed
    return True, (method, f"{ratio:.2f}"[:16])


def _fragments(ds: Dataset) -> Iterator[bytes]:
    """Fragments of encapsulated Pixel Data (PS3.5 A.4), without the Basic Offset Table."""
    value = ds.PixelData
    try:
        first = True
        for fragment in generate_fragments(value):
            if not first:
                yield fragment
            first = False
    except Exception:
        return


def _codestreams(ds: Dataset) -> Iterator[bytes]:
    """One codestream per frame of encapsulated Pixel Data (PS3.5 A.4)."""
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        yield from generate_frames(ds.PixelData, number_of_frames=frames)
    except Exception:
        return


def _j2k_reversible(fragment: bytes) -> bool:
    """True when the first JPEG 2000 codestream in ``fragment`` uses the 5-3 reversible
    wavelet (COD SPcod transformation = 1, ISO 15444-1 A.6.1, Table A.20)."""
    offset = 0
    if fragment[4:8] == b"jP  ":  # JP2 file format: find the contiguous codestream box
        offset = fragment.find(b"jp2c")
        if offset < 0:
            return False
        offset += 4
    if fragment[offset : offset + 2] != b"\xff\x4f":
        return False
    offset += 2
    while offset + 4 <= len(fragment):
        marker = fragment[offset : offset + 2]
        length = int.from_bytes(fragment[offset + 2 : offset + 4], "big")
        if marker == b"\xff\x52":
            return offset + 13 < len(fragment) and fragment[offset + 13] == 1
        if marker == b"\xff\x90" or length < 2:
            return False
        offset += 2 + length
    return False


def _digest(array: NDArray[np.generic]) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{array.shape}{array.dtype.str}".encode())
    h.update(np.ascontiguousarray(array).view(np.uint8).reshape(-1).data)
    return h.digest()


# -- display ----------------------------------------------------------------------------------


def display_frames(frames: Frames) -> NDArray[np.uint8]:
    """Frames as 8-bit images for OCR, with nothing clipped.

    Monochrome: a linear map of the minimum..maximum stored value over *all* frames (not the
    VOI window of PS3.3 C.11.2, which can clip overlays drawn outside it) to 0..255; then
    MONOCHROME1 is inverted (PS3.3 C.7.6.3.1.2), so the result is always as a viewer shows it:
    255 = white. A burned-in overlay drawn at the maximum intensity of a MONOCHROME2 image is
    light on dark, the usual case. RGB: each sample scaled from 0..2**BitsStored-1 to 0..255
    (the whole stored range, which keeps colours).

    Parameters
    ----------
    frames : Frames
        As from :func:`decode_frames`.

    Returns
    -------
    numpy.ndarray
        uint8, the shape of ``frames.array``: (frames, rows, columns[, 3]).
    """
    array = frames.array
    out = np.empty(array.shape, dtype=np.uint8)
    if frames.photometric == "RGB":
        if array.dtype == np.uint8:
            out[...] = array
            return out
        top = float(2 ** min(frames.bits_stored, 8 * array.dtype.itemsize) - 1)
        lo, hi = 0.0, top
    else:
        lo, hi = float(array.min()), float(array.max())
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    for index in range(array.shape[0]):  # one frame at a time: bounded float memory
        frame = (array[index].astype(np.float32) - lo) * scale
        out[index] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    if frames.photometric == "MONOCHROME1":
        np.subtract(255, out, out=out)
    return out


# -- encoding ---------------------------------------------------------------------------------


def encode_frames(
    ds: Dataset,
    frames: Frames,
    changed: bool | ArrayLike = False,
    *,
    compression: Literal["native", "rle"] = "native",
) -> None:
    """Write ``frames`` back into ``ds`` losslessly, or leave Pixel Data untouched.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset ``frames`` was decoded from (or its de-identified copy); modified in place.
    frames : Frames
        From :func:`decode_frames`, its ``array`` possibly redacted in place.
    changed : bool or array_like of bool
        Whether pixels changed: a flag, or a mask (per frame or per pixel); any True counts.
        The array is also compared with its decoded digest, so a change is never lost because
        a caller forgot to say so. When nothing changed, ``ds`` is not modified at all: Pixel
        Data stays byte-identical (PS3.5 A.4 fragments included) and so does the Transfer
        Syntax.
    compression : {"native", "rle"}
        ``"native"`` (default) writes Explicit VR Little Endian (PS3.5 A.2). ``"rle"`` writes
        RLE Lossless (PS3.5 A.4.2, Annex G) when the input was encapsulated; it falls back to
        native when RLE cannot hold the data (1-bit pixels) or has no encoder. Native input
        always stays native.

    Notes
    -----
    On a rewrite this sets (PS3.3 C.7.6.3): Photometric Interpretation (YBR_* and PALETTE
    COLOR become RGB; the palette LUT attributes are removed), Samples per Pixel, Planar
    Configuration (0, or removed), Bits Allocated/Stored, High Bit, Pixel Representation;
    keeps Number of Frames; removes the Extended Offset Table and the Type 3 smallest/largest
    pixel values (redaction may invalidate them) and, when colour was converted, Pixel Padding
    Value. Lossy Image Compression becomes "01" when the pixels were ever lossy compressed,
    with this encoding's method and ratio appended if the header did not record them (PS3.3
    C.7.6.1.1.5); it is never set to "00" here. File Meta Transfer Syntax UID is updated.
    SOP Instance UID is not touched (the header stage owns UIDs).

    Raises
    ------
    PixelError
        The array no longer matches the dataset (shape, dtype) or holds values that Bits Stored
        and Pixel Representation cannot represent.
    """
    array = frames.array
    rows, columns = int(ds.Rows), int(ds.Columns)
    if array.shape[1:3] != (rows, columns) or array.shape[0] < 1:
        raise PixelError("cannot encode pixel data: the frames do not match Rows and Columns")
    if not (bool(np.any(changed)) or _digest(array) != frames.digest):
        return
    expected = np.dtype(f"{'i' if frames.pixel_representation else 'u'}{array.dtype.itemsize}")
    if array.dtype.newbyteorder("=") != expected:
        raise PixelError("cannot encode pixel data: the frames changed their data type")
    _check_range(frames)

    data = _native_bytes(frames)
    if not frames.transfer_syntax.is_little_endian:
        with warnings.catch_warnings():  # decoding raw elements warns about odd values
            warnings.simplefilter("ignore")
            _to_little_endian(ds)
    _set_image_pixel(ds, frames)
    ds[PIXEL_DATA] = DataElement(PIXEL_DATA, "OB" if frames.bits_allocated <= 8 else "OW", data)
    if getattr(ds, "file_meta", None) is None:
        ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if compression == "rle" and frames.encapsulated and frames.bits_allocated % 8 == 0:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compress(ds, RLELossless, generate_instance_uid=False)
        except Exception:
            # RLE cannot hold it (more than 15 segments) or no encoder: native stays.
            ds[PIXEL_DATA] = DataElement(PIXEL_DATA, ds[PIXEL_DATA].VR, data)
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    _set_lossy(ds, frames)


# PS3.5 7.3: values of these VRs are sequences of 2, 4 or 8 byte words in the syntax's byte order.
_WORD_SIZES = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}


def _to_little_endian(ds: Dataset) -> None:
    """Make a dataset read as Explicit VR Big Endian (PS3.5 A.3, retired) writable as little
    endian: swap the words of OW/OL/OF/OD/OV values at every depth (pydicom keeps them as the
    file's bytes) and record little endian as the original encoding. Numbers and text are
    held decoded and need nothing. UN values cannot be swapped without their VR; they stay."""
    for element in ds:  # iterating converts raw elements with their own byte order
        if element.VR == "SQ":
            for item in element.value:
                _to_little_endian(item)
            continue
        size = _WORD_SIZES.get(str(element.VR))
        value = element.value
        if size and isinstance(value, bytes) and element.tag != PIXEL_DATA:
            whole = len(value) - len(value) % size
            words = np.frombuffer(value, dtype=f">u{size}", count=whole // size)
            element.value = words.astype(f"<u{size}").tobytes() + value[whole:]
    ds.set_original_encoding(ds.original_encoding[0], True)


def _check_range(frames: Frames) -> None:
    """Every value must fit Bits Stored with its sign (PS3.5 8.1.1)."""
    array, bits = frames.array, frames.bits_stored
    if bits >= array.dtype.itemsize * 8:
        return
    if frames.pixel_representation:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        low, high = 0, (1 << bits) - 1
    if array.size and (int(array.min()) < low or int(array.max()) > high):
        raise PixelError("cannot encode pixel data: values exceed Bits Stored")


def _native_bytes(frames: Frames) -> bytes:
    """Little-endian native Pixel Data (PS3.5 8.1.1, 8.2), bit-packed for 1-bit, even length."""
    array = frames.array
    if frames.bits_allocated == 1:
        return pack_bits(array.reshape(-1), pad=True)
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return data + b"\x00" if len(data) % 2 else data


def _set_image_pixel(ds: Dataset, frames: Frames) -> None:
    """Image Pixel module attributes for the canonical array (PS3.3 C.7.6.3)."""
    was_color_converted = frames.original_photometric != frames.photometric
    ds.PhotometricInterpretation = frames.photometric
    ds.SamplesPerPixel = frames.samples_per_pixel
    if frames.samples_per_pixel > 1:
        ds.PlanarConfiguration = 0
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    ds.BitsAllocated = frames.bits_allocated
    ds.BitsStored = frames.bits_stored
    ds.HighBit = frames.bits_stored - 1
    ds.PixelRepresentation = frames.pixel_representation
    if "NumberOfFrames" in ds or frames.number_of_frames > 1:
        ds.NumberOfFrames = frames.number_of_frames
    removed: tuple[BaseTag, ...] = _ENCAPSULATION_TAGS + _STATISTICS_TAGS
    if frames.original_photometric == "PALETTE COLOR":
        removed += _PALETTE_TAGS
    if was_color_converted:
        removed += _PADDING_TAGS
    for tag in removed:
        if tag in ds:
            del ds[tag]


def _set_lossy(ds: Dataset, frames: Frames) -> None:
    """Lossy Image Compression and its history (PS3.3 C.7.6.1.1.5); never claims lossless."""
    if not frames.lossy:
        return
    ds.LossyImageCompression = "01"
    if frames.lossy_step is None:
        return
    method, ratio = frames.lossy_step
    methods = [str(v) for v in _as_list(ds.get("LossyImageCompressionMethod"))]
    ratios = [str(v) for v in _as_list(ds.get("LossyImageCompressionRatio"))]
    ds.LossyImageCompressionMethod = [*methods, method]
    ds.LossyImageCompressionRatio = [*ratios, ratio]


def _as_list(value: object) -> list[object]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, MultiValue)):
        return list(value)
    return [value]


# -- other pixels -----------------------------------------------------------------------------


def icon_and_overlay_pixels(ds: Dataset) -> list[PixelSite]:
    """Every other place ``ds`` keeps pixels, for a later stage to redact or drop.

    Finds, at every sequence depth: Icon Image Sequence items (PS3.3 F.7, a thumbnail of the
    unredacted image), Pixel Data in any other item, 60xx Overlay Data (PS3.3 C.9.2, 16
    repeating groups 6000-601E), retired overlays embedded in unused Pixel Data bits
    (Overlay Bits Allocated > 1 with Overlay Bit Position, PS3.5 8.1.2 before 2004), and set
    bits above High Bit in native Pixel Data (PS3.5 8.1.1), which some devices use for text.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset to inspect; not modified.

    Returns
    -------
    list of PixelSite
        In dataset order; empty when the main Pixel Data is the only image.
    """
    sites: list[PixelSite] = []
    _walk(ds, "", sites, top=True)
    return sites


def _walk(ds: Dataset, prefix: str, sites: list[PixelSite], top: bool) -> None:
    for group in range(0x6000, 0x6020, 2):
        _overlay(ds, group, prefix, sites)
    if top:
        _high_bits(ds, sites)
    for element in ds:
        if element.VR != "SQ":
            continue
        for index, item in enumerate(element.value):
            path = f"{prefix}{_tag(element.tag)}[{index}]"
            if PIXEL_DATA in item:
                kind: Literal["icon", "nested-pixel-data"] = (
                    "icon" if element.tag == ICON_IMAGE_SEQUENCE else "nested-pixel-data"
                )
                sites.append(PixelSite(kind, path, _geometry(item)))
            _walk(item, path + ".", sites, top=False)


def _overlay(ds: Dataset, group: int, prefix: str, sites: list[PixelSite]) -> None:
    data, rows = Tag(group, 0x3000), Tag(group, 0x0010)
    if data in ds:
        sites.append(PixelSite("overlay", prefix + _tag(data), _geometry(ds, group)))
        return
    bits = _int(ds.get(Tag(group, 0x0100)))
    if rows in ds and bits is not None and bits > 1 and Tag(group, 0x0102) in ds:
        position = _int(ds.get(Tag(group, 0x0102)))
        detail = f"{_geometry(ds, group)}, bit {position} of Pixel Data"
        sites.append(PixelSite("embedded-overlay", prefix + _tag(Tag(group, 0x0102)), detail))


def _high_bits(ds: Dataset, sites: list[PixelSite]) -> None:
    """Set bits above High Bit in native Pixel Data (unsigned: any; signed: not a sign copy)."""
    meta = getattr(ds, "file_meta", None)
    syntax = UID(str(meta.get("TransferSyntaxUID", ""))) if meta is not None else UID("")
    if PIXEL_DATA not in ds or not syntax or syntax.is_encapsulated:
        return
    allocated = _int(ds.get("BitsAllocated"))
    stored = _int(ds.get("BitsStored"))
    if allocated not in (8, 16, 32) or stored is None or not 0 < stored < allocated:
        return
    order = "<" if syntax.is_little_endian else ">"
    raw = ds.PixelData
    count = len(raw) // (allocated // 8)
    values = np.frombuffer(raw, dtype=f"{order}u{allocated // 8}", count=count)
    high = values >> stored
    if _int(ds.get("PixelRepresentation")) == 1:
        sign = (values >> (stored - 1)) & 1
        full = (1 << (allocated - stored)) - 1
        bad = np.any(high != sign * full)
    else:
        bad = np.any(high != 0)
    if bad:
        sites.append(
            PixelSite("unused-high-bits", _tag(PIXEL_DATA), f"bits {stored}-{allocated - 1} set")
        )


def _geometry(ds: Dataset, group: int | None = None) -> str:
    if group is None:
        rows, columns = ds.get("Rows"), ds.get("Columns")
        frames = ds.get("NumberOfFrames", 1)
        kind = str(ds.get("PhotometricInterpretation", "") or "").strip()
    else:
        rows, columns = ds.get(Tag(group, 0x0010)), ds.get(Tag(group, 0x0011))
        rows, columns = getattr(rows, "value", None), getattr(columns, "value", None)
        element = ds.get(Tag(group, 0x0015))
        frames = getattr(element, "value", None) or 1
        kind = str(getattr(ds.get(Tag(group, 0x0040)), "value", "") or "").strip()
        kind = kind if kind in ("G", "R") else ""  # Overlay Type: G (graphics) or R (ROI)
    text = f"{_int(rows)}x{_int(columns)}, {_int(frames) or 1} frame(s)"
    return f"{text}, {kind}" if kind else text


def _int(value: object) -> int | None:
    value = getattr(value, "value", value)
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


def _tag(tag: BaseTag) -> str:
    return f"({tag.group:04X},{tag.element:04X})"

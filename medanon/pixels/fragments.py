"""Encapsulated Pixel Data rebuilt from its frames: no hidden bytes around the images.

Encapsulated Pixel Data (PS3.5 A.4) is a Basic Offset Table and fragments. Its bytes are never
searched as text, and it can carry more than the image: a camera JPEG wrapped in a VL
Photographic file keeps its EXIF (photographer, description, GPS, serial numbers), a COM
segment, a thumbnail; the offset table or an extra fragment can hold anything. When medanon
cleans pixels, it rebuilds the encapsulation from the frames themselves, with a fresh offset
table, and strips JPEG frames (PS3.5 A.4.1, ITU T.81) of every APPn and COM segment and of
anything after End of Image, exactly as it does for ordinary JPEG files. The entropy-coded
data is copied: decoded pixels do not change.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import (
    UID,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
)

from ..errors import InputError
from ..raster import strip_metadata

# ITU T.81 streams, whose segments medanon's JPEG parser knows (not JPEG-LS or JPEG 2000).
JPEG_SYNTAXES = frozenset({JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1})


def rebuild_encapsulation(dataset: Dataset) -> list[str]:
    """Rebuild encapsulated Pixel Data in place; returns what was removed (kinds, no values).

    Native Pixel Data is left alone. Raises :class:`InputError` when the fragments cannot be
    split into the declared number of frames (the file fails: unknown bytes are not kept).
    """
    meta = getattr(dataset, "file_meta", None)
    syntax = UID(str(meta.get("TransferSyntaxUID", "") or "")) if meta is not None else UID("")
    if "PixelData" not in dataset or not syntax or not syntax.is_encapsulated:
        return []
    count = int(dataset.get("NumberOfFrames", 1) or 1)
    try:
        frames = list(generate_frames(dataset.PixelData, number_of_frames=count))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise InputError(f"encapsulated Pixel Data cannot be split into frames ({exc})") from None
    if len(frames) != count:
        raise InputError(f"encapsulated Pixel Data holds {len(frames)} frames, not {count}")
    removed: list[str] = []
    if syntax in JPEG_SYNTAXES:
        cleaned = []
        for frame in frames:
            stripped = strip_metadata(frame, "jpeg")
            removed.extend(stripped.removed)
            cleaned.append(stripped.data)
        frames = cleaned
    if removed or not _canonical(dataset.PixelData, frames):
        dataset.PixelData = encapsulate(frames, has_bot=count > 1)
        removed.append("encapsulation rebuilt")
    return sorted(set(removed))


def _canonical(data: bytes, frames: list[bytes]) -> bool:
    """Whether ``data`` is exactly the frames, one fragment each, after an empty offset table
    or one that gives their offsets (anything else may hide bytes: it is rebuilt)."""
    return data in (
        encapsulate(frames, has_bot=False),
        encapsulate(frames, has_bot=True),
    )

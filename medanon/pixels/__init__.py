"""Pixel data: decode every frame to one canonical array, write it back losslessly.

The text and face stages work on :class:`Frames` from :func:`decode_frames`, show
:func:`display_frames` to OCR, and hand the result to :func:`encode_frames`, which leaves Pixel
Data byte for byte as it came when no pixel changed. :func:`icon_and_overlay_pixels` lists the
other places a dataset keeps pixels (icons, overlays).
"""

from __future__ import annotations

from medanon.pixels.codec import (
    Frames,
    PixelError,
    PixelSite,
    decode_frames,
    display_frames,
    encode_frames,
    icon_and_overlay_pixels,
)

__all__ = [
    "Frames",
    "PixelError",
    "PixelSite",
    "decode_frames",
    "display_frames",
    "encode_frames",
    "icon_and_overlay_pixels",
]

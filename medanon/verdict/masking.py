"""Inadequate masking of a face still found in the image: eye bar, light blur, pixelation (I2).

The face detector still finds a face behind an eye bar or a light blur (that is I1 already);
this module says *why* the masking failed, so the report can quote the rule that names it:
"masking the eye region in photographs of patients is inadequate protection of anonymity"
(ICMJE), and recognition models see through light blur and coarse pixelation. Only fill or a
crop of the whole head counts (sharing policy I2, S1).

Each test compares the face box with its own surroundings, so it holds for grey and colour
photographs of any exposure:

- eye bar: a band of near-constant rows across at least 70% of the face's width, 8-40% of
  its height, in its upper two thirds;
- blur: far less fine detail (Laplacian variance) inside the face than in a ring around it;
- pixelation: most neighbouring pixels inside the face are equal (blocks), few outside.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .model import Region, Signal

BAR_MIN_WIDTH = 0.7  # share of the face's width a bar spans
BAR_HEIGHT = (0.08, 0.40)  # share of the face's height
BAR_TOP_SHARE = 0.65  # the bar's centre lies in this upper share of the face
BAR_FLAT = 3  # grey levels: a bar row's pixels differ from their neighbour by at most this
BLUR_RATIO = 0.15  # face detail below this share of the ring's detail: blurred
BLUR_MIN_RING = 30.0  # Laplacian variance: a ring flatter than this cannot tell
BLOCK_EQUAL = 0.75  # share of equal neighbours inside a pixelated face
BLOCK_RING = 0.4  # ... and at most this share outside it


def find_inadequate_masking(image: np.ndarray, faces: Sequence[Region]) -> list[Signal]:
    """One I2 signal per face whose masking is an eye bar, a blur or a pixelation."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2GRAY)
    signals = []
    for face in faces:
        crop = _crop(gray, face)
        if crop.shape[0] < 16 or crop.shape[1] < 16:
            continue
        ring = _ring(gray, face)
        variant = ""
        if _has_eye_bar(crop):
            variant = "eye bar"
        elif _is_pixelated(crop, ring):
            variant = "pixelated"
        elif _is_blurred(crop, ring):
            variant = "blurred"
        if variant:
            signals.append(Signal("I2", variant=variant, region=face, detail=variant))
    return signals


def _crop(gray: np.ndarray, r: Region) -> np.ndarray:
    return gray[max(0, r.y) : r.y + r.h, max(0, r.x) : r.x + r.w]


def _ring(gray: np.ndarray, r: Region) -> np.ndarray:
    """The pixels around the face (half a face each way), the face itself left out."""
    h, w = gray.shape
    x0, y0 = max(0, r.x - r.w // 2), max(0, r.y - r.h // 2)
    x1, y1 = min(w, r.x + r.w + r.w // 2), min(h, r.y + r.h + r.h // 2)
    around = gray[y0:y1, x0:x1].astype(np.float32)
    keep = np.ones(around.shape, bool)
    keep[max(0, r.y - y0) : r.y + r.h - y0, max(0, r.x - x0) : r.x + r.w - x0] = False
    around[~keep] = np.nan
    return around


def _has_eye_bar(crop: np.ndarray) -> bool:
    h, w = crop.shape
    flat_run = np.zeros(h, bool)
    diffs = np.abs(np.diff(crop.astype(np.int16), axis=1)) <= BAR_FLAT
    for row in range(h):
        flat_run[row] = _longest_true(diffs[row]) >= BAR_MIN_WIDTH * w
    best, start = (0, 0), None
    for row in range(h + 1):
        if row < h and flat_run[row]:
            start = row if start is None else start
        elif start is not None:
            best = max(best, (row - start, start))
            start = None
    height, top = best
    if not BAR_HEIGHT[0] * h <= height <= BAR_HEIGHT[1] * h:
        return False
    return (top + height / 2) <= BAR_TOP_SHARE * h


def _longest_true(values: np.ndarray) -> int:
    if not values.any():
        return 0
    padded = np.concatenate(([0], values.view(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def _is_blurred(crop: np.ndarray, ring: np.ndarray) -> bool:
    inside = float(cv2.Laplacian(crop, cv2.CV_32F).var())
    filled = np.nan_to_num(ring, nan=float(np.nanmean(ring)) if np.isfinite(ring).any() else 0.0)
    lap = cv2.Laplacian(filled, cv2.CV_32F)
    around = float(np.nanvar(np.where(np.isnan(ring), np.nan, lap)))
    return around >= BLUR_MIN_RING and inside < BLUR_RATIO * around


def _is_pixelated(crop: np.ndarray, ring: np.ndarray) -> bool:
    inside = _equal_neighbours(crop.astype(np.float32))
    outside = _equal_neighbours(ring)
    return inside >= BLOCK_EQUAL and outside <= BLOCK_RING


def _equal_neighbours(values: np.ndarray) -> float:
    """Share of horizontal neighbour pairs (both known) with the same value."""
    left, right = values[:, :-1], values[:, 1:]
    known = ~(np.isnan(left) | np.isnan(right))
    if not known.any():
        return 0.0
    return float((left[known] == right[known]).mean())

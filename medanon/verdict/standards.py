"""Standardised or not: the photographic conditions of the two views of a composite (signals
P11 and S6 of the sharing policy).

A before/after comparison is only fair when both views were taken alike: same background and
lighting, same distance and framing (ASPS/PSF photographic standards, EAFPS). A brighter, warmer
or closer "after" flatters the result; that is a promotional device (P11, warn). Views taken
alike on a plain background are standardised photography (S6, information; a scientific
composite needs it).

What is measured, on a same-subject panel pair (:class:`~medanon.verdict.composite.PanelPair`):

- **each photograph's extent**: the side of the split, out to the image's edges (a plain
  backdrop touching them is what the composite's trimming takes off), less the composite's
  frame: pure white and black pixels (a collage's canvas, borders, letterboxing) and those of
  the plain colour of the gap between the panels when the outer border has it too. A backdrop
  of the frame's colour is taken off with it, and is then not judged;
- **background and lighting**: the outer ring of each photograph (a tenth of its smaller
  side), compared by the CIE76 colour difference (delta E, CIELAB) of the rings' medians. It is
  only a background when mostly plain (half its pixels within 6 delta E of its median) and
  unlike the photograph's centre (more than 10 delta E: not a close-up whose ring is skin);
  otherwise the background is not judged;
- **distance and pose**: the scale and rotation of the similarity transform fitted between
  the photographs' features (ORB, RANSAC). The scale is judged only when both photographs are
  shown at the same size across the split (heights side by side, widths stacked, within 5%):
  one shown smaller was not taken from further away.

Only colour photographs are judged: for radiographs and slices (S5) the modality sets the
conditions, and a grey composite (stored grey or as three equal channels) says nothing of
lighting.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .composite import PanelPair, orb_similarity
from .model import Region, Signal
from .ocr import to_gray

__all__ = ["Conditions", "conditions", "find_standardisation"]

# Thresholds (delta E in CIELAB units; a just noticeable difference is about 2.3).
DIFFERENT_BACKGROUND = 10.0  # backgrounds this far apart: another backdrop or light (P11)
SAME_BACKGROUND = 2.5  # backgrounds this close: the same (S6)
PLAIN = 0.5  # share of a ring within 6 delta E of its median: a plain backdrop
UNLIKE_SUBJECT = 10.0  # a backdrop differs this much from the photograph's centre
DIFFERENT_SCALE = 1.15  # one view this much closer than the other (P11)
SAME_SCALE = 1.05
DIFFERENT_ANGLE = 8.0  # degrees (P11)
SAME_ANGLE = 3.0
MIN_CHROMA = 4.0  # mean max-min channel difference of a colour image (as S5's test)
_WORK_SIDE = 400  # photographs are measured shrunk to this side at most


@dataclass(frozen=True)
class Conditions:
    """How the two views of a composite differ (see the module's docstring)."""

    background_delta: float | None  # delta E between the backdrops; None: no backdrop seen
    scale: float | None  # >= 1: how much closer (or further) one view is; None: not judged
    angle: float  # degrees, absolute

    def differences(self) -> list[str]:
        """What differs enough to call the comparison non-standardised (P11)."""
        out = []
        if self.background_delta is not None and self.background_delta > DIFFERENT_BACKGROUND:
            out.append(f"background or lighting (delta E {self.background_delta:.1f})")
        if self.scale is not None and self.scale > DIFFERENT_SCALE:
            out.append(f"distance or framing (x{self.scale:.2f})")
        if self.angle > DIFFERENT_ANGLE:
            out.append(f"pose or angle ({self.angle:.1f} degrees)")
        return out

    def standardised(self) -> bool:
        """Same plain backdrop and light, same distance and angle (S6)."""
        return (
            self.background_delta is not None
            and self.background_delta <= SAME_BACKGROUND
            and self.scale is not None
            and self.scale <= SAME_SCALE
            and self.angle <= SAME_ANGLE
        )


def _lab(bgr: np.ndarray) -> np.ndarray:
    """CIELAB (L* 0-100, a* and b* centred on 0), float32."""
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    return lab


def _plain_colour(lab: np.ndarray) -> np.ndarray | None:
    """The median colour of some pixels (N x 3) when 90% lie within 3 delta E of it."""
    if lab.shape[0] == 0:
        return None
    med = np.median(lab, axis=0)
    return med if float((np.linalg.norm(lab - med, axis=1) <= 3.0).mean()) >= 0.9 else None


def _sides(image: np.ndarray, pair: PanelPair) -> tuple[Region, Region, np.ndarray | None]:
    """Both sides of the split out to the image's edges, cut in the middle of the gap between
    the panels, and the gap's middle line (pixels, N x 3) when there is a gap."""
    h, w = image.shape[:2]
    a, b = pair.side_a or pair.a, pair.side_b or pair.b
    if pair.axis == "horizontal":
        end, start = a.x + a.w, b.x
        mid = (end + start) // 2
        line = image[:, mid] if start > end else None
        return Region(0, 0, mid, h), Region(mid, 0, w - mid, h), line
    end, start = a.y + a.h, b.y
    mid = (end + start) // 2
    line = image[mid] if start > end else None
    return Region(0, 0, w, mid), Region(0, mid, w, h - mid), line


_CANVAS = (np.array([100.0, 0.0, 0.0], np.float32), np.array([0.0, 0.0, 0.0], np.float32))


def _frame_colours(image: np.ndarray, gap_line: np.ndarray | None) -> list[np.ndarray]:
    """The composite's frame colours: pure white and black (a collage's canvas, letterboxing
    a panel, borders; a backdrop that white or black is then not judged), and the plain colour
    of the gap between the panels when the outer border has it too (a frame all round; without
    it, the "gap" of photographs butted together is one's backdrop)."""
    found = list(_CANVAS)
    if gap_line is None or not gap_line.size:
        return found
    gap = _plain_colour(_lab(np.ascontiguousarray(gap_line).reshape(-1, 1, 3))[:, 0])
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]], axis=0)
    edge = _plain_colour(_lab(np.ascontiguousarray(border).reshape(-1, 1, 3))[:, 0])
    if gap is not None and edge is not None and float(np.linalg.norm(gap - edge)) <= 3.0:
        found.append(gap)
    return found


@dataclass(frozen=True)
class _Photo:
    box: Region  # in the image
    backdrop: np.ndarray | None  # median Lab of its ring, when a plain backdrop unlike its centre


def _photo(image: np.ndarray, side: Region, frames: list[np.ndarray]) -> _Photo | None:
    """One photograph of a side: its extent less the frame, and its backdrop."""
    crop = image[side.y : side.y + side.h, side.x : side.x + side.w]
    if crop.size == 0:
        return None
    f = min(1.0, _WORK_SIDE / max(crop.shape[:2]))
    small = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else crop
    lab = _lab(np.ascontiguousarray(small))
    content = np.ones(lab.shape[:2], bool)
    for colour in frames:
        content &= np.linalg.norm(lab - colour, axis=2) > 3.0
    # A photograph is a rectangle of content: rows and columns mostly not frame (a few stray
    # pixels of the other panel's backdrop beside the split are not the photograph).
    rows = np.flatnonzero(content.mean(axis=1) > 0.3)
    cols = np.flatnonzero(content.mean(axis=0) > 0.3)
    if rows.size < 8 or cols.size < 8:
        return None
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    photo = lab[y0:y1, x0:x1]
    box = Region(
        side.x + int(x0 / f),
        side.y + int(y0 / f),
        max(1, int((x1 - x0) / f)),
        max(1, int((y1 - y0) / f)),
    )
    ph, pw = photo.shape[:2]
    t = max(2, min(ph, pw) // 10)
    ring_mask = np.ones((ph, pw), bool)
    ring_mask[t:-t, t:-t] = False
    ring = photo[ring_mask]
    centre = photo[ph // 4 : ph - ph // 4, pw // 4 : pw - pw // 4].reshape(-1, 3)
    med = np.median(ring, axis=0)
    plain = float((np.linalg.norm(ring - med, axis=1) <= 6.0).mean()) >= PLAIN
    unlike = centre.size > 0 and float(np.linalg.norm(np.median(centre, axis=0) - med)) > (
        UNLIKE_SUBJECT
    )
    return _Photo(box, med if plain and unlike else None)


def _geometry(
    image: np.ndarray, a: Region, b: Region, axis: str
) -> tuple[int, float | None, float]:
    """(inliers, scale, angle) of the similarity transform between two photographs' features;
    scale None when they are shown at different sizes across the split (heights side by side,
    widths stacked: along the split a backdrop has no edge to measure)."""
    factor = min(1.0, 320.0 / max(a.w, a.h, b.w, b.h))

    def grey(r: Region) -> np.ndarray:
        crop = to_gray(image[r.y : r.y + r.h, r.x : r.x + r.w])
        size = (max(8, round(r.w * factor)), max(8, round(r.h * factor)))
        return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)

    inliers, scale, angle = orb_similarity(grey(a), grey(b))
    across = (b.h / a.h) if axis == "horizontal" else (b.w / a.w)
    same_size = abs(across - 1) <= 0.05
    return inliers, (max(scale, 1.0 / max(scale, 1e-6)) if same_size else None), angle


def conditions(image: np.ndarray, pair: PanelPair) -> Conditions | None:
    """The photographic conditions of a BGR composite's two views, or None when they cannot
    be measured (no photograph found on a side, or fewer than 8 matched features)."""
    side_a, side_b, gap_line = _sides(image, pair)
    frames = _frame_colours(image, gap_line)
    photo_a, photo_b = _photo(image, side_a, frames), _photo(image, side_b, frames)
    if photo_a is None or photo_b is None:
        return None
    inliers, scale, angle = _geometry(image, photo_a.box, photo_b.box, pair.axis)
    if inliers < 8:
        return None
    delta = None
    if photo_a.backdrop is not None and photo_b.backdrop is not None:
        delta = float(np.linalg.norm(photo_a.backdrop - photo_b.backdrop))
    return Conditions(background_delta=delta, scale=scale, angle=abs(angle))


def _colour(image: np.ndarray) -> bool:
    if image.ndim != 3 or image.shape[2] < 3:
        return False
    step = max(1, int(np.sqrt(image.shape[0] * image.shape[1] / 250_000)))  # ~250k pixels
    bgr = image[::step, ::step, :3].astype(np.int16)
    return float(np.mean(bgr.max(axis=2) - bgr.min(axis=2))) > MIN_CHROMA


def find_standardisation(image: np.ndarray, pair: PanelPair | None, imaging: bool) -> list[Signal]:
    """P11 when the views of a same-subject colour composite were taken differently, S6 when
    they were taken alike on a plain backdrop; nothing for grey or internal imaging (S5), when
    it cannot be measured, or when the comparison is in between."""
    if pair is None or not pair.same or imaging or not _colour(image):
        return []
    found = conditions(np.ascontiguousarray(image[..., :3]), pair)
    if found is None:
        return []
    regions = (pair.a, pair.b)
    differs = found.differences()
    if differs:
        return [Signal("P11", regions=regions, text=", ".join(differs), detail="views differ")]
    if found.standardised():
        detail = (
            f"same plain background (delta E {found.background_delta or 0.0:.1f}), "
            f"scale x{found.scale or 1.0:.2f}, angle {found.angle:.1f} degrees"
        )
        return [Signal("S6", regions=regions, detail=detail)]
    return []

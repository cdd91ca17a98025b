"""Standardised or not: the photographic conditions of the two views of a composite (signals
P11 and S6 of the sharing policy).

A before/after comparison is only fair when both views were taken alike: same background and
lighting, same distance and framing (ASPS/PSF photographic standards, EAFPS). A brighter, warmer
or closer "after" flatters the result; that is a promotional device (P11, warn). Views taken
alike on a plain background are standardised photography (S6, information; a scientific
composite needs it).

What is measured, on a same-subject panel pair (:class:`~medanon.verdict.composite.PanelPair`):

- **background and lighting**: the outer ring (a tenth of the smaller side) of each side of
  the split, untrimmed (a plain background is what trimming takes off), where a clinical
  photograph shows its background: the colour difference of the two rings' medians (CIE76
  delta E in CIELAB), and how plain each ring is (share of its pixels within 6 delta E of its
  median: the subject may reach the edges);
- **distance and pose**: the scale and rotation of the similarity transform fitted between
  the two sides' features (ORB, RANSAC), both sides shrunk by the same factor so that their
  sizes keep their ratio.

Only colour photographs are judged: for radiographs and slices (S5) the modality sets the
conditions, and a grey composite says nothing of lighting.
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
DIFFERENT_BACKGROUND = 10.0  # rings this far apart: another background or light (P11)
SAME_BACKGROUND = 2.5  # rings this close: the same (S6)
UNIFORM = 0.5  # share of a ring within 6 delta E of its median: a plain background (S6)
DIFFERENT_SCALE = 1.15  # one view this much closer than the other (P11)
SAME_SCALE = 1.05
DIFFERENT_ANGLE = 8.0  # degrees (P11)
SAME_ANGLE = 3.0


@dataclass(frozen=True)
class Conditions:
    """How the two views of a composite differ (see the module's docstring)."""

    background_delta: float  # delta E between the rings' median colours
    uniform_a: float  # share of each ring within 6 delta E of its median
    uniform_b: float
    scale: float  # >= 1: how much closer (or further) one view is
    angle: float  # degrees, absolute

    def differences(self) -> list[str]:
        """What differs enough to call the comparison non-standardised (P11)."""
        out = []
        if self.background_delta > DIFFERENT_BACKGROUND:
            out.append(f"background or lighting (delta E {self.background_delta:.0f})")
        if self.scale > DIFFERENT_SCALE:
            out.append(f"distance or framing (x{self.scale:.2f})")
        if self.angle > DIFFERENT_ANGLE:
            out.append(f"pose or angle ({self.angle:.0f} degrees)")
        return out

    def standardised(self) -> bool:
        """Same plain background and light, same distance and angle (S6)."""
        return (
            self.background_delta <= SAME_BACKGROUND
            and min(self.uniform_a, self.uniform_b) >= UNIFORM
            and self.scale <= SAME_SCALE
            and self.angle <= SAME_ANGLE
        )


def _ring_lab(image: np.ndarray, r: Region) -> np.ndarray:
    """CIELAB values (L* 0-100, a*, b* centred on 0) of a panel's outer ring, N x 3."""
    panel = image[r.y : r.y + r.h, r.x : r.x + r.w]
    lab = cv2.cvtColor(panel, cv2.COLOR_BGR2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    t = max(2, min(r.w, r.h) // 10)
    ring = np.ones(panel.shape[:2], bool)
    ring[t:-t, t:-t] = False
    return lab[ring]


def _geometry(image: np.ndarray, a: Region, b: Region) -> tuple[int, float, float]:
    """(inliers, scale, angle) of the similarity transform between two regions' features."""
    factor = min(1.0, 320.0 / max(a.w, a.h, b.w, b.h))

    def grey(r: Region) -> np.ndarray:
        crop = to_gray(image[r.y : r.y + r.h, r.x : r.x + r.w])
        size = (max(8, round(r.w * factor)), max(8, round(r.h * factor)))
        return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)

    return orb_similarity(grey(a), grey(b))


def conditions(image: np.ndarray, pair: PanelPair) -> Conditions | None:
    """The photographic conditions of a BGR composite's two panels, or None when too few
    features agree to measure distance and angle."""
    side_a, side_b = pair.side_a or pair.a, pair.side_b or pair.b
    inliers, scale, angle = _geometry(image, side_a, side_b)
    if inliers < 8:
        return None
    ring_a, ring_b = _ring_lab(image, side_a), _ring_lab(image, side_b)
    med_a, med_b = np.median(ring_a, axis=0), np.median(ring_b, axis=0)

    def uniform(ring: np.ndarray, med: np.ndarray) -> float:
        return float((np.linalg.norm(ring - med, axis=1) <= 6.0).mean())

    scale = max(scale, 1e-6)
    return Conditions(
        background_delta=float(np.linalg.norm(med_a - med_b)),
        uniform_a=uniform(ring_a, med_a),
        uniform_b=uniform(ring_b, med_b),
        scale=max(scale, 1.0 / scale),
        angle=abs(angle),
    )


def find_standardisation(image: np.ndarray, pair: PanelPair | None, imaging: bool) -> list[Signal]:
    """P11 when the views of a same-subject colour composite were taken differently, S6 when
    they were taken alike on a plain background; nothing for grey or internal imaging (S5)
    or when the comparison is in between."""
    if pair is None or not pair.same or imaging or image.ndim != 3:
        return []
    found = conditions(image, pair)
    if found is None:
        return []  # too few matched features to measure distance and angle
    regions = (pair.a, pair.b)
    differs = found.differences()
    if differs:
        return [Signal("P11", regions=regions, text=", ".join(differs), detail="views differ")]
    if found.standardised():
        detail = (
            f"same plain background (delta E {found.background_delta:.1f}), "
            f"scale x{found.scale:.2f}, angle {found.angle:.0f} degrees"
        )
        return [Signal("S6", regions=regions, detail=detail)]
    return []

"""Two-panel composites of the same subject (signal P1): before/after pictures.

1. **Split candidates**, along both axes (side by side and stacked), after trimming uniform outer
   borders: runs of uniform columns (rows) in the middle part of the image (gaps, separator lines,
   borders between panels), a seam (a column where the image jumps along its whole height) and,
   last, the plain halves (panels butted together on a continuous background).
2. **Panels** on either side are trimmed of their own uniform borders and must have comparable
   sizes.
3. **Same subject, different appearance.** The panels are compared by ORB feature matching
   (ratio test, then a RANSAC similarity transform: inliers mean the same scene, even shifted,
   rotated or rescaled), by structural similarity on textured areas, and by colour/grey
   histogram correlation. Same subject: enough geometric inliers, or (for low-texture subjects)
   very high structural similarity with similar histograms. Identical panels (a duplicated
   image) are not a before/after pair. Plain halves need more inliers than a visible split.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .model import Region, Signal
from .ocr import to_gray

__all__ = ["PanelPair", "find_composites", "find_panels", "orb_similarity"]


@dataclass(frozen=True)
class PanelPair:
    a: Region
    b: Region
    axis: str  # "horizontal" (side by side) or "vertical" (stacked)
    split: str  # separator | seam | halves
    inliers: int
    ssim: float
    hist: float
    same: bool
    # The two sides of the split before their uniform borders were trimmed (a photograph's
    # plain background is such a border): where the background of each view is measured.
    side_a: Region | None = None
    side_b: Region | None = None


def _trim(gray: np.ndarray, box: Region, tol: float = 3.0) -> Region:
    """Shrink ``box`` while its outer rows/columns are uniform (borders, gaps)."""
    x, y, w, h = box.x, box.y, box.w, box.h
    sub = gray[y : y + h, x : x + w].astype(np.float32)
    if sub.size == 0:
        return box
    col_std, row_std = sub.std(axis=0), sub.std(axis=1)
    cols = np.flatnonzero(col_std > tol)
    rows = np.flatnonzero(row_std > tol)
    if cols.size == 0 or rows.size == 0:
        return Region(x, y, 0, 0)
    return Region(
        x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
    )


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a 1-D mask as (start, end) half-open."""
    padded = np.concatenate([[False], mask, [False]])
    d = np.diff(padded.astype(np.int8))
    return list(
        zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=False)
    )


def _split_candidates(gray: np.ndarray) -> list[tuple[int, int, str]]:
    """Split positions along the last axis of ``gray`` (columns): (start, end, kind)."""
    _h, w = gray.shape
    g = gray.astype(np.float32)
    lo, hi = int(0.25 * w), int(0.75 * w)
    out: list[tuple[int, int, str]] = []
    uniform = g.std(axis=0) < 3.0
    for a, b in _runs(uniform):
        if a >= lo and b <= hi and b - a < 0.2 * w:
            out.append((a, b, "separator"))
    if out:
        return out  # visible separators: the halves are not a candidate
    if not out:
        # A seam: the jump between adjacent columns, compared with its neighbourhood.
        jump = np.abs(np.diff(g, axis=1))
        strength = (jump > 12).mean(axis=0)
        if hi - lo > 4:
            x = lo + int(np.argmax(strength[lo:hi]))
            around = np.concatenate([strength[max(0, x - 25) : x - 2], strength[x + 3 : x + 26]])
            base = float(np.median(around)) if around.size else 0.0
            if strength[x] > 0.5 and strength[x] > base + 0.3:
                out.append((x + 1, x + 1, "seam"))
    out.append((w // 2, w // 2, "halves"))
    return out


def _ssim_textured(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Gaussian window) over pixels where either image has texture."""
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), 1.5)

    ma, mb = blur(a), blur(b)
    va = blur(a * a) - ma * ma
    vb = blur(b * b) - mb * mb
    cov = blur(a * b) - ma * mb
    ssim = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    textured = (va > 25) | (vb > 25)
    if textured.mean() < 0.05:
        return float(ssim.mean())
    return float(ssim[textured].mean())


def _hist(a: np.ndarray, b: np.ndarray) -> float:
    if a.ndim == 3:
        ha = cv2.calcHist(
            [cv2.cvtColor(a, cv2.COLOR_BGR2HSV)], [0, 1], None, [30, 32], [0, 180, 0, 256]
        )
        hb = cv2.calcHist(
            [cv2.cvtColor(b, cv2.COLOR_BGR2HSV)], [0, 1], None, [30, 32], [0, 180, 0, 256]
        )
    else:
        ha = cv2.calcHist([a], [0], None, [64], [0, 256])
        hb = cv2.calcHist([b], [0], None, [64], [0, 256])
    return float(cv2.compareHist(ha, hb, cv2.HISTCMP_CORREL))


def orb_similarity(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float]:
    """Geometric agreement of two grey panels: ORB matches (ratio test) kept by a RANSAC
    similarity transform, and that transform's scale and rotation in degrees (1 and 0 when too
    few features agree)."""
    orb = cv2.ORB_create(nfeatures=500, fastThreshold=10)
    ka, da = orb.detectAndCompute(a, None)
    kb, db = orb.detectAndCompute(b, None)
    if da is None or db is None or len(ka) < 8 or len(kb) < 8:
        return 0, 1.0, 0.0
    matches = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
    good = [m[0] for m in matches if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < 6:
        return 0, 1.0, 0.0
    pa = np.float32([ka[m.queryIdx].pt for m in good])
    pb = np.float32([kb[m.trainIdx].pt for m in good])
    mat, mask = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=4.0)
    if mask is None or mat is None:
        return 0, 1.0, 0.0
    scale = float(np.hypot(mat[0, 0], mat[1, 0]))
    angle = float(np.degrees(np.arctan2(mat[1, 0], mat[0, 0])))
    return int(mask.sum()), scale, angle


def compare(image: np.ndarray, a: Region, b: Region) -> tuple[int, float, float, float]:
    """(ORB inliers, textured SSIM, histogram correlation, mean abs difference) of two panels."""
    pa = image[a.y : a.y + a.h, a.x : a.x + a.w]
    pb = image[b.y : b.y + b.h, b.x : b.x + b.w]
    side = 320
    scale = side / max(a.w, a.h, b.w, b.h)
    size = (max(8, round((a.w + b.w) / 2 * scale)), max(8, round((a.h + b.h) / 2 * scale)))
    ra = cv2.resize(pa, size, interpolation=cv2.INTER_AREA)
    rb = cv2.resize(pb, size, interpolation=cv2.INTER_AREA)
    ga, gb = to_gray(ra), to_gray(rb)
    inliers, _scale, _angle = orb_similarity(ga, gb)
    small = (max(8, size[0] // 2), max(8, size[1] // 2))
    ssim = _ssim_textured(
        cv2.resize(ga, small, interpolation=cv2.INTER_AREA),
        cv2.resize(gb, small, interpolation=cv2.INTER_AREA),
    )
    hist = _hist(ra, rb)
    mad = float(np.abs(ga.astype(np.int16) - gb.astype(np.int16)).mean())
    return inliers, ssim, hist, mad


def _same_subject(split: str, inliers: int, ssim: float, hist: float, mad: float) -> bool:
    """Same scene (geometric feature agreement), but not the same picture twice.

    Structural similarity alone is not enough: two different radiographs of the same anatomy
    in the same projection are structurally alike. Feature inliers follow the subject's own
    details (texture, marks, edges), which differ between patients.
    """
    if mad < 1.0 and ssim > 0.98:
        return False  # the same image twice: not a before/after pair
    if split == "halves":
        return inliers >= 25
    if inliers >= 20:
        return True
    return ssim >= 0.75 and hist >= 0.5


def find_panels(image: np.ndarray) -> list[PanelPair]:
    """Candidate panel pairs with their similarity scores (both axes), best first."""
    gray = to_gray(image)
    h, w = gray.shape
    outer = _trim(gray, Region(0, 0, w, h))
    if outer.w < 32 or outer.h < 32:
        return []
    pairs: list[PanelPair] = []
    for axis in ("horizontal", "vertical"):
        sub = gray[outer.y : outer.y + outer.h, outer.x : outer.x + outer.w]
        if axis == "vertical":
            sub = sub.T
        for a0, b0, kind in _split_candidates(sub):
            length, depth = sub.shape[1], sub.shape[0]
            if axis == "horizontal":
                ra = Region(outer.x, outer.y, a0, depth)
                rb = Region(outer.x + b0, outer.y, length - b0, depth)
            else:
                ra = Region(outer.x, outer.y, depth, a0)
                rb = Region(outer.x, outer.y + b0, depth, length - b0)
            ta, tb = _trim(gray, ra), _trim(gray, rb)
            if min(ta.w, ta.h, tb.w, tb.h) < 24:
                continue
            area_a, area_b = ta.w * ta.h, tb.w * tb.h
            if min(area_a, area_b) < 0.4 * max(area_a, area_b):
                continue
            inliers, ssim, hist, mad = compare(image, ta, tb)
            same = _same_subject(kind, inliers, ssim, hist, mad)
            pairs.append(PanelPair(ta, tb, axis, kind, inliers, ssim, hist, same, ra, rb))
            if same:
                break
    pairs.sort(key=lambda p: (not p.same, -p.inliers, -p.ssim))
    return pairs


def find_composites(image: np.ndarray) -> list[Signal]:
    """A P1 signal for the best same-subject panel pair, if any."""
    for p in find_panels(image):
        if p.same:
            layout = "côte à côte" if p.axis == "horizontal" else "superposées"
            return [
                Signal(
                    "P1",
                    regions=(p.a, p.b),
                    detail=(
                        f"{p.axis} ({layout}), split={p.split}, orb_inliers={p.inliers}, "
                        f"ssim={p.ssim:.2f}, hist={p.hist:.2f}"
                    ),
                )
            ]
    return []
